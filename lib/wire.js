'use strict';
// How WorkerPool payloads travel through the core's queue: a small head and
// a body, which the core joins in one copy.  A Buffer or a Uint8Array goes
// as its own bytes and comes out as a view over the core's copy (one copy
// in all, where structured clone makes two); anything else goes through
// v8.serialize (structured clone semantics: Dates, Maps, typed arrays,
// errors; a Buffer inside comes back a Buffer).  A number, a string, a
// boolean, null and undefined at the top go as themselves (a double, UTF-8,
// the kind alone): what structured clone gives for them, without a
// serializer made and run on each side for each task.
//
// A task's head: [kind, name length (u16 LE), name (UTF-8)]; a result's:
// [kind, the task's run time in ms (f64 LE)].

const v8 = require('node:v8');

const V8 = 0;
const BUFFER = 1;
const BYTES = 2; // A plain Uint8Array.
const NUMBER = 3;
const STRING = 4;
const UNDEFINED = 5;
const NULL = 6;
const TRUE = 7;
const FALSE = 8;
// The kinds that are their value: the kind alone travels.
const VALUES = new Map([[UNDEFINED, undefined], [NULL, null], [TRUE, true], [FALSE, false]]);

const kindHeads = Array.from({ length: 9 }, (_, k) => Buffer.from([k]));
// A number's bytes: one buffer, written anew each time (the core copies a
// payload in the call that takes it).
const numberScratch = Buffer.alloc(8);
const RESULT_HEAD = 9;
const taskHeads = new Map(); // name → [head per kind]

/** [kind, body] of a value. */
function encode(value) {
  switch (typeof value) {
    case 'number':
      numberScratch.writeDoubleLE(value, 0);
      return [NUMBER, numberScratch];
    case 'string':
      // UTF-8 cannot hold a lone surrogate: such a string goes as V8's.
      if (value.isWellFormed()) return [STRING, Buffer.from(value, 'utf8')];
      break;
    case 'undefined':
      return [UNDEFINED, undefined];
    case 'boolean':
      return [value ? TRUE : FALSE, undefined];
    default:
      if (value === null) return [NULL, undefined];
  }
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
  if (kind === NUMBER) return buf.readDoubleLE(offset);
  if (kind === STRING) return buf.toString('utf8', offset);
  if (VALUES.has(kind)) return VALUES.get(kind);
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
