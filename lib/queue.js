'use strict';
// Queue: a bounded FIFO for producers and consumers.  The core decides for
// every put and get whether it stores, hands over, or waits, and in which
// order waiters are served; JS keeps the items.  A waiter that aborts is
// either still waiting (and removed in the same call) or already served, so
// no item is lost or delivered twice.

const { binding } = require('./native');
const { UvasyncError, abortError } = require('./errors');
const validate = require('./validate');
const { unlisten } = require('./signal');

const STORED = 1;
const HANDED = 2;
const WAIT = 3;
const CLOSED = 4;
const TAKEN = 5;
const DONE = 6;
const NONE = 0xffffffff;
const SLOT = 0xffffff;
const MAX_CAPACITY = 0xfffffffe;
const MAX_WORKERS = 100_000; // producerConsumer's consumers at most.

const scratch = binding.scratch;
const DONE_RESULT = Object.freeze({ value: undefined, done: true });
// What a put that did not wait returns: one settled promise shared by all
// of them saves allocating a promise per item (awaiting it is the same).
const PUT_DONE = Promise.resolve();

function closedError() {
  return new UvasyncError('The queue is closed', { code: 'ERR_QUEUE_CLOSED' });
}

function failed(rc) {
  return new Error(`uvasync: queue failed (${binding.errName(rc)})`);
}

// One waiting put or get: plain fields, no closures on the common path.
class Waiter {
  constructor(item, resolve, reject, signal) {
    this.item = item;
    this.resolve = resolve;
    this.reject = reject;
    this.signal = signal;
    this.onAbort = null;
  }
}

// A get without a signal can only be resolved: it is stored as its bare
// resolve function, which saves an object per wait on the common path.
function settle(w, value) {
  if (typeof w === 'function') {
    w(value);
    return;
  }
  if (w.signal !== undefined) unlisten(w.signal, w.onAbort);
  w.resolve(value);
}

function fail(w, err) {
  if (w.signal !== undefined) unlisten(w.signal, w.onAbort);
  w.reject(err);
}

class Queue {
  #q;
  #capacity;
  // The items, in a ring: fixed when the capacity is bounded, doubled when
  // full otherwise.  The core decides when to store; this only keeps them.
  #ring;
  #head = 0;
  #count = 0;
  #putters = [];
  #getters = [];
  #closed = false;

  constructor(options) {
    validate.options('options', options);
    let capacity = options === undefined || options.capacity === undefined ? Infinity : options.capacity;
    validate.integer('options.capacity', capacity, 1, true);
    if (capacity > MAX_CAPACITY) capacity = Infinity;
    this.#capacity = capacity;
    this.#ring = new Array(capacity === Infinity || capacity > 1024 ? 16 : capacity);
    this.#q = binding.newQueue(capacity);
  }

  /** Items stored now. */
  get size() { return this.#q.size; }
  /** The most items stored at once (`Infinity` for unbounded). */
  get capacity() { return this.#capacity; }
  /** Whether close() was called. */
  get closed() { return this.#closed; }

  #push(item) {
    let ring = this.#ring;
    if (this.#count === ring.length) {
      const grown = new Array(ring.length * 2);
      for (let i = 0; i < this.#count; i++) grown[i] = ring[(this.#head + i) % ring.length];
      this.#ring = ring = grown;
      this.#head = 0;
    }
    ring[(this.#head + this.#count++) % ring.length] = item;
  }

  #shift() {
    const ring = this.#ring;
    const item = ring[this.#head];
    ring[this.#head] = undefined;
    this.#head = this.#head + 1 === ring.length ? 0 : this.#head + 1;
    this.#count--;
    return item;
  }

  #handTo(id, item) {
    const g = this.#getters[id & SLOT];
    this.#getters[id & SLOT] = undefined;
    settle(g, { value: item, done: false });
  }

  // A get took the head; the waiting putter `id` (if any) moves in behind.
  #take(id) {
    const item = this.#shift();
    if (id !== NONE) {
      const p = this.#putters[id & SLOT];
      this.#putters[id & SLOT] = undefined;
      this.#push(p.item);
      settle(p, undefined);
    }
    return item;
  }

  #wait(list, id, signal, cancel, item) {
    return new Promise((resolve, reject) => {
      const w = new Waiter(item, resolve, reject, signal);
      list[id & SLOT] = w;
      if (signal !== undefined) {
        w.onAbort = () => {
          if (cancel(id)) {
            list[id & SLOT] = undefined;
            reject(abortError(signal));
          }
        };
        signal.addEventListener('abort', w.onAbort, { once: true });
      }
    });
  }

  // The options' signal; bad options throw (put and get reject with it).
  static #signal(options) {
    validate.options('options', options);
    const signal = options.signal;
    validate.signal('options.signal', signal);
    return signal;
  }

  /** Adds an item, waiting while the queue is full.  Rejects once closed. */
  put(item, options) {
    let signal;
    if (options !== undefined) {
      try {
        signal = Queue.#signal(options);
      } catch (err) {
        return Promise.reject(err);
      }
    }
    if (signal !== undefined && signal.aborted) return Promise.reject(abortError(signal));
    const rc = this.#q.put();
    const id = scratch[0];
    if (rc === STORED) {
      this.#push(item);
      return PUT_DONE;
    }
    if (rc === HANDED) {
      this.#handTo(id, item);
      return PUT_DONE;
    }
    if (rc === WAIT) return this.#wait(this.#putters, id, signal, (x) => this.#q.cancelPut(x), item);
    if (rc === CLOSED) return Promise.reject(closedError());
    return Promise.reject(failed(rc));
  }

  /**
   * Takes the oldest item, waiting while the queue is empty.  Resolves with
   * `{ value, done: false }`, or `{ value: undefined, done: true }` once the
   * queue is closed and drained.
   */
  get(options) {
    let signal;
    if (options !== undefined) {
      try {
        signal = Queue.#signal(options);
      } catch (err) {
        return Promise.reject(err);
      }
    }
    if (signal !== undefined && signal.aborted) return Promise.reject(abortError(signal));
    const rc = this.#q.get();
    const id = scratch[0];
    if (rc === TAKEN) return Promise.resolve({ value: this.#take(id), done: false });
    if (rc === DONE) return Promise.resolve(DONE_RESULT);
    if (rc === WAIT) {
      if (signal === undefined) {
        const getters = this.#getters;
        return new Promise((resolve) => { getters[id & SLOT] = resolve; });
      }
      return this.#wait(this.#getters, id, signal, (x) => this.#q.cancelGet(x));
    }
    return Promise.reject(failed(rc));
  }

  /** Adds an item without waiting; false when full or closed (`closed` tells which). */
  tryPut(item) {
    const rc = this.#q.tryPut();
    const id = scratch[0];
    if (rc === STORED) {
      this.#push(item);
      return true;
    }
    if (rc === HANDED) {
      this.#handTo(id, item);
      return true;
    }
    return false;
  }

  /**
   * Takes an item without waiting: `{ value, done: false }`, the done result
   * once closed and drained, or `undefined` when empty.
   */
  tryGet() {
    const rc = this.#q.tryGet();
    const id = scratch[0];
    if (rc === TAKEN) return { value: this.#take(id), done: false };
    if (rc === DONE) return DONE_RESULT;
    return undefined;
  }

  /**
   * Closes the queue: later puts reject, and so do puts still waiting;
   * gets drain what is stored, then resolve as done.
   */
  close() {
    if (this.#closed) return;
    this.#closed = true;
    this.#q.close();
    for (let which = this.#q.dropWaiter(); which !== -1; which = this.#q.dropWaiter()) {
      const id = scratch[0];
      const list = which === 0 ? this.#putters : this.#getters;
      const w = list[id & SLOT];
      list[id & SLOT] = undefined;
      if (which === 0) fail(w, closedError());
      else settle(w, DONE_RESULT);
    }
  }

  /** `for await (const item of queue)`: ends once the queue is closed and drained. */
  [Symbol.asyncIterator]() {
    return {
      next: () => this.get(),
      return: () => Promise.resolve(DONE_RESULT),
      [Symbol.asyncIterator]() { return this; },
    };
  }
}

/**
 * producerConsumer(source, worker, { workers = 5, queueSize = 100, onProgress, signal })
 * The source feeds a bounded queue (the producer pauses while it is full);
 * `workers` consumers call worker(item, index).  Resolves with
 * { results, errors }: results in input order (undefined where an item
 * failed) and one { index, item, error } per failure, in input order.
 */
function producerConsumer(source, worker, options) {
  let o;
  let workers;
  let queueSize;
  try {
    validate.iterable('source', source);
    validate.fn('worker', worker);
    validate.options('options', options);
    o = options === undefined ? {} : options;
    workers = o.workers === undefined ? 5 : o.workers;
    queueSize = o.queueSize === undefined ? 100 : o.queueSize;
    validate.integer('options.workers', workers, 1);
    if (workers > MAX_WORKERS) throw validate.rangeError('options.workers', `an integer from 1 to ${MAX_WORKERS}`, workers);
    validate.integer('options.queueSize', queueSize, 1, true);
    validate.optionalFn('options.onProgress', o.onProgress);
    validate.signal('options.signal', o.signal);
  } catch (err) {
    return Promise.reject(err); // Bad arguments reject, as every promise function's do.
  }
  return pipeline(source, worker, workers, queueSize, o.onProgress, o.signal);
}

async function pipeline(source, worker, workers, queueSize, onProgress, signal) {
  if (signal !== undefined && signal.aborted) throw abortError(signal);

  const queue = new Queue({ capacity: queueSize });
  const results = [];
  const errors = [];
  let produced = 0;
  let done = 0;
  let halted = false;
  let reject;
  const stopped = new Promise((_, rej) => { reject = rej; });
  stopped.catch(() => {});
  // Ends the run: nothing more is produced or consumed.
  const stop = (err) => {
    halted = true;
    queue.close();
    reject(err);
  };
  const onAbort = () => stop(abortError(signal));
  if (signal !== undefined) signal.addEventListener('abort', onAbort, { once: true });

  // Consumers start as items come, never more than there is work: a
  // `workers` of 10 million for 3 items started 3, not 10 million.
  const consumers = [];
  const produce = async () => {
    try {
      for await (const item of source) {
        if (queue.closed) break;
        if (consumers.length < workers) consumers.push(consume());
        await queue.put({ item, index: produced++ });
      }
    } catch (err) {
      if (!halted) stop(err);
      return;
    }
    queue.close();
  };

  const consume = async () => {
    for await (const { item, index } of queue) {
      if (halted) return;
      try {
        results[index] = await worker(item, index);
      } catch (error) {
        errors.push({ index, item, error });
      }
      done++;
      if (onProgress !== undefined && !halted) {
        // A throw and a rejected promise from onProgress alike end the run.
        try {
          const r = onProgress(done, queue.closed ? produced : undefined);
          if (r !== null && typeof r === 'object' && typeof r.then === 'function') r.then(undefined, (err) => { if (!halted) stop(err); });
        } catch (err) {
          stop(err);
        }
      }
    }
  };

  try {
    const all = (async () => {
      await produce();
      await Promise.all(consumers);
    })();
    await Promise.race([all, stopped]);
  } finally {
    if (signal !== undefined) unlisten(signal, onAbort);
    queue.close();
  }
  for (let i = 0; i < produced; i++) if (!(i in results)) results[i] = undefined;
  results.length = produced;
  errors.sort((a, b) => a.index - b.index);
  return { results, errors };
}

module.exports = { Queue, producerConsumer };
