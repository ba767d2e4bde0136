'use strict';
// A request body sent as it is produced: a web ReadableStream, a Node
// Readable or another async iterable (or a large Blob, through its
// stream), read a chunk at a time and fed to the core, which sends it
// through libcurl's read callback (src/core/fetch_upload.c).  The core
// holds at most about UVA_FETCH_UPLOAD_HIGH of it: past that feed() says
// wait, and the pump waits until the core says it has taken it down (news
// with "want").

const { Blob } = require('node:buffer');
const { PassThrough } = require('node:stream');
const { types } = require('node:util');
const validate = require('./validate');
const { isLegacyStream } = require('./body');


/** A body object's chunks, one at a time, and a way to stop it from outside. */
// An old-style stream through its own pipe() (which starts the form-data
// package's, and pauses it when the pipe is full), its error passed on.
function piped(legacy) {
  const through = new PassThrough();
  legacy.on('error', (err) => through.destroy(err));
  return legacy.pipe(through);
}

class Source {
  constructor(body) {
    this.body = body;
    this.reader = null;
    this.it = null;
    this.stopped = null; // The error it was stopped with, while a step ran.
    this.busy = false; // A step is under way.
    this.ended = false;
    const stream = body instanceof Blob ? body.stream() : (isLegacyStream(body) ? piped(body) : body);
    if (stream instanceof ReadableStream) {
      if (stream.locked) throw new TypeError('options.body: the ReadableStream is locked (already being read)');
      // A web stream through a reader: its cancel() ends a read under way.
      this.reader = stream.getReader();
    } else {
      this.it = stream[Symbol.asyncIterator]();
    }
  }

  /** The next chunk as a Buffer (a view: the core copies it at once), or null at the end. */
  async next() {
    this.busy = true;
    let step;
    try {
      step = this.reader !== null ? await this.reader.read() : await this.it.next();
    } finally {
      this.busy = false;
    }
    if (this.stopped !== null) {
      // Stopped while that step was under way: the source stops here.
      if (this.it !== null && typeof this.it.return === 'function') await this.it.return();
      throw this.stopped;
    }
    if (step === null || typeof step !== 'object') throw new TypeError(`options.body: an iterator result is not an object: ${step}`);
    if (step.done) {
      this.ended = true;
      if (this.reader !== null) this.reader.releaseLock();
      return null;
    }
    const chunk = step.value;
    if (typeof chunk === 'string') return Buffer.from(chunk);
    if (ArrayBuffer.isView(chunk)) return Buffer.from(chunk.buffer, chunk.byteOffset, chunk.byteLength);
    if (types.isAnyArrayBuffer(chunk)) return Buffer.from(chunk);
    throw validate.typeError('options.body chunk', 'a string, an ArrayBuffer or a view of one', chunk);
  }

  /**
   * The request is over (err: why, when it failed or was aborted) before
   * the source was: it stops.  A Readable is destroyed (with `err`, as
   * node-fetch and undici do), a web stream cancelled, an iterator
   * returned (at its next step if one is under way: an iterator whose step
   * never ends cannot be stopped from outside, by anyone).
   */
  stop(err) {
    if (this.ended || this.stopped !== null) return;
    this.stopped = err === undefined ? new Error('The request ended before its body') : err;
    const body = this.body;
    if (typeof body.destroy === 'function') {
      body.destroy(err);
    } else if (this.reader !== null) {
      this.reader.cancel(err).catch(() => {});
    } else if (!this.busy && typeof this.it.return === 'function') {
      Promise.resolve().then(() => this.it.return()).catch(() => {});
    }
  }
}

/** One hop's body fed to the core from a Source. */
class Upload {
  /**
   * @param {object} pool the core's pool
   * @param {number} id the request's id there
   * @param {object} body the body object (a fresh Source is read from it)
   * @param {(err: Error) => void} onError the source failed: the request fails with `err`
   */
  constructor(pool, id, body, onError) {
    this.pool = pool;
    this.id = id;
    this.source = new Source(body);
    this.onError = onError;
    this.waiter = null;
    this.done = false;
  }

  start() {
    this.run().catch((err) => {
      if (this.done) return;
      this.done = true;
      this.source.stop(err);
      this.onError(err);
    });
  }

  async run() {
    for (;;) {
      const chunk = await this.source.next();
      if (this.done) return;
      const wait = this.pool.feed(this.id, chunk);
      if (chunk === null || wait < 0) {
        this.done = true;
        return;
      }
      if (wait === 1) {
        await new Promise((resolve) => { this.waiter = resolve; });
        if (this.done) return;
      }
    }
  }

  /** News: the core has taken the body down; the pump goes on. */
  wake() {
    const w = this.waiter;
    this.waiter = null;
    if (w !== null) w();
  }

  /** The request is over: the source stops, unless it had ended. */
  stop(err) {
    if (this.done) return;
    this.done = true;
    this.source.stop(err);
    this.wake();
  }
}

module.exports = { Upload, Source };
