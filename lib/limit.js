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

function toLimit(n) {
  return n === Infinity || n > MAX_LIMIT ? MAX_LIMIT : n;
}

function check(rc) {
  if (rc < NOW) throw new Error(`uvasync: semaphore failed (${binding.errName(rc)})`);
  return rc;
}

/**
 * limit(concurrency) → run(fn, ...args), in the shape of p-limit.
 */
function limit(concurrency) {
  validate.integer('concurrency', concurrency, 1, true);
  const sem = new binding.Semaphore(toLimit(concurrency));
  const waiting = [];
  let current = concurrency;

  const startNext = () => {
    const id = check(sem.release());
    if (id !== NOW) {
      const start = waiting[id & SLOT];
      waiting[id & SLOT] = undefined;
      start();
    }
  };

  const launch = (fn, args, resolve, reject) => {
    let p;
    try {
      p = fn(...args);
    } catch (err) {
      reject(err);
      startNext();
      return;
    }
    if (p !== null && typeof p === 'object' && typeof p.then === 'function') {
      p.then((value) => {
        resolve(value);
        startNext();
      }, (err) => {
        reject(err);
        startNext();
      });
    } else {
      resolve(p);
      startNext();
    }
  };

  function run(fn, ...args) {
    validate.fn('fn', fn);
    return new Promise((resolve, reject) => {
      const id = check(sem.acquire());
      if (id === NOW) launch(fn, args, resolve, reject);
      else {
        const start = () => launch(fn, args, resolve, reject);
        start.reject = reject;
        waiting[id & SLOT] = start;
      }
    });
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
          const start = waiting[id & SLOT];
          waiting[id & SLOT] = undefined;
          start();
        }
      },
    },
    clearQueue: {
      // Unlike p-limit, whose cleared promises never settle, each one
      // rejects with an AbortError.
      value() {
        for (let id = sem.drop(); id !== NOW; id = sem.drop()) {
          const start = waiting[id & SLOT];
          waiting[id & SLOT] = undefined;
          start.reject(new AbortError('The queue was cleared'));
        }
      },
    },
  });
  return run;
}

/**
 * A counting semaphore: `acquire()` resolves with an idempotent release
 * function once a permit is free (first come, first served).
 */
class Semaphore {
  #sem;
  #waiting = [];
  #permits;

  constructor(permits) {
    validate.integer('permits', permits, 1, true);
    this.#permits = permits;
    this.#sem = new binding.Semaphore(toLimit(permits));
  }

  /** Permits in use. */
  get active() { return this.#sem.active; }
  /** Callers waiting for a permit. */
  get pending() { return this.#sem.pending; }
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
    validate.options('options', options);
    const signal = options === undefined ? undefined : options.signal;
    validate.signal('options.signal', signal);
    if (signal !== undefined && signal.aborted) return Promise.reject(abortError(signal));
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

module.exports = { limit, Semaphore };
