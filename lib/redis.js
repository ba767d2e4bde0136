'use strict';
// RedisStore: one Redis connection on this process's loop, held in the C
// core (src/core/redis.c, hiredis with the core's own adapter), and the
// limits that go through it.  A rate limit is GCRA in a Lua script on
// Redis's own clock: one call reserves the caller's slot and says how long
// to wait, and the wait is a local timer.  So one round trip per acquire,
// waiting or not; no polling, no pub/sub, no client clock.

const crypto = require('node:crypto');
const { binding } = require('./native');
const { UvasyncError, AbortError, abortError } = require('./errors');
const validate = require('./validate');
const { unlisten } = require('./signal');

// The core's scripts (src/core/redis.h).
const SCRIPT_GCRA = 0;
const SCRIPT_SEM_ACQUIRE = 1;
const SCRIPT_SEM_RELEASE = 2;
const SCRIPT_SEM_RENEW = 3;

const ERRORS = {
  [-40101]: ['ERR_REDIS_UNAVAILABLE', 'Redis is unreachable'],
  [-40102]: ['ERR_REDIS_TIMEOUT', 'Redis did not answer in time'],
  [-40103]: ['ERR_REDIS_REPLY', 'Redis answered with an error'],
  [-40104]: ['ERR_REDIS_CLOSED', 'The RedisStore is closed'],
};

function storeError(status, detail) {
  const [code, text] = ERRORS[status] || [binding.errName(status), 'Redis call failed'];
  return new UvasyncError(detail ? `${text}: ${detail}` : text, { code });
}

/** `redis://[user:password@]host[:port][/db]` as options. */
function fromUrl(url) {
  let u;
  try {
    u = new URL(url);
  } catch {
    throw validate.typeError('options.url', 'a redis:// URL', url);
  }
  if (u.protocol !== 'redis:') throw validate.typeError('options.url', 'a redis:// URL', url);
  const out = { host: u.hostname.replace(/^\[|\]$/g, ''), port: u.port === '' ? 6379 : Number(u.port) };
  if (u.password !== '') out.password = decodeURIComponent(u.password);
  const db = u.pathname.replace(/^\//, '');
  if (db !== '') out.db = Number(db);
  return out;
}

class RedisStore {
  #native;
  #pending = new Map(); // id → { resolve, reject }
  #nextId = 1;
  #closed = null;

  /**
   * @param {object} [options] url or host/port/db/password; keyPrefix;
   *   connectTimeout, commandTimeout (ms); reconnect
   */
  constructor(options = {}) {
    validate.options('options', options);
    if (typeof binding.newRedisStore !== 'function') {
      throw new UvasyncError('uvasync was built without Redis support: install hiredis\'s headers ' +
        '(`sudo apt-get install -y libhiredis-dev`) and run `npm rebuild uvasync`', { code: 'ERR_REDIS_NOT_BUILT' });
    }
    const fromU = options.url !== undefined ? fromUrl(options.url) : {};
    const o = { host: '127.0.0.1', port: 6379, db: 0, ...fromU, ...options };
    const { host, port, db, password, keyPrefix = 'uvasync:', connectTimeout = 2000, commandTimeout = 1000, reconnect = true } = o;
    if (typeof host !== 'string' || host === '') throw validate.typeError('options.host', 'a host name or an IP address', host);
    validate.integer('options.port', port, 1);
    if (port > 65535) throw validate.rangeError('options.port', 'at most 65535', port);
    validate.integer('options.db', db, 0);
    if (password !== undefined && typeof password !== 'string') throw validate.typeError('options.password', 'a string', password);
    if (typeof keyPrefix !== 'string') throw validate.typeError('options.keyPrefix', 'a string', keyPrefix);
    validate.ms('options.connectTimeout', connectTimeout);
    validate.ms('options.commandTimeout', commandTimeout);
    if (typeof reconnect !== 'boolean') throw validate.typeError('options.reconnect', 'a boolean', reconnect);
    this.keyPrefix = keyPrefix;
    this.commandTimeout = commandTimeout;
    this.#native = binding.newRedisStore({
      host, port, db, password, connectTimeout: Math.max(1, connectTimeout), commandTimeout: Math.max(1, commandTimeout), reconnect: reconnect ? 1 : 0,
    }, (id, status, ints, error) => this.#reply(id, status, ints, error));
  }

  /** Calls made to Redis (scripts included), replies, connects; and whether it is connected now. */
  get stats() {
    const [calls, replies, connects] = this.#native.counts();
    return { calls, replies, connects, connected: this.#native.connected() };
  }

  #reply(id, status, ints, error) {
    const p = this.#pending.get(id);
    if (p === undefined) return;
    this.#pending.delete(id);
    if (status === 0) p.resolve(ints);
    else p.reject(storeError(status, error));
  }

  /** One script call (SCRIPT_* below): its integers. @internal */
  eval(script, key, args) {
    if (this.#closed !== null) return Promise.reject(storeError(-40104));
    const id = this.#nextId++;
    const rc = this.#native.eval(id, script, this.keyPrefix + key, args.map(String));
    if (rc !== 0) return Promise.reject(storeError(rc));
    return new Promise((resolve, reject) => this.#pending.set(id, { resolve, reject }));
  }

  /**
   * One GCRA call: reserves `n` tokens of the limit at `key` unless the wait
   * would pass `maxWaitMs`; resolves with { reserved, waitMs }.
   * @internal
   */
  gcra(key, intervalMs, burst, n, maxWaitMs) {
    const args = [intervalMs * 1000, burst, n, maxWaitMs === Infinity ? -1 : maxWaitMs * 1000];
    return this.eval(SCRIPT_GCRA, key, args).then(([reserved, waitUs]) => ({ reserved: reserved === 1, waitMs: waitUs / 1000 }));
  }

  /** Closes the connection; what is pending rejects with ERR_REDIS_CLOSED. */
  close() {
    if (this.#closed === null) {
      this.#native.close();
      this.#closed = Promise.resolve();
    }
    return this.#closed;
  }
}

if (typeof Symbol.asyncDispose === 'symbol') {
  RedisStore.prototype[Symbol.asyncDispose] = function asyncDispose() {
    return this.close();
  };
}

/**
 * The limit of a RateLimiter with a `store`: one round trip per acquire.
 * What to do when the store fails: 'reject' (the default), 'allow' (fail
 * open), or 'local' (an in-process limit of the same rate meanwhile).
 */
class SharedRate {
  constructor({ rate, capacity, store, key, maxWait = Infinity, onStoreError = 'reject', lease = 1 }, makeLocal) {
    if (!(store instanceof RedisStore)) throw validate.typeError('options.store', 'a RedisStore', store);
    if (typeof key !== 'string' || key === '') throw validate.typeError('options.key', 'a non-empty string (the limit\'s name, shared by every process that uses it)', key);
    validate.ms('options.maxWait', maxWait, true);
    if (!['reject', 'allow', 'local'].includes(onStoreError)) throw validate.typeError('options.onStoreError', "'reject', 'allow' or 'local'", onStoreError);
    validate.integer('options.lease', lease, 1);
    if (lease > capacity) throw validate.rangeError('options.lease', `at most the capacity (${capacity})`, lease);
    this.lease = lease;
    this.leased = []; // With a lease: the times (performance.now()) the tokens reserved and not handed out yet are due.
    this.leasing = null; // The lease call in flight, which callers meanwhile wait on.
    this.store = store;
    this.key = `rate:${key}`;
    this.intervalMs = 1000 / rate;
    this.capacity = capacity;
    this.maxWait = maxWait;
    this.onStoreError = onStoreError;
    this.makeLocal = makeLocal;
    this.local = null;
    this.waiting = 0;
    this.stats = { granted: 0, allowedOnError: 0, localOnError: 0 };
  }

  async #fallback(err, tokens, signal) {
    if (this.onStoreError === 'allow') {
      this.stats.allowedOnError++;
      return 0;
    }
    if (this.onStoreError === 'local') {
      this.stats.localOnError++;
      if (this.local === null) this.local = this.makeLocal();
      return this.local.acquire(tokens, { signal });
    }
    throw err;
  }

  /** The wait (ms) for one token of a lease: one call reserves `lease` of them, handed out here. */
  async #fromLease(maxWait) {
    while (this.leased.length === 0) {
      if (this.leasing === null) {
        const n = this.lease;
        this.leasing = this.store.gcra(this.key, this.intervalMs, this.capacity, n, maxWait).then((r) => {
          if (!r.reserved) return r;
          // The reply's wait is the last token's; token k of n is due (n - k) intervals sooner.
          const now = performance.now();
          for (let k = 1; k <= n; k++) this.leased.push(now + Math.max(0, r.waitMs - (n - k) * this.intervalMs));
          return r;
        }).finally(() => { this.leasing = null; });
      }
      const r = await this.leasing;
      if (!r.reserved) return r;
    }
    const due = this.leased.shift();
    return { reserved: true, waitMs: Math.max(0, due - performance.now()) };
  }

  async acquire(tokens, signal, maxWait = this.maxWait) {
    let r;
    try {
      r = this.lease > 1 && tokens === 1 ? await this.#fromLease(maxWait)
        : await this.store.gcra(this.key, this.intervalMs, this.capacity, tokens, maxWait);
    } catch (err) {
      if (err.code === 'ERR_REDIS_CLOSED') throw err;
      return this.#fallback(err, tokens, signal);
    }
    if (!r.reserved) {
      const err = new UvasyncError(`The wait for a token (${r.waitMs.toFixed(1)} ms) would pass maxWait (${maxWait} ms)`, { code: 'ERR_RATE_LIMIT_WAIT' });
      err.wait = r.waitMs;
      throw err;
    }
    this.stats.granted++;
    if (r.waitMs <= 0) return 0;
    if (signal !== undefined && signal.aborted) throw abortError(signal);
    // The slot is reserved on the server: the wait is this process's own.
    this.waiting++;
    try {
      await new Promise((resolve, reject) => {
        const timer = setTimeout(() => {
          if (signal !== undefined) unlisten(signal, onAbort);
          resolve();
        }, r.waitMs);
        const onAbort = () => {
          clearTimeout(timer);
          reject(abortError(signal));
        };
        if (signal !== undefined) signal.addEventListener('abort', onAbort, { once: true });
      });
    } finally {
      this.waiting--;
    }
    return r.waitMs;
  }

  /** true if a token is there now (a round trip; nothing is reserved otherwise). */
  async tryAcquire(tokens) {
    try {
      await this.acquire(tokens, undefined, 0);
      return true;
    } catch (err) {
      if (err.code === 'ERR_RATE_LIMIT_WAIT') return false;
      throw err;
    }
  }
}

/**
 * The permits of a Semaphore with a `store`: leases in a sorted set, each
 * renewed every ttl / 3 while held, so a process that dies frees its
 * permits when their leases end.  A waiter tries again when a permit of
 * this process is released, when the first lease would end, and at least
 * every 200 ms (with jitter): permits go to whoever asks first after one is
 * free, not first come, first served across processes.
 */
class SharedSemaphore {
  constructor(permits, { store, key, ttl = 10000 }) {
    if (!(store instanceof RedisStore)) throw validate.typeError('options.store', 'a RedisStore', store);
    if (typeof key !== 'string' || key === '') throw validate.typeError('options.key', 'a non-empty string (the semaphore\'s name, shared by every process that uses it)', key);
    validate.ms('options.ttl', ttl);
    if (ttl < 30) throw validate.rangeError('options.ttl', 'at least 30 ms', ttl);
    this.store = store;
    this.key = `sem:${key}`;
    this.permits = permits;
    this.ttl = ttl;
    this.active = 0; // Held by this process.
    this.pending = 0;
    this.wakers = new Set(); // Waiters of this process, woken by a release here.
    this.stats = { lost: 0 };
  }

  #wait(ms, signal) {
    return new Promise((resolve, reject) => {
      let timer;
      const done = () => {
        clearTimeout(timer);
        this.wakers.delete(done);
        if (signal !== undefined) unlisten(signal, onAbort);
        resolve();
      };
      const onAbort = () => {
        done();
        reject(abortError(signal));
      };
      timer = setTimeout(done, ms);
      this.wakers.add(done);
      if (signal !== undefined) signal.addEventListener('abort', onAbort, { once: true });
    });
  }

  async acquire(signal) {
    const holder = `${process.pid}:${crypto.randomUUID()}`;
    let backoff = 5;
    this.pending++;
    try {
      for (;;) {
        if (signal !== undefined && signal.aborted) throw abortError(signal);
        const [granted, untilMs] = await this.store.eval(SCRIPT_SEM_ACQUIRE, this.key, [this.permits, this.ttl, holder]);
        if (granted === 1) break;
        backoff = Math.min(200, backoff * 2);
        await this.#wait(Math.max(1, Math.min(untilMs + 1, backoff * (0.5 + Math.random()))), signal);
      }
    } finally {
      this.pending--;
    }
    this.active++;
    return this.#releaser(holder);
  }

  #releaser(holder) {
    let released = null;
    const renew = setInterval(() => {
      this.store.eval(SCRIPT_SEM_RENEW, this.key, [this.ttl, holder]).then(([held]) => {
        if (held === 0 && released === null) {
          // Its lease ended (this process stalled past ttl, or Redis lost it).
          this.stats.lost++;
          clearInterval(renew);
        }
      }, () => {}); // The next renewal tries again; the lease outlives a short outage.
    }, Math.max(10, this.ttl / 3));
    renew.unref();
    const release = () => {
      if (released === null) {
        clearInterval(renew);
        this.active--;
        released = this.store.eval(SCRIPT_SEM_RELEASE, this.key, [holder]).then(() => {}, () => {
          // Not given back now: the lease ends by itself within ttl.
        });
        for (const wake of [...this.wakers]) wake();
      }
      return released;
    };
    if (typeof Symbol.dispose === 'symbol') release[Symbol.dispose] = release;
    return release;
  }
}

module.exports = { RedisStore, SharedRate, SharedSemaphore, AbortError };
