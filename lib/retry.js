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
  }
}

function readOptions(options) {
  const o = new RetryOptions();
  if (options === undefined) return o;
  validate.options('options', options);
  const { retries, delay, backoff, factor, maxDelay, jitter, retryIf, onRetry, signal, maxRetryTime, unref } = options;
  if (retries !== undefined) { validate.integer('options.retries', retries, 0, true); o.retries = retries; }
  if (delay !== undefined) { validate.ms('options.delay', delay); o.delay = delay; }
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
  return binding.backoffWait(o.kind, attempt, o.delay, o.factor, o.maxDelay, o.jitter,
    o.jitter > 0 ? Math.random() : 0);
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
      if (isAbortError(err) || attempt > o.retries) throw tag(err, attempt);
      if (signal !== undefined && signal.aborted) throw tag(abortError(signal), attempt);
      if (o.retryIf !== null && !(await o.retryIf(err, attempt))) throw tag(err, attempt);
      let ms = waitFor(o, attempt, err);
      // maxRetryTime: no retry starts after it, and a wait is cut to it.
      const left = deadline - performance.now();
      if (left <= 0) throw tag(err, attempt);
      if (ms > left) ms = left;
      if (o.onRetry !== null) await o.onRetry(err, attempt, ms);
      await sleep(ms, signal, undefined, o.unref);
    }
  }
}

module.exports = { retry, readRetryOptions: readOptions, runRetry: run };
