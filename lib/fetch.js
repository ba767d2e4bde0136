'use strict';
// fetch() and Fetcher: HTTP through libcurl's multi interface on Node's loop.
//
// The queue, the limits, retries and the transfers themselves live in C;
// this file validates, turns options into fixed arguments, and settles one
// promise per request when the core hands over a batch of finished ones.

const { binding } = require('./native');
const { FetchError, abortError, abortFetchError, curlError } = require('./errors');
const { Blob } = require('node:buffer');
const { ACCEPT_ENCODING, decodeBody } = require('./decode');

const FEATURES = binding.fetchFeatures;
const HTTP2 = 1;
const H2C_REUSE = 2;
const H2_UPLOAD = 16;
const FIELDS = 16; // Numbers per result in binding.fetchNums.
const OBJS = 5; // Values per result: body, headers, url, error code, message.
const nums = binding.fetchNums;
const { unlisten, rethrow } = require('./signal');

// ---- Results ------------------------------------------------------------

const { Response, parseHeaders, EMPTY } = require('./response');
const { streamsLater, replayable, readLater, fromRequest, isRequest, formDataPackage } = require('./body');
const {
  RequestOptions, checkUrl, withoutFragment, headerLines, readRequestOptions, readOutput, readCa, readHttp2, CONTENT_TYPE,
} = require('./fetch-options');
const { Upload } = require('./upload');
const { LiveBody } = require('./livebody');
const { IdTable } = require('./idtable');
const { isLocalUrl, localFetch } = require('./localfetch');

const VERSIONS = { 10: '1.0', 11: '1.1', 20: '2', 30: '3' };

// ---- Dispatch -------------------------------------------------------------

const pending = new IdTable(); // id → Transfer, while the core has it (lib/idtable.js)
const REDIRECTS = new Set([301, 302, 303, 307, 308]);
// Request headers a redirect to another origin does not carry (fetch drops
// Authorization; undici and curl also Cookie and Proxy-Authorization).
const CROSS_ORIGIN_DROP = /^(authorization|cookie|proxy-authorization):/i;
// Headers that describe a body, dropped with it when a redirect turns the
// request into a GET (fetch's "request-body-header names").
const BODY_HEADERS = /^(content-type|content-encoding|content-language|content-location|content-length):/i;

class Transfer {
  constructor(url, pool, owner, o) {
    this.id = pending.reserve(); // Listed once the core has it (submit), else freed.
    this.url = url; // The URL asked for; `current` is the hop under way.
    this.current = url;
    this.pool = pool;
    this.owner = owner; // A Fetcher's counters, or null.
    this.o = o;
    this.resolve = null;
    this.reject = null;
    this.signal = undefined;
    this.onAbort = null;
    this.track = undefined; // A Set this request is listed in while pending.
    this.hops = 0; // Redirects followed.
    this.before = null; // [duration, attempts] of the hops before this one.
    this.stream = false; // Resolve at the head, the body as it arrives (fetch(), Fetcher#fetch).
    // Once resolved at the head: the body still arriving and the timings
    // the Response shares (filled in at the end).  The Response itself is
    // not kept: one collected unread cancels the transfer (unread, below).
    this.live = null;
    this.t = null;
    this.upload = null; // The body being fed to the core as it is read (lib/upload.js).
  }
}

function finish(req, err) {
  if (req.upload !== null) req.upload.stop(err);
  if (req.onAbort !== null) unlisten(req.signal, req.onAbort);
  if (req.track !== undefined) req.track.delete(req);
  if (req.owner !== null) req.owner.settled();
}

/** Cancels every request still pending in `track` (rejecting with ABORT_ERR). */
function cancelTracked(track) {
  for (const req of track) {
    if (!pending.delete(req.id)) continue;
    req.pool.cancel(req.id);
    const err = new FetchError(`The request to ${req.url} was cancelled`, 'ABORT_ERR', req.url);
    if (req.upload !== null) req.upload.stop(err);
    if (req.onAbort !== null) unlisten(req.signal, req.onAbort);
    if (req.owner !== null) req.owner.settled();
    req.reject(err);
  }
  track.clear();
}

binding.setFetchCallback((count, objs) => {
  // One settle per request: an exception from one (user code in a
  // listener) is reported as uncaught, as Node does for its own callbacks,
  // and never costs the rest of the batch their turn.
  for (let i = 0; i < count; i++) {
    const b = i * FIELDS;
    const req = pending.get(nums[b]);
    if (req === undefined) continue;
    try {
      if (nums[b + 13] === 1) {
        news(req, b, i * OBJS, objs); // A streamed response's head or body; it goes on.
        continue;
      }
      pending.delete(req.id);
      if (req.live !== null) ended(req, b, i * OBJS, objs);
      else settle(req, b, i * OBJS, objs);
    } catch (err) {
      process.nextTick(rethrow, err);
    }
  }
});

/**
 * News of a streamed request: at its head the Response resolves, with a
 * body that is still arriving; then each chunk goes to that body.
 */
function news(req, b, o, objs) {
  if (nums[b + 15] === 1 && req.upload !== null) req.upload.wake();
  if (nums[b + 14] === 1) {
    const block = objs[o + 1];
    const status = nums[b + 1];
    // The phases so far; the end fills in the rest (total, durationMs).
    const t = [nums[b + 5], nums[b + 6], nums[b + 7], nums[b + 8], nums[b + 9], nums[b + 9]];
    if (req.before !== null) t[5] += req.before[0];
    const attempts = req.before !== null ? req.before[1] + 1 : 1;
    const res = Response._make(req.current, status, objs[o + 4] || '', block, null, req.hops > 0,
      VERSIONS[nums[b + 2]] || '', t, attempts);
    res._head = req.o.method === 'HEAD';
    const encoding = req.o.decompress !== 0 && block !== undefined && block.includes('content-encoding\0')
      ? parseHeaders(block)['content-encoding'] : undefined;
    const { pool, id } = req;
    const live = new LiveBody(req.current, (full) => pool.hold(id, full ? 1 : 0), () => cancelLive(req), encoding);
    res._live = live;
    res._max = req.o.maxBodySize;
    req.live = live;
    // An abort errors the body until its reader is done, the transfer's end too.
    const late = res._watchSignal(req.signal, req.url);
    if (late !== null) {
      late.onAbort = (err) => live.fail(err);
      live.onDone = () => late.done();
    }
    req.t = t;
    unread.register(res, req);
    // Its Fetcher's close() waits for responses, not for their readers (one
    // that never reads would hold it for good); the body goes on.
    if (req.owner !== null) {
      req.owner.settled();
      req.owner = null;
    }
    req.resolve(res);
    // The resolvers hold the promise, and so the Response: let them go.
    req.resolve = noop;
    req.reject = noop;
  }
  if (req.live !== null) pushChunk(req.live, objs[o]);
}

/** A chunk to a live body: a Buffer, or a large chunk's pieces (src/binding/body.cc, ChunkValue). */
function pushChunk(live, chunk) {
  if (chunk === undefined) return;
  if (!Array.isArray(chunk)) {
    if (chunk.length > 0) live.push(chunk);
    return;
  }
  for (let i = 0; i < chunk.length; i++) live.push(chunk[i]);
}

function noop() {}

/** A finished request's body: objs[o], or its part nums[b + 14], nums[b + 15] (small bodies share a Buffer). */
function bodyOf(b, o, objs) {
  const at = nums[b + 14];
  return at < 0 ? objs[o] : objs[o].subarray(at, at + nums[b + 15]);
}


// A Response collected with its body unread and still arriving: nobody can
// read it now, so the transfer stops (undici does the same).  One whose
// body a reader has begun (res.bytes() then dropped the Response) goes on.
const unread = new FinalizationRegistry((req) => {
  if (req.live !== null && !req.live.touched && pending.get(req.id) === req) req.live.cancel();
});

/** The end of a streamed request: the rest of its body, its timings, or its error. */
function ended(req, b, o, objs) {
  finish(req);
  const t = req.t;
  for (let k = 0; k < 6; k++) t[k] = nums[b + 5 + k];
  if (req.before !== null) t[5] += req.before[0];
  const code = objs[o + 3];
  if (code !== undefined) {
    const err = transferError(b, o, objs, req.current, nums[b + 4] + (req.before !== null ? req.before[1] : 0), t);
    req.live.end(err);
    return;
  }
  pushChunk(req.live, bodyOf(b, o, objs));
  req.live.end();
}

/** The FetchError of a transfer the core reports failed, with libcurl's error as its cause. */
function transferError(b, o, objs, url, attempts, t) {
  const code = objs[o + 3];
  const message = objs[o + 4];
  const err = new FetchError(`${message} (${code}) fetching ${url}`, code, url,
    { curlCode: nums[b + 11], attempts, cause: curlError(message, code, nums[b + 11], nums[b + 12]) });
  err.timings = t;
  return err;
}

/** A streamed body's reader went away: the transfer stops. */
function cancelLive(req) {
  if (!pending.delete(req.id)) return;
  req.pool.cancel(req.id);
  finish(req);
}

function fail(req, err) {
  finish(req);
  req.reject(err);
}

function settle(req, b, o, objs) {
  let t = [nums[b + 5], nums[b + 6], nums[b + 7], nums[b + 8], nums[b + 9], nums[b + 10]];
  let attempts = nums[b + 4];
  if (req.before !== null) {
    t[5] += req.before[0];
    attempts += req.before[1];
  }
  const url = req.current;
  const code = objs[o + 3];
  if (code !== undefined) {
    const err = transferError(b, o, objs, url, attempts, t);
    fail(req, err);
    return;
  }
  const status = nums[b + 1];
  const block = objs[o + 1];
  let headers;
  if (REDIRECTS.has(status) && req.o.redirect !== 'manual' && block !== undefined && block.includes('location\0')) {
    headers = parseHeaders(block);
    if (headers.location !== undefined) {
      redirect(req, status, headers.location, t, attempts);
      return;
    }
  }
  let body = bodyOf(b, o, objs);
  let bodyError = null;
  if (req.o.decompress !== 0 && req.o.output === undefined && block !== undefined && block.includes('content-encoding\0')) {
    if (headers === undefined) headers = parseHeaders(block);
    const encoding = headers['content-encoding'];
    if (encoding !== undefined) {
      try {
        body = decodeBody(body, encoding, req.o.maxBodySize, url);
      } catch (err) {
        err.attempts = attempts;
        err.timings = t;
        // fetch() has resolved at the head of a streamed body: the body is
        // what fails, as it would have failed arriving.
        if (!req.stream) {
          fail(req, err);
          return;
        }
        bodyError = err;
        body = EMPTY;
      }
    }
  }
  finish(req);
  const res = Response._make(url, status, objs[o + 4] || '', block, body, req.hops > 0, VERSIONS[nums[b + 2]] || '', t, attempts);
  if (bodyError !== null) res._error = bodyError;
  if (headers !== undefined) res._fields = headers;
  if (req.stream) res._max = req.o.maxBodySize; // Its body methods keep the bound (not streamed after all).
  if (req.o.output !== undefined) res.output = req.o.output;
  res._head = req.o.method === 'HEAD';
  // fetch()'s body, whole already: an abort before it is read errors it, as in fetch.
  if (req.stream) res._watchSignal(req.signal, req.url);
  req.resolve(res);
}

/**
 * A redirect, followed here rather than by libcurl, as the fetch standard
 * says: the Location parsed with WHATWG URL (one reading of it, the one
 * `new URL()` gives), 301/302 turn a POST into a GET, 303 turns everything
 * but HEAD into a GET, 307/308 keep method and body; another origin gets no
 * credentials.  Each hop is a request of its own through the same pool, so
 * the limits count it.
 */
function redirect(req, status, location, t, attempts) {
  const from = req.current;
  if (req.upload !== null) {
    // This hop's body has been sent, or never will be.
    req.upload.stop();
    req.upload = null;
  }
  const fault = (message, code, type) => {
    const err = new FetchError(`${message} (${code}) fetching ${from}`, code, from, { attempts, type });
    err.timings = t;
    fail(req, err);
  };
  if (req.o.redirect === 'error') return fault(`${status} redirect to ${location} with redirect: 'error'`, 'EREDIRECT', 'no-redirect');
  if (req.hops >= req.o.maxRedirects) return fault(`More than ${req.o.maxRedirects} redirects`, 'EMAXREDIRECTS');
  let next;
  try {
    // Header values arrive as bytes (latin1); a URL is read as UTF-8.
    // eslint-disable-next-line no-control-regex
    const text = /[^\x00-\x7f]/.test(location) ? Buffer.from(location, 'latin1').toString('utf8') : location;
    next = new URL(text, from);
  } catch {
    return fault(`The server sent a Location that is not a URL: ${JSON.stringify(location)}`, 'EPROTO', 'invalid-redirect');
  }
  if (next.protocol !== 'http:' && next.protocol !== 'https:') {
    return fault(`Redirect to ${next.protocol} refused: only http: and https: are followed`, 'EPROTONOSUPPORT');
  }
  const o = Object.assign(new RequestOptions(null), req.o);
  if (((status === 301 || status === 302) && o.method === 'POST') || (status === 303 && o.method !== 'HEAD')) {
    o.method = 'GET';
    o.body = undefined;
    o.later = undefined;
    o.headers = filterLines(o.headers, BODY_HEADERS);
  }
  if ((o.body !== undefined || o.later !== undefined) && o.streamBody) {
    // As fetch: a body read from a stream is not sent twice.
    return fault(`${status} redirect to ${next.href} would send the request's stream body again`, 'EREDIRECT', 'unsupported-redirect');
  }
  if (new URL(from).origin !== next.origin) o.headers = filterLines(o.headers, CROSS_ORIGIN_DROP);
  req.o = o;
  req.hops++;
  req.before = [t[5], attempts];
  req.current = withoutFragment(next.href);
  req.id = pending.reserve();
  let rc;
  try {
    rc = send(req);
  } catch (err) {
    pending.delete(req.id);
    fail(req, err);
    return undefined;
  }
  if (rc !== 0) pending.delete(req.id);
  if (rc !== 0) return fault(`cannot follow the redirect to ${req.current} (${binding.errName(rc)})`, rc === -40001 ? 'ERR_FETCHER_CLOSED' : binding.errName(rc));
  pending.set(req.id, req);
  return undefined;
}

/**
 * Hands the request's current hop to the core: 0, or a negative error.
 * Redirects are followed in redirect() (maxRedirects 0 for libcurl), and
 * bodies are asked for in encodings Node's zlib decodes and decoded in
 * settle(): libcurl's decoders miss a truncated stream.
 */
function send(req) {
  const o = req.o;
  // A body sent as it is read (o.later, left for it by submit()), with
  // its length when known, else -1.
  const fed = o.later === undefined ? undefined : o.laterLength;
  // The body's reader first: the caller's iterator method may throw (then
  // so does send(), and nothing was submitted).
  const id = req.id;
  const upload = fed === undefined ? null : new Upload(req.pool, id, o.later, (err) => {
    // The body's source failed: so does the request, with its error.
    if (pending.get(id) !== req) return;
    pending.delete(id);
    req.pool.cancel(id);
    finish(req, err);
    if (req.live !== null) req.live.fail(err);
    else req.reject(err);
  });
  const rc = req.pool.submit(req.id, req.current, o.method, o.headers, o.body, o.timeout, o.connectTimeout,
    0, o.maxBodySize, o.output !== undefined ? o.decompress : 0, o.http2, o.retries, 0, o.ca,
    o.decompress !== 0 && o.output === undefined ? ACCEPT_ENCODING : undefined,
    req.hops > 0 ? 1 : 0, // A redirect's next hop goes first: the request has had its turn.
    o.output, req.stream ? (o.redirect === 'manual' ? 2 : 1) : 0, fed);
  if (upload !== null) {
    if (rc === 0) {
      req.upload = upload;
      upload.start();
    } else {
      upload.stop();
    }
  }
  return rc;
}

/** "Name: value" lines without those whose name matches `re`. */
function filterLines(lines, re) {
  if (lines === undefined) return undefined;
  return lines.split('\n').filter((l) => !re.test(l)).join('\n');
}

// ---- Submitting -------------------------------------------------------------

function submit(pool, owner, url, o, track, stream = false) {
  let streams;
  let form = null;
  try {
    streams = o.later !== undefined && streamsLater(o.later);
    if (streams && o.later instanceof ReadableStream && o.later.locked) {
      throw new TypeError('options.body: the ReadableStream is locked (already being read)');
    }
    // The form-data package's own methods (they may throw, as any caller's
    // code may: the request rejects).
    if (streams && !(o.later instanceof Blob)) form = formDataPackage(o.later);
  } catch (err) {
    return Promise.reject(err);
  }
  if (streams) {
    // Sent as it is read, by send(); a type the caller gave wins over a
    // Blob's or a form-data package's. Its length is read here, once: the
    // form-data package's getLengthSync() is another number once the form
    // has been read.
    const blob = o.later instanceof Blob;
    const type = blob ? o.later.type : (form === null ? '' : form.type);
    const laterLength = blob ? o.later.size : (form === null ? -1 : form.length);
    o = Object.assign(new RequestOptions(null), o, { streamBody: !replayable(o.later), laterLength });
    if (type !== '' && !CONTENT_TYPE.test(o.headers)) o.headers = o.headers ? `${o.headers}\nContent-Type: ${type}` : `Content-Type: ${type}`;
  } else if (o.later !== undefined) {
    // Read once per body object, then sent from memory; a type the caller
    // gave wins over the body's own (a Blob's, FormData's boundary).
    const go = ({ buf, type }) => {
      const now = Object.assign(new RequestOptions(null), o, { body: buf, later: undefined });
      if (type !== null && !CONTENT_TYPE.test(now.headers)) now.headers = now.headers ? `${now.headers}\nContent-Type: ${type}` : `Content-Type: ${type}`;
      return submit(pool, owner, url, now, track, stream);
    };
    const signal = o.signal;
    if (signal === undefined) return readLater(o.later).then(go);
    if (signal.aborted) return Promise.reject(abortFetchError(signal, url));
    // An abort while the body is read (a stream that never ends) settles the
    // request now and stops the source.
    return new Promise((resolve, reject) => {
      const onAbort = () => reject(abortFetchError(signal, url));
      signal.addEventListener('abort', onAbort, { once: true });
      readLater(o.later).then((r) => {
        unlisten(signal, onAbort);
        if (!signal.aborted) resolve(go(r));
      }, (err) => {
        unlisten(signal, onAbort);
        reject(err);
      });
    });
  }
  if (typeof o.output === 'function') {
    let file;
    try {
      file = readOutput('options.output', o.output(url));
    } catch (err) {
      return Promise.reject(err);
    }
    o = Object.assign(new RequestOptions(null), o, { output: file });
  }
  const req = new Transfer(url, pool, owner, o);
  req.stream = stream && o.output === undefined;
  const promise = new Promise((resolve, reject) => {
    req.resolve = resolve;
    req.reject = reject;
  });
  const signal = o.signal;
  if (signal !== undefined && signal.aborted) {
    pending.delete(req.id);
    req.reject(abortFetchError(signal, url));
    return promise;
  }
  let rc;
  try {
    rc = send(req);
  } catch (err) {
    pending.delete(req.id);
    req.reject(err); // The body's own iterator method threw.
    return promise;
  }
  if (rc !== 0) {
    pending.delete(req.id);
    req.reject(new FetchError(`cannot start a request for ${url} (${binding.errName(rc)})`,
      rc === -40001 ? 'ERR_FETCHER_CLOSED' : binding.errName(rc), url));
    return promise;
  }
  pending.set(req.id, req);
  if (owner !== null) owner.started();
  if (track !== undefined) {
    track.add(req);
    req.track = track;
  }
  if (signal !== undefined) {
    req.signal = signal;
    req.onAbort = () => {
      if (!pending.delete(req.id)) return;
      pool.cancel(req.id);
      if (req.track !== undefined) req.track.delete(req);
      if (req.owner !== null) req.owner.settled();
      const err = abortFetchError(signal, url);
      if (req.upload !== null) req.upload.stop(err);
      // Resolved at its head: the body being read errors instead.
      if (req.live !== null) req.live.fail(err);
      else req.reject(err);
    };
    signal.addEventListener('abort', req.onAbort, { once: true });
  }
  return promise;
}

let defaultPool = null;

/**
 * fetch(url, options) → Response. HTTP error statuses resolve; network
 * failures reject with a FetchError.
 */
function fetch(url, options) {
  let o;
  try {
    if (isRequest(url)) return fromRequest(url, options).then(([u, opts]) => fetch(u, opts));
    if (isLocalUrl(url)) return localFetch(url, readRequestOptions(options, null));
    url = checkUrl(url);
    o = readRequestOptions(options, null);
  } catch (err) {
    return Promise.reject(err); // As the global fetch: bad arguments reject with a TypeError.
  }
  if (defaultPool === null) defaultPool = binding.newFetchPool(0, 0, 0, 0, 1000, 30000, 60000);
  return submit(defaultPool, null, url, o, undefined, true);
}

module.exports = {
  fetch, Response, submit, cancelTracked, checkUrl, readRequestOptions, headerLines, readHttp2, readCa,
  FEATURES: {
    http2: (FEATURES & HTTP2) !== 0,
    h2cReuse: (FEATURES & H2C_REUSE) !== 0,
    h2Upload: (FEATURES & H2_UPLOAD) !== 0, // A stream body over HTTP/2 (else HTTP/1.1).
    curl: binding.curlVersion,
  },
};
