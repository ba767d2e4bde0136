'use strict';
// A response body that is still arriving: chunks from the core (a loop
// turn's, 4 MiB at most, in pieces of at most 256 KiB), decoded here when
// the response has a Content-Encoding, queued for one reader.  Past HIGH
// bytes queued the transfer is paused with libcurl's pause (pool.hold(id,
// 1)) and goes on below LOW: a slow reader holds at most HIGH + one turn's
// chunk.

const zlib = require('node:zlib');
const { FetchError, bodyTooLarge } = require('./errors');
const { isZlibWrapped } = require('./decode');

const HIGH = 1 << 20;
const LOW = 256 << 10;

// "deflate" as decodeBody reads it: zlib-wrapped or raw (isZlibWrapped).
function decoderOf(coding, first) {
  switch (coding) {
    case 'gzip':
    case 'x-gzip':
      return zlib.createGunzip();
    case 'deflate':
      return isZlibWrapped(first) ? zlib.createInflate() : zlib.createInflateRaw();
    case 'br':
      return zlib.createBrotliDecompress();
    case 'zstd':
      return typeof zlib.createZstdDecompress === 'function' ? zlib.createZstdDecompress() : null;
    default:
      return null;
  }
}

class LiveBody {
  /**
   * `hold(full)` pauses (true) or resumes (false) the transfer; `cancel()`
   * stops it; `encoding`: the Content-Encoding to undo, or undefined.
   */
  constructor(url, hold, cancel, encoding) {
    this.url = url;
    this.hold = hold;
    this.cancelTransfer = cancel;
    this.codings = encoding === undefined ? [] : encoding.toLowerCase().split(',').map((c) => c.trim())
      .filter((c) => c !== '' && c !== 'identity');
    this.decoder = null; // The first of a chain of zlib streams, once the first chunk is in.
    this.out = null; // Its last: decoded chunks come from there (paused while the queue is full).
    this.cancelled = false;
    this.touched = false; // A reader has begun (read()): the Response may go, the reading goes on.
    this.chunks = [];
    this.head = 0;
    this.queued = 0;
    this.held = false;
    this.ended = false; // The transfer (and the decoder) ended.
    this.error = null;
    this.wake = null;
    this.total = 0; // Bytes handed to the reader.
    this.finished = false; // The reader has had the end.
    this.onDone = null; // Called once the reader is done: the end, an error or a cancel.
  }

  // ---- From the core ----------------------------------------------------

  /** A raw chunk of the body as received. */
  push(chunk) {
    if (this.error !== null || this.cancelled) return;
    if (this.codings.length === 0) return this.queue(chunk);
    if (this.decoder === null) this.startDecoder(chunk);
    if (this.decoder === null) return this.queue(chunk);
    this.decoder.write(chunk);
    this.update();
    return undefined;
  }

  /**
   * Pauses the transfer when the queue (or what the decoder has yet to
   * decode) is past HIGH, and lets it go on below LOW; the decoder's output
   * waits while the queue is full, so that a small body that decodes to a
   * large one (a bomb) is decoded only as fast as it is read.
   */
  update() {
    const d = this.decoder;
    const pending = d === null ? 0 : d.writableLength;
    if (this.out !== null) {
      if (this.queued > HIGH) this.out.pause();
      else if (this.queued < LOW) this.out.resume();
    }
    if (!this.held && (this.queued > HIGH || pending > HIGH)) {
      this.held = true;
      this.hold(true);
    } else if (this.held && this.queued < LOW && pending < LOW) {
      this.held = false;
      this.hold(false);
    }
  }

  /** The transfer ended: `err` (a FetchError) or none. */
  end(err) {
    if (err !== undefined) return this.fail(err);
    if (this.decoder !== null) {
      this.decoder.end();
      return undefined;
    }
    this.ended = true;
    this.notify();
    return undefined;
  }

  startDecoder(first) {
    // Codings were applied in order: undone last first.  One that zlib
    // cannot undo leaves the body as it stands from there on.
    const chain = [];
    for (let i = this.codings.length - 1; i >= 0; i--) {
      const d = decoderOf(this.codings[i], first);
      if (d === null) break;
      chain.push(d);
    }
    if (chain.length === 0) return;
    for (let i = 0; i + 1 < chain.length; i++) chain[i].pipe(chain[i + 1]);
    const last = chain[chain.length - 1];
    for (const d of chain) {
      d.on('error', (e) => this.fail(new FetchError(`Bad ${this.codings.join(', ')} body: ${e.message} (EPROTO) fetching ${this.url}`,
        'EPROTO', this.url, { cause: e })));
    }
    last.on('data', (c) => this.queue(c));
    chain[0].on('drain', () => this.update());
    last.on('end', () => {
      this.ended = true;
      this.notify();
    });
    this.decoder = chain[0];
    this.out = last;
  }

  queue(chunk) {
    if (chunk.length === 0) return;
    this.chunks.push(chunk);
    this.queued += chunk.length;
    this.update();
    this.notify();
  }

  /** The body fails: the transfer's error, or an abort, which also errors a body that has all arrived but is unread. */
  fail(err) {
    if (this.error !== null || this.finished || this.cancelled) return;
    this.error = err;
    this.chunks = [];
    this.queued = 0;
    if (this.decoder !== null) this.decoder.destroy();
    this.notify();
  }

  notify() {
    const w = this.wake;
    if (w !== null) {
      this.wake = null;
      w();
    }
  }

  // ---- For the reader ---------------------------------------------------

  /** The next chunk (a Buffer), or null at the end; rejects with the transfer's error. */
  async read() {
    this.touched = true;
    for (;;) {
      if (this.head < this.chunks.length) {
        const c = this.chunks[this.head];
        this.chunks[this.head++] = undefined;
        if (this.head > 64 && this.head * 2 > this.chunks.length) {
          this.chunks.splice(0, this.head);
          this.head = 0;
        }
        this.queued -= c.length;
        this.total += c.length;
        this.update();
        return c;
      }
      if (this.error !== null) {
        this.done();
        throw this.error;
      }
      if (this.ended) {
        this.finished = true;
        this.done();
        return null;
      }
      await new Promise((resolve) => { this.wake = resolve; });
    }
  }

  done() {
    const f = this.onDone;
    if (f !== null) {
      this.onDone = null;
      f();
    }
  }

  /** The reader is gone: the transfer stops. */
  cancel() {
    this.done();
    if (this.ended || this.error !== null || this.cancelled) return;
    this.cancelled = true;
    this.chunks = [];
    this.queued = 0;
    if (this.decoder !== null) this.decoder.destroy();
    this.cancelTransfer();
  }

  /** The whole body in one Buffer; past `max` bytes (0: none) rejects with EBODYTOOLARGE and stops. */
  async collect(max) {
    const parts = [];
    let n = 0;
    for (let c; (c = await this.read()) !== null;) {
      n += c.length;
      if (max > 0 && n > max) {
        this.cancel();
        throw bodyTooLarge(this.url, max);
      }
      parts.push(c);
    }
    return parts.length === 1 ? parts[0] : Buffer.concat(parts, n);
  }
}

module.exports = { LiveBody, HIGH, LOW };
