'use strict';
const { binding } = require('./native');
const { sleep } = require('./delay');
const { abortError, isAbortError } = require('./errors');
const validate = require('./validate');
const { unlisten } = require('./signal');

const BACKOFF = { fixed: 0, linear: 1, exponential: 2 };

// Options are read into the fixed fields of one class (no spreads, no
// shape changes), so reading them costs a few property loads.
class RetryOptions {
  constructor() {
    this.retries = 3;
    this.delay = 1000;
    this.kind = BACKOFF.exponential;
    this.backoffFn = null;
    this.factor = 2;
    this.maxDelay = Infinity;
    this.jitter = 0;
    this.retryIf = null;
    this.onRetry = null;
    this.signal = undefined;
    this.maxRetryTime = Infinity;
    this.unref = false;
    // p-retry's names (readOptions): randomize, onFailedAttempt, shouldRetry.
    this.randomize = false;
    this.onFailedAttempt = null;
    this.shouldRetry = null;
  }
}

function readOptions(options) {
  const o = new RetryOptions();
  if (options === undefined) return o;
  validate.options('options', options);
  const { retries, delay, backoff, factor, maxDelay, jitter, retryIf, onRetry, signal, maxRetryTime, unref,
    minTimeout, maxTimeout, randomize, onFailedAttempt, shouldRetry } = options;
  if (retries !== undefined) { validate.integer('options.retries', retries, 0, true); o.retries = retries; }
  if (delay !== undefined) { validate.ms('options.delay', delay); o.delay = delay; }
  // p-retry's names, so that its options work as they are: minTimeout and
  // maxTimeout are delay and maxDelay; randomize multiplies each wait by 1
  // to 2 (before maxTimeout); onFailedAttempt(context) after every failure,
  // shouldRetry(context) then (a falsy return stops).
  if (minTimeout !== undefined) {
    if (delay !== undefined) throw validate.typeError('options.minTimeout', 'left out beside options.delay (p-retry\'s name for it)', minTimeout);
    validate.ms('options.minTimeout', minTimeout);
    o.delay = minTimeout;
  }
  if (maxTimeout !== undefined) {
    if (maxDelay !== undefined) throw validate.typeError('options.maxTimeout', 'left out beside options.maxDelay (p-retry\'s name for it)', maxTimeout);
    validate.ms('options.maxTimeout', maxTimeout, true);
    o.maxDelay = maxTimeout;
  }
  if (randomize !== undefined) {
    if (typeof randomize !== 'boolean') throw validate.typeError('options.randomize', 'a boolean', randomize);
    o.randomize = randomize;
  }
  if (onFailedAttempt !== undefined) { validate.fn('options.onFailedAttempt', onFailedAttempt); o.onFailedAttempt = onFailedAttempt; }
  if (shouldRetry !== undefined) { validate.fn('options.shouldRetry', shouldRetry); o.shouldRetry = shouldRetry; }
  if (typeof backoff === 'function') {
    o.backoffFn = backoff;
  } else if (backoff !== undefined) {
    if (backoff !== 'fixed' && backoff !== 'linear' && backoff !== 'exponential') {
      throw validate.typeError('options.backoff', "'exponential', 'linear', 'fixed' or a function", backoff);
    }
    o.kind = BACKOFF[backoff];
  }
  if (factor !== undefined) { validate.between('options.factor', factor, 1, 1e6); o.factor = factor; }
  if (maxDelay !== undefined) { validate.ms('options.maxDelay', maxDelay, true); o.maxDelay = maxDelay; }
  if (jitter !== undefined) { validate.between('options.jitter', jitter, 0, 1); o.jitter = jitter; }
  if (retryIf !== undefined) { validate.fn('options.retryIf', retryIf); o.retryIf = retryIf; }
  if (onRetry !== undefined) { validate.fn('options.onRetry', onRetry); o.onRetry = onRetry; }
  if (signal !== undefined) { validate.signal('options.signal', signal); o.signal = signal; }
  if (maxRetryTime !== undefined) { validate.ms('options.maxRetryTime', maxRetryTime, true); o.maxRetryTime = maxRetryTime; }
  if (unref !== undefined) {
    if (typeof unref !== 'boolean') throw validate.typeError('options.unref', 'a boolean', unref);
    o.unref = unref;
  }
  return o;
}

function tag(err, attempts) {
  if (err !== null && typeof err === 'object') {
    try {
      err.attempts = attempts;
    } catch { /* A frozen error keeps its fields. */ }
  }
  return err;
}

function waitFor(o, attempt, err) {
  let ms;
  if (o.backoffFn !== null) {
    ms = o.backoffFn(attempt, err);
    if (typeof ms !== 'number' || !(ms >= 0) || ms > validate.MAX_MS) {
      throw validate.rangeError('the result of options.backoff', `a number of milliseconds from 0 to ${validate.MAX_MS}`, ms);
    }
    return Math.min(ms, o.maxDelay);
  }
  // randomize (p-retry's) scales the wait before the cap, so the cap is applied here.
  ms = binding.backoffWait(o.kind, attempt, o.delay, o.factor, o.randomize ? Infinity : o.maxDelay, o.jitter,
    o.jitter > 0 ? Math.random() : 0);
  return o.randomize ? Math.min(Math.round(ms * (1 + Math.random())), o.maxDelay, validate.MAX_MS) : ms;
}

/** p-retry's context of a failed attempt. */
function context(err, attempt, retries, retryDelay) {
  const left = retries - attempt + 1;
  return { error: err, attemptNumber: attempt, retriesLeft: left > 0 ? left : 0, retriesConsumed: attempt - 1, retryDelay };
}

/**
 * retry(fn, options) or the seed's retry(fn, retries, delayMs), whose waits
 * grow linearly (delayMs × attempt).
 */
function retry(fn, options, delayMs) {
  let o;
  try {
    validate.fn('fn', fn);
    if (typeof options === 'number') {
      validate.integer('retries', options, 0, true);
      if (delayMs !== undefined) validate.ms('delayMs', delayMs);
      o = readOptions(undefined);
      o.retries = options;
      o.delay = delayMs === undefined ? 1000 : delayMs;
      o.kind = BACKOFF.linear;
    } else {
      o = readOptions(options);
    }
  } catch (err) {
    return Promise.reject(err); // Bad arguments reject, as p-retry's do.
  }
  return run(fn, o);
}

/**
 * One attempt, raced against the signal: an abort rejects with AbortError
 * at once (the attempt's own promise is left to settle unobserved; fn got
 * the signal and should stop).
 */
function attemptOnce(fn, attempt, signal) {
  if (signal === undefined) return fn(attempt, signal);
  return new Promise((resolve, reject) => {
    const onAbort = () => reject(abortError(signal));
    signal.addEventListener('abort', onAbort, { once: true });
    let p;
    try {
      p = Promise.resolve(fn(attempt, signal));
    } catch (err) {
      unlisten(signal, onAbort);
      reject(err);
      return;
    }
    p.then((value) => {
      unlisten(signal, onAbort);
      resolve(value);
    }, (err) => {
      unlisten(signal, onAbort);
      reject(err);
    });
  });
}

async function run(fn, o) {
  const signal = o.signal;
  const deadline = o.maxRetryTime === Infinity ? Infinity : performance.now() + o.maxRetryTime;
  for (let attempt = 1; ; attempt++) {
    if (signal !== undefined && signal.aborted) throw abortError(signal);
    try {
      return await attemptOnce(fn, attempt, signal);
    } catch (err) {
      if (isAbortError(err)) throw tag(err, attempt);
      if (signal !== undefined && signal.aborted) throw tag(abortError(signal), attempt);
      let last = attempt > o.retries;
      let ms = 0;
      if (!last) {
        ms = waitFor(o, attempt, err);
        // maxRetryTime: no retry starts after it, and a wait is cut to it.
        const left = deadline - performance.now();
        if (left <= 0) last = true;
        else if (ms > left) ms = left;
      }
      if (o.onFailedAttempt !== null) {
        // Its throw rejects the run with what it threw, as p-retry's.
        await o.onFailedAttempt(context(err, attempt, o.retries, last ? 0 : ms));
        if (signal !== undefined && signal.aborted) throw tag(abortError(signal), attempt);
      }
      if (last) throw tag(err, attempt);
      if (o.shouldRetry !== null && !(await o.shouldRetry(context(err, attempt, o.retries, ms)))) throw tag(err, attempt);
      if (o.retryIf !== null && !(await o.retryIf(err, attempt))) throw tag(err, attempt);
      if (o.onRetry !== null) await o.onRetry(err, attempt, ms);
      await sleep(ms, signal, undefined, o.unref);
    }
  }
}

module.exports = { retry, readRetryOptions: readOptions, runRetry: run };
