// Type definitions for uvasync.
import { EventEmitter } from 'node:events';

/**
 * The base of every error uvasync produces. `code` is stable; messages may change.
 *
 * @example
 * ```ts
 * import { UvasyncError, delay } from 'uvasync';
 * try { await delay(1e6, { signal: AbortSignal.abort() }); }
 * catch (err) { if (err instanceof UvasyncError) console.log(err.code); } // 'ABORT_ERR'
 * ```
 */
export class UvasyncError extends Error {
  /** A stable code such as `'ETIMEDOUT'` or `'ABORT_ERR'`. */
  readonly code: string;
}

/**
 * A deadline passed. `code` is `'ETIMEDOUT'`, `timeout` the limit in milliseconds.
 *
 * @example
 * ```ts
 * import { withTimeout, TimeoutError } from 'uvasync';
 * try { await withTimeout(fetchSomething(), 100); }
 * catch (err) { if (err instanceof TimeoutError) console.log(`gave up after ${err.timeout} ms`); }
 * ```
 */
export class TimeoutError extends UvasyncError {
  readonly code: 'ETIMEDOUT';
  /** The limit that passed, in milliseconds. */
  readonly timeout: number;
}

/**
 * The operation was aborted through an `AbortSignal`. `code` is `'ABORT_ERR'` and
 * `cause` is the signal's `reason`.
 *
 * @example
 * ```ts
 * import { delay, AbortError } from 'uvasync';
 * const ac = new AbortController();
 * setTimeout(() => ac.abort('user'), 10);
 * await delay(1000, { signal: ac.signal }).catch((err: AbortError) => err.cause); // 'user'
 * ```
 */
export class AbortError extends UvasyncError {
  readonly code: 'ABORT_ERR';
  /** node-fetch's name for an abort, for code written for node-fetch. */
  readonly type: 'aborted';
}

/** Options of {@link delay}. */
export interface DelayOptions<T> {
  /** Aborting it rejects the delay with an {@link AbortError} and clears the timer. */
  readonly signal?: AbortSignal;
  /** What the promise resolves with. @default undefined */
  readonly value?: T;
  /** `false`: the pending delay does not keep the process alive (as `timers/promises`). @default true */
  readonly ref?: boolean;
}

/**
 * Resolves after at least `ms` milliseconds, measured from the call (never early,
 * even after a long synchronous block). Like `setTimeout(0)`, `delay(0)` lets
 * I/O through: a loop of `await delay(0)` does not starve the event loop.
 *
 * Bad arguments reject with a TypeError or RangeError, as in `timers/promises`.
 *
 * @param ms Milliseconds to wait, 0 to 4294967295.
 * @param options `signal`, `value` and `ref`.
 * @returns A promise of `options.value`.
 * @example
 * ```ts
 * import { delay } from 'uvasync';
 * const v = await delay(50, { value: 'ready' }); // 'ready', ≥ 50 ms later
 * ```
 */
export function delay<T = undefined>(ms: number, options?: DelayOptions<T>): Promise<T>;

/** Options of {@link withTimeout}. */
export interface WithTimeoutOptions<F> {
  /**
   * Resolve with this on timeout instead of rejecting: a value, or a function
   * whose result (or promise) is used.
   */
  readonly fallback?: F | (() => F | PromiseLike<F>);
  /** The TimeoutError's message, or an Error to reject with instead. @default 'Promise timed out after <ms> milliseconds' */
  readonly message?: string | Error;
  /** Aborting it rejects with an {@link AbortError} (and aborts the function form's signal). */
  readonly signal?: AbortSignal;
}

/** What {@link withTimeout} returns: a promise with p-timeout's `clear()`. */
export interface ClearablePromise<T> extends Promise<T> {
  /** Stops the timer: the promise then settles only with the input. */
  clear(): void;
}

/**
 * Settles like `input`, or on timeout rejects with a {@link TimeoutError} (or
 * resolves with `fallback`). The native timer is cleared the moment `input` settles.
 * An error from `input` keeps its async stack frames, as with a plain `await`.
 * Bad arguments reject.
 * The function form receives an AbortSignal that aborts when time runs out.
 * The seed's call shape `withTimeout(promise, ms, fallbackValue)` also works when
 * the fallback is not a plain object.
 *
 * @param input A promise, or a function `(signal) => promise`.
 * @param ms Milliseconds, 0 to 4294967295, or `Infinity` for no limit.
 * @param options `fallback`, `message`, `signal`.
 * @returns The input's value, or the fallback's.
 * @example
 * ```ts
 * import { withTimeout } from 'uvasync';
 * const body = await withTimeout((signal) => fetch(url, { signal }).then((r) => r.text()), 2000,
 *   { fallback: '' });
 * ```
 */
export function withTimeout<T, F = never>(
  input: PromiseLike<T> | ((signal: AbortSignal) => T | PromiseLike<T>),
  ms: number,
  options?: WithTimeoutOptions<F>,
): ClearablePromise<T | F>;
export function withTimeout<T, F extends string | number | boolean | bigint | symbol | null | readonly unknown[]>(
  input: PromiseLike<T> | ((signal: AbortSignal) => T | PromiseLike<T>),
  ms: number,
  fallback: F,
): ClearablePromise<T | F>;

/** p-retry's context of a failed attempt, for {@link RetryOptions.onFailedAttempt} and {@link RetryOptions.shouldRetry}. */
export interface RetryContext {
  readonly error: unknown;
  /** 1 for the first attempt. */
  readonly attemptNumber: number;
  readonly retriesLeft: number;
  readonly retriesConsumed: number;
  /** The wait before the next attempt, in ms; 0 when none will be made. */
  readonly retryDelay: number;
}

/** Options of {@link retry}. */
export interface RetryOptions {
  /** Retries after the first attempt (so `retries + 1` attempts at most). @default 3 */
  readonly retries?: number;
  /** Base wait in milliseconds. @default 1000 */
  readonly delay?: number;
  /**
   * How waits grow: `'exponential'` (delay × factor^(attempt−1)), `'linear'`
   * (delay × attempt), `'fixed'`, or a function of the attempt that returns ms.
   * @default 'exponential'
   */
  readonly backoff?: 'exponential' | 'linear' | 'fixed' | ((attempt: number, error: unknown) => number);
  /** Growth factor of `'exponential'`. @default 2 */
  readonly factor?: number;
  /** Upper bound of one wait, in ms. @default Infinity */
  readonly maxDelay?: number;
  /** 0..1: each wait is drawn from [wait × (1 − jitter), wait]. @default 0 */
  readonly jitter?: number;
  /** Return false to stop retrying on this error. */
  readonly retryIf?: (error: unknown, attempt: number) => boolean | PromiseLike<boolean>;
  /** Called before each wait. */
  readonly onRetry?: (error: unknown, attempt: number, waitMs: number) => void | PromiseLike<void>;
  /**
   * Aborting it rejects at once with an {@link AbortError}, during an attempt
   * too; it is also passed to `fn`.
   */
  readonly signal?: AbortSignal;
  /** A budget for the whole run, in ms: no retry starts after it, and a wait is cut to it. @default Infinity */
  readonly maxRetryTime?: number;
  /** p-retry's name for `delay` (give one of the two). */
  readonly minTimeout?: number;
  /** p-retry's name for `maxDelay` (give one of the two). */
  readonly maxTimeout?: number;
  /** p-retry's: each wait times a random 1 to 2, rounded, before `maxDelay`. @default false */
  readonly randomize?: boolean;
  /** p-retry's: called after every failed attempt, the last one too; its throw rejects the run with what it threw. */
  readonly onFailedAttempt?: (context: RetryContext) => void | PromiseLike<void>;
  /** p-retry's: called before each retry; a falsy return stops with the error. */
  readonly shouldRetry?: (context: RetryContext) => unknown;
  /** The waits between attempts do not keep the process alive. @default false */
  readonly unref?: boolean;
}

/**
 * Calls `fn` until it succeeds or the retries run out; the final failure rejects
 * with the last error itself, with `attempts` set on it. An `AbortError` thrown by
 * `fn` stops at once.
 *
 * @param fn `(attempt, signal) => value | promise`; `attempt` starts at 1.
 * @param options See {@link RetryOptions}.
 * @returns The first successful result.
 * @example
 * ```ts
 * import { retry } from 'uvasync';
 * const data = await retry((attempt) => load(attempt), { retries: 5, delay: 100, jitter: 0.2 });
 * ```
 */
export function retry<T>(fn: (attempt: number, signal: AbortSignal | undefined) => T | PromiseLike<T>, options?: RetryOptions): Promise<T>;
/**
 * The seed's shape: `retries` retries with linear waits of `delayMs × attempt`.
 *
 * @param fn `(attempt) => promise`.
 * @param retries Retries after the first attempt. @default 3
 * @param delayMs Base wait in ms. @default 1000
 * @returns The first successful result.
 * @example
 * ```ts
 * import { retry } from 'uvasync';
 * const data = await retry(() => load(), 3, 500); // waits 500, 1000, 1500 ms
 * ```
 */
export function retry<T>(fn: (attempt: number) => T | PromiseLike<T>, retries: number, delayMs?: number): Promise<T>;

/** Options of {@link allSettled}. */
export interface AllSettledOptions {
  /** How many function items run at once. @default Infinity */
  readonly concurrency?: number;
  /** An item still pending this many ms after it started settles as rejected with a {@link TimeoutError}. */
  readonly timeout?: number;
  /** Each element goes through `mapper(element, index)` (limited by `concurrency`), as in p-settle. */
  readonly mapper?: (element: any, index: number) => unknown;
}

type Settled<T> = T extends () => infer R ? Awaited<R> : T extends (signal: AbortSignal) => infer R ? Awaited<R> : Awaited<T>;

/** A result of {@link allSettled}: `Promise.allSettled`'s shape with p-settle's `isFulfilled` and `isRejected`. */
export type SettledResult<T> =
  | { status: 'fulfilled'; value: T; isFulfilled: true; isRejected: false }
  | { status: 'rejected'; reason: unknown; isFulfilled: false; isRejected: true };

/**
 * Like `Promise.allSettled`, for promises or functions returning promises, with
 * an optional concurrency limit and per-item timeout. Results are in input order.
 * Promises are observed the moment they are received (a rejection is never
 * unhandled meanwhile); `concurrency` limits how many functions run at once.
 *
 * @param items Promises, values, or functions `(signal) => promise`.
 * @param options `concurrency`, `timeout`.
 * @returns One result per item; never rejects for an item's failure (bad arguments reject).
 * @example
 * ```ts
 * import { allSettled } from 'uvasync';
 * const results = await allSettled(urls.map((u) => () => fetch(u)), { concurrency: 4, timeout: 5000 });
 * const ok = results.filter((r) => r.status === 'fulfilled');
 * ```
 */
export function allSettled<const I extends readonly unknown[]>(
  items: I,
  options?: AllSettledOptions,
): Promise<{ -readonly [K in keyof I]: SettledResult<Settled<I[K]>> }>;
export function allSettled<T>(items: Iterable<T>, options?: AllSettledOptions): Promise<SettledResult<Settled<T>>[]>;

/** Options of {@link mapWithLimit}. */
export interface MapWithLimitOptions {
  /**
   * `true`: the first error rejects and no new call starts. `false`: everything
   * runs and failures reject at the end as one `AggregateError`, in input order.
   * @default true
   */
  readonly stopOnError?: boolean;
  /** Aborting it rejects with an {@link AbortError} and aborts the signal given to `fn`. */
  readonly signal?: AbortSignal;
  /**
   * Called after each item settles; `total` is undefined for iterators. A
   * throw or a rejected promise from it rejects the run with that error.
   */
  readonly onProgress?: (done: number, total: number | undefined) => void | Promise<void>;
}

/**
 * Maps `items` through `fn` with at most `concurrency` calls in flight. Arrays,
 * iterables and async iterables are accepted; iterables are pulled lazily (at
 * most `concurrency` items taken ahead). Results come back in input order.
 * Promise elements are awaited before `fn` sees them (as p-map does); a result
 * of {@link mapWithLimit.skip} leaves its element out. Bad arguments reject.
 *
 * @param items The inputs.
 * @param concurrency An integer ≥ 1, or `Infinity`.
 * @param fn `(item, index, signal) => value | promise`; `signal` aborts when the run stops.
 * @param options `stopOnError`, `signal`, `onProgress`.
 * @returns The results, in input order.
 * @example
 * ```ts
 * import { mapWithLimit } from 'uvasync';
 * const sizes = await mapWithLimit(files, 8, async (file) => (await stat(file)).size);
 * ```
 */
export function mapWithLimit<T, R>(
  items: Iterable<T> | AsyncIterable<T>,
  concurrency: number,
  fn: (item: Awaited<T>, index: number, signal: AbortSignal) => R | PromiseLike<R>,
  options?: MapWithLimitOptions,
): Promise<Exclude<Awaited<R>, typeof mapWithLimit.skip>[]>;
export namespace mapWithLimit {
  /**
   * What a mapper returns to leave its element out of the results (p-map's `pMapSkip`).
   * @example
   * ```ts
   * import { mapWithLimit } from 'uvasync';
   * const even = await mapWithLimit([1, 2, 3, 4], 2, (n) => (n % 2 ? mapWithLimit.skip : n)); // [2, 4]
   * ```
   */
  const skip: unique symbol;
}

/** Options of {@link mapIterable}. */
export interface MapIterableOptions {
  /** Results held before the consumer takes them (≥ concurrency). @default concurrency */
  readonly backpressure?: number;
  /** Aborting it ends the iteration with an {@link AbortError}. */
  readonly signal?: AbortSignal;
}

/**
 * A lazy async iterable of `fn`'s results, in input order (p-map's
 * `pMapIterable`): at most `concurrency` calls run and at most `backpressure`
 * results wait; the source is read no further ahead. A failure is thrown in its
 * place; leaving the loop closes the source. Bad arguments throw at the call.
 *
 * @param source An iterable or async iterable.
 * @param concurrency An integer ≥ 1, or `Infinity`.
 * @param fn `(item, index) => value | promise`.
 * @param options `backpressure`, `signal`.
 * @example
 * ```ts
 * import { mapIterable } from 'uvasync';
 * for await (const page of mapIterable(urls, 4, (url) => fetch(url), { backpressure: 8 })) console.log(page.status);
 * ```
 */
export function mapIterable<T, R>(
  source: Iterable<T> | AsyncIterable<T>,
  concurrency: number,
  fn: (item: Awaited<T>, index: number) => R | PromiseLike<R>,
  options?: MapIterableOptions,
): AsyncIterableIterator<Exclude<Awaited<R>, typeof mapWithLimit.skip>>;

/** Options of {@link RateLimiter}. */
export interface RateLimiterOptions {
  /** Tokens added per second (> 0, fractions allowed). */
  readonly rate: number;
  /** The burst: the most tokens held at once. @default Math.max(1, Math.floor(rate)) */
  readonly capacity?: number;
  /**
   * A {@link RedisStore}: the limit is shared by every process (on any machine) that names the
   * same `key` with that store, one Redis call per acquire (GCRA on Redis's own clock). Then
   * `tryAcquire` returns a promise, and `available` is NaN.
   */
  readonly store?: RedisStore;
  /** With a store: the limit's name. */
  readonly key?: string;
  /** With a store: an acquire that would wait longer (ms) rejects with `ERR_RATE_LIMIT_WAIT` and reserves nothing. @default Infinity */
  readonly maxWait?: number;
  /** With a store: tokens reserved per Redis call (1 to capacity), handed out here at the rate; fewer calls, but a process holds what it reserved. @default 1 */
  readonly lease?: number;
  /** With a store, when Redis fails: `'reject'` (with its code), `'allow'` (fail open), `'local'` (an in-process limit of the same rate). @default 'reject' */
  readonly onStoreError?: 'reject' | 'allow' | 'local';
}

/** Options of a {@link RedisStore}. */
export interface RedisStoreOptions {
  /** `redis://[:password@]host[:port][/db]`; the other options win over its parts. */
  readonly url?: string;
  /** A host name (resolved without blocking) or an IP address. @default '127.0.0.1' */
  readonly host?: string;
  /** @default 6379 */
  readonly port?: number;
  /** @default 0 */
  readonly db?: number;
  readonly password?: string;
  /** Prefixed to every key. @default 'uvasync:' */
  readonly keyPrefix?: string;
  /** ms. @default 2000 */
  readonly connectTimeout?: number;
  /** ms; a call without a reply by then rejects with `ERR_REDIS_TIMEOUT` (and the connection is made again). @default 1000 */
  readonly commandTimeout?: number;
  /** Reconnect after a loss, with a backoff of 50 ms doubling to 500 ms. @default true */
  readonly reconnect?: boolean;
}

/**
 * One Redis connection on this process's loop (hiredis driven by the C core), for limits
 * shared across processes and machines. While Redis is unreachable a call rejects at once
 * with `ERR_REDIS_UNAVAILABLE` (or `ERR_REDIS_TIMEOUT` within `commandTimeout`); it never
 * hangs. An idle store does not keep the process alive.
 *
 * @example
 * ```ts
 * import { RedisStore, RateLimiter } from 'uvasync';
 * await using store = new RedisStore({ url: 'redis://127.0.0.1:6379' });
 * // In every process: 100 a second in all.
 * const limiter = new RateLimiter({ rate: 100, store, key: 'api.example.com' });
 * await limiter.acquire();
 * ```
 */
export class RedisStore {
  constructor(options?: RedisStoreOptions);
  readonly keyPrefix: string;
  readonly commandTimeout: number;
  /** Calls made (scripts included), replies, connects, and whether it is connected. */
  readonly stats: { readonly calls: number; readonly replies: number; readonly connects: number; readonly connected: boolean };
  /** Closes the connection; pending calls reject with `ERR_REDIS_CLOSED`. */
  close(): Promise<void>;
  [Symbol.asyncDispose](): Promise<void>;
}

/**
 * A token bucket: `rate` tokens a second up to `capacity`. Waiters are served first
 * come, first served (a large request is not starved by small ones), and the first
 * `capacity` tokens go at once. Tokens, waiters and the refill timer live in C.
 *
 * @example
 * ```ts
 * import { RateLimiter } from 'uvasync';
 * const limiter = new RateLimiter({ rate: 5 }); // 5 a second, bursts of 5
 * for (const url of urls) {
 *   await limiter.acquire();
 *   void fetch(url);
 * }
 * ```
 */
export class RateLimiter<O extends RateLimiterOptions = RateLimiterOptions> {
  /**
   * @param options `rate` and `capacity`; `store` and `key` to share the limit through Redis.
   * @example
   * ```ts
   * import { RateLimiter } from 'uvasync';
   * const limiter = new RateLimiter({ rate: 200, capacity: 20 });
   * ```
   */
  constructor(options: O);
  /** With a store: acquires granted, and store errors met with `'allow'` or `'local'`; else undefined. */
  readonly stats: O extends { store: RedisStore } ? { readonly granted: number; readonly allowedOnError: number; readonly localOnError: number } : undefined;
  /** Tokens per second. */
  readonly rate: number;
  /** The most tokens held at once. */
  readonly capacity: number;
  /** Tokens that can be taken now (fractional while refilling). */
  readonly available: number;
  /** Callers waiting for tokens. */
  readonly pending: number;
  /**
   * Waits for `tokens` (at most `capacity`, else a RangeError).
   * @param tokens How many. @default 1
   * @param options `signal`: aborting rejects with {@link AbortError} and leaves the queue.
   * @returns The milliseconds waited.
   * @example
   * ```ts
   * import { RateLimiter } from 'uvasync';
   * const waited = await new RateLimiter({ rate: 10 }).acquire(3);
   * ```
   */
  acquire(tokens?: number, options?: { readonly signal?: AbortSignal }): Promise<number>;
  /**
   * Takes `tokens` now if nobody waits and they are there.
   * @param tokens How many. @default 1
   * @returns Whether they were taken.
   * @example
   * ```ts
   * import { RateLimiter } from 'uvasync';
   * if (!new RateLimiter({ rate: 1 }).tryAcquire()) console.log('busy');
   * ```
   */
  tryAcquire(tokens?: number): O extends { store: RedisStore } ? Promise<boolean> : boolean;
  /**
   * A function that takes one token before each call of `fn`.
   * @param fn The function to limit.
   * @returns The rate-limited function.
   * @example
   * ```ts
   * import { RateLimiter } from 'uvasync';
   * const get = new RateLimiter({ rate: 2 }).wrap((url: string) => fetch(url));
   * ```
   */
  wrap<A extends unknown[], R>(fn: (...args: A) => R): (...args: A) => Promise<Awaited<R>>;
  /**
   * Rejects every waiter with an {@link AbortError}.
   * @example
   * ```ts
   * import { RateLimiter } from 'uvasync';
   * new RateLimiter({ rate: 1 }).clear();
   * ```
   */
  clear(): void;
}

/** The function {@link limit} returns. */
export interface LimitFunction {
  /** Runs `fn(...args)` when fewer than `concurrency` run; settles like it. */
  <A extends unknown[], R>(fn: (...args: A) => R | PromiseLike<R>, ...args: A): Promise<R>;
  /** Tasks running now. */
  readonly activeCount: number;
  /** Tasks waiting to start. */
  readonly pendingCount: number;
  /** The limit; raising it starts waiting tasks at once. */
  concurrency: number;
  /** Drops the waiting tasks; each rejects with an {@link AbortError} (p-limit leaves them pending forever). */
  clearQueue(): void;
  /**
   * `fn(item, index)` for every item through this limit (p-limit's `limit.map`).
   * @example
   * ```ts
   * import { limit } from 'uvasync';
   * const sizes = await limit(4).map(files, (file) => stat(file).then((s) => s.size));
   * ```
   */
  map<T, R>(items: Iterable<T>, fn: (item: T, index: number) => R | PromiseLike<R>): Promise<Awaited<R>[]>;
}

/**
 * A concurrency limiter in the shape of p-limit, with its counts and FIFO in C.
 * A task takes its slot at once and starts a microtask later, in its caller's
 * async context (AsyncLocalStorage). A bad `fn` rejects.
 *
 * @param concurrency An integer ≥ 1, or `Infinity`, or `{ concurrency }`.
 * @returns `run(fn, ...args)`, with `activeCount`, `pendingCount`, `concurrency`, `clearQueue()`, `map()`.
 * @example
 * ```ts
 * import { limit } from 'uvasync';
 * const run = limit(4);
 * const pages = await Promise.all(urls.map((url) => run(fetch, url)));
 * ```
 */
export function limit(concurrency: number | { readonly concurrency: number; readonly rejectOnClear?: boolean }): LimitFunction;

/**
 * A function with `fn`'s arguments whose calls go through a limit of their own
 * (p-limit's `limitFunction`).
 *
 * @param fn The function to limit.
 * @param options `concurrency`: an integer ≥ 1, or `Infinity`.
 * @returns The limited function; each call returns a promise of `fn`'s result.
 * @example
 * ```ts
 * import { limitFunction } from 'uvasync';
 * const get = limitFunction((url: string) => fetch(url), { concurrency: 2 });
 * await Promise.all(urls.map(get));
 * ```
 */
export function limitFunction<A extends unknown[], R>(
  fn: (...args: A) => R | PromiseLike<R>,
  options: { readonly concurrency: number },
): (...args: A) => Promise<Awaited<R>>;

/** The function {@link Semaphore.acquire} resolves with: gives the permit back (idempotent). */
export interface Release {
  (): void;
  [Symbol.dispose](): void;
}

/**
 * A counting semaphore with a FIFO of waiters, for `try/finally` or `using` code.
 *
 * @example
 * ```ts
 * import { Semaphore } from 'uvasync';
 * const sem = new Semaphore(3);
 * const release = await sem.acquire();
 * try { await work(); } finally { release(); }
 * ```
 */
/** Options of a {@link Semaphore} shared through Redis. */
export interface SemaphoreOptions {
  /**
   * A {@link RedisStore}: the permits are shared by every process that names the same `key`.
   * Each is a lease renewed every `ttl / 3` while held, so a process that dies frees its
   * permits when their leases end. A waiter asks again when a permit of its own process is
   * released, when the first lease would end, and at least every 200 ms: not first come,
   * first served across processes. The release function then returns a promise.
   */
  readonly store?: RedisStore;
  /** With a store: the semaphore's name. */
  readonly key?: string;
  /** With a store: a lease's length in ms (≥ 30). @default 10000 */
  readonly ttl?: number;
}

export class Semaphore {
  /**
   * @param permits An integer ≥ 1, or `Infinity`.
   * @example
   * ```ts
   * import { Semaphore } from 'uvasync';
   * const sem = new Semaphore(2);
   * ```
   */
  constructor(permits: number, options?: SemaphoreOptions);
  /** Permits in use (with a store: by this process). */
  readonly active: number;
  /** Callers waiting (with a store: in this process). */
  readonly pending: number;
  /** The number of permits. */
  readonly permits: number;
  /** With a store: leases found ended while held (`lost`); else undefined. */
  readonly stats: { readonly lost: number } | undefined;
  /**
   * Waits for a permit.
   * @param options `signal`: aborting rejects with {@link AbortError} without taking a permit.
   * @returns A release function (calling it twice does nothing).
   * @example
   * ```ts
   * import { Semaphore } from 'uvasync';
   * const release = await new Semaphore(1).acquire({ signal: AbortSignal.timeout(1000) });
   * release();
   * ```
   */
  acquire(options?: { readonly signal?: AbortSignal }): Promise<Release>;
}

/** Options of {@link TaskQueue}. */
export interface TaskQueueOptions {
  /** Tasks running at once. @default Infinity */
  readonly concurrency?: number;
  /** The window in ms in which at most `intervalCap` tasks start. @default 0 */
  readonly interval?: number;
  /** Tasks started in each `interval`. @default Infinity */
  readonly intervalCap?: number;
  /** Tasks still running when a window ends count against the next one. @default false */
  readonly carryoverIntervalCount?: boolean;
  /** `false`: nothing starts until `start()`. @default true */
  readonly autoStart?: boolean;
  /** Each task's limit in ms, from its start. */
  readonly timeout?: number;
  /** `false`: a timed-out task resolves with `undefined` instead of rejecting with {@link TimeoutError}. @default true */
  readonly throwOnTimeout?: boolean;
}

/** Options of {@link TaskQueue.add}. */
export interface TaskOptions {
  /** Higher starts first; first come, first served among equals. @default 0 */
  readonly priority?: number;
  /** Aborting removes a waiting task, or rejects a running one at once (and aborts its signal). */
  readonly signal?: AbortSignal;
  /** This task's limit in ms, from its start. */
  readonly timeout?: number;
  /** Names the task for {@link TaskQueue.setPriority} and `runningTasks`. */
  readonly id?: unknown;
}

/** A running task, as {@link TaskQueue.runningTasks} reports it. */
export interface RunningTask {
  readonly id: unknown;
  readonly priority: number;
  /** `Date.now()` at its start: for tasks with a timeout, and all started after runningTasks was first read. */
  readonly startTime: number | undefined;
  readonly timeout: number | undefined;
  readonly timeoutRemaining: number | undefined;
}

/**
 * A promise queue in the shape of p-queue: priorities, concurrency, an
 * interval window, pause, timeouts and signals, with p-queue's events
 * (`add`, `active`, `completed`, `error`, `next`, `empty`, `idle`,
 * `pendingZero`). The order and the window live in C. A waiting task runs in
 * its caller's async context. `clear()` rejects what it drops.
 *
 * @example
 * ```ts
 * import { TaskQueue } from 'uvasync';
 * const queue = new TaskQueue({ concurrency: 4, interval: 1000, intervalCap: 10 });
 * const page = await queue.add(({ signal }) => fetch(url, { signal }), { priority: 1, timeout: 5000 });
 * await queue.onIdle();
 * ```
 */
export class TaskQueue extends EventEmitter {
  /**
   * @param options See {@link TaskQueueOptions}.
   * @example
   * ```ts
   * import { TaskQueue } from 'uvasync';
   * const queue = new TaskQueue({ concurrency: 2, autoStart: false });
   * ```
   */
  constructor(options?: TaskQueueOptions);
  /** Tasks waiting to start. */
  readonly size: number;
  /** Tasks running. */
  readonly pending: number;
  /** Whether `pause()` (or `autoStart: false`) holds the queue. */
  readonly isPaused: boolean;
  /** Whether the interval window holds waiting tasks back now. */
  readonly isRateLimited: boolean;
  /** Every slot taken (or the window full) and tasks waiting. */
  readonly isSaturated: boolean;
  /** The running tasks. */
  readonly runningTasks: RunningTask[];
  /** The most tasks running at once; raising it starts waiting tasks. */
  concurrency: number;
  /** The default timeout of each task, in ms. */
  timeout: number | undefined;
  /**
   * Adds a task; `fn` gets `{ signal }`. Bad arguments reject.
   * @returns A promise of `fn`'s result.
   * @example
   * ```ts
   * import { TaskQueue } from 'uvasync';
   * const v = await new TaskQueue().add(async () => 42, { priority: 2 });
   * ```
   */
  add<R>(fn: (options: { readonly signal: AbortSignal | undefined }) => R | PromiseLike<R>, options?: TaskOptions): Promise<Awaited<R>>;
  /**
   * `add()` for each function.
   * @example
   * ```ts
   * import { TaskQueue } from 'uvasync';
   * const [a, b] = await new TaskQueue({ concurrency: 1 }).addAll([async () => 1, async () => 2]);
   * ```
   */
  addAll<R>(fns: Iterable<(options: { readonly signal: AbortSignal | undefined }) => R | PromiseLike<R>>, options?: TaskOptions): Promise<Awaited<R>[]>;
  /**
   * Moves a waiting task added with `id` to the back of `priority`.
   * @example
   * ```ts
   * import { TaskQueue } from 'uvasync';
   * const q = new TaskQueue({ concurrency: 1 });
   * void q.add(async () => 'late', { id: 'crab' });
   * q.setPriority('crab', 5);
   * ```
   */
  setPriority(id: unknown, priority: number): void;
  /** Waiting tasks of one priority. */
  sizeBy(options: { readonly priority?: number }): number;
  /** Starts (or resumes) the queue. */
  start(): this;
  /** Holds the waiting tasks; running ones go on. */
  pause(): void;
  /** Drops every waiting task; each rejects with an {@link AbortError}. */
  clear(): void;
  /** Resolves when no task waits. */
  onEmpty(): Promise<void>;
  /** Resolves when no task waits and none runs. */
  onIdle(): Promise<void>;
  /** Resolves when fewer than `limit` tasks wait. */
  onSizeLessThan(limit: number): Promise<void>;
  /** Resolves when no task runs. */
  onPendingZero(): Promise<void>;
  /** Rejects with the next task's error. */
  onError(): Promise<never>;
}

/**
 * A bounded FIFO for producers and consumers: `put` waits while full
 * (backpressure), `get` waits while empty, waiters are served in FIFO order, and
 * no item is lost or delivered twice when waiters abort.
 *
 * @example
 * ```ts
 * import { Queue } from 'uvasync';
 * const q = new Queue<string>({ capacity: 100 });
 * void (async () => { for (const line of lines) await q.put(line); q.close(); })();
 * for await (const line of q) console.log(line);
 * ```
 */
export class Queue<T> implements AsyncIterable<T> {
  /**
   * @param options `capacity`: an integer ≥ 1, or `Infinity`. @default Infinity
   * @example
   * ```ts
   * import { Queue } from 'uvasync';
   * const q = new Queue<number>({ capacity: 10 });
   * ```
   */
  constructor(options?: { readonly capacity?: number });
  /** Items stored now. */
  readonly size: number;
  /** The most items stored at once. */
  readonly capacity: number;
  /** Whether {@link Queue.close} was called. */
  readonly closed: boolean;
  /**
   * Adds an item, waiting while full. Rejects with code `ERR_QUEUE_CLOSED` once closed.
   * @param item The item.
   * @param options `signal`: aborting rejects with {@link AbortError}; the item is not added.
   * @returns Resolves once the item is in the queue (or handed to a consumer).
   * @example
   * ```ts
   * import { Queue } from 'uvasync';
   * await new Queue<number>().put(1);
   * ```
   */
  put(item: T, options?: { readonly signal?: AbortSignal }): Promise<void>;
  /**
   * Takes the oldest item, waiting while empty.
   * @param options `signal`: aborting rejects with {@link AbortError}; no item is taken.
   * @returns `{ value, done: false }`, or `{ value: undefined, done: true }` once closed and drained.
   * @example
   * ```ts
   * import { Queue } from 'uvasync';
   * const { value, done } = await new Queue<number>().get({ signal: AbortSignal.timeout(100) });
   * ```
   */
  get(options?: { readonly signal?: AbortSignal }): Promise<IteratorResult<T, undefined>>;
  /**
   * Adds an item without waiting.
   * @param item The item.
   * @returns false when full or closed (`closed` tells which).
   * @example
   * ```ts
   * import { Queue } from 'uvasync';
   * new Queue<number>({ capacity: 1 }).tryPut(1); // true
   * ```
   */
  tryPut(item: T): boolean;
  /**
   * Takes an item without waiting.
   * @returns An iterator result, or `undefined` when empty and open.
   * @example
   * ```ts
   * import { Queue } from 'uvasync';
   * const r = new Queue<number>().tryGet(); // undefined
   * ```
   */
  tryGet(): IteratorResult<T, undefined> | undefined;
  /**
   * Closes the queue: later and waiting puts reject; gets drain what is stored, then resolve as done.
   * @example
   * ```ts
   * import { Queue } from 'uvasync';
   * new Queue().close();
   * ```
   */
  close(): void;
  [Symbol.asyncIterator](): AsyncIterator<T>;
}

/** Options of {@link producerConsumer}. */
export interface ProducerConsumerOptions {
  /**
   * Consumers calling `worker`, 1 to 100,000; they start as items arrive,
   * never more than there are items. @default 5
   */
  readonly workers?: number;
  /** The queue's capacity: how far the producer may run ahead. @default 100 */
  readonly queueSize?: number;
  /**
   * Called after each item; `total` is known once the source is exhausted.
   * A throw or a rejected promise from it ends the run with that error.
   */
  readonly onProgress?: (done: number, total: number | undefined) => void | Promise<void>;
  /** Aborting rejects with {@link AbortError} and stops producing and consuming. */
  readonly signal?: AbortSignal;
}

/** One failed item of {@link producerConsumer}. */
export interface ItemError<T> {
  readonly index: number;
  readonly item: T;
  readonly error: unknown;
}

/**
 * The seed's producer/consumer pipeline done right: `source` feeds a bounded queue
 * (the producer pauses while it is full), `workers` consumers call `worker`.
 *
 * @param source An iterable or async iterable.
 * @param worker `(item, index) => value | promise`.
 * @param options `workers`, `queueSize`, `onProgress`, `signal`.
 * @returns Results in input order (`undefined` where an item failed) and the errors per item.
 * @example
 * ```ts
 * import { producerConsumer } from 'uvasync';
 * const { results, errors } = await producerConsumer(readLines(file), parse, { workers: 4 });
 * ```
 */
export function producerConsumer<T, R>(
  source: Iterable<T> | AsyncIterable<T>,
  worker: (item: T, index: number) => R | PromiseLike<R>,
  options?: ProducerConsumerOptions,
): Promise<{ results: (Awaited<R> | undefined)[]; errors: ItemError<T>[] }>;

/** What {@link attempt} resolves with. */
export interface AttemptResult<T> {
  readonly success: boolean;
  readonly value: T | undefined;
  readonly error: unknown;
  readonly attempts: number;
  readonly durationMs: number;
}

/**
 * Runs `fn` with the retry options of {@link retry} and never rejects (the seed's
 * `AsyncResult`). With no options it tries once (`retries` defaults to 0 here).
 *
 * @param fn `(attempt, signal) => value | promise`.
 * @param options The options of {@link retry}.
 * @returns `{ success, value, error, attempts, durationMs }`.
 * @example
 * ```ts
 * import { attempt } from 'uvasync';
 * const r = await attempt(() => load(), { retries: 2, delay: 100 });
 * if (!r.success) console.error(r.error);
 * ```
 */
export function attempt<T>(fn: (attempt: number, signal: AbortSignal | undefined) => T | PromiseLike<T>, options?: RetryOptions): Promise<AttemptResult<Awaited<T>>>;

/**
 * Measures `fn` with the monotonic clock. A failure rejects with the error itself,
 * with `durationMs` set on it.
 *
 * @param fn `() => value | promise`.
 * @returns `{ value, durationMs }`.
 * @example
 * ```ts
 * import { timed } from 'uvasync';
 * const { value, durationMs } = await timed(() => load());
 * ```
 */
export function timed<T>(fn: () => T | PromiseLike<T>): Promise<{ value: Awaited<T>; durationMs: number }>;

// ---- HTTP fetcher ---------------------------------------------------------

/** Request headers: an object, a Map, or [name, value] pairs. */
export type HeadersInit =
  | Readonly<Record<string, string | number | readonly string[] | undefined>>
  | Iterable<readonly [string, string]>;

/** Codes a {@link FetchError} carries. */
export type FetchErrorCode =
  | 'ECONNREFUSED' | 'ETIMEDOUT' | 'ENOTFOUND' | 'ECONNRESET' | 'EHOSTUNREACH' | 'ENETUNREACH'
  | 'EMAXREDIRECTS' | 'EREDIRECT' | 'EBODYTOOLARGE' | 'EPROTONOSUPPORT' | 'EPROTO' | 'ETLS' | 'ENOMEM'
  | 'ERR_INVALID_URL' | 'ERR_INVALID_ARG_VALUE' | 'ERR_FETCHER_CLOSED' | 'EOUTPUT' | 'ABORT_ERR' | 'EFETCH';

/**
 * A request that got no HTTP response: refused, timed out, reset, too many
 * redirects, a body over `maxBodySize`, a refused scheme, aborted (`name`
 * `'AbortError'`, `code` `'ABORT_ERR'`). HTTP error statuses are responses,
 * never FetchErrors.
 *
 * @example
 * ```ts
 * import { fetch, FetchError } from 'uvasync';
 * try { await fetch('http://127.0.0.1:1/'); }
 * catch (err) { if (err instanceof FetchError) console.log(err.code, err.url, err.curlCode); }
 * ```
 */
export class FetchError extends UvasyncError {
  readonly code: FetchErrorCode;
  /** The request's URL. */
  readonly url: string;
  /** libcurl's CURLcode (0 when the error did not come from libcurl). */
  readonly curlCode: number;
  /** Attempts made (with retries). */
  readonly attempts?: number;
  /**
   * For a failure of the transfer, libcurl's error: its message, the same
   * `code`, the system's `errno` (negative, as Node's) when there was one
   * and `curlCode`; as the global fetch's `err.cause.code` reads. For an
   * abort, the signal's reason; for a body that did not decode, zlib's error.
   */
  readonly cause?: unknown;
  /**
   * node-fetch's kind of the error, for code written for node-fetch:
   * `'aborted'` (ABORT_ERR), `'max-redirect'` (EMAXREDIRECTS), `'max-size'`
   * (EBODYTOOLARGE), `'request-timeout'` (ETIMEDOUT), `'no-redirect'`
   * (EREDIRECT with `redirect: 'error'`), `'unsupported-redirect'` (EREDIRECT:
   * a stream body a redirect would send again), `'invalid-redirect'` (EPROTO:
   * a Location that is not a URL), else `'system'`. `code` is the finer one.
   */
  readonly type: FetchErrorType;
}

/** The values of {@link FetchError.type} (node-fetch's names). */
export type FetchErrorType =
  | 'system' | 'aborted' | 'max-redirect' | 'max-size' | 'request-timeout'
  | 'no-redirect' | 'unsupported-redirect' | 'invalid-redirect';

/** Options of {@link fetch} and {@link Fetcher.fetch}. */
export interface FetchOptions {
  /**
   * HTTP method (default 'GET'). As in fetch, DELETE, GET, HEAD, OPTIONS,
   * POST and PUT are upper-cased, other methods sent as given ('patch' as
   * `patch`); CONNECT, TRACE and TRACK are a TypeError.
   */
  readonly method?: string;
  /**
   * Request headers. A name or value with CR or LF is a TypeError, and so is
   * Content-Length, Transfer-Encoding, Host, Connection or Expect (the
   * fetcher frames the message itself). Values are ByteStrings, as in fetch:
   * each character is sent as one byte (Latin-1); one past U+00FF is a
   * TypeError.
   */
  readonly headers?: HeadersInit;
  /**
   * Request body: a string (`text/plain;charset=UTF-8` unless a type is
   * given), any ArrayBuffer or view of one (from any realm),
   * URLSearchParams (form-urlencoded), a Blob (its type; one over 1 MiB is
   * sent from its stream, with its length), FormData (multipart, serialized
   * by Node's own Response), or a web ReadableStream, Node Readable or async
   * iterable: sent as it is produced (chunked over HTTP/1.1), with
   * backpressure both ways. So is an old-style stream such as the
   * `form-data` package's FormData, with its boundary as the type and its
   * length when it knows it, as node-fetch sends one. Stream bodies are never retried, and a redirect that would send it
   * again rejects with `EREDIRECT`; a failing source rejects the request
   * with its own error. A POST, PUT or PATCH without one sends
   * `Content-Length: 0`; a GET or HEAD with one is a TypeError, as in fetch.
   */
  readonly body?: string | ArrayBuffer | ArrayBufferView | URLSearchParams | Blob | FormData
    | ReadableStream<Uint8Array> | NodeJS.ReadableStream | AsyncIterable<string | ArrayBuffer | ArrayBufferView>;
  /** As fetch: `'half'` (the only value) for a stream body. */
  readonly duplex?: 'half';
  /** Limit for each attempt in ms (fetch(): none; Fetcher: its `timeout`). `Infinity`: none. */
  readonly timeout?: number;
  /** Limit for connecting in ms (default libcurl's, 300 s). */
  readonly connectTimeout?: number;
  /**
   * Aborts the request; it rejects with a FetchError `ABORT_ERR`. After the
   * response, as in fetch, an abort errors its body if it has not been read
   * to its end (a null body excepted).
   */
  readonly signal?: AbortSignal;
  /**
   * Redirects followed, as the fetch standard says (default 20; 0 is
   * `redirect: 'manual'`). Only to http: and https:.
   */
  readonly maxRedirects?: number;
  /**
   * `'follow'` (the default), `'manual'` (the 3xx is the response) or
   * `'error'` (a redirect rejects with a FetchError `EREDIRECT`).
   */
  readonly redirect?: 'follow' | 'manual' | 'error';
  /**
   * Largest body read into memory, in bytes (default 64 MiB; `Infinity`:
   * none): the body methods reject past it with `EBODYTOOLARGE` (a reader of
   * `res.body` bounds the stream itself); in `fetchAll` and `stream` it
   * bounds the transfer.
   */
  readonly maxBodySize?: number;
  /**
   * Ask for gzip, deflate, br (and zstd where Node's zlib has it) and decode
   * with Node's zlib; a truncated or bad stream rejects with `EPROTO`
   * (default true).
   */
  readonly decompress?: boolean;
  /**
   * HTTP/2: over TLS it is negotiated by default; `true` also speaks it over
   * cleartext (prior knowledge, libcurl ≥ 8 only); `false` keeps HTTP/1.1.
   */
  readonly http2?: boolean;
  /** Retries for this request (a Fetcher's default otherwise). */
  readonly retries?: number;
  /**
   * PEM certificates to trust instead of the system's (a private CA, a test
   * certificate). Verification stays on.
   */
  readonly ca?: string | Buffer | ReadonlyArray<string | Buffer>;
  /**
   * Write the body to this file as it arrives, from the C core (as `curl -o`:
   * created or truncated, the bytes as sent unless `decompress: true`, no
   * size bound unless `maxBodySize`); the promise resolves once the file is
   * complete and closed, and the Response's `body` is null. A file that
   * cannot be written rejects with `EOUTPUT`. In `fetchAll` and `stream`, a
   * function of the URL gives each request's file.
   *
   * @example
   * ```ts
   * await fetch('https://example.com/big.iso', { output: '/tmp/big.iso' });
   * ```
   */
  readonly output?: string | URL | ((url: string) => string | URL);
}

/** Phases of the last attempt, in ms. */
export interface Timings {
  readonly dns: number;
  readonly connect: number;
  readonly tls: number;
  /** From the start of the attempt to the first response byte. */
  readonly firstByte: number;
  readonly total: number;
}

/**
 * A response, in the fetch standard's shape (code written for Node's global
 * `fetch` reads it as it is), plus uvasync's own fields. Any HTTP status
 * resolves, once the headers are in; `ok` is true for 2xx. The body arrives
 * as it comes, paused while its reader falls behind, and can be read once:
 * by a method or through `body`; `clone()` first to read it twice.
 *
 * @example
 * ```ts
 * const res = await fetch('https://example.com/api');
 * if (res.ok) console.log(await res.json(), res.headers.get('content-type'), res.timings.total);
 * ```
 */
export class Response extends globalThis.Response {
  /** The final URL, after redirects, as WHATWG URL serializes it (no fragment). */
  readonly url: string;
  readonly status: number;
  /** The reason phrase of the status line ('' over HTTP/2). */
  readonly statusText: string;
  readonly ok: boolean;
  readonly redirected: boolean;
  /** Always 'basic'. */
  readonly type: 'basic';
  /** Node's own global `Headers`, built on first use. */
  readonly headers: Headers;
  /** The body as a web stream of `Uint8Array` chunks, built on first use; null for 101, 103, 204, 205, 304, the answer to a HEAD and a body sent to `output` (such a response is never `bodyUsed` and reads as empty). Decoded when `decompress` is on. */
  readonly body: ReadableStream<Uint8Array<ArrayBuffer>> | null;
  /** Whether the body has been read or its stream locked. */
  readonly bodyUsed: boolean;
  /** The file the body was written to (`options.output`), or undefined. */
  readonly output: string | undefined;
  /** '1.0', '1.1', '2' or '3'. */
  readonly httpVersion: string;
  readonly timings: Timings;
  /** Attempts made, retries included. */
  readonly attempts: number;
  /** From the first attempt's start to the end, retry waits included. */
  readonly durationMs: number;
  arrayBuffer(): Promise<ArrayBuffer>;
  bytes(): Promise<Uint8Array<ArrayBuffer>>;
  /** A Blob of the response's Content-Type. */
  blob(): Promise<Blob>;
  /** The body as UTF-8 text, a leading byte order mark dropped. */
  text(): Promise<string>;
  /** The body parsed as JSON; rejects with a SyntaxError. */
  json<T = unknown>(): Promise<T>;
  /** A second Response over the same body; throws a TypeError once the body is used. */
  clone(): Response;
}

/**
 * One HTTP request through libcurl on Node's own loop, with no limits of its own.
 *
 * @param url An absolute http: or https: URL, or a data: or blob: URL (read as the global fetch reads them).
 * @returns The response; rejects with a {@link FetchError} on a network failure.
 * @example
 * ```ts
 * import { fetch } from 'uvasync';
 * const res = await fetch('http://127.0.0.1:8080/items', {
 *   method: 'POST', body: JSON.stringify({ a: 1 }), headers: { 'content-type': 'application/json' }, timeout: 5000,
 * });
 * console.log(res.status, await res.json());
 * ```
 */
export function fetch(url: string | URL | globalThis.Request, options?: FetchOptions): Promise<Response>;

/** Options of {@link Fetcher}. */
export interface FetcherOptions {
  /** Requests in flight at once (default 10; `Infinity` allowed). */
  readonly concurrency?: number;
  /** Requests started per second, a token bucket with a burst of max(1, floor(rate)) (default 5; `Infinity`: none). */
  readonly perSecond?: number;
  /** Requests in flight to one host:port at once (default: no cap). */
  readonly perHost?: number;
  /**
   * A {@link RedisStore}: `perSecond`, `concurrency` and `perHost` are shared by every process
   * naming the same `key` (a shared RateLimiter and Semaphores gate each request; a permit is
   * held until the request's promise settles). Retries inside a request take no new token.
   */
  readonly store?: RedisStore;
  /** With a store: the shared limits' name. */
  readonly key?: string;
  /** Per-attempt limit in ms (default 10000). */
  readonly timeout?: number;
  /**
   * Retries (default 0) of idempotent methods on network errors and 408, 429,
   * 500, 502, 503, 504; a Retry-After (seconds or a date) is honoured, else
   * exponential backoff with jitter.
   */
  readonly retries?: number;
  /** Backoff before the first retry, ms (default 1000; doubles after). */
  readonly retryDelay?: number;
  /** Cap on the backoff, ms (default 30000). */
  readonly maxRetryDelay?: number;
  /** A longer Retry-After ends the retries, ms (default 60000). */
  readonly maxRetryAfter?: number;
  /** Headers sent with every request (a request's own headers win). */
  readonly headers?: HeadersInit;
  /** As {@link FetchOptions.http2}, for every request. */
  readonly http2?: boolean;
  /** As {@link FetchOptions.ca}, for every request. */
  readonly ca?: string | Buffer | ReadonlyArray<string | Buffer>;
}

/** What {@link Fetcher.fetchAll} and {@link Fetcher.stream} give for one URL; never thrown. */
export interface FetchResult {
  readonly url: string;
  readonly ok: boolean;
  /** 0 on a network failure. */
  readonly status: number;
  readonly headers: Readonly<Record<string, string | string[]>>;
  /** null on a network failure. */
  readonly body: Buffer | null;
  /** The FetchError of a network failure, else undefined. */
  readonly error: FetchError | undefined;
  readonly durationMs: number;
  readonly attempts: number;
  /** The full Response, when there is one. */
  readonly response: Response | undefined;
}

/** Options of a {@link WorkerPool}. */
export interface WorkerPoolOptions {
  /** The task module (CommonJS or ESM), a path or a file: URL. */
  readonly filename: string | URL;
  /** Its export that runs a task (`'default'`: the default export, or `module.exports` itself when it is a function). */
  readonly name?: string;
  /**
   * `'thread'` (worker threads, the default) or `'process'`: child processes
   * (`node`, this process's flags less `-e`/`-p`/`--watch`/`--test`/`--inspect`),
   * their tasks as frames on fd 3 that the C core writes and reads on this
   * loop; stdin /dev/null, stdout and stderr this process's.
   */
  readonly kind?: 'thread' | 'process';
  /** Workers kept even while idle (0). */
  readonly minWorkers?: number;
  /** Workers at most (`os.availableParallelism()`); started as tasks come. */
  readonly maxWorkers?: number;
  /** Tasks waiting beyond the idle workers at most (Infinity); past it run() rejects with `ERR_POOL_QUEUE_FULL`. */
  readonly maxQueue?: number;
  /** A limit in ms for each task (Infinity); a task past it rejects with TimeoutError and its worker is replaced. */
  readonly taskTimeout?: number;
  /** ms without a task after which the workers above minWorkers stop (Infinity: they stay). */
  readonly idleTimeout?: number;
  /**
   * As `new Worker()`'s: memory limits (a worker past them dies, and only its
   * task fails). A process takes `maxOldGenerationSizeMb` and
   * `maxYoungGenerationSizeMb` (as V8's flags), and refuses the others.
   */
  readonly resourceLimits?: import('node:worker_threads').ResourceLimits;
  /** The workers' environment (this process's by default); `SHARE_ENV` for threads only. */
  readonly env?: NodeJS.ProcessEnv | typeof import('node:worker_threads').SHARE_ENV;
  /** Node's flags for the workers (this process's by default). */
  readonly execArgv?: string[];
}

/** Options of {@link WorkerPool.run}. */
export interface WorkerRunOptions {
  /** The export to run instead of the pool's `name`. */
  readonly name?: string;
  /** Aborting rejects with AbortError: a queued task leaves the queue, a running one's worker is replaced. */
  readonly signal?: AbortSignal;
  /** ms; the pool's `taskTimeout` by default. */
  readonly timeout?: number;
}

/** Options of {@link WorkerPool.map}. */
export interface WorkerMapOptions {
  readonly name?: string;
  /** Tasks in flight at most (twice maxWorkers). */
  readonly concurrency?: number;
  /** true: results in input order; false: in the order they finish. */
  readonly ordered?: boolean;
  readonly onProgress?: (done: number, total: number | undefined) => void;
  readonly signal?: AbortSignal;
}

/** The counts of a {@link WorkerPool}. */
export interface WorkerPoolStats {
  readonly queued: number;
  readonly active: number;
  readonly completed: number;
  readonly failed: number;
  readonly workers: number;
  /** The tasks' run time so far over what maxWorkers could have run since the pool was made (0 to 1; piscina's). */
  readonly utilization: number;
}

/**
 * CPU-bound work on worker threads or child processes (the seed's
 * `ConcurrentProcessor`, `use_processes`), with one task queue in C for
 * every worker, so no task waits behind a long one. Threads share the
 * queue: a worker that finishes a task takes the next in the same call.
 * Processes get theirs as frames on a socket the core writes and reads on
 * this loop: a result read writes that child its next task at once.
 * Payloads travel with structured-clone semantics in both kinds; a Buffer
 * or Uint8Array goes as its own bytes and comes back as what it was. A task
 * that throws rejects with its error as thrown (name, message, stack, code,
 * cause); a worker that dies rejects only its task (`ERR_WORKER_EXITED`,
 * with `exitCode`, or `signal` for a process killed by one) and is
 * replaced. An idle pool does not keep the process alive.
 *
 * @example
 * ```ts
 * // hash.js: module.exports = (buf) => require('node:crypto').createHash('sha256').update(buf).digest('hex');
 * import { WorkerPool } from 'uvasync';
 * await using pool = new WorkerPool({ filename: new URL('./hash.js', import.meta.url) });
 * const one = await pool.run(Buffer.from('hello'));
 * const all = await pool.map(files, { onProgress: (done, total) => console.log(done, total) });
 * // The same in child processes:
 * await using procs = new WorkerPool({ filename: new URL('./hash.js', import.meta.url), kind: 'process' });
 * const again = await procs.run(Buffer.from('hello')); // a Buffer in, the hex string back
 * ```
 */
export class WorkerPool {
  constructor(options: WorkerPoolOptions);
  readonly filename: string;
  readonly name: string;
  readonly kind: 'thread' | 'process';
  readonly minWorkers: number;
  readonly maxWorkers: number;
  readonly maxQueue: number;
  /** Runs one task: the task function's result. */
  run<R = unknown>(task?: unknown, options?: WorkerRunOptions): Promise<R>;
  /** Maps the task function over items (an iterable or async iterable, pulled lazily). */
  map<R = unknown>(items: Iterable<unknown> | AsyncIterable<unknown>, options?: WorkerMapOptions): Promise<R[]>;
  readonly stats: WorkerPoolStats;
  /** Finishes what is queued and running, then stops the workers. */
  close(): Promise<void>;
  /** Rejects what is queued or running (`ERR_POOL_DESTROYED`) and terminates the workers now. */
  destroy(): Promise<void>;
  [Symbol.asyncDispose](): Promise<void>;
}

/** The counts of a {@link Fetcher}, kept in C. */
export interface FetcherStats {
  readonly active: number;
  readonly queued: number;
  readonly done: number;
  readonly failed: number;
  readonly bytes: number;
}

/**
 * Requests scheduled through limits kept in C (the seed's `AsyncFetcher`):
 * concurrency, per host, per second, retries. Starting the next transfer
 * never waits for JavaScript.
 *
 * @example
 * ```ts
 * import { Fetcher } from 'uvasync';
 * const fetcher = new Fetcher({ concurrency: 16, perSecond: 50, timeout: 5000, retries: 2 });
 * const results = await fetcher.fetchAll(urls, {
 *   onProgress: (done, total) => console.log(`${done}/${total}`),
 * });
 * for (const r of results) console.log(r.url, r.status || r.error?.code);
 * await fetcher.close();
 * ```
 */
export class Fetcher {
  constructor(options?: FetcherOptions);
  readonly concurrency: number;
  readonly perSecond: number;
  /**
   * One request through this fetcher's limits.
   *
   * @example
   * ```ts
   * const res = await fetcher.fetch('http://127.0.0.1:8080/a', { retries: 0 });
   * ```
   */
  fetch(url: string | URL | globalThis.Request, options?: FetchOptions): Promise<Response>;
  /**
   * Every URL; results in input order. One URL's failure is its result's
   * `error`, never a rejection. A URL that is not http(s) is a TypeError up front.
   *
   * @example
   * ```ts
   * const results = await fetcher.fetchAll(['http://a/', 'http://b/'], { onProgress: (d, t, r) => {} });
   * ```
   */
  fetchAll(
    urls: Iterable<string | URL>,
    options?: FetchOptions & { readonly onProgress?: (done: number, total: number, result: FetchResult) => void },
  ): Promise<FetchResult[]>;
  /**
   * Results in completion order. `urls` is read lazily: at most twice the
   * concurrency ahead of what you have consumed. Leaving the loop early stops
   * the requests still in flight; `signal` aborts it all (ABORT_ERR).
   *
   * @example
   * ```ts
   * for await (const r of fetcher.stream(readLines('urls.txt'))) console.log(r.status, r.url);
   * ```
   */
  stream(urls: Iterable<string | URL> | AsyncIterable<string | URL>, options?: FetchOptions): AsyncGenerator<FetchResult, void, undefined>;
  /**
   * Counts kept in C.
   *
   * @example
   * ```ts
   * const { active, queued, done, failed, bytes } = fetcher.stats;
   * ```
   */
  readonly stats: FetcherStats;
  /**
   * Takes no new requests (they reject with `ERR_FETCHER_CLOSED`); resolves when
   * the ones under way have settled, then closes kept-alive connections if no
   * other fetch is running.
   *
   * @example
   * ```ts
   * await fetcher.close();
   * ```
   */
  close(): Promise<void>;
  /**
   * close(), for `await using`: the fetcher closes when the scope ends.
   *
   * @example
   * ```ts
   * await using fetcher = new Fetcher({ concurrency: 4 });
   * const results = await fetcher.fetchAll(urls);
   * ```
   */
  [Symbol.asyncDispose](): Promise<void>;
}

/**
 * Node's own `Request` (the global), re-exported: `fetch()` takes one as its
 * input (its method, headers, body, signal and redirect).
 *
 * @example
 * ```ts
 * import { fetch, Request } from 'uvasync';
 * const res = await fetch(new Request('http://127.0.0.1:8080/', { method: 'PUT', body: 'x' }));
 * ```
 */
export const Request: typeof globalThis.Request;

/**
 * Node's own `Headers` (the global), re-exported: what `res.headers` is.
 *
 * @example
 * ```ts
 * import { fetch, Headers } from 'uvasync';
 * await fetch('http://127.0.0.1:8080/', { headers: new Headers({ accept: 'application/json' }) });
 * ```
 */
export const Headers: typeof globalThis.Headers;
