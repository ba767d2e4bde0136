'use strict';
// The Response of fetch(): the fetch standard's shape over what the core
// hands over (the whole body in a Buffer, the headers as "name\0value\0").
// `headers` is Node's own Headers and `body` a web ReadableStream, each
// built on first use: a response read with text() or bytes() builds
// neither.

const { Blob } = require('node:buffer');
const { inspect } = require('node:util');
const { bodyTooLarge } = require('./errors');
const { LateAbort } = require('./signal');

/** The header block as [name, value] pairs (names in lower case). */
function headerPairs(block) {
  const out = [];
  if (block === undefined) return out;
  const parts = block.split('\0');
  // The block ends with a NUL, so the last part is empty.
  for (let i = 0; i + 1 < parts.length; i += 2) out.push([parts[i], parts[i + 1]]);
  return out;
}

/** Header names in lower case; repeated ones joined by ", " (set-cookie: an array). */
function parseHeaders(block) {
  const out = {};
  for (const [name, value] of headerPairs(block)) {
    const prev = out[name];
    if (prev === undefined) out[name] = name === 'set-cookie' ? [value] : value;
    else if (name === 'set-cookie') prev.push(value);
    else out[name] = `${prev}, ${value}`;
  }
  return out;
}

function unusable() {
  return new TypeError('Body is unusable: it has already been read');
}

const BOM = 0xfeff;
const NULL_BODY = new Set([101, 103, 204, 205, 304]);

/**
 * A subclass of Node's own Response (so `res instanceof Response` holds for
 * the global class too) whose state is uvasync's: the object is made without
 * running undici's constructor (which would build Headers and a body stream
 * for every response), so every getter and method undici's prototype has is
 * defined here over that state.
 *
 * It extends Node's class from the first response on, not as the module
 * loads: the global Response is a getter that loads Node's bundled undici
 * (~60 ms here, and an asynchronous WebAssembly compile that Node 20 can
 * crash on when a worker is terminated during it), which code that never
 * fetches should not pay for.
 */
class Response {
  /**
   * `new Response(body, init)` as in fetch: what that builds is Node's own
   * Response (this class is what fetch() resolves with; its state is the
   * core's, which a caller's body and init are not).
   */
  constructor(body, init) {
    // eslint-disable-next-line no-constructor-return
    return new globalThis.Response(body, init);
  }

  /** Node's own, as a subclass inherits them. */
  static json(data, init) { return globalThis.Response.json(data, init); }

  static error() { return globalThis.Response.error(); }

  static redirect(url, status) { return globalThis.Response.redirect(url, status); }

  /** What fetch() resolves with: the core's result, made without undici's constructor. */
  static _make(url, status, statusText, headerBlock, body, redirected, version, timings, attempts) {
    if (!extended) extend();
    const self = Object.create(Response.prototype);
    self._url = url;
    self._status = status;
    self._statusText = statusText;
    self._redirected = redirected;
    /** '1.0', '1.1', '2' or '3'. */
    self.httpVersion = version;
    /** Attempts made (retries through a Fetcher). */
    self.attempts = attempts;
    self._block = headerBlock;
    self._fields = undefined; // The headers as a plain object, once parsed.
    self._buf = body; // A Buffer: the whole body (or the empty one).
    self._t = timings; // [dns, connect, tls, firstByte, total, duration]
    self._shared = false; // A clone reads the same Buffer: its stream enqueues copies.
    /** The file the body was written to (options.output), or undefined: then there is no body here. */
    self.output = undefined;
    self._headers = undefined;
    self._stream = undefined;
    self._used = false;
    self._live = undefined; // A LiveBody while the body is still arriving (lib/livebody.js).
    self._max = 0; // maxBodySize for the body methods of a live body (0: none).
    self._teed = false; // A branch of a live body's stream (clone()): read from _stream.
    self._error = null; // Why the body failed (a whole one that did not decode), for its reader.
    self._head = false; // The answer to a HEAD: no body, whatever the status.
    self._late = undefined; // The request's signal while the body is unread (lib/signal.js, LateAbort).
    return self;
  }

  /**
   * As in fetch, the request's `signal` (of `url`), aborted before the body
   * has been read, errors it: the LateAbort that listens, or null (no
   * signal, an aborted one, a null body).
   */
  _watchSignal(signal, url) {
    if (signal === undefined || signal.aborted || this._isNull()) return null;
    const late = new LateAbort(signal, url);
    this._watch(late);
    return late;
  }

  /** Listens to the request's signal for this body's reader (`late`: a LateAbort; clones share one). */
  _watch(late) {
    this._late = late;
    lateGone.register(this, late, this);
  }

  /** A whole body is being read: the signal's listener goes; the abort's error if it came first. */
  _lateRead() {
    const late = this._late;
    this._late = undefined;
    lateGone.unregister(this);
    late.done();
    return late.err;
  }

  /** _lateRead(), the abort's error (if any, and none before it) becoming the body's. */
  _lateError() {
    const err = this._lateRead();
    if (err !== null && this._error === null) this._error = err;
  }

  /** The final URL (after redirects), as WHATWG URL serializes it. */
  get url() { return this._url; }

  get status() { return this._status; }

  /** The reason phrase of the status line ('' over HTTP/2). */
  get statusText() { return this._statusText; }

  get ok() { return this._status >= 200 && this._status < 300; }

  get redirected() { return this._redirected; }

  get type() { return 'basic'; }

  /**
   * Node's own Headers (the global `Headers`), built on first use.  They can
   * be changed, as node-fetch's can (proxy code deletes Content-Encoding or
   * Set-Cookie before passing a response on); undici's refuse.
   */
  get headers() {
    if (this._headers === undefined) {
      const h = new Headers();
      for (const [name, value] of headerPairs(this._block)) h.append(name, value);
      this._headers = h;
    }
    return this._headers;
  }

  /**
   * Whether there is no body: 101, 103, 204, 205, 304 and the answer to a
   * HEAD, as in fetch, or one that went to `output`.  Such a body is null,
   * never used, and read as empty as often as asked.
   */
  _isNull() {
    return this._head || NULL_BODY.has(this._status) || this.output !== undefined;
  }

  /**
   * A web ReadableStream of Uint8Array chunks, built on first use; null
   * where there is no body (_isNull).
   */
  get body() {
    if (this._stream === undefined) {
      const buf = this._buf;
      if (this._isNull()) {
        this._stream = null;
      } else if (this._live !== undefined) {
        this._stream = liveStream(this, this._live);
      } else {
        const self = this;
        this._stream = new ReadableStream({
          type: 'bytes',
          pull(controller) {
            if (self._late !== undefined) self._lateError();
            if (self._error !== null) {
              self._used = true;
              controller.error(self._error);
              return;
            }
            if (!self._used) {
              self._used = true;
              // A byte stream takes (detaches) what it is given: a body a
              // clone shares goes in as a copy.
              if (buf.length > 0) {
                controller.enqueue(self._shared ? new Uint8Array(buf)
                  : new Uint8Array(buf.buffer, buf.byteOffset, buf.length));
              }
            }
            controller.close();
          },
          cancel() {
            self._used = true; // A cancelled stream is disturbed: bodyUsed, as in fetch.
            if (self._late !== undefined) self._lateRead();
          },
        });
      }
      // Read already through a body method: as in fetch, a stream that is
      // locked (and disturbed) is what is left.
      if (this._used && this._stream !== null) this._stream.getReader();
    }
    return this._stream;
  }

  /** Whether the body has been read (through a method or the stream). */
  get bodyUsed() {
    return this._used;
  }

  _take() {
    if (this._isNull()) return null;
    if (this._used || (this._stream != null && this._stream.locked)) return Promise.reject(unusable());
    this._used = true;
    // A live body's reader lets its LateAbort go at the body's end (lib/livebody.js).
    if (this._late !== undefined && this._live === undefined) this._lateError();
    if (this._error !== null) return Promise.reject(this._error);
    // A body that was whole at the head: the same bound as a live one's.
    if (this._max > 0 && this._buf !== null && this._buf.length > this._max) return Promise.reject(bodyTooLarge(this._url, this._max));
    return null;
  }

  /** The whole body: Promise<Buffer>. */
  _all() {
    if (this._isNull()) return Promise.resolve(EMPTY);
    if (this._stream != null && (this._live !== undefined || this._teed)) return readAll(this._stream, this._max, this._url);
    if (this._live !== undefined) return this._live.collect(this._max);
    return Promise.resolve(this._buf === null ? EMPTY : this._buf);
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

  /** The body as an ArrayBuffer (the core's own memory when it covers it whole and no clone shares it: no copy). */
  arrayBuffer() {
    const refused = this._take();
    if (refused !== null) return refused;
    if (this._isNull()) return Promise.resolve(new ArrayBuffer(0));
    if (this._live !== undefined || this._teed) return this._all().then((b) => b.buffer.slice(b.byteOffset, b.byteOffset + b.byteLength));
    const b = this._buf;
    const ab = !this._shared && b.byteOffset === 0 && b.byteLength === b.buffer.byteLength ? b.buffer
      : b.buffer.slice(b.byteOffset, b.byteOffset + b.byteLength);
    return Promise.resolve(ab);
  }

  /** The body as a Uint8Array. */
  bytes() {
    const refused = this._take();
    if (refused !== null) return refused;
    if (this._isNull()) return Promise.resolve(new Uint8Array(0));
    if (this._live !== undefined || this._teed) return this._all().then((b) => new Uint8Array(b.buffer, b.byteOffset, b.byteLength));
    const b = this._buf;
    // Clones get bytes of their own, as in fetch.
    return Promise.resolve(this._shared ? new Uint8Array(b) : new Uint8Array(b.buffer, b.byteOffset, b.byteLength));
  }

  /** The body as a Blob of the response's Content-Type. */
  blob() {
    const refused = this._take();
    if (refused !== null) return refused;
    return this._all().then((b) => new Blob([b], { type: this.headers.get('content-type') || '' }));
  }

  /** The body decoded as UTF-8 (a leading byte order mark dropped, as fetch does). */
  text() {
    const refused = this._take();
    if (refused !== null) return refused;
    return this._all().then((b) => {
      const s = b.toString('utf8');
      return s.charCodeAt(0) === BOM ? s.slice(1) : s;
    });
  }

  /** The body parsed as JSON. */
  json() {
    return this.text().then(JSON.parse);
  }

  /** The body as FormData (multipart or form-urlencoded), parsed by Node's own Response. */
  formData() {
    const refused = this._take();
    if (refused !== null) return refused;
    const type = this.headers.get('content-type');
    return this._all().then((b) => new globalThis.Response(b, { headers: type === null ? {} : { 'content-type': type } }).formData());
  }

  /** A second Response over the same body, to be read on its own. */
  clone() {
    if (this._used || (this._stream != null && this._stream.locked)) throw unusable();
    if (this._isNull()) {
      const c = Response._make(this._url, this._status, this._statusText, this._block, EMPTY, this._redirected,
        this.httpVersion, this._t, this.attempts);
      c._head = this._head;
      c.output = this.output;
      return c;
    }
    if (this._live !== undefined || this._teed) {
      // A body still arriving: two branches of its stream (as fetch's tee).
      const [a, b] = this.body.tee();
      const c = Response._make(this._url, this._status, this._statusText, this._block, null, this._redirected,
        this.httpVersion, this._t, this.attempts);
      this._stream = a;
      this._teed = true;
      c._stream = b;
      c._teed = true;
      c._max = this._max;
      return c;
    }
    const c = Response._make(this._url, this._status, this._statusText, this._block, this._buf, this._redirected,
      this.httpVersion, this._t, this.attempts);
    c._error = this._error;
    c.output = this.output;
    if (this._late !== undefined) {
      this._late.readers++;
      c._watch(this._late);
    }
    this._shared = true;
    c._shared = true;
    return c;
  }

  [inspect.custom](depth, options) {
    const shown = {
      status: this._status, statusText: this._statusText, ok: this.ok, url: this._url, redirected: this._redirected,
      httpVersion: this.httpVersion, bodyUsed: this._used, headers: this.headers, attempts: this.attempts,
    };
    return `Response ${inspect(shown, { ...options, depth: options.depth === null ? null : options.depth - 1 })}`;
  }
}

const EMPTY = Buffer.alloc(0);

// A Response collected unread no longer needs its signal's listener.
const lateGone = new FinalizationRegistry((late) => late.done());

/** A byte stream over a live body: a chunk a pull, and a cancel stops the transfer. */
function liveStream(res, live) {
  return new ReadableStream({
    type: 'bytes',
    async pull(controller) {
      res._used = true;
      const c = await live.read();
      if (c === null) {
        controller.close();
        return;
      }
      // A byte stream takes (detaches) the buffer it is given: a chunk that
      // is part of a larger one (zlib's output) goes in as a copy.
      controller.enqueue(c.byteOffset === 0 && c.byteLength === c.buffer.byteLength
        ? new Uint8Array(c.buffer, 0, c.byteLength) : new Uint8Array(c));
    },
    cancel() {
      res._used = true; // Disturbed, as in fetch: the body methods refuse from here on.
      live.cancel();
    },
  }, { highWaterMark: 0 });
}

/** A stream read whole into a Buffer; past `max` bytes (0: none) rejects with EBODYTOOLARGE. */
async function readAll(stream, max, url) {
  const parts = [];
  let n = 0;
  for await (const c of stream) {
    n += c.byteLength;
    if (max > 0 && n > max) throw bodyTooLarge(url, max);
    parts.push(c);
  }
  return Buffer.concat(parts, n);
}

/** The plain-object headers of a response (fetchAll's results), parsed once. */
function fieldsOf(res) {
  if (res._fields === undefined) res._fields = parseHeaders(res._block);
  return res._fields;
}

let extended = false;

/** Response extends Node's own from here on (see the class). */
function extend() {
  Object.setPrototypeOf(Response.prototype, globalThis.Response.prototype);
  Object.setPrototypeOf(Response, globalThis.Response);
  extended = true;
}

module.exports = { Response, parseHeaders, headerPairs, fieldsOf, EMPTY };
