'use strict';
// Fetcher: requests scheduled through limits that live in C (concurrency,
// per host, per second, retries), so starting the next transfer never waits
// for JavaScript.

const { binding } = require('./native');
const { FetchError } = require('./errors');
const validate = require('./validate');
const { fieldsOf } = require('./response');
const { submit, cancelTracked, checkUrl, readRequestOptions, headerLines, readHttp2, readCa } = require('./fetch');
const { isLocalUrl, localFetch } = require('./localfetch');
const { fromRequest, isRequest } = require('./body');
const { unlisten } = require('./signal');

const STREAM_WINDOW_UNLIMITED = 256;

function countOption(name, value, fallback, min) {
  if (value === undefined) return fallback;
  validate.integer(name, value, min, true);
  return value;
}

function rateOption(name, value, fallback) {
  if (value === undefined) return fallback;
  validate.number(name, value, 'a number of requests per second > 0 or `Infinity`');
  if (!(value > 0)) throw validate.rangeError(name, 'a number of requests per second > 0 or `Infinity`', value);
  return value;
}

function msOption(name, value, fallback, allowInfinity) {
  if (value === undefined) return fallback;
  validate.ms(name, value, allowInfinity);
  return value;
}

/** What fetchAll() and stream() give for one URL; never thrown. */
function toResult(url, res) {
  res._shared = true; // The result's body is the response's Buffer: its stream must not detach it.
  return {
    url, ok: res.ok, status: res.status, headers: fieldsOf(res), body: res._buf, error: undefined,
    durationMs: res.durationMs, attempts: res.attempts, response: res,
  };
}

function toFailure(url, err) {
  const t = err && err.timings;
  return {
    url, ok: false, status: 0, headers: {}, body: null, error: err,
    durationMs: t ? t[5] : 0, attempts: (err && err.attempts) || 0, response: undefined,
  };
}

/** The limits of a Fetcher with a `store`, shared through Redis under `key`. */
function sharedLimits(store, key, concurrency, perSecond, perHost) {
  if (typeof key !== 'string' || key === '') throw validate.typeError('options.key', 'a non-empty string (the limits\' name, shared by every process that uses it)', key);
  const { RateLimiter } = require('./rate');
  const { Semaphore } = require('./limit');
  const hosts = new Map();
  return {
    rate: perSecond === Infinity ? null : new RateLimiter({ rate: perSecond, store, key: `${key}:perSecond` }),
    sem: concurrency === Infinity ? null : new Semaphore(concurrency, { store, key: `${key}:concurrency` }),
    host: perHost === Infinity ? null : (h) => {
      let s = hosts.get(h);
      if (s === undefined) {
        s = new Semaphore(perHost, { store, key: `${key}:host:${h}` });
        if (hosts.size < 10000) hosts.set(h, s);
      }
      return s;
    },
  };
}

class Fetcher {
  /**
   * @param {object} [options] concurrency (10), perSecond (5), perHost,
   *   timeout (10000 ms, per attempt), retries (0), retryDelay (1000 ms),
   *   maxRetryDelay (30000 ms), maxRetryAfter (60000 ms), headers, http2, ca.
   */
  constructor(options) {
    if (options !== undefined) validate.options('options', options);
    const o = options || {};
    const concurrency = countOption('options.concurrency', o.concurrency, 10, 1);
    const perSecond = rateOption('options.perSecond', o.perSecond, 5);
    const perHost = countOption('options.perHost', o.perHost, Infinity, 1);
    const timeout = msOption('options.timeout', o.timeout, 10_000, true);
    const retries = countOption('options.retries', o.retries, 0, 0);
    if (retries === Infinity) throw validate.rangeError('options.retries', 'a finite integer ≥ 0', retries);
    const retryDelay = msOption('options.retryDelay', o.retryDelay, 1000, false);
    const maxRetryDelay = msOption('options.maxRetryDelay', o.maxRetryDelay, 30_000, false);
    const maxRetryAfter = msOption('options.maxRetryAfter', o.maxRetryAfter, 60_000, false);
    this._defaults = {
      headers: o.headers,
      headerLines: headerLines('options.headers', o.headers === undefined ? [] : o.headers),
      timeout: timeout === Infinity ? 0 : timeout,
      http2: o.http2 === undefined ? 0 : readHttp2('options.http2', o.http2),
      ca: o.ca === undefined ? undefined : readCa('options.ca', o.ca),
    };
    this.concurrency = concurrency;
    this.perSecond = perSecond;
    // With a store, the limits are shared by every process naming the same
    // key (lib/redis.js); the pool's own concurrency and perHost stay as this
    // process's bound, its perSecond is the shared one's.
    this._shared = o.store === undefined ? null : sharedLimits(o.store, o.key, concurrency, perSecond, perHost);
    this._pool = binding.newFetchPool(concurrency === Infinity ? 0 : concurrency,
      perHost === Infinity ? 0 : perHost, perSecond === Infinity || this._shared !== null ? 0 : perSecond,
      retries, retryDelay, maxRetryDelay, maxRetryAfter);
    this._active = 0;
    this._closed = false;
    this._idle = [];
    this._stats = new Float64Array(5);
  }

  /** One request through this fetcher's limits → Response (rejects with FetchError). */
  fetch(url, options) {
    return this._fetch(url, options, true);
  }

  /** fetch(), resolving at the head with the body still arriving (stream) or with the whole body. */
  _fetch(url, options, stream) {
    let o;
    let local;
    try {
      if (isRequest(url)) return fromRequest(url, options).then(([u, opts]) => this._fetch(u, opts, stream));
      local = stream && isLocalUrl(url);
      if (!local) url = checkUrl(url);
      o = readRequestOptions(options, this._defaults);
    } catch (err) {
      return Promise.reject(err);
    }
    if (this._closed) {
      return Promise.reject(new FetchError(`The fetcher is closed; cannot fetch ${url}`, 'ERR_FETCHER_CLOSED', String(url)));
    }
    // data: and blob: as fetch() reads them: no transfer, so no limit.
    if (local) return localFetch(url, o);
    return this._submit(url, o, undefined, stream);
  }

  /** A request into the pool: through the shared limits first where there are any. */
  _submit(url, o, track, stream) {
    if (this._shared !== null) return this._sharedSubmit(url, o, track, stream);
    return submit(this._pool, this, url, o, track, stream);
  }

  /**
   * Through the shared limits first: a token of perSecond, a permit of the
   * concurrency and of the URL's host, held until the promise settles (the
   * head for fetch(), the whole body for fetchAll() and stream()).
   */
  async _sharedSubmit(url, o, track, stream) {
    const { rate, sem, host } = this._shared;
    const releases = [];
    try {
      if (sem !== null) releases.push(await sem.acquire({ signal: o.signal }));
      if (host !== null) releases.push(await host(new URL(url).host).acquire({ signal: o.signal }));
      if (rate !== null) await rate.acquire(1, { signal: o.signal });
      return await submit(this._pool, this, url, o, track, stream);
    } finally {
      for (const r of releases) r();
    }
  }

  /**
   * Every URL, results in input order; one URL's failure is its result's
   * `error`, never a rejection.
   */
  fetchAll(urls, options) {
    let onProgress;
    let reqOptions;
    let list;
    try {
      if (urls == null || typeof urls[Symbol.iterator] !== 'function') {
        // An async iterable has no total to report progress against: stream() takes those.
        throw validate.typeError('urls', 'an iterable (stream() takes async iterables)', urls);
      }
      if (options !== undefined) {
        validate.options('options', options);
        validate.optionalFn('options.onProgress', options.onProgress);
        onProgress = options.onProgress;
        const { onProgress: _, ...rest } = options;
        reqOptions = rest;
        readRequestOptions(reqOptions, this._defaults); // Checked once, here, not per URL.
      }
      list = Array.from(urls); // A copy: the caller's array is left as it was.
      for (let i = 0; i < list.length; i++) list[i] = checkUrl(list[i], `urls[${i}]`);
    } catch (err) {
      return Promise.reject(err);
    }
    const total = list.length;
    let done = 0;
    return new Promise((resolve, reject) => {
      // A throw and a rejected promise from onProgress alike reject the run.
      const one = (url) => this._fetch(url, reqOptions, false).then((res) => toResult(url, res), (err) => toFailure(url, err))
        .then((result) => {
          done++;
          if (onProgress !== undefined) {
            const r = onProgress(done, total, result);
            if (r !== null && typeof r === 'object' && typeof r.then === 'function') r.then(undefined, reject);
          }
          return result;
        });
      Promise.all(list.map(one)).then(resolve, reject);
    });
  }

  /**
   * Results in completion order as an async iterable. `urls` (an iterable or
   * async iterable) is read lazily: at most a window of requests (twice the
   * concurrency) is taken ahead of what you have consumed.
   */
  stream(urls, options) {
    // Bad arguments throw here, at the call, not at the first next().
    const it = iteratorOf(urls);
    let o = readRequestOptions(undefined, this._defaults);
    let signal;
    if (options !== undefined) {
      o = readRequestOptions(options, this._defaults);
      signal = o.signal;
      o.signal = undefined; // One listener for the stream, not one per request.
    }
    return this._stream(it, o, signal);
  }

  async* _stream(it, o, signal) {
    if (signal !== undefined && signal.aborted) throw abortStream(signal);
    const track = new Set();
    const window = this.concurrency === Infinity ? STREAM_WINDOW_UNLIMITED : Math.max(2, this.concurrency * 2);
    const ready = [];
    let head = 0;
    let inflight = 0;
    let exhausted = false;
    let wake = null;
    const notify = () => {
      if (wake !== null) {
        const w = wake;
        wake = null;
        w();
      }
    };
    const arrive = (result) => {
      ready.push(result);
      inflight--;
      notify();
    };
    const onAbort = () => {
      cancelTracked(track);
      notify();
    };
    if (signal !== undefined) signal.addEventListener('abort', onAbort, { once: true });
    try {
      for (;;) {
        if (signal !== undefined && signal.aborted) throw abortStream(signal);
        while (!exhausted && inflight + ready.length - head < window) {
          const step = await it.next();
          if (step.done) {
            exhausted = true;
            break;
          }
          const url = checkUrl(step.value);
          if (this._closed) throw new FetchError(`The fetcher is closed; cannot fetch ${url}`, 'ERR_FETCHER_CLOSED', url);
          this._submit(url, o, track)
            .then((res) => arrive(toResult(url, res)), (err) => arrive(toFailure(url, err)));
          inflight++;
        }
        if (head < ready.length) {
          const r = ready[head];
          ready[head++] = undefined;
          if (head > 1024 && head * 2 > ready.length) {
            ready.splice(0, head);
            head = 0;
          }
          yield r;
          continue;
        }
        if (exhausted && inflight === 0) return;
        await new Promise((resolve) => { wake = resolve; });
      }
    } finally {
      // Leaving early (break, throw, abort): stop what is still in flight.
      if (signal !== undefined) unlisten(signal, onAbort);
      cancelTracked(track);
      if (!exhausted && typeof it.return === 'function') await it.return();
    }
  }

  /** Counts from the core: active, queued, done, failed, bytes. */
  get stats() {
    const s = this._stats;
    this._pool.stats(s);
    return { active: s[0], queued: s[1], done: s[2], failed: s[3], bytes: s[4] };
  }

  /**
   * Takes no new requests; resolves when the ones under way have settled,
   * and then closes the kept-alive connections if no other fetch is running.
   */
  close() {
    if (!this._closed) {
      this._closed = true;
      this._pool.close();
    }
    if (this._active === 0) {
      binding.fetchCloseIdle();
      return Promise.resolve();
    }
    return new Promise((resolve) => this._idle.push(resolve));
  }

  // Called by submit()/settle() for the requests of this fetcher.
  started() {
    this._active++;
  }

  settled() {
    if (--this._active === 0 && this._idle.length > 0) {
      const idle = this._idle;
      this._idle = [];
      // Kept-alive connections go too, unless another fetcher is busy.
      binding.fetchCloseIdle();
      for (const resolve of idle) resolve();
    }
  }
}

// `await using fetcher = new Fetcher()`: close() when the scope ends (where
// the runtime has the symbol; Node 20 before 20.4 did not).
if (typeof Symbol.asyncDispose === 'symbol') {
  Fetcher.prototype[Symbol.asyncDispose] = function asyncDispose() {
    return this.close();
  };
}

function abortStream(signal) {
  return new FetchError('The stream was aborted', 'ABORT_ERR', undefined, { cause: signal.reason });
}

function iteratorOf(urls) {
  if (urls !== null && typeof urls === 'object' && typeof urls[Symbol.asyncIterator] === 'function') {
    return urls[Symbol.asyncIterator]();
  }
  validate.iterable('urls', urls);
  const sync = urls[Symbol.iterator]();
  return {
    next: () => sync.next(),
    return: typeof sync.return === 'function' ? () => sync.return() : undefined,
  };
}

module.exports = { Fetcher };
