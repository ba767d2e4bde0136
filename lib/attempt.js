'use strict';
// attempt() and timed(): results that never throw, and monotonic timing.

const { readRetryOptions, runRetry } = require('./retry');
const validate = require('./validate');

/**
 * attempt(fn, retryOptions) → { success, value, error, attempts, durationMs }.
 * Never rejects for what fn does (the seed's AsyncResult); bad arguments reject.
 */
function attempt(fn, options) {
  let o;
  try {
    validate.fn('fn', fn);
    o = readRetryOptions(options === undefined ? { retries: 0 } : { retries: 0, ...options });
  } catch (err) {
    return Promise.reject(err); // Bad arguments are not a result: they reject.
  }
  let attempts = 0;
  const counted = (n, signal) => {
    attempts = n;
    return fn(n, signal);
  };
  const t0 = performance.now();
  return runRetry(counted, o).then(
    (value) => ({ success: true, value, error: undefined, attempts, durationMs: performance.now() - t0 }),
    (error) => ({ success: false, value: undefined, error, attempts, durationMs: performance.now() - t0 }),
  );
}

/**
 * timed(fn) → { value, durationMs }, measured with the monotonic clock.  A
 * failure rejects with the error itself, with `durationMs` set on it.
 */
function timed(fn) {
  if (typeof fn !== 'function') return Promise.reject(validate.typeError('fn', 'a function', fn));
  return timeRun(fn);
}

async function timeRun(fn) {
  const t0 = performance.now();
  try {
    const value = await fn();
    return { value, durationMs: performance.now() - t0 };
  } catch (err) {
    if (err !== null && typeof err === 'object') {
      try {
        err.durationMs = performance.now() - t0;
      } catch { /* A frozen error keeps its fields. */ }
    }
    throw err;
  }
}

module.exports = { attempt, timed };
