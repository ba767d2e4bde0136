'use strict';
const { Pool } = require('./pool');
const { abortError } = require('./errors');
const validate = require('./validate');
const { unlisten } = require('./signal');

/**
 * mapWithLimit(items, concurrency, fn, { stopOnError = true, signal, onProgress })
 * Results in input order; never more than `concurrency` calls of `fn` in
 * flight; iterables are pulled lazily.
 */
function mapWithLimit(items, concurrency, fn, options) {
  validate.iterable('items', items);
  validate.integer('concurrency', concurrency, 1, true);
  validate.fn('fn', fn);
  validate.options('options', options);
  let stopOnError = true;
  let signal;
  let onProgress;
  if (options !== undefined) {
    if (options.stopOnError !== undefined) {
      if (typeof options.stopOnError !== 'boolean') throw validate.typeError('options.stopOnError', 'a boolean', options.stopOnError);
      stopOnError = options.stopOnError;
    }
    signal = options.signal;
    onProgress = options.onProgress;
    validate.signal('options.signal', signal);
    validate.optionalFn('options.onProgress', onProgress);
  }
  if (signal !== undefined && signal.aborted) return Promise.reject(abortError(signal));

  return new Promise((resolve, reject) => {
    // Known length: allocate once, so the array is not copied as it grows.
    const results = Array.isArray(items) ? new Array(items.length) : [];
    const controller = new AbortController();
    const runSignal = controller.signal;
    const total = Array.isArray(items) ? items.length : undefined;
    let errors;
    let settledCount = 0;
    let finished = false;

    const finish = (err) => {
      if (finished) return;
      finished = true;
      pool.end();
      if (signal !== undefined) unlisten(signal, onAbort);
      if (err !== undefined) {
        controller.abort(err);
        reject(err);
      } else {
        resolve(results);
      }
    };
    const onAbort = () => finish(abortError(signal));
    const progress = () => {
      settledCount++;
      if (onProgress !== undefined && !finished) {
        // A throw and a rejected promise from onProgress alike reject the run.
        try {
          const r = onProgress(settledCount, total);
          if (r !== null && typeof r === 'object' && typeof r.then === 'function') r.then(undefined, finish);
        } catch (err) {
          finish(err);
        }
      }
    };

    const pool = new Pool(items, concurrency, stopOnError, fn, runSignal, {
      results,
      ok: onProgress === undefined ? null : (index, value) => {
        results[index] = value;
        progress();
      },
      fail(index, err, stopped) {
        if (stopOnError) {
          // The scheduler stops the run on the first failure; later ones
          // (already running) are dropped with their results.
          if (stopped) finish(err);
          return;
        }
        (errors ??= []).push({ index, err });
        progress();
      },
      sourceError: finish,
      done() {
        if (errors === undefined) {
          finish();
          return;
        }
        errors.sort((a, b) => a.index - b.index);
        const list = errors.map((e) => e.err);
        finish(new AggregateError(list, `${list.length} of ${results.length} calls failed`));
      },
    });
    if (signal !== undefined) signal.addEventListener('abort', onAbort, { once: true });
    pool.begin();
  });
}

module.exports = { mapWithLimit };
