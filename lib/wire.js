'use strict';
// How WorkerPool payloads travel through the core's queue: a small head and
// a body, which the core joins in one copy.  A Buffer or a Uint8Array goes
// as its own bytes and comes out as a view over the core's copy (one copy
// in all, where structured clone makes two); anything else goes through
// v8.serialize (structured clone semantics: Dates, Maps, typed arrays,
// errors; a Buffer inside comes back a Buffer).
//
// A task's head: [kind, name length (u16 LE), name (UTF-8)]; a result's:
// [kind, the task's run time in ms (f64 LE)].

const v8 = require('node:v8');

const V8 = 0;
const BUFFER = 1;
const BYTES = 2; // A plain Uint8Array.

const kindHeads = [Buffer.from([V8]), Buffer.from([BUFFER]), Buffer.from([BYTES])];
const RESULT_HEAD = 9;
const taskHeads = new Map(); // name → [head per kind]

/** [kind, body] of a value. */
function encode(value) {
  if (Buffer.isBuffer(value)) return [BUFFER, value];
  if (value instanceof Uint8Array && value.constructor === Uint8Array) return [BYTES, value];
  try {
    return [V8, v8.serialize(value)];
  } catch (err) {
    // What structuredClone() and postMessage() throw for the same value.
    throw new DOMException(err.message, 'DataCloneError');
  }
}

function taskHead(name, kind) {
  let heads = taskHeads.get(name);
  if (heads === undefined) {
    const n = Buffer.from(name, 'utf8');
    if (n.length > 0xffff) throw new RangeError('options.name: longer than 65,535 bytes');
    heads = kindHeads.map((k) => {
      const h = Buffer.allocUnsafe(3 + n.length);
      h[0] = k[0];
      h.writeUInt16LE(n.length, 1);
      n.copy(h, 3);
      return h;
    });
    if (taskHeads.size < 1024) taskHeads.set(name, heads);
  }
  return heads[kind];
}

const resultScratch = Buffer.alloc(RESULT_HEAD);

/**
 * A result's head: its kind and how long the task ran (ms).  One buffer,
 * written anew for each result: the core copies it in done() at once.
 */
function resultHead(kind, ms) {
  resultScratch[0] = kind;
  resultScratch.writeDoubleLE(ms, 1);
  return resultScratch;
}

/** The value in `buf` from `offset` on, of `kind`. */
function decode(kind, buf, offset) {
  if (kind === BUFFER) return buf.subarray(offset);
  if (kind === BYTES) return new Uint8Array(buf.buffer, buf.byteOffset + offset, buf.length - offset);
  return v8.deserialize(buf.subarray(offset));
}

/** A task's name and value. */
function decodeTask(buf) {
  const n = buf.readUInt16LE(1);
  return [buf.toString('utf8', 3, 3 + n), decode(buf[0], buf, 3 + n)];
}

module.exports = { encode, decode, decodeTask, taskHead, resultHead, RESULT_HEAD, V8 };
