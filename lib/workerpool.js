'use strict';
// WorkerPool: CPU-bound tasks on worker threads, with the task queue, the
// dispatch and the wake-ups in C (src/core/wpool.c): one queue for every
// worker, so no task waits behind a long one; a worker that finishes a task
// takes the next in the same call, and results come back in batches.
// Payloads travel with v8.serialize (structured clone: Dates, Maps, typed
// arrays, errors; a Buffer comes back a Buffer).

const os = require('node:os');
const path = require('node:path');
const { fileURLToPath } = require('node:url');
const { Worker } = require('node:worker_threads');
const { binding } = require('./native');
const { UvasyncError, TimeoutError, abortError } = require('./errors');
const { mapWithLimit } = require('./map');
const validate = require('./validate');
const { unlisten } = require('./signal');
const { encode, decode, taskHead, RESULT_HEAD } = require('./wire');

const ENTRY = path.join(__dirname, 'pool-worker.js');
const THREW = 1;

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
    if (kind !== 'thread') {
      // The process kind (framed payloads over a pipe in C) is not built yet.
      throw validate.typeError('options.kind', "'thread' (the process kind is not built yet)", kind);
    }
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
    if (env !== undefined && (env === null || (typeof env !== 'object' && typeof env !== 'symbol'))) {
      throw validate.typeError('options.env', 'an object or worker_threads.SHARE_ENV', env);
    }
    if (execArgv !== undefined && (!Array.isArray(execArgv) || !execArgv.every((a) => typeof a === 'string'))) {
      throw validate.typeError('options.execArgv', 'an array of strings', execArgv);
    }
    this.filename = path.resolve(file);
    this.name = name;
    this.kind = kind;
    this.minWorkers = minWorkers;
    this.maxWorkers = maxWorkers;
    this.maxQueue = maxQueue;
    this._taskTimeout = taskTimeout;
    this._idleTimeout = idleTimeout;
    this._workerOptions = { resourceLimits, env, execArgv };
    this._native = binding.newWorkerPool((list) => this._results(list));
    this._address = this._native.address();
    this._workers = new Map(); // slot → { worker, ready, error, killed }
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
    // starting will take as many of the queued tasks.
    if (this.maxQueue !== Infinity && this._native.counts()[0] >= this.maxQueue + this._starting()) {
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
    return this._closing.then(() => this._shutdown());
  }

  // ---- internals --------------------------------------------------------------

  /** Workers started that have not attached to the queue yet. */
  _starting() {
    let n = 0;
    for (const w of this._workers.values()) if (!w.ready) n++;
    return n;
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
    const rec = { worker, ready: false, error: null, killed: null };
    this._workers.set(slot, rec);
    worker.once('message', () => { rec.ready = true; });
    worker.on('error', (err) => { rec.error = err; });
    worker.on('exit', (code) => this._exited(slot, rec, code));
    // After the listeners (a 'message' listener refs the worker's port):
    // the pool's own handle holds the process while it has work.
    worker.unref();
  }

  _exited(slot, rec, code) {
    this._workers.delete(slot);
    const id = this._native.reap(slot);
    if (!rec.ready && rec.killed === null && rec.error !== null && this._closing === null) {
      // It never started: its module does not load.  Every task waiting
      // fails with the reason, until the next run() tries again.
      this._failAll(rec.error);
      return;
    }
    const t = id !== 0 ? this._pending.get(id) : undefined;
    if (t !== undefined) {
      const how = rec.error !== null ? `: ${rec.error.message}` : '';
      const err = new UvasyncError(`The worker running the task exited with code ${code}${how}`, { code: 'ERR_WORKER_EXITED', cause: rec.error === null ? undefined : rec.error });
      err.exitCode = code;
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
        rec.worker.terminate();
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
      rec.worker.terminate();
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

  async _shutdown() {
    if (this._closed) return;
    this._closed = true;
    const exits = [...this._workers.values()].map((rec) => new Promise((resolve) => {
      rec.killed = rec.killed || true;
      rec.worker.once('exit', resolve);
      rec.worker.terminate();
    }));
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
