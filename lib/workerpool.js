'use strict';
// WorkerPool: CPU-bound tasks on worker threads or child processes, with
// the task queue, the dispatch and the wake-ups in C: one queue for every
// worker, so no task waits behind a long one.  Threads share the queue
// (src/core/wpool.c): a worker that finishes a task takes the next in the
// same call, and results come back in batches.  Processes get their tasks
// as frames on a socket (fd 3) that the core writes and reads on this loop
// (src/core/wproc.c): a result read hands that child its next task at once.
// Payloads travel with v8.serialize (structured clone: Dates, Maps, typed
// arrays, errors; a Buffer comes back a Buffer), in both kinds.

const os = require('node:os');
const path = require('node:path');
const { fileURLToPath } = require('node:url');
const v8 = require('node:v8');
const { Worker } = require('node:worker_threads');
const { binding } = require('./native');
const { UvasyncError, TimeoutError, abortError } = require('./errors');
const { mapWithLimit } = require('./map');
const validate = require('./validate');
const { unlisten } = require('./signal');
const { encode, decode, taskHead, RESULT_HEAD } = require('./wire');

const ENTRY = path.join(__dirname, 'pool-worker.js');
const THREW = 1;
// A child's news (src/core/wproc.h).
const CHILD_READY = 1;
const CHILD_FAILED = 2;
const CHILD_EXIT = 3;
const SIGKILL = os.constants.signals.SIGKILL;
const signalNames = {}; // The first name of a number (SIGABRT, not its alias SIGIOT).
for (const [k, v] of Object.entries(os.constants.signals)) if (!(v in signalNames)) signalNames[v] = k;
// What of resourceLimits a child process takes, as V8's flags.
const PROCESS_LIMITS = {
  maxOldGenerationSizeMb: (mb) => `--max-old-space-size=${mb}`,
  maxYoungGenerationSizeMb: (mb) => `--max-semi-space-size=${Math.max(1, Math.ceil(mb / 3))}`,
};

/** A worker as the pool keeps it: how to stop it (now, or once idle), and its state. */
class Rec {
  constructor(kill, end) {
    this.kill = kill; // Now, mid-task: terminate(), SIGKILL.
    this.end = end; // Idle: a thread is terminated, a process's fd 3 ends and it exits.
    this.ready = false; // It has loaded its module.
    this.error = null;
    this.killed = null; // Why the pool stopped it.
    this.exited = new Promise((resolve) => { this.gone = resolve; });
  }
}

// Of this process's flags, those a child must not get: what runs instead of
// the entry (-e would run this process's script again in every child, each
// starting a pool of its own), and what would stop or watch it.
// Each: whether it takes the next argument as its value (unless given as --flag=value).
const NOT_INHERITED = new Map([
  ['-e', true], ['--eval', true], ['-p', true], ['--print', true], ['-pe', true],
  ['-i', false], ['--interactive', false], ['-c', false], ['--check', false], ['--test', false],
  ['--watch', false], ['--watch-path', true], ['--watch-preserve-output', false],
  ['--inspect', false], ['--inspect-brk', false], ['--inspect-wait', false], ['--inspect-port', true], ['--debug-port', true],
]);

/** This process's Node flags, less those a child must not inherit. */
function inheritedFlags() {
  const out = [];
  const argv = process.execArgv;
  for (let i = 0; i < argv.length; i++) {
    const eq = argv[i].indexOf('=');
    const name = eq < 0 ? argv[i] : argv[i].slice(0, eq);
    if (!NOT_INHERITED.has(name)) out.push(argv[i]);
    else if (eq < 0 && NOT_INHERITED.get(name)) i++; // Its value goes with it.
  }
  return out;
}

/** A child process's argv: Node's flags (this process's by default, as fork() does), the entry and the task module. */
function processArgs(resourceLimits, execArgv, filename) {
  const flags = execArgv === undefined ? inheritedFlags() : [...execArgv];
  if (resourceLimits !== undefined) {
    for (const [k, v] of Object.entries(resourceLimits)) flags.push(PROCESS_LIMITS[k](v));
  }
  return [process.execPath, ...flags, ENTRY, filename];
}

class Task {
  constructor(id, resolve, reject) {
    this.id = id;
    this.resolve = resolve;
    this.reject = reject;
    this.signal = undefined;
    this.onAbort = null;
    this.timer = null;
  }
}

/** An error a worker threw, rebuilt with what structured clone drops (code, a custom name, cause). */
function rebuild(payload) {
  if ('thrown' in payload) return payload.thrown;
  let err = payload.error;
  if (!(err instanceof Error)) {
    err = new Error(err.message);
    if (payload.error.stack !== undefined) err.stack = payload.error.stack;
  }
  for (const [k, v] of Object.entries(payload.props)) {
    try {
      Object.defineProperty(err, k, { value: v, writable: true, configurable: true, enumerable: k !== 'name' && k !== 'cause' });
    } catch {
      // A property the error will not take.
    }
  }
  return err;
}

let nextId = 1;

class WorkerPool {
  /**
   * @param {object} options
   * @param {string|URL} options.filename the task module (CJS or ESM); its export `name` (or default) runs each task
   */
  constructor(options) {
    validate.options('options', options);
    if (options === undefined) throw validate.typeError('options', 'an object with a `filename`', options);
    const { filename, name = 'default', kind = 'thread', minWorkers = 0, maxWorkers = os.availableParallelism(),
      idleTimeout = Infinity, maxQueue = Infinity, taskTimeout = Infinity, resourceLimits, env, execArgv } = options;
    let file = filename instanceof URL ? fileURLToPath(filename) : filename;
    if (typeof file === 'string' && file.startsWith('file:')) file = fileURLToPath(file);
    if (typeof file !== 'string' || file === '') throw validate.typeError('options.filename', 'a path or a file: URL', filename);
    if (typeof name !== 'string') throw validate.typeError('options.name', 'a string', name);
    if (kind !== 'thread' && kind !== 'process') throw validate.typeError('options.kind', "'thread' or 'process'", kind);
    validate.integer('options.maxWorkers', maxWorkers, 1);
    validate.integer('options.minWorkers', minWorkers, 0);
    if (minWorkers > maxWorkers) throw validate.rangeError('options.minWorkers', `at most maxWorkers (${maxWorkers})`, minWorkers);
    validate.ms('options.idleTimeout', idleTimeout, true);
    validate.integer('options.maxQueue', maxQueue, 0, true);
    validate.ms('options.taskTimeout', taskTimeout, true);
    // What new Worker() would refuse only when the first worker starts.
    if (resourceLimits !== undefined && (resourceLimits === null || typeof resourceLimits !== 'object')) {
      throw validate.typeError('options.resourceLimits', 'an object', resourceLimits);
    }
    if (env !== undefined && (env === null || (typeof env !== 'object' && (typeof env !== 'symbol' || kind === 'process')))) {
      throw validate.typeError('options.env', kind === 'process' ? 'an object' : 'an object or worker_threads.SHARE_ENV', env);
    }
    if (execArgv !== undefined && (!Array.isArray(execArgv) || !execArgv.every((a) => typeof a === 'string'))) {
      throw validate.typeError('options.execArgv', 'an array of strings', execArgv);
    }
    if (kind === 'process' && resourceLimits !== undefined) {
      for (const [k, v] of Object.entries(resourceLimits)) {
        if (PROCESS_LIMITS[k] === undefined) throw validate.typeError(`options.resourceLimits.${k}`, `one of ${Object.keys(PROCESS_LIMITS).join(', ')} for the process kind`, v);
        validate.integer(`options.resourceLimits.${k}`, v, 1);
      }
    }
    this.filename = path.resolve(file);
    this.name = name;
    this.kind = kind;
    this.minWorkers = minWorkers;
    this.maxWorkers = maxWorkers;
    this.maxQueue = maxQueue;
    this._taskTimeout = taskTimeout;
    this._idleTimeout = idleTimeout;
    if (kind === 'thread') {
      this._workerOptions = { resourceLimits, env, execArgv };
      this._native = binding.newWorkerPool((list) => this._results(list));
      this._address = this._native.address();
    } else {
      this._processArgs = processArgs(resourceLimits, execArgv, this.filename);
      this._processEnv = env === undefined ? undefined : Object.entries(env).filter(([, v]) => v !== undefined).map(([k, v]) => `${k}=${v}`);
      this._native = binding.newProcPool((list) => this._results(list), (...news) => this._childNews(...news));
    }
    this._workers = new Map(); // slot → Rec
    this._pending = new Map(); // id → Task
    this._closing = null;
    this._closed = false;
    this._completed = 0;
    this._failed = 0;
    this._idleTimer = null;
    this._busyMs = 0; // Run time of the tasks that reported, as their workers measured it.
    this._since = performance.now();
    for (let i = 0; i < minWorkers; i++) this._spawn();
  }

  /** Runs one task: the task function's result (a promise of it). */
  run(task, options) {
    let name = this.name;
    let signal;
    let timeout = this._taskTimeout;
    try {
      validate.options('options', options);
      if (options !== undefined) {
        if (options.name !== undefined) {
          if (typeof options.name !== 'string') throw validate.typeError('options.name', 'a string', options.name);
          name = options.name;
        }
        if (options.signal !== undefined) validate.signal('options.signal', options.signal);
        signal = options.signal;
        if (options.timeout !== undefined) {
          validate.ms('options.timeout', options.timeout, true);
          timeout = options.timeout;
        }
      }
    } catch (err) {
      return Promise.reject(err);
    }
    if (this._closing !== null) return Promise.reject(new UvasyncError('The pool is closed', { code: 'ERR_POOL_CLOSED' }));
    if (signal !== undefined && signal.aborted) return Promise.reject(abortError(signal));
    // Only with a bound: a call into C per run() otherwise.  Workers still
    // starting will take as many of the queued tasks.  The core counts
    // them, not the workers' ready messages: a thread takes its first task
    // as it attaches, before its message can reach this thread, and one
    // task more got in meanwhile.
    if (this.maxQueue !== Infinity && this._queueFull()) {
      return Promise.reject(new UvasyncError(`The pool's queue is full (maxQueue ${this.maxQueue})`, { code: 'ERR_POOL_QUEUE_FULL' }));
    }
    let head;
    let body;
    try {
      let kind;
      [kind, body] = encode(task);
      head = taskHead(name, kind);
    } catch (err) {
      return Promise.reject(err); // A value structured clone cannot take (a function, a symbol).
    }
    if (this._idleTimer !== null) {
      clearTimeout(this._idleTimer);
      this._idleTimer = null;
    }
    return new Promise((resolve, reject) => {
      const t = new Task(nextId++, resolve, reject);
      const rc = this._native.push(t.id, head, body);
      if (rc !== 0) {
        reject(new UvasyncError(`cannot queue the task (${binding.errName(rc)})`, { code: binding.errName(rc) }));
        return;
      }
      if (this._pending.size === 0) this._native.ref(true);
      this._pending.set(t.id, t);
      if (signal !== undefined) {
        t.signal = signal;
        t.onAbort = () => this._stop(t, abortError(signal));
        signal.addEventListener('abort', t.onAbort, { once: true });
      }
      if (timeout !== Infinity) {
        t.timer = setTimeout(() => this._stop(t, new TimeoutError(`The task timed out after ${timeout} ms`, timeout)), timeout);
      }
      this._grow();
    });
  }

  /**
   * Maps the task function over `items` (an iterable or async iterable,
   * pulled lazily): the results in input order (`ordered`, the default) or
   * in the order they finish.
   */
  map(items, options) {
    let ordered = true;
    let concurrency = this.maxWorkers * 2;
    let signal;
    let onProgress;
    let name;
    try {
      validate.options('options', options);
      if (options !== undefined) {
        if (options.ordered !== undefined) {
          if (typeof options.ordered !== 'boolean') throw validate.typeError('options.ordered', 'a boolean', options.ordered);
          ordered = options.ordered;
        }
        if (options.concurrency !== undefined) {
          validate.integer('options.concurrency', options.concurrency, 1, true);
          concurrency = options.concurrency;
        }
        signal = options.signal;
        onProgress = options.onProgress;
        name = options.name;
      }
    } catch (err) {
      return Promise.reject(err);
    }
    const runOptions = { name, signal };
    if (ordered) return mapWithLimit(items, concurrency, (item) => this.run(item, runOptions), { signal, onProgress });
    const done = [];
    return mapWithLimit(items, concurrency, async (item) => {
      const r = await this.run(item, runOptions);
      done.push(r);
    }, { signal, onProgress }).then(() => done);
  }

  /**
   * queued, active, completed, failed, workers, and utilization: the tasks'
   * run time so far over what maxWorkers could have run since the pool was
   * made (piscina's definition), 0 to 1.
   */
  get stats() {
    const [queued, active] = this._closed ? [0, 0] : this._native.counts();
    const capacity = (performance.now() - this._since) * this.maxWorkers;
    return {
      queued,
      active,
      completed: this._completed,
      failed: this._failed,
      workers: this._workers.size,
      utilization: capacity > 0 ? Math.min(1, this._busyMs / capacity) : 0,
    };
  }

  /** Finishes what is queued and running, then stops the workers. */
  close() {
    if (this._closing === null) {
      this._closing = this._drain().then(() => this._shutdown());
    }
    return this._closing;
  }

  /** Rejects what is queued or running, and terminates the workers now. */
  destroy() {
    if (this._closing === null) this._closing = Promise.resolve();
    const err = () => new UvasyncError('The pool was destroyed', { code: 'ERR_POOL_DESTROYED' });
    for (const t of [...this._pending.values()]) this._settle(t, err(), false);
    return this._closing.then(() => this._shutdown(true));
  }

  // ---- internals --------------------------------------------------------------

  /** Whether maxQueue tasks wait beyond what the workers still starting will take. */
  _queueFull() {
    const [queued, , starting] = this._native.counts();
    return queued >= this.maxQueue + starting;
  }

  /** Starts workers while tasks outnumber them (up to maxWorkers), and refills minWorkers. */
  _grow() {
    if (this._closed) return;
    const want = Math.min(this.maxWorkers, Math.max(this.minWorkers, this._pending.size));
    try {
      while (this._workers.size < want) this._spawn();
    } catch (err) {
      // new Worker() refused (an execArgv it does not take): the tasks
      // waiting fail with why, rather than wait for a worker that never comes.
      this._failAll(err);
    }
  }

  /** Every pending task fails: no worker can start. */
  _failAll(cause) {
    const err = new UvasyncError(`A worker could not start: ${cause.message}`, { code: 'ERR_WORKER_INIT_FAILED', cause });
    for (const t of [...this._pending.values()]) {
      this._native.cancel(t.id);
      this._settle(t, err, false);
    }
  }

  _spawn() {
    if (this.kind === 'process') {
      const slot = this._native.spawn(process.execPath, this._processArgs, this._processEnv);
      if (slot < 0) throw new UvasyncError(`cannot start a worker process (${binding.errName(slot)})`, { code: binding.errName(slot) });
      const rec = new Rec(() => this._native.stop(slot, SIGKILL), () => this._native.stop(slot, 0));
      this._workers.set(slot, rec);
      return;
    }
    const slot = this._native.reserve();
    if (slot < 0) return;
    const { resourceLimits, env, execArgv } = this._workerOptions;
    const opts = { workerData: { address: this._address, slot, filename: this.filename } };
    if (resourceLimits !== undefined) opts.resourceLimits = resourceLimits;
    if (env !== undefined) opts.env = env;
    if (execArgv !== undefined) opts.execArgv = execArgv;
    let worker;
    try {
      worker = new Worker(ENTRY, opts);
    } catch (err) {
      this._native.reap(slot);
      throw err;
    }
    const stop = () => worker.terminate();
    const rec = new Rec(stop, stop);
    this._workers.set(slot, rec);
    worker.once('message', () => { rec.ready = true; });
    worker.on('error', (err) => { rec.error = err; });
    worker.on('exit', (code) => this._exited(slot, rec, code, null));
    // After the listeners (a 'message' listener refs the worker's port):
    // the pool's own handle holds the process while it has work.
    worker.unref();
  }

  /** What the core says of a child process: it is ready, it cannot start (and why), it is gone. */
  _childNews(slot, news, status, signal, buf) {
    const rec = this._workers.get(slot);
    if (rec === undefined) return;
    if (news === CHILD_READY) {
      rec.ready = true;
    } else if (news === CHILD_FAILED) {
      try {
        rec.error = rebuild(v8.deserialize(buf));
      } catch (err) {
        rec.error = err;
      }
      rec.kill(); // It said all it has to.
    } else if (news === CHILD_EXIT) {
      this._exited(slot, rec, signal !== 0 ? null : status, signal !== 0 ? (signalNames[signal] || `signal ${signal}`) : null);
    }
  }

  _exited(slot, rec, code, signal) {
    this._workers.delete(slot);
    rec.gone();
    const id = this._native.reap(slot);
    if (!rec.ready && rec.killed === null && this._closing === null && (rec.error !== null || signal === null)) {
      // It never started: its module does not load, or Node refused its
      // flags, or the module exits as it loads.  Every task waiting fails
      // with the reason (rather than a new worker that does the same,
      // forever), until the next run() tries again.  (A signal is no such
      // reason: a process killed while it starts is replaced.)
      const how = signal !== null ? `was killed by ${signal}` : `exited with code ${code}`;
      this._failAll(rec.error !== null ? rec.error : new Error(`The worker ${how} before it loaded ${this.filename}`));
      return;
    }
    const t = id !== 0 ? this._pending.get(id) : undefined;
    if (t !== undefined) {
      const how = rec.error !== null ? `: ${rec.error.message}` : '';
      const what = signal !== null ? `was killed by ${signal}` : `exited with code ${code}`;
      const err = new UvasyncError(`The worker running the task ${what}${how}`, { code: 'ERR_WORKER_EXITED', cause: rec.error === null ? undefined : rec.error });
      err.exitCode = code;
      err.signal = signal;
      this._settle(t, err, false);
    }
    if (this._closing === null) this._grow();
  }

  /** A pending task is aborted or timed out: out of the queue, or its worker is terminated (and replaced). */
  _stop(t, err) {
    if (this._pending.get(t.id) !== t) return;
    if (!this._native.cancel(t.id)) {
      const slot = this._native.where(t.id);
      const rec = slot >= 0 ? this._workers.get(slot) : undefined;
      if (rec !== undefined) {
        rec.killed = err;
        rec.kill();
      }
    }
    this._settle(t, err, false);
  }

  _settle(t, value, ok) {
    if (!this._pending.delete(t.id)) return;
    if (t.timer !== null) clearTimeout(t.timer);
    if (t.onAbort !== null) unlisten(t.signal, t.onAbort);
    if (this._pending.size === 0) {
      if (!this._closed) this._native.ref(false);
      if (this._drained !== undefined) this._drained();
      if (this._idleTimeout !== Infinity && this._closing === null && this._workers.size > this.minWorkers) {
        // Idle that long: the workers above minWorkers stop.
        this._idleTimer = setTimeout(() => this._retire(), this._idleTimeout);
        this._idleTimer.unref();
      }
    }
    if (ok) {
      this._completed++;
      t.resolve(value);
    } else {
      this._failed++;
      t.reject(value);
    }
  }

  _results(list) {
    for (let i = 0; i < list.length; i += 3) {
      const t = this._pending.get(list[i]);
      if (t === undefined) continue;
      let value;
      let ok = list[i + 1] !== THREW;
      try {
        const buf = list[i + 2];
        this._busyMs += buf.readDoubleLE(1);
        value = decode(buf[0], buf, RESULT_HEAD);
        if (!ok) value = rebuild(value);
      } catch (err) {
        value = err;
        ok = false;
      }
      try {
        this._settle(t, value, ok);
      } catch (err) {
        process.nextTick(() => { throw err; });
      }
    }
  }

  _retire() {
    this._idleTimer = null;
    if (this._pending.size > 0 || this._closing !== null) return;
    let extra = this._workers.size - this.minWorkers;
    for (const rec of this._workers.values()) {
      if (extra-- <= 0) break;
      rec.killed = true;
      rec.end();
    }
  }

  _drain() {
    if (this._pending.size === 0) return Promise.resolve();
    return new Promise((resolve) => {
      this._drained = () => {
        this._drained = undefined;
        resolve();
      };
    });
  }

  async _shutdown(now) {
    if (this._closed) return;
    this._closed = true;
    const exits = [...this._workers.values()].map((rec) => {
      rec.killed = rec.killed || true;
      if (now) rec.kill();
      else rec.end();
      return rec.exited;
    });
    await Promise.all(exits);
    this._native.close();
  }
}

if (typeof Symbol.asyncDispose === 'symbol') {
  WorkerPool.prototype[Symbol.asyncDispose] = function asyncDispose() {
    return this.close();
  };
}

module.exports = { WorkerPool };
