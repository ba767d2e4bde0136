'use strict';
// Request bodies that need a turn of the loop before the core can take them
// (Blob, FormData, web ReadableStream, Node Readable, async iterables), and
// Request objects as fetch()'s first argument.  Streams, iterables and large
// Blobs are sent as they are read (lib/upload.js); FormData and small Blobs
// are read into one Buffer, once per body object, and sent from memory.
// FormData is serialized by Node's own Response (multipart, with its
// boundary), not by an encoder of ours.

const { Blob } = require('node:buffer');
const { Stream } = require('node:stream');
const validate = require('./validate');

const read = new WeakMap(); // body object → Promise<{ buf, type }>

/** Whether `body` is one of the kinds read here. */
function isLaterBody(body) {
  if (body === null || typeof body !== 'object') return false;
  return body instanceof Blob || body instanceof FormData || body instanceof ReadableStream ||
    typeof body[Symbol.asyncIterator] === 'function' || isLegacyStream(body);
}

/**
 * A stream of Node's old kind (a `stream.Stream` with pipe() but no async
 * iterator), as the `form-data` package's FormData is: node-fetch sends
 * those, so code written for it does; read through its pipe() (lib/upload.js).
 */
function isLegacyStream(body) {
  // `readable`: a Writable has pipe() too (the old Stream's), and no data.
  return body instanceof Stream && body.readable === true && typeof body.pipe === 'function' &&
    typeof body[Symbol.asyncIterator] !== 'function';
}

/**
 * The `form-data` package's multipart type and length (-1: unknown, as when
 * a stream is appended), as node-fetch takes them; null for other bodies.
 */
function formDataPackage(body) {
  if (!isLegacyStream(body) || typeof body.getBoundary !== 'function') return null;
  const known = typeof body.hasKnownLength === 'function' && body.hasKnownLength() &&
    typeof body.getLengthSync === 'function';
  return { type: `multipart/form-data;boundary=${body.getBoundary()}`, length: known ? body.getLengthSync() : -1 };
}

// A Blob up to this size is read whole and sent from memory (a retry or a
// 307/308 sends it again from there); a larger one (a file's, from
// fs.openAsBlob) is sent through its stream, with its length.
const BLOB_WHOLE_MAX = 1024 * 1024;

/**
 * Whether `body` (one of the later kinds) is sent as it is read (lib/upload.js)
 * rather than read whole first: streams and iterables, and large Blobs.
 */
function streamsLater(body) {
  if (body instanceof Blob) return body.size > BLOB_WHOLE_MAX;
  return !(body instanceof FormData);
}

/** Whether a body sent as it is read can be read again (a Blob can; a stream cannot). */
function replayable(body) {
  return body instanceof Blob;
}

async function collect(body) {
  if (body instanceof Blob) return { buf: Buffer.from(await body.arrayBuffer()), type: body.type || null };
  const r = new globalThis.Response(body);
  return { buf: Buffer.from(await r.arrayBuffer()), type: r.headers.get('content-type') };
}

/** Reads a Blob or FormData whole: Promise<{ buf, type }> (type: null for none). */
function readLater(body) {
  let p = read.get(body);
  if (p === undefined) {
    p = collect(body);
    read.set(body, p);
  }
  return p;
}

/** Whether fetch()'s input is a Request (Node's global class). */
function isRequest(input) {
  return input !== null && typeof input === 'object' && input instanceof globalThis.Request;
}

// A Request's body is read up to this much first: one that ends by then
// (a string's, JSON, a small Blob's) goes as a Buffer, with its length, and
// is sent again on a 307/308; a longer one is sent as it is read, what was
// read first and then the rest (chunked, once), so that a Request that
// passes an upload on does not hold it in memory.
const REQUEST_PEEK = 1024 * 1024;

/** A Request's body stream: a Buffer when it ends within REQUEST_PEEK, else an async iterable of it all. */
async function requestBody(stream) {
  const reader = stream.getReader();
  const first = [];
  let n = 0;
  while (n <= REQUEST_PEEK) {
    const { done, value } = await reader.read();
    if (done) return Buffer.concat(first, n);
    first.push(value);
    n += value.byteLength;
  }
  return (async function* rest() {
    let ended = false;
    try {
      for (let i = 0; i < first.length; i++) {
        const c = first[i];
        first[i] = undefined; // Sent: not kept while the rest streams.
        yield c;
      }
      for (;;) {
        const { done, value } = await reader.read();
        if (done) break;
        yield value;
      }
      ended = true;
    } finally {
      // Stopped early (an abort, a failed request): the source is told.
      if (!ended) reader.cancel().catch(() => {});
    }
  })();
}

/**
 * A global Request as fetch()'s input: [url, options], the Request's
 * method, headers, body, signal and redirect, under what `options` gives.
 */
async function fromRequest(request, options) {
  if (options !== undefined) validate.options('options', options);
  const o = {
    method: request.method,
    headers: request.headers,
    signal: request.signal,
    redirect: request.redirect,
  };
  if (request.body !== null && (options === undefined || options.body === undefined)) {
    if (request.bodyUsed) throw new TypeError('The Request\'s body has already been read');
    o.body = await requestBody(request.body);
    if (!Buffer.isBuffer(o.body)) o.duplex = 'half';
  }
  return [request.url, options === undefined ? o : { ...o, ...options }];
}

module.exports = { isLaterBody, isLegacyStream, formDataPackage, streamsLater, replayable, readLater, fromRequest, isRequest };
