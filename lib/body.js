'use strict';
// Request bodies that need a turn of the loop before the core can take them
// (Blob, FormData, web ReadableStream, Node Readable, async iterables), and
// Request objects as fetch()'s first argument.  Each is read into one
// Buffer, once per body object: the core sends a body from memory.  FormData
// is serialized by Node's own Response (multipart, with its boundary), not
// by an encoder of ours.

const { Blob } = require('node:buffer');
const { types } = require('node:util');
const validate = require('./validate');

const read = new WeakMap(); // body object → Promise<{ buf, type }>
const reading = new WeakMap(); // stream body → its iterator while it is read

/** Whether `body` is one of the kinds read here. */
function isLaterBody(body) {
  if (body === null || typeof body !== 'object') return false;
  return body instanceof Blob || body instanceof FormData || body instanceof ReadableStream ||
    typeof body[Symbol.asyncIterator] === 'function';
}

async function collect(body) {
  if (body instanceof Blob) return { buf: Buffer.from(await body.arrayBuffer()), type: body.type || null, stream: false };
  if (body instanceof FormData) {
    const r = new globalThis.Response(body);
    return { buf: Buffer.from(await r.arrayBuffer()), type: r.headers.get('content-type'), stream: false };
  }
  if (body instanceof ReadableStream && body.locked) throw new TypeError('options.body: the ReadableStream is locked (already being read)');
  // A web ReadableStream and a Node Readable are async iterables too.
  const chunks = [];
  let n = 0;
  // A web stream through a reader (its cancel() ends a read under way); the
  // rest through their iterator.
  const state = { reader: null, it: null, stopped: null };
  if (body instanceof ReadableStream) state.reader = body.getReader();
  else state.it = body[Symbol.asyncIterator]();
  reading.set(body, state);
  for (;;) {
    const step = state.reader !== null ? await state.reader.read() : await state.it.next();
    if (state.stopped !== null) {
      // Aborted while that step was under way: the source stops here.
      if (state.it !== null && typeof state.it.return === 'function') await state.it.return();
      throw state.stopped;
    }
    if (step === null || typeof step !== 'object') throw new TypeError(`options.body: an iterator result is not an object: ${step}`);
    if (step.done) break;
    const chunk = step.value;
    let b;
    if (typeof chunk === 'string') b = Buffer.from(chunk);
    else if (ArrayBuffer.isView(chunk)) b = Buffer.from(chunk.buffer, chunk.byteOffset, chunk.byteLength);
    else if (types.isAnyArrayBuffer(chunk)) b = Buffer.from(chunk);
    else throw validate.typeError('options.body chunk', 'a string, an ArrayBuffer or a view of one', chunk);
    // A copy: the producer may reuse its buffer once it has been given back.
    chunks.push(Buffer.from(b));
    n += b.length;
  }
  reading.delete(body);
  if (state.reader !== null) state.reader.releaseLock();
  return { buf: Buffer.concat(chunks, n), type: null, stream: true };
}

/**
 * The request was aborted while its stream body was being read: the source
 * stops (a Readable is destroyed with `err`, as node-fetch and undici do;
 * an iterator is returned, which cancels a web stream).
 */
function abortLater(body, err) {
  if (typeof body.destroy === 'function') {
    body.destroy(err);
    return;
  }
  const state = reading.get(body);
  if (state === undefined) return;
  reading.delete(body);
  state.stopped = err;
  if (state.reader !== null) state.reader.cancel(err).catch(() => {});
  // An iterator stops at its next step (collect() returns it then): one
  // whose step never ends cannot be stopped from outside.
}

/** Reads a body of one of those kinds: Promise<{ buf, type, stream }> (type: null for none; stream: it came from one). */
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
  if (request.body !== null) {
    if (request.bodyUsed) throw new TypeError('The Request\'s body has already been read');
    o.body = Buffer.from(await request.arrayBuffer());
  }
  return [request.url, options === undefined ? o : { ...o, ...options }];
}

module.exports = { isLaterBody, readLater, abortLater, fromRequest, isRequest };
