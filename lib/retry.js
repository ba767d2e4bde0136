'use strict';
const { binding } = require('./native');
const { sleep } = require('./delay');
const { abortError, isAbortError } = require('./errors');
const validate = require('./validate');

const BACKOFF = { fixed: 0, linear: 1, exponential: 2 };

// Options are read into fixed fields once per call (no spreads, no copies).
function readOptions(options) {
  const o = {
    retries: 3, delay: 1000, kind: BACKOFF.exponential, backoffFn: undefined, factor: 2,
    maxDelay: Infinity, jitter: 0, retryIf: undefined, onRetry: undefined, signal: undefined,
  };
  if (options === undefined) return o;
  validate.options('options', options);
  if (options.retries !== undefined) { validate.integer('options.retries', options.retries, 0, true); o.retries = options.retries; }
  if (options.delay !== undefined) { validate.ms('options.delay', options.delay); o.delay = options.delay; }
  const backoff = options.backoff;
  if (typeof backoff === 'function') {
    o.backoffFn = backoff;
  } else if (backoff !== undefined) {
    if (!Object.hasOwn(BACKOFF, backoff)) {
      throw validate.typeError('options.backoff', "'exponential', 'linear', 'fixed' or a function", backoff);
    }
    o.kind = BACKOFF[backoff];
  }
  if (options.factor !== undefined) { validate.between('options.factor', options.factor, 1, 1e6); o.factor = options.factor; }
  if (options.maxDelay !== undefined) { validate.ms('options.maxDelay', options.maxDelay, true); o.maxDelay = options.maxDelay; }
  if (options.jitter !== undefined) { validate.between('options.jitter', options.jitter, 0, 1); o.jitter = options.jitter; }
  validate.optionalFn('options.retryIf', options.retryIf);
  validate.optionalFn('options.onRetry', options.onRetry);
  validate.signal('options.signal', options.signal);
  o.retryIf = options.retryIf;
  o.onRetry = options.onRetry;
  o.signal = options.signal;
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
  if (o.backoffFn !== undefined) {
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
  validate.fn('fn', fn);
  let o;
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
  return run(fn, o);
}

async function run(fn, o) {
  const signal = o.signal;
  for (let attempt = 1; ; attempt++) {
    if (signal !== undefined && signal.aborted) throw abortError(signal);
    try {
      return await fn(attempt, signal);
    } catch (err) {
      if (isAbortError(err) || attempt > o.retries) throw tag(err, attempt);
      if (signal !== undefined && signal.aborted) throw tag(abortError(signal), attempt);
      if (o.retryIf !== undefined && !(await o.retryIf(err, attempt))) throw tag(err, attempt);
      const ms = waitFor(o, attempt, err);
      if (o.onRetry !== undefined) await o.onRetry(err, attempt, ms);
      await sleep(ms, signal, undefined);
    }
  }
}

module.exports = { retry, readRetryOptions: readOptions, runRetry: run };
