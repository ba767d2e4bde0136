'use strict';
const { Pool, SKIP, isThenable } = require('./pool');
const { abortError } = require('./errors');
const validate = require('./validate');
const { unlisten } = require('./signal');

/**
 * mapWithLimit(items, concurrency, fn, { stopOnError = true, signal, onProgress })
 * Results in input order; never more than `concurrency` calls of `fn` in
 * flight; iterables are pulled lazily.
 */
function mapWithLimit(items, concurrency, fn, options) {
  let stopOnError = true;
  let signal;
  let onProgress;
  try {
    validate.iterable('items', items);
    validate.integer('concurrency', concurrency, 1, true);
    validate.fn('fn', fn);
    validate.options('options', options);
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
  } catch (err) {
    return Promise.reject(err); // Bad arguments reject, as p-map's do.
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
      awaitItems: true,
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
        if (pool.skipped) removeSkipped(results);
        if (errors === undefined) {
          finish();
          return;
        }
        errors.sort((a, b) => a.index - b.index);
        const list = errors.map((e) => e.err);
        // The calls made, not results.length (an iterable's results array
        // ends at the last success).
        finish(new AggregateError(list, `${list.length} of ${pool.index} calls failed`));
      },
    });
    if (signal !== undefined) signal.addEventListener('abort', onAbort, { once: true });
    pool.begin();
  });
}

/** Removes the skipped entries, keeping the order of the rest. */
function removeSkipped(results) {
  let k = 0;
  for (let i = 0; i < results.length; i++) if (results[i] !== SKIP) results[k++] = results[i];
  results.length = k;
}

mapWithLimit.skip = SKIP;

/**
 * mapIterable(source, concurrency, fn, { backpressure = concurrency, signal })
 * → an async iterable of fn's results in input order (p-map's
 * pMapIterable): at most `concurrency` calls run, and at most
 * `backpressure` results wait to be consumed; the source is read no further
 * ahead.  A failure is thrown in its place in the order; leaving the loop
 * closes the source.  Bad arguments throw at the call.
 */
function mapIterable(source, concurrency, fn, options) {
  validate.iterable('source', source);
  validate.integer('concurrency', concurrency, 1, true);
  validate.fn('fn', fn);
  validate.options('options', options);
  let backpressure = concurrency;
  let signal;
  if (options !== undefined) {
    if (options.backpressure !== undefined) {
      validate.integer('options.backpressure', options.backpressure, concurrency, true);
      backpressure = options.backpressure;
    }
    signal = options.signal;
    validate.signal('options.signal', signal);
  }
  return iterate(source, concurrency, backpressure, fn, signal);
}

async function* iterate(source, concurrency, backpressure, fn, signal) {
  const it = typeof source[Symbol.asyncIterator] === 'function' ? source[Symbol.asyncIterator]() : source[Symbol.iterator]();
  // { done, ok, value } in input order: running, then waiting to be taken.
  // A failure of the source is an entry too, thrown in its place.
  const window = [];
  let running = 0;
  let exhausted = false;
  let pulling = false;
  let stopped = false;
  let index = 0;
  let wake = null;
  const notify = () => {
    if (wake !== null) {
      const w = wake;
      wake = null;
      w();
    }
  };
  const start = (item, i) => {
    const entry = { done: false, ok: true, value: undefined };
    window.push(entry);
    running++;
    (async () => {
      try {
        entry.value = await fn(isThenable(item) ? await item : item, i);
      } catch (err) {
        entry.ok = false;
        entry.value = err;
      }
      entry.done = true;
      running--;
      fill();
      notify();
    })();
  };
  // Keeps `concurrency` calls going while fewer than `backpressure` results
  // are held (taken ones no longer count), in the background too, as
  // p-map's pMapIterable does: a slow consumer does not idle the mapper.
  const fill = async () => {
    if (pulling || exhausted || stopped || running >= concurrency || window.length >= backpressure) return;
    pulling = true;
    try {
      while (!exhausted && !stopped && running < concurrency && window.length < backpressure) {
        const r = await it.next();
        if (r === null || typeof r !== 'object') throw new TypeError(`Iterator result ${String(r)} is not an object`);
        if (r.done) {
          exhausted = true;
          break;
        }
        if (stopped) break;
        start(r.value, index++);
      }
    } catch (err) {
      exhausted = true;
      window.push({ done: true, ok: false, value: err });
    } finally {
      pulling = false;
      // Something changed (a pull happened): the consumer looks again.
      notify();
    }
  };
  try {
    for (;;) {
      if (signal !== undefined && signal.aborted) throw abortError(signal);
      if (window.length > 0 && window[0].done) {
        const head = window.shift();
        fill();
        if (!head.ok) throw head.value;
        if (head.value !== SKIP) yield head.value;
        continue;
      }
      if (window.length === 0 && exhausted && !pulling) return;
      const woken = new Promise((resolve) => { wake = resolve; });
      fill();
      await woken;
    }
  } finally {
    stopped = true;
    if (!exhausted && typeof it.return === 'function') {
      exhausted = true;
      try {
        await it.return();
      } catch { /* The iteration has ended; a failing return() changes nothing. */ }
    }
  }
}

module.exports = { mapWithLimit, mapIterable, SKIP };
