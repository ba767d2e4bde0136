'use strict';
const { startTimer, clearTimer } = require('./native');
const { abortError } = require('./errors');
const validate = require('./validate');
const { unlisten } = require('./signal');

/**
 * Resolves with `value` after at least `ms` milliseconds.
 * The internal form skips validation; the exported one checks first.
 */
function sleep(ms, signal, value) {
  if (signal !== undefined && signal.aborted) return Promise.reject(abortError(signal));
  return new Promise((resolve, reject) => {
    if (signal === undefined) {
      startTimer(ms, () => resolve(value));
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
    signal.addEventListener('abort', onAbort, { once: true });
  });
}

function delay(ms, options) {
  validate.ms('ms', ms);
  validate.options('options', options);
  const signal = options === undefined ? undefined : options.signal;
  validate.signal('options.signal', signal);
  return sleep(ms, signal, options === undefined ? undefined : options.value);
}

module.exports = { delay, sleep };
