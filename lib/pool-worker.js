'use strict';
// The entry of a WorkerPool's worker: loads the task module and runs its
// tasks one at a time.  A thread attaches to the pool's queue in C
// (src/core/wpool.c) by the pool's address; a child process (the process
// kind) reads its tasks from fd 3, which the core writes on the pool's loop
// (src/core/wproc.c, wchild.c).  Either way a finished task's result goes
// back in the same call that takes the next task (done()), so a busy
// worker never waits for a wake-up.

const { isMainThread, workerData, parentPort } = require('node:worker_threads');
const v8 = require('node:v8');
const { pathToFileURL } = require('node:url');
const { binding } = require('./native');
const { encode, decodeTask, resultHead, V8 } = require('./wire');

const OK = 0;
const THREW = 1;
const YIELD_MS = 5; // Synchronous tasks in a row give the worker's own loop a turn this often.

const PROCESS = isMainThread; // A child process: `node pool-worker.js <filename>`, its pool on fd 3.
const READY = 3;
const FAILED = 4;
const { address, slot, filename } = PROCESS ? { filename: process.argv[2] } : workerData;
let mod = null;
const fns = new Map();

async function load() {
  try {
    return require(filename);
  } catch (err) {
    if (err.code !== 'ERR_REQUIRE_ESM') throw err;
  }
  return import(pathToFileURL(filename).href);
}

/** The module's export `name` (or its default export, or the module itself for `module.exports = fn`). */
function pick(name) {
  let fn = fns.get(name);
  if (fn !== undefined) return fn;
  if (name === 'default') fn = typeof mod === 'function' ? mod : mod.default;
  else fn = mod[name] !== undefined ? mod[name] : (mod.default != null ? mod.default[name] : undefined);
  if (typeof fn !== 'function') {
    const err = new TypeError(`${filename} has no function export named \`${name}\``);
    err.code = 'ERR_INVALID_ARG_VALUE';
    throw err;
  }
  fns.set(name, fn);
  return fn;
}

/** An error as the pool rebuilds it: what structured clone keeps, and the own properties it drops (code, name, cause, ...). */
function serializeError(err) {
  if (!(err instanceof Error)) {
    try {
      return v8.serialize({ thrown: err });
    } catch {
      return v8.serialize({ thrown: String(err) });
    }
  }
  const props = { name: err.name };
  for (const key of Object.keys(err)) props[key] = err[key];
  if (err.cause !== undefined) props.cause = err.cause;
  try {
    return v8.serialize({ error: err, props });
  } catch {
    // A property that cannot be cloned: the text of it all.
    return v8.serialize({ error: { message: err.message, stack: err.stack }, props: { name: err.name, code: err.code } });
  }
}

async function run(w, id, buf) {
  let since = performance.now();
  for (;;) {
    let status = OK;
    let kind;
    let out;
    const t0 = performance.now();
    try {
      const [name, task] = decodeTask(buf);
      buf = null; // A task's bytes go as soon as the task has them.
      let r = pick(name)(task);
      if (r !== null && typeof r === 'object' && typeof r.then === 'function') r = await r;
      [kind, out] = encode(r);
    } catch (err) {
      status = THREW;
      kind = V8;
      out = serializeError(err);
    }
    const next = w.done(id, status, resultHead(kind, performance.now() - t0), out);
    if (next === undefined) return;
    [id, buf] = next;
    if (performance.now() - since > YIELD_MS) {
      await new Promise((resolve) => setImmediate(resolve));
      since = performance.now();
    }
  }
}

let w = null;
if (PROCESS) {
  // Attached before the module loads: fd 3 is close-on-exec from here on,
  // so whatever the module starts does not hold the pool's socket.  The
  // end of it (id 0) is the end of the pool: this process goes with it.
  w = binding.childAttach(3, (id, buf) => (id === 0 ? process.exit(0) : run(w, id, buf)));
}

load().then((m) => {
  mod = m;
  if (PROCESS) {
    w.send(READY);
  } else {
    w = binding.workerAttach(address, slot, (id, buf) => run(w, id, buf));
    parentPort.postMessage('ready'); // The pool tells a start-up failure from a crash by it.
  }
  const first = w.next();
  if (first !== undefined) run(w, first[0], first[1]);
}, (err) => {
  // The module does not load: this worker cannot run anything.  The pool
  // rejects its tasks with the reason: a thread's error event brings it, a
  // process sends it (a frame that small is written at once) and exits.
  if (PROCESS) {
    w.send(FAILED, serializeError(err));
    w.close();
    process.exitCode = 1;
    return;
  }
  process.nextTick(() => { throw err; });
});
