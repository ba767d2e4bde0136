'use strict';
// The Response of fetch(): the fetch standard's shape over what the core
// hands over (the whole body in a Buffer, the headers as "name\0value\0").
// `headers` is Node's own Headers and `body` a web ReadableStream, each
// built on first use: a response read with text() or bytes() builds
// neither.

const { Blob } = require('node:buffer');

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

class Response {
  #headers;
  #stream;
  #used = false;

  constructor(url, status, statusText, headerBlock, body, redirected, version, timings, attempts) {
    /** The final URL (after redirects), as WHATWG URL serializes it. */
    this.url = url;
    this.status = status;
    /** The reason phrase of the status line ('' over HTTP/2). */
    this.statusText = statusText;
    this.ok = status >= 200 && status < 300;
    this.redirected = redirected;
    this.type = 'basic';
    /** '1.0', '1.1', '2' or '3'. */
    this.httpVersion = version;
    /** Attempts made (retries through a Fetcher). */
    this.attempts = attempts;
    this._block = headerBlock;
    this._fields = undefined; // The headers as a plain object, once parsed.
    this._buf = body; // A Buffer: the whole body (or the empty one).
    this._t = timings; // [dns, connect, tls, firstByte, total, duration]
    this._shared = false; // A clone reads the same Buffer: its stream enqueues copies.
    this._inFile = false; // The body went to options.output: there is none here.
    /** The file the body was written to (options.output), or undefined. */
    this.output = undefined;
  }

  /** Node's own Headers (the global `Headers`), built on first use. */
  get headers() {
    if (this.#headers === undefined) {
      const h = new Headers();
      for (const [name, value] of headerPairs(this._block)) h.append(name, value);
      this.#headers = h;
    }
    return this.#headers;
  }

  /**
   * A web ReadableStream of Uint8Array chunks, built on first use; null for
   * 204, 205 and 304, as in fetch, and when the body went to `output`.
   */
  get body() {
    if (this.#stream === undefined) {
      const buf = this._buf;
      if (NULL_BODY.has(this.status) || this._inFile) {
        this.#stream = null;
      } else {
        const self = this;
        this.#stream = new ReadableStream({
          type: 'bytes',
          pull(controller) {
            if (!self.#used) {
              self.#used = true;
              // A byte stream takes (detaches) what it is given: a body a
              // clone shares goes in as a copy.
              if (buf.length > 0) {
                controller.enqueue(self._shared ? new Uint8Array(buf)
                  : new Uint8Array(buf.buffer, buf.byteOffset, buf.length));
              }
            }
            controller.close();
          },
        });
      }
    }
    return this.#stream;
  }

  /** Whether the body has been read (through a method or the stream). */
  get bodyUsed() {
    return this.#used;
  }

  #take() {
    if (this.#used || (this.#stream != null && this.#stream.locked)) return Promise.reject(unusable());
    this.#used = true;
    return null;
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
    const refused = this.#take();
    if (refused !== null) return refused;
    const b = this._buf;
    const ab = !this._shared && b.byteOffset === 0 && b.byteLength === b.buffer.byteLength ? b.buffer
      : b.buffer.slice(b.byteOffset, b.byteOffset + b.byteLength);
    return Promise.resolve(ab);
  }

  /** The body as a Uint8Array. */
  bytes() {
    const refused = this.#take();
    if (refused !== null) return refused;
    const b = this._buf;
    // Clones get bytes of their own, as in fetch.
    return Promise.resolve(this._shared ? new Uint8Array(b) : new Uint8Array(b.buffer, b.byteOffset, b.byteLength));
  }

  /** The body as a Blob of the response's Content-Type. */
  blob() {
    const refused = this.#take();
    if (refused !== null) return refused;
    return Promise.resolve(new Blob([this._buf], { type: this.headers.get('content-type') || '' }));
  }

  /** The body decoded as UTF-8 (a leading byte order mark dropped, as fetch does). */
  text() {
    const refused = this.#take();
    if (refused !== null) return refused;
    const s = this._buf.toString('utf8');
    return Promise.resolve(s.charCodeAt(0) === BOM ? s.slice(1) : s);
  }

  /** The body parsed as JSON. */
  json() {
    return this.text().then(JSON.parse);
  }

  /** A second Response over the same body, to be read on its own. */
  clone() {
    if (this.#used || (this.#stream != null && this.#stream.locked)) throw unusable();
    const c = new Response(this.url, this.status, this.statusText, this._block, this._buf, this.redirected,
      this.httpVersion, this._t, this.attempts);
    c._inFile = this._inFile;
    c.output = this.output;
    this._shared = true;
    c._shared = true;
    return c;
  }
}

/** The plain-object headers of a response (fetchAll's results), parsed once. */
function fieldsOf(res) {
  if (res._fields === undefined) res._fields = parseHeaders(res._block);
  return res._fields;
}

module.exports = { Response, parseHeaders, headerPairs, fieldsOf };
