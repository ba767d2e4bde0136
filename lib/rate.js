'use strict';
// RateLimiter: a token bucket whose tokens, FIFO of waiters and refill
// timer live in the core.  Waiters are served by a timer in C and handed to
// JS in one call per batch.

const { binding } = require('./native');
const { AbortError, abortError } = require('./errors');
const validate = require('./validate');
const { unlisten } = require('./signal');

const SLOT = 0xffffff;
const NOW = -1;
const MAX_TOKENS = 1e9;

class RateLimiter {
  #bucket;
  #shared = null; // With a `store`: the limit is in Redis (lib/redis.js).
  #waiting = [];
  #rate;
  #capacity;

  constructor(options) {
    if (options === null || typeof options !== 'object') throw validate.typeError('options', 'an object with `rate`', options);
    const { rate, capacity } = options;
    validate.between('options.rate', rate, Number.MIN_VALUE, MAX_TOKENS);
    const cap = capacity === undefined ? Math.max(1, Math.floor(rate)) : capacity;
    if (capacity !== undefined) validate.between('options.capacity', capacity, Number.MIN_VALUE, MAX_TOKENS);
    this.#rate = rate;
    this.#capacity = cap;
    if (options.store !== undefined) {
      // Shared by every process that names the same key: one round trip per acquire.
      const { SharedRate } = require('./redis');
      this.#shared = new SharedRate({ ...options, capacity: cap }, () => new RateLimiter({ rate, capacity: cap }));
      return;
    }
    this.#bucket = new binding.Bucket(rate, cap, (ids, waited) => this.#granted(ids, waited));
  }

  /** With a store: granted, and how often a store error was met with 'allow' or 'local'. */
  get stats() {
    return this.#shared !== null ? { ...this.#shared.stats } : undefined;
  }

  /** Tokens per second. */
  get rate() { return this.#rate; }
  /** The burst: the most tokens the bucket holds. */
  get capacity() { return this.#capacity; }
  /** Tokens that can be taken now (fractional while refilling). */
  get available() { return this.#shared !== null ? NaN : this.#bucket.available; }
  /** Callers waiting for tokens. */
  get pending() { return this.#shared !== null ? this.#shared.waiting : this.#bucket.pending; }

  #tokens(tokens) {
    validate.between('tokens', tokens, 0, MAX_TOKENS);
    if (tokens > this.#capacity) {
      throw validate.rangeError('tokens', `at most the capacity (${this.#capacity})`, tokens);
    }
  }

  #granted(ids, waited) {
    for (let i = 0; i < ids.length; i++) {
      const slot = ids[i] & SLOT;
      const w = this.#waiting[slot];
      this.#waiting[slot] = undefined;
      if (w === undefined) continue;
      if (w.signal !== undefined) unlisten(w.signal, w.onAbort);
      w.resolve(waited[i]);
    }
  }

  /**
   * Waits for `tokens`; resolves with the milliseconds waited.  First come,
   * first served.
   */
  acquire(tokens = 1, options) {
    let signal;
    try {
      this.#tokens(tokens);
      validate.options('options', options);
      signal = options === undefined ? undefined : options.signal;
      validate.signal('options.signal', signal);
    } catch (err) {
      return Promise.reject(err);
    }
    if (signal !== undefined && signal.aborted) return Promise.reject(abortError(signal));
    if (this.#shared !== null) return this.#shared.acquire(tokens, signal);
    const id = this.#bucket.acquire(tokens);
    if (id === NOW) return Promise.resolve(0);
    if (id < NOW) return Promise.reject(new Error(`uvasync: rate limiter failed (${binding.errName(id)})`));
    return new Promise((resolve, reject) => {
      const waiter = { resolve, reject, signal, onAbort: null };
      this.#waiting[id & SLOT] = waiter;
      if (signal === undefined) return;
      waiter.onAbort = () => {
        if (this.#bucket.cancel(id)) {
          this.#waiting[id & SLOT] = undefined;
          reject(abortError(signal));
        }
      };
      signal.addEventListener('abort', waiter.onAbort, { once: true });
    });
  }

  /** Takes `tokens` now if nobody waits and they are there. */
  tryAcquire(tokens = 1) {
    if (this.#shared !== null) {
      // With a store, a round trip: a promise of the answer, which a bad argument rejects.
      try {
        this.#tokens(tokens);
      } catch (err) {
        return Promise.reject(err);
      }
      return this.#shared.tryAcquire(tokens);
    }
    this.#tokens(tokens);
    return this.#bucket.tryAcquire(tokens);
  }

  /** A function that calls `fn` once a token is granted for each call. */
  wrap(fn) {
    validate.fn('fn', fn);
    const limiter = this;
    return function rateLimited(...args) {
      return limiter.acquire(1).then(() => fn.apply(this, args));
    };
  }

  /** Rejects every waiter with an AbortError (code ABORT_ERR). */
  clear() {
    if (this.#shared !== null) return; // Its waits are reserved slots on the server.
    for (let id = this.#bucket.drop(); id !== NOW; id = this.#bucket.drop()) {
      const w = this.#waiting[id & SLOT];
      this.#waiting[id & SLOT] = undefined;
      if (w === undefined) continue;
      if (w.signal !== undefined) unlisten(w.signal, w.onAbort);
      w.reject(new AbortError('The rate limiter was cleared'));
    }
  }
}

module.exports = { RateLimiter };
