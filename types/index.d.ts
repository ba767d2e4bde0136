// Type definitions for uvasync.

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
}

/** Options of {@link delay}. */
export interface DelayOptions<T> {
  /** Aborting it rejects the delay with an {@link AbortError} and clears the timer. */
  readonly signal?: AbortSignal;
  /** What the promise resolves with. @default undefined */
  readonly value?: T;
}

/**
 * Resolves after at least `ms` milliseconds, measured from the call (never early,
 * even after a long synchronous block).
 *
 * @param ms Milliseconds to wait, 0 to 4294967295.
 * @param options `signal` and `value`.
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

/**
 * Settles like `input`, or on timeout rejects with a {@link TimeoutError} (or
 * resolves with `fallback`). The native timer is cleared the moment `input` settles.
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
): Promise<T | F>;
export function withTimeout<T, F extends string | number | boolean | bigint | symbol | null | readonly unknown[]>(
  input: PromiseLike<T> | ((signal: AbortSignal) => T | PromiseLike<T>),
  ms: number,
  fallback: F,
): Promise<T | F>;

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
  /** Aborting it stops at once with an {@link AbortError}; it is also passed to `fn`. */
  readonly signal?: AbortSignal;
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
}

type Settled<T> = T extends () => infer R ? Awaited<R> : T extends (signal: AbortSignal) => infer R ? Awaited<R> : Awaited<T>;

/**
 * Like `Promise.allSettled`, for promises or functions returning promises, with
 * an optional concurrency limit and per-item timeout. Results are in input order.
 *
 * @param items Promises, values, or functions `(signal) => promise`.
 * @param options `concurrency`, `timeout`.
 * @returns One `PromiseSettledResult` per item; never rejects for an item's failure.
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
): Promise<{ -readonly [K in keyof I]: PromiseSettledResult<Settled<I[K]>> }>;
export function allSettled<T>(items: Iterable<T>, options?: AllSettledOptions): Promise<PromiseSettledResult<Settled<T>>[]>;

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
  /** Called after each item settles; `total` is undefined for iterators. */
  readonly onProgress?: (done: number, total: number | undefined) => void;
}

/**
 * Maps `items` through `fn` with at most `concurrency` calls in flight. Arrays,
 * iterables and async iterables are accepted; iterables are pulled lazily (at
 * most `concurrency` items taken ahead). Results come back in input order.
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
  fn: (item: T, index: number, signal: AbortSignal) => R | PromiseLike<R>,
  options?: MapWithLimitOptions,
): Promise<Awaited<R>[]>;
