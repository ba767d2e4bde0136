'use strict';
// TaskQueue: a promise queue in the shape of p-queue.  The priority order,
// the concurrency, the pause and the interval window live in the core
// (src/core/taskq.c): it says which task starts when.  JS keeps the tasks,
// runs them and emits p-queue's events.
//
// A task that can start at once runs inside add(), as p-queue's do.  A task
// that waits starts from a promise reaction attached in add(): it runs in
// its caller's async context (AsyncLocalStorage), a microtask after its
// slot came free, never inside the stack of the task that freed it.

const { EventEmitter } = require('node:events');
const { binding, startTimer, clearTimer } = require('./native');
const { AbortError, TimeoutError, abortError } = require('./errors');
const validate = require('./validate');
const { unlisten } = require('./signal');

const SLOT = 0xffffff;
const START_NOW = -1;
const TWO32 = 4294967296;
const BATCH = 64; // ids[BATCH] is the size, ids[BATCH + 1] the pending count.
// What a task without a signal of its own gets (p-queue passes { signal }).
const NO_SIGNAL = Object.freeze({ signal: undefined });

// The resolvers of the promise a waiting task starts on, taken without a
// closure per task.
let capturedResolve = null;
let capturedReject = null;
function capture(resolve, reject) {
  capturedResolve = resolve;
  capturedReject = reject;
}

// One task: plain fields, one shape.  Its promise is the async function
// that runs it (TaskQueue#task), so there is no resolve/reject to keep.
class Task {
  constructor(fn, priority, id, signal, timeout) {
    this.fn = fn;
    this.priority = priority;
    this.id = id;
    this.signal = signal;
    this.timeout = timeout;
    this.qid = -1; // The core's id while it waits.
    this.go = null; // Starts it: resolves its gate with itself.
    this.drop = null; // Drops it while it waits (clear, abort): rejects its gate.
    this.onAbort = null;
    this.startTime = 0;
    this.seq = 0; // Its number: the id of a task added without one.
    this.prev = null; // The running list.
    this.next = null;
  }
}

function countOption(name, value, fallback) {
  if (value === undefined) return fallback;
  validate.integer(name, value, 1, true);
  return value;
}

function boolOption(name, value, fallback) {
  if (value === undefined) return fallback;
  if (typeof value !== 'boolean') throw validate.typeError(name, 'a boolean', value);
  return value;
}

function timeoutOption(name, value) {
  if (value === undefined || value === Infinity) return undefined;
  validate.ms(name, value, true);
  return value;
}

function priorityOption(name, value) {
  if (value === undefined) return 0;
  if (typeof value !== 'number' || !Number.isFinite(value)) throw validate.typeError(name, 'a finite number', value);
  return value;
}

class TaskQueue extends EventEmitter {
  #q;
  #ids;
  #waiting = []; // Waiting tasks by the core's slot.
  #byId = new Map(); // Waiting tasks added with an `id`, for setPriority.
  #head = null; // Running tasks, oldest first (runningTasks).
  #tail = null;
  #concurrency;
  #paused;
  #throwOnTimeout;
  #onBatch;
  #clock;
  #windowed;
  #rateLimited = false;
  #rateCheckQueued = false;
  #rateCheck = () => this.#updateRateLimit();
  #seq = 0; // Ids for tasks added without one ('1', '2', ...), as p-queue's.
  #runWaiting;

  /** The default timeout of every task, in ms (`undefined`: none); can be changed. */
  timeout;

  constructor(options) {
    super();
    validate.options('options', options);
    const o = options || {};
    const concurrency = countOption('options.concurrency', o.concurrency, Infinity);
    const intervalCap = countOption('options.intervalCap', o.intervalCap, Infinity);
    let interval = 0;
    if (o.interval !== undefined) {
      validate.ms('options.interval', o.interval);
      interval = o.interval;
    }
    const carryover = boolOption('options.carryoverIntervalCount', o.carryoverIntervalCount, false);
    const autoStart = boolOption('options.autoStart', o.autoStart, true);
    this.timeout = timeoutOption('options.timeout', o.timeout);
    this.#throwOnTimeout = boolOption('options.throwOnTimeout', o.throwOnTimeout, true);
    this.#concurrency = concurrency;
    this.#paused = !autoStart;
    this.#windowed = interval > 0 && intervalCap !== Infinity;
    this.#onBatch = (n) => this.#drain(n);
    this.#runWaiting = (task) => this.#task(task);
    this.#q = binding.newTaskQueue(concurrency, intervalCap, interval, carryover, this.#onBatch);
    this.#ids = this.#q.ids;
    this.#clock = this.#q.clock;
    if (this.#paused) this.#q.pause(true);
  }

  /** Tasks waiting to start. */
  get size() { return this.#ids[BATCH]; }
  /** Tasks running. */
  get pending() { return this.#ids[BATCH + 1]; }
  /** Whether pause() holds the queue (or autoStart was false). */
  get isPaused() { return this.#paused; }
  /** Whether the interval window holds waiting tasks back now. */
  get isRateLimited() { return this.#rateLimited; }
  /** Every slot taken (or the window full) and tasks waiting. */
  get isSaturated() {
    return this.size > 0 && (this.pending >= this.#concurrency || this.#rateLimited);
  }

  /** The most tasks running at once; raising it starts waiting tasks. */
  get concurrency() { return this.#concurrency; }
  set concurrency(n) {
    validate.integer('concurrency', n, 1, true);
    this.#concurrency = n;
    this.#q.setConcurrency(n);
    this.#drain();
  }

  /** Waiting tasks of one priority. */
  sizeBy(options) {
    validate.options('options', options);
    return this.#q.sizeBy(priorityOption('options.priority', options && options.priority));
  }

  /**
   * { id, priority, startTime, timeout, timeoutRemaining } of each running
   * task; startTime is its start in epoch ms (Date.now() for a task with a
   * timeout, the loop's cached time, which may lag a little, for others).
   */
  get runningTasks() {
    const out = [];
    const now = Date.now();
    for (let t = this.#head; t !== null; t = t.next) {
      out.push({
        id: t.id === undefined ? String(t.seq) : t.id, priority: t.priority, startTime: t.startTime, timeout: t.timeout,
        timeoutRemaining: t.timeout === undefined ? undefined : Math.max(0, t.startTime + t.timeout - now),
      });
    }
    return out;
  }

  /**
   * add(fn, { priority = 0, signal, timeout, id }) → a promise of fn's
   * result.  fn gets `{ signal }`: the caller's signal, or one that also
   * aborts on the task's timeout.  Bad arguments reject.
   */
  add(fn, options) {
    let priority = 0;
    let signal;
    let timeout = this.timeout;
    let id;
    try {
      if (typeof fn !== 'function') throw validate.typeError('fn', 'a function', fn);
      if (options !== undefined) {
        validate.options('options', options);
        priority = priorityOption('options.priority', options.priority);
        signal = options.signal;
        validate.signal('options.signal', signal);
        if (options.timeout !== undefined) timeout = timeoutOption('options.timeout', options.timeout);
        id = options.id;
      }
    } catch (err) {
      return Promise.reject(err);
    }
    if (signal !== undefined && signal.aborted) return Promise.reject(abortError(signal));
    const task = new Task(fn, priority, id, signal, timeout);
    task.seq = ++this.#seq;
    const rc = this.#q.add(priority);
    if (rc === START_NOW) {
      if (this._eventsCount !== 0) this.emit('add');
      return this.#task(task);
    }
    if (rc < START_NOW) return Promise.reject(new Error('uvasync: the task queue cannot take more tasks'));
    const qid = rc >= TWO32 ? rc - TWO32 : rc;
    task.qid = qid;
    this.#waiting[qid & SLOT] = task;
    if (id !== undefined) this.#byId.set(id, task);
    // The reaction that runs the task is attached here, in the caller's
    // call: it runs in the caller's context when the slot comes.  What add()
    // returns is that reaction's promise, which takes the run's outcome.
    const gate = new Promise(capture);
    task.go = capturedResolve;
    task.drop = capturedReject;
    const promise = gate.then(this.#runWaiting);
    if (signal !== undefined) {
      task.onAbort = () => this.#abortWaiting(task);
      signal.addEventListener('abort', task.onAbort, { once: true });
    }
    if (this._eventsCount !== 0) this.emit('add');
    if (this.#windowed) this.#scheduleRateLimit();
    if (rc >= TWO32) this.#drain();
    return promise;
  }

  /** add() for each function; one promise of all their results. */
  addAll(fns, options) {
    try {
      validate.iterable('fns', fns);
    } catch (err) {
      return Promise.reject(err);
    }
    return Promise.all(Array.from(fns, (fn) => this.add(fn, options)));
  }

  /**
   * Moves a waiting task to the back of `priority`: one added with that
   * `id`, or without one, the task numbered so ('1' is the first added).
   * No such waiting task is a ReferenceError, as in p-queue.
   */
  setPriority(id, priority) {
    priority = priorityOption('priority', priority);
    let task = this.#byId.get(id);
    if (task === undefined) task = this.#waitingBySeq(id);
    if (task === undefined) throw new ReferenceError(`No promise function with the id "${String(id)}" exists in the queue.`);
    task.priority = priority;
    this.#q.setPriority(task.qid, priority);
  }

  /** Starts (or resumes) the queue; returns it. */
  start() {
    if (!this.#paused) return this;
    this.#paused = false;
    this.#q.pause(false);
    this.#drain();
    return this;
  }

  /** Holds the waiting tasks; running ones go on. */
  pause() {
    this.#paused = true;
    this.#q.pause(true);
  }

  /**
   * Drops every waiting task.  Unlike p-queue's, whose dropped promises
   * never settle, each rejects with an AbortError.
   */
  clear() {
    const waiting = this.#waiting;
    for (let qid = this.#q.drop(); qid !== -1; qid = this.#q.drop()) {
      const task = waiting[qid & SLOT];
      waiting[qid & SLOT] = undefined;
      this.#forget(task);
      task.drop(new AbortError('The queue was cleared'));
    }
    if (this.#windowed) this.#updateRateLimit(); // At once, as p-queue's clear() does.
    this.#afterChange(0);
  }

  /** Resolves when no task waits. */
  onEmpty() {
    return this.size === 0 ? Promise.resolve() : this.#when('empty', () => this.size === 0);
  }

  /** Resolves when no task waits and none runs. */
  onIdle() {
    return this.size === 0 && this.pending === 0 ? Promise.resolve()
      : this.#when('idle', () => this.size === 0 && this.pending === 0);
  }

  /** Resolves when fewer than `limit` tasks wait. */
  onSizeLessThan(limit) {
    if (typeof limit !== 'number' || Number.isNaN(limit)) return Promise.reject(validate.typeError('limit', 'a number', limit));
    return this.size < limit ? Promise.resolve() : this.#when(['next', 'active'], () => this.size < limit);
  }

  /** Resolves when no task runs. */
  onPendingZero() {
    return this.pending === 0 ? Promise.resolve() : this.#when('pendingZero', () => this.pending === 0);
  }

  /** Resolves when the interval window holds tasks back (at once if it does now). */
  onRateLimit() {
    return this.#rateLimited ? Promise.resolve() : this.#when('rateLimit', () => this.#rateLimited);
  }

  /** Resolves when the window no longer holds tasks back (at once if it does not). */
  onRateLimitCleared() {
    return !this.#rateLimited ? Promise.resolve() : this.#when('rateLimitCleared', () => !this.#rateLimited);
  }

  /** Rejects with the next task's error. */
  onError() {
    return new Promise((resolve, reject) => this.once('error', reject));
  }

  #when(events, ready) {
    const list = Array.isArray(events) ? events : [events];
    return new Promise((resolve) => {
      const check = () => {
        if (!ready()) return;
        for (const e of list) this.off(e, check);
        resolve();
      };
      for (const e of list) this.on(e, check);
    });
  }

  // ---- Running --------------------------------------------------------------

  /**
   * One task's whole life, as one async function: it waits on `gate` (when
   * queued), runs, and frees its slot.  Its promise is what add() returns.
   * The gate resolves with undefined to start it, or with an error to drop
   * it (clear, or an abort while it waits).
   */
  async #task(task) {
    if (task.signal !== undefined && task.signal.aborted) {
      // Aborted between its start and now: it never runs.
      this.#afterChange(this.#finished(task));
      throw abortError(task.signal);
    }
    this.#started(task);
    let value;
    try {
      value = task.signal === undefined && task.timeout === undefined
        ? await task.fn(NO_SIGNAL) : await this.#guarded(task);
    } catch (err) {
      // Node's EventEmitter throws an 'error' nobody listens to; p-queue's
      // (eventemitter3) drops it.  The add() promise carries it anyway.
      if (this.listenerCount('error') > 0) this.emit('error', err);
      this.#afterChange(this.#finished(task));
      throw err;
    }
    if (this._eventsCount !== 0) this.emit('completed', value);
    this.#afterChange(this.#finished(task));
    return value;
  }

  // fn raced against the caller's abort and the task's timeout; both also
  // abort the signal fn gets.
  #guarded(task) {
    return new Promise((resolve, reject) => {
      // Without a timeout, fn gets the caller's signal itself (as p-queue
      // passes it); with one, a signal that also aborts at the timeout.
      const controller = task.timeout === undefined ? null : new AbortController();
      let timer = -1;
      const done = () => {
        if (timer !== -1) clearTimer(timer);
        timer = -1;
        if (task.onAbort !== null) unlisten(task.signal, task.onAbort);
        task.onAbort = null;
      };
      if (task.signal !== undefined) {
        task.onAbort = () => {
          task.onAbort = null;
          done();
          const err = abortError(task.signal);
          if (controller !== null) controller.abort(err);
          reject(err);
        };
        task.signal.addEventListener('abort', task.onAbort, { once: true });
      }
      if (task.timeout !== undefined) {
        timer = startTimer(task.timeout, () => {
          timer = -1;
          done();
          const err = new TimeoutError(`Task timed out after ${task.timeout}ms (queue has ${this.pending} running, ${this.size} waiting)`, task.timeout);
          controller.abort(err);
          if (this.#throwOnTimeout) reject(err);
          else resolve(undefined);
        });
      }
      let p;
      try {
        p = task.fn({ signal: controller === null ? task.signal : controller.signal });
      } catch (err) {
        done();
        reject(err);
        return;
      }
      Promise.resolve(p).then((value) => {
        done();
        resolve(value);
      }, (err) => {
        done();
        reject(err);
      });
    });
  }

  #started(task) {
    if (task.onAbort !== null) {
      unlisten(task.signal, task.onAbort);
      task.onAbort = null;
    }
    task.prev = this.#tail;
    if (this.#tail !== null) this.#tail.next = task;
    else this.#head = task;
    this.#tail = task;
    // The loop's cached time, kept by the core (Date.now() per task cost
    // ~45 ns, a fair part of a task here); a task with a timeout, whose
    // timeoutRemaining counts, reads the clock itself.
    task.startTime = task.timeout === undefined ? this.#clock[0] : Date.now();
    if (this._eventsCount !== 0) this.emit('active');
  }

  // The task ended (or was aborted): out of the running list, and its slot
  // goes to whoever waits next (who starts a microtask later).
  #finished(task) {
    if (task.prev !== null) task.prev.next = task.next;
    else if (this.#head === task) this.#head = task.next;
    if (task.next !== null) task.next.prev = task.prev;
    else if (this.#tail === task) this.#tail = task.prev;
    task.prev = task.next = null;
    const started = this.#q.done();
    this.#startBatch(started);
    if (this.#ids[BATCH + 1] === 0 && this._eventsCount !== 0) this.emit('pendingZero');
    return started;
  }

  // The core's ids in `ids`: these start now.
  #startBatch(n) {
    const ids = this.#ids;
    const waiting = this.#waiting;
    for (;;) {
      for (let i = 0; i < n; i++) {
        const slot = ids[i] & SLOT;
        const task = waiting[slot];
        waiting[slot] = undefined;
        if (task.id !== undefined) this.#byId.delete(task.id);
        task.go(task);
      }
      if (n < BATCH) break;
      n = this.#q.drain();
    }
  }

  // What can start now (after start(), more concurrency, a window's end).
  #drain(n = this.#q.drain()) {
    this.#startBatch(n);
    if (this.#windowed) this.#scheduleRateLimit();
    if (n > 0 && this.#ids[BATCH] === 0 && this._eventsCount !== 0) this.emit('empty');
  }

  // A waiting task added without an id, by its number (a rare call: a
  // look through the waiting ones, so that adding keeps no map per task).
  #waitingBySeq(id) {
    const n = typeof id === 'string' && /^[1-9]\d*$/.test(id) ? Number(id) : NaN;
    if (!(n > 0)) return undefined;
    for (const t of this.#waiting) if (t !== undefined && t.id === undefined && t.seq === n) return t;
    return undefined;
  }

  #forget(task) {
    if (task.onAbort !== null) unlisten(task.signal, task.onAbort);
    task.onAbort = null;
    if (task.id !== undefined) this.#byId.delete(task.id);
  }

  #abortWaiting(task) {
    task.onAbort = null;
    if (!this.#q.remove(task.qid)) return; // It has started meanwhile.
    this.#waiting[task.qid & SLOT] = undefined;
    if (task.id !== undefined) this.#byId.delete(task.id);
    task.drop(abortError(task.signal));
    this.#afterChange();
  }

  // p-queue's events after a task left: empty (when nothing was started
  // in its place and nothing waits) and idle, then next.
  #afterChange(started = 0) {
    if (this.#windowed) this.#scheduleRateLimit();
    if (this._eventsCount === 0) return;
    if (started === 0 && this.#ids[BATCH] === 0) {
      this.emit('empty');
      if (this.#ids[BATCH + 1] === 0) this.emit('idle');
    }
    this.emit('next');
  }

  // p-queue's rate-limit state: looked at once per microtask after a change,
  // and an event on each transition.
  #scheduleRateLimit() {
    if (this.#rateCheckQueued) return;
    this.#rateCheckQueued = true;
    queueMicrotask(this.#rateCheck);
  }

  #updateRateLimit() {
    this.#rateCheckQueued = false;
    if (this.#ids === undefined) return;
    const limited = this.#ids[BATCH] > 0 && this.#q.rateLimited();
    if (limited === this.#rateLimited) return;
    this.#rateLimited = limited;
    this.emit(limited ? 'rateLimit' : 'rateLimitCleared');
  }
}

module.exports = { TaskQueue };
