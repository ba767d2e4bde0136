'use strict';
// limit() and Semaphore: concurrency limits whose counts and FIFO of
// waiters live in the core's semaphore.  JS keeps only what to run for each
// waiter, in an array indexed by the waiter's slot.

const { binding } = require('./native');
const { AbortError, abortError } = require('./errors');
const validate = require('./validate');
const { unlisten } = require('./signal');

const SLOT = 0xffffff;
const NOW = -1;
const MAX_LIMIT = 0xfffffffe;

// A task of limit(): what to call, and while it waits, the resolvers of
// the promise it starts on (taken without a closure per task).
class LimitTask {
  constructor(fn, args) {
    this.fn = fn;
    this.args = args;
    this.go = null;
    this.drop = null;
  }
}

let capturedResolve = null;
let capturedReject = null;
function capture(resolve, reject) {
  capturedResolve = resolve;
  capturedReject = reject;
}

function toLimit(n) {
  return n === Infinity || n > MAX_LIMIT ? MAX_LIMIT : n;
}

function check(rc) {
  if (rc < NOW) throw new Error(`uvasync: semaphore failed (${binding.errName(rc)})`);
  return rc;
}

/**
 * limit(concurrency) or limit({ concurrency }) → run(fn, ...args), in the
 * shape of p-limit.
 *
 * A task takes its slot at once (activeCount counts it) and starts a
 * microtask later, as p-limit's do, from a promise reaction attached in the
 * caller's own call: so it runs in the caller's async context
 * (AsyncLocalStorage), and a task that returns at once never starts the
 * next one inside its own stack (100,000 of them overflowed it).
 */
function limit(concurrency) {
  if (concurrency !== null && typeof concurrency === 'object') {
    validate.options('concurrency', concurrency);
    const { rejectOnClear } = concurrency;
    if (rejectOnClear !== undefined && typeof rejectOnClear !== 'boolean') {
      throw validate.typeError('concurrency.rejectOnClear', 'a boolean', rejectOnClear);
    }
    concurrency = concurrency.concurrency;
  }
  validate.integer('concurrency', concurrency, 1, true);
  const sem = new binding.Semaphore(toLimit(concurrency));
  const waiting = [];
  let current = concurrency;

  // A slot came free: the first waiter (if any) gets it.
  const startNext = () => {
    const id = check(sem.release());
    if (id !== NOW) {
      const t = waiting[id & SLOT];
      waiting[id & SLOT] = undefined;
      t.go(t);
    }
  };

  // One task's run, once it has its slot: its result becomes the outcome
  // of the promise run() returned, and the slot goes on when it settles
  // (one shared handler, no closure per task).
  const release = () => startNext();
  const exec = (t) => {
    let p;
    try {
      p = t.fn(...t.args);
    } catch (err) {
      startNext();
      throw err;
    }
    if (p !== null && typeof p === 'object' && typeof p.then === 'function') {
      p.then(release, release);
      return p;
    }
    startNext();
    return p;
  };

  function run(fn, ...args) {
    if (typeof fn !== 'function') return Promise.reject(validate.typeError('fn', 'a function', fn));
    const t = new LimitTask(fn, args);
    const id = check(sem.acquire());
    // Either way the task starts from a reaction attached here, in the
    // caller's call, a microtask later at the soonest; what run() returns is
    // that reaction's promise, which takes exec's outcome.
    if (id === NOW) return Promise.resolve(t).then(exec);
    const gate = new Promise(capture);
    t.go = capturedResolve;
    t.drop = capturedReject;
    waiting[id & SLOT] = t;
    return gate.then(exec);
  }

  Object.defineProperties(run, {
    activeCount: { get: () => sem.active },
    pendingCount: { get: () => sem.pending },
    concurrency: {
      get: () => current,
      set(n) {
        validate.integer('concurrency', n, 1, true);
        current = n;
        sem.setLimit(toLimit(n));
        for (let id = sem.next(); id !== NOW; id = sem.next()) {
          const t = waiting[id & SLOT];
          waiting[id & SLOT] = undefined;
          t.go(t);
        }
      },
    },
    clearQueue: {
      // Unlike p-limit, whose cleared promises never settle unless asked
      // (rejectOnClear), each one rejects with an AbortError.
      value() {
        for (let id = sem.drop(); id !== NOW; id = sem.drop()) {
          const t = waiting[id & SLOT];
          waiting[id & SLOT] = undefined;
          t.drop(new AbortError('The queue was cleared'));
        }
      },
    },
    map: {
      // p-limit's limit.map(iterable, fn): fn(item, index) through the limit.
      value(items, fn) {
        try {
          validate.iterable('items', items);
          validate.fn('fn', fn);
        } catch (err) {
          return Promise.reject(err);
        }
        const promises = [];
        let i = 0;
        try {
          for (const item of items) promises.push(run(fn, item, i++));
        } catch (err) {
          for (const p of promises) p.catch(() => {});
          return Promise.reject(err);
        }
        return Promise.all(promises);
      },
    },
  });
  return run;
}

/**
 * limitFunction(fn, { concurrency }) → a function with fn's arguments whose
 * calls go through a limit of their own (p-limit's limitFunction).
 */
function limitFunction(fn, options) {
  validate.fn('fn', fn);
  if (options === null || typeof options !== 'object') throw validate.typeError('options', 'an object with `concurrency`', options);
  const run = limit(options.concurrency);
  return function limited(...args) {
    return run(() => fn.apply(this, args));
  };
}

/**
 * A counting semaphore: `acquire()` resolves with an idempotent release
 * function once a permit is free (first come, first served).
 */
class Semaphore {
  #sem;
  #waiting = [];
  #permits;
  #shared = null; // With a `store`: permits shared through Redis (lib/redis.js).

  constructor(permits, options) {
    validate.options('options', options);
    const shared = options !== undefined && options.store !== undefined;
    validate.integer('permits', permits, 1, !shared); // Shared permits are counted in Redis: a number.
    this.#permits = permits;
    if (shared) {
      const { SharedSemaphore } = require('./redis');
      this.#shared = new SharedSemaphore(permits, options);
      return;
    }
    this.#sem = new binding.Semaphore(toLimit(permits));
  }

  /** Permits in use (with a store: by this process). */
  get active() { return this.#shared !== null ? this.#shared.active : this.#sem.active; }
  /** Callers waiting for a permit (with a store: in this process). */
  get pending() { return this.#shared !== null ? this.#shared.pending : this.#sem.pending; }
  /** With a store: leases found ended while held (`lost`); else undefined. */
  get stats() { return this.#shared !== null ? { ...this.#shared.stats } : undefined; }
  /** The number of permits. */
  get permits() { return this.#permits; }

  #releaser() {
    let released = false;
    const release = () => {
      if (released) return;
      released = true;
      const id = check(this.#sem.release());
      if (id !== NOW) {
        const w = this.#waiting[id & SLOT];
        this.#waiting[id & SLOT] = undefined;
        w.grant();
      }
    };
    if (typeof Symbol.dispose === 'symbol') release[Symbol.dispose] = release;
    return release;
  }

  acquire(options) {
    let signal;
    try {
      validate.options('options', options);
      signal = options === undefined ? undefined : options.signal;
      validate.signal('options.signal', signal);
    } catch (err) {
      return Promise.reject(err);
    }
    if (signal !== undefined && signal.aborted) return Promise.reject(abortError(signal));
    if (this.#shared !== null) return this.#shared.acquire(signal);
    const id = check(this.#sem.acquire());
    if (id === NOW) return Promise.resolve(this.#releaser());
    return new Promise((resolve, reject) => {
      const onAbort = () => {
        if (this.#sem.cancel(id)) {
          this.#waiting[id & SLOT] = undefined;
          reject(abortError(signal));
        }
      };
      this.#waiting[id & SLOT] = {
        grant: () => {
          if (signal !== undefined) unlisten(signal, onAbort);
          resolve(this.#releaser());
        },
      };
      if (signal !== undefined) signal.addEventListener('abort', onAbort, { once: true });
    });
  }
}

module.exports = { limit, limitFunction, Semaphore };
