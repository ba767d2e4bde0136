'use strict';
// fetch() and Fetcher: HTTP through libcurl's multi interface on Node's loop.
//
// The queue, the limits, retries and the transfers themselves live in C;
// this file validates, turns options into fixed arguments, and settles one
// promise per request when the core hands over a batch of finished ones.

const { binding } = require('./native');
const { FetchError, abortError } = require('./errors');
const validate = require('./validate');

const FEATURES = binding.fetchFeatures;
const HTTP2 = 1;
const H2C_REUSE = 2;
const FIELDS = 16; // Numbers per result in binding.fetchNums.
const OBJS = 5; // Values per result: body, headers, url, error code, message.
const nums = binding.fetchNums;
const DEFAULT_MAX_BODY = 64 * 1024 * 1024;
const USER_AGENT = `User-Agent: uvasync/${require('../package.json').version}`;
const TOKEN = /^[!#$%&'*+.^_`|~0-9A-Za-z-]+$/;
const BAD_VALUE = /[\r\n\0]/;
const URL_OK = /^https?:\/\/[^\s/?#]/i;
const BAD_URL_CHAR = /[\s\x00-\x1f\x7f]/;

// ---- Results ------------------------------------------------------------

/** A response: any HTTP status resolves; only a network failure rejects. */
class Response {
  constructor(url, status, headerBlock, body, redirected, version, n, attempts) {
    this.url = url;
    this.status = status;
    this.ok = status >= 200 && status < 300;
    this.body = body;
    this.redirected = redirected;
    this.httpVersion = version;
    this.attempts = attempts;
    this._headerBlock = headerBlock;
    this._headers = undefined;
    this._t = n; // [dns, connect, tls, firstByte, total, duration]
  }

  /** Header names in lower case; repeated headers joined by ", " (set-cookie: an array). */
  get headers() {
    if (this._headers === undefined) this._headers = parseHeaders(this._headerBlock);
    return this._headers;
  }

  /** Phases of the last attempt in ms. */
  get timings() {
    const t = this._t;
    return { dns: t[0], connect: t[1], tls: t[2], firstByte: t[3], total: t[4] };
  }

  /** Milliseconds from the first attempt's start to the end (retry waits included). */
  get durationMs() {
    return this._t[5];
  }

  text() {
    return this.body.toString('utf8');
  }

  json() {
    return JSON.parse(this.text());
  }
}

function parseHeaders(block) {
  const out = {};
  if (block === undefined) return out;
  const parts = block.split('\0');
  // The block ends with a NUL, so the last part is empty.
  for (let i = 0; i + 1 < parts.length; i += 2) {
    const name = parts[i];
    const value = parts[i + 1];
    const prev = out[name];
    if (prev === undefined) {
      out[name] = name === 'set-cookie' ? [value] : value;
    } else if (name === 'set-cookie') {
      prev.push(value);
    } else {
      out[name] = `${prev}, ${value}`;
    }
  }
  return out;
}

const VERSIONS = { 10: '1.0', 11: '1.1', 20: '2', 30: '3' };

// ---- Dispatch -------------------------------------------------------------

const pending = new Map(); // id → Request
let nextId = 1;

class Request {
  constructor(url, pool, owner) {
    this.id = nextId++;
    this.url = url;
    this.pool = pool;
    this.owner = owner; // A Fetcher's counters, or null.
    this.resolve = null;
    this.reject = null;
    this.signal = undefined;
    this.onAbort = null;
    this.track = undefined; // A Set this request is listed in while pending.
  }
}

/** Cancels every request still pending in `track` (rejecting with ABORT_ERR). */
function cancelTracked(track) {
  for (const req of track) {
    if (!pending.delete(req.id)) continue;
    req.pool.cancel(req.id);
    if (req.onAbort !== null) req.signal.removeEventListener('abort', req.onAbort);
    if (req.owner !== null) req.owner.settled();
    req.reject(new FetchError(`The request to ${req.url} was cancelled`, 'ABORT_ERR', req.url));
  }
  track.clear();
}

binding.setFetchCallback((count, objs) => {
  for (let i = 0; i < count; i++) {
    const b = i * FIELDS;
    const req = pending.get(nums[b]);
    if (req === undefined) continue;
    pending.delete(req.id);
    settle(req, b, i * OBJS, objs);
  }
});

function settle(req, b, o, objs) {
  if (req.onAbort !== null) req.signal.removeEventListener('abort', req.onAbort);
  if (req.track !== undefined) req.track.delete(req);
  if (req.owner !== null) req.owner.settled();
  const t = [nums[b + 5], nums[b + 6], nums[b + 7], nums[b + 8], nums[b + 9], nums[b + 10]];
  const code = objs[o + 3];
  if (code !== undefined) {
    const err = new FetchError(`${objs[o + 4]} (${code}) fetching ${req.url}`, code, req.url,
      { curlCode: nums[b + 11], attempts: nums[b + 4] });
    err.timings = t;
    req.reject(err);
    return;
  }
  const finalUrl = objs[o + 2];
  req.resolve(new Response(finalUrl === undefined ? req.url : finalUrl, nums[b + 1], objs[o + 1], objs[o],
    nums[b + 3] > 0, VERSIONS[nums[b + 2]] || '', t, nums[b + 4]));
}

// ---- Options ----------------------------------------------------------------

/** Request options read into fixed fields, validated, with the defaults. */
class RequestOptions {
  constructor(defaults) {
    this.method = 'GET';
    this.headers = defaults === null ? undefined : defaults.headers;
    this.body = undefined;
    this.timeout = defaults === null ? 0 : defaults.timeout;
    this.connectTimeout = 0;
    this.signal = undefined;
    this.maxRedirects = 5;
    this.maxBodySize = DEFAULT_MAX_BODY;
    this.decompress = 1;
    this.http2 = defaults === null ? 0 : defaults.http2;
    this.retries = -1;
    this.ca = defaults === null ? undefined : defaults.ca;
  }
}

function checkUrl(url) {
  if (typeof url !== 'string') {
    if (url instanceof URL) url = url.href;
    else throw validate.typeError('url', 'a string or a URL', url);
  }
  if (!URL_OK.test(url)) {
    throw validate.typeError('url', 'an absolute http: or https: URL', url);
  }
  if (BAD_URL_CHAR.test(url)) {
    throw validate.typeError('url', 'a URL without spaces or control characters', url);
  }
  return url;
}

/** Headers (an object, a Map, a Headers or [name, value] pairs) as "Name: value" lines. */
function headerLines(name, headers) {
  if (headers === undefined || headers === null) return undefined;
  let entries;
  if (typeof headers !== 'object') throw validate.typeError(name, 'an object of header names and values', headers);
  if (typeof headers[Symbol.iterator] === 'function') entries = headers;
  else entries = Object.entries(headers);
  let out = '';
  let hasAgent = false;
  for (const pair of entries) {
    if (!Array.isArray(pair) || pair.length !== 2) {
      throw validate.typeError(name, '[name, value] pairs', pair);
    }
    const [key, raw] = pair;
    if (raw === undefined) continue;
    if (typeof key !== 'string' || !TOKEN.test(key)) {
      throw validate.typeError(`${name} name`, 'an HTTP token (no spaces, CR, LF or colons)', key);
    }
    const values = Array.isArray(raw) ? raw : [raw];
    for (const v of values) {
      const value = typeof v === 'number' ? String(v) : v;
      if (typeof value !== 'string') throw validate.typeError(`${name}['${key}']`, 'a string', v);
      if (BAD_VALUE.test(value)) {
        throw validate.typeError(`${name}['${key}']`, 'a value without CR, LF or NUL', value);
      }
      if (key.length === 10 && key.toLowerCase() === 'user-agent') hasAgent = true;
      out += out === '' ? `${key}: ${value}` : `\n${key}: ${value}`;
    }
  }
  return hasAgent ? out : (out === '' ? USER_AGENT : `${out}\n${USER_AGENT}`);
}

function readRequestOptions(options, defaults) {
  const o = new RequestOptions(defaults);
  if (options === undefined) {
    o.headers = defaults === null ? USER_AGENT : defaults.headerLines;
    return o;
  }
  validate.options('options', options);
  const { method, headers, body, timeout, connectTimeout, signal, maxRedirects, maxBodySize,
    decompress, http2, retries, ca } = options;
  if (method !== undefined) {
    if (typeof method !== 'string' || !TOKEN.test(method)) {
      throw validate.typeError('options.method', 'an HTTP method name', method);
    }
    o.method = method.toUpperCase();
  }
  if (headers !== undefined) {
    if (defaults !== null && defaults.headers !== undefined) {
      const merged = new Map();
      for (const [k, v] of entriesOf(defaults.headers)) merged.set(k.toLowerCase(), [k, v]);
      for (const [k, v] of entriesOf(headers)) if (typeof k === 'string') merged.set(k.toLowerCase(), [k, v]);
      o.headers = headerLines('options.headers', [...merged.values()]);
    } else {
      o.headers = headerLines('options.headers', headers);
    }
  } else {
    o.headers = defaults === null ? USER_AGENT : defaults.headerLines;
  }
  if (body !== undefined && body !== null) {
    if (typeof body === 'string' || Buffer.isBuffer(body)) o.body = body;
    else if (body instanceof Uint8Array) o.body = Buffer.from(body.buffer, body.byteOffset, body.byteLength);
    else throw validate.typeError('options.body', 'a string, a Buffer or a Uint8Array', body);
  }
  if (timeout !== undefined) { validate.ms('options.timeout', timeout, true); o.timeout = timeout === Infinity ? 0 : timeout; }
  if (connectTimeout !== undefined) { validate.ms('options.connectTimeout', connectTimeout); o.connectTimeout = connectTimeout; }
  if (signal !== undefined) { validate.signal('options.signal', signal); o.signal = signal; }
  if (maxRedirects !== undefined) { validate.integer('options.maxRedirects', maxRedirects, 0); o.maxRedirects = Math.min(maxRedirects, 1000); }
  if (maxBodySize !== undefined) {
    validate.integer('options.maxBodySize', maxBodySize, 1, true);
    o.maxBodySize = maxBodySize === Infinity ? 0 : maxBodySize;
  }
  if (decompress !== undefined) {
    if (typeof decompress !== 'boolean') throw validate.typeError('options.decompress', 'a boolean', decompress);
    o.decompress = decompress ? 1 : 0;
  }
  if (http2 !== undefined) o.http2 = readHttp2('options.http2', http2);
  if (retries !== undefined) { validate.integer('options.retries', retries, 0); o.retries = retries; }
  if (ca !== undefined) o.ca = readCa('options.ca', ca);
  return o;
}

/** PEM certificates to trust, as one string (a string, a Buffer, or an array of either). */
function readCa(name, ca) {
  const parts = Array.isArray(ca) ? ca : [ca];
  const out = [];
  for (const p of parts) {
    const pem = Buffer.isBuffer(p) ? p.toString('latin1') : p;
    if (typeof pem !== 'string' || !pem.includes('-----BEGIN CERTIFICATE-----')) {
      throw validate.typeError(name, 'PEM certificates (a string, a Buffer or an array of them)', p);
    }
    out.push(pem);
  }
  return out.join('\n');
}

function entriesOf(headers) {
  if (headers === null || typeof headers !== 'object') return [];
  return typeof headers[Symbol.iterator] === 'function' ? headers : Object.entries(headers);
}

function readHttp2(name, v) {
  if (typeof v !== 'boolean') throw validate.typeError(name, 'a boolean', v);
  return v ? 1 : -1;
}

// ---- Submitting -------------------------------------------------------------

function submit(pool, owner, url, o, track) {
  const req = new Request(url, pool, owner);
  const promise = new Promise((resolve, reject) => {
    req.resolve = resolve;
    req.reject = reject;
  });
  const signal = o.signal;
  if (signal !== undefined && signal.aborted) {
    req.reject(abortFetchError(signal, url));
    return promise;
  }
  const rc = pool.submit(req.id, url, o.method, o.headers, o.body, o.timeout, o.connectTimeout,
    o.maxRedirects, o.maxBodySize, o.decompress, o.http2, o.retries, 0, o.ca);
  if (rc !== 0) {
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
      req.reject(abortFetchError(signal, url));
    };
    signal.addEventListener('abort', req.onAbort, { once: true });
  }
  return promise;
}

function abortFetchError(signal, url) {
  return new FetchError(`The request to ${url} was aborted`, 'ABORT_ERR', url, { cause: signal.reason });
}

let defaultPool = null;

/**
 * fetch(url, options) → Response. HTTP error statuses resolve; network
 * failures reject with a FetchError.
 */
function fetch(url, options) {
  url = checkUrl(url);
  const o = readRequestOptions(options, null);
  if (defaultPool === null) defaultPool = binding.newFetchPool(0, 0, 0, 0, 1000, 30000, 60000);
  return submit(defaultPool, null, url, o);
}

module.exports = {
  fetch, Response, submit, cancelTracked, checkUrl, readRequestOptions, headerLines, readHttp2, readCa,
  FEATURES: { http2: (FEATURES & HTTP2) !== 0, h2cReuse: (FEATURES & H2C_REUSE) !== 0, curl: binding.curlVersion },
};
