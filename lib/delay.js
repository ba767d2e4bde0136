'use strict';
const { startTimer, clearTimer, unrefTimer } = require('./native');
const { abortError } = require('./errors');
const validate = require('./validate');
const { unlisten } = require('./signal');

/**
 * Resolves with `value` after at least `ms` milliseconds.
 * The internal form skips validation; the exported one checks first.
 */
function sleep(ms, signal, value, unref = false) {
  if (signal !== undefined && signal.aborted) return Promise.reject(abortError(signal));
  return new Promise((resolve, reject) => {
    if (signal === undefined) {
      const id = startTimer(ms, () => resolve(value));
      if (unref) unrefTimer(id);
      return;
    }
    const onAbort = () => {
      clearTimer(id);
      reject(abortError(signal));
    };
    const id = startTimer(ms, () => {
      unlisten(signal, onAbort);
      resolve(value);
    });
    if (unref) unrefTimer(id);
    signal.addEventListener('abort', onAbort, { once: true });
  });
}

/**
 * delay(ms, { signal, value, ref = true }): bad arguments reject, as in
 * timers/promises; `ref: false` lets the process exit meanwhile, as there.
 */
function delay(ms, options) {
  let signal;
  let value;
  let unref = false;
  try {
    validate.ms('ms', ms);
    validate.options('options', options);
    if (options !== undefined) {
      signal = options.signal;
      value = options.value;
      if (options.ref !== undefined) {
        if (typeof options.ref !== 'boolean') throw validate.typeError('options.ref', 'a boolean', options.ref);
        unref = !options.ref;
      }
    }
    validate.signal('options.signal', signal);
  } catch (err) {
    return Promise.reject(err);
  }
  return sleep(ms, signal, value, unref);
}

module.exports = { delay, sleep };
