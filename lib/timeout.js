'use strict';
const { startTimer, clearTimer } = require('./native');
const { TimeoutError, abortError } = require('./errors');
const validate = require('./validate');
const { unlisten } = require('./signal');

const OPTION_KEYS = new Set(['fallback', 'message', 'signal']);

// The seed's call shape withTimeout(promise, ms, fallback) is kept: a third
// argument that is not a plain options object is the fallback value.
function isOptions(value) {
  if (value === null || typeof value !== 'object' || Array.isArray(value)) return false;
  const proto = Object.getPrototypeOf(value);
  if (proto !== Object.prototype && proto !== null) return false;
  for (const key in value) if (!OPTION_KEYS.has(key)) return false;
  return true;
}

function withTimeout(input, ms, options) {
  validate.ms('ms', ms, true);
  let fallback;
  let message;
  let signal;
  if (options !== undefined) {
    if (isOptions(options)) {
      fallback = options.fallback;
      message = options.message;
      signal = options.signal;
    } else {
      fallback = options;
    }
  }
  if (message !== undefined && typeof message !== 'string' && !(message instanceof Error)) {
    throw validate.typeError('options.message', 'a string or an Error', message);
  }
  validate.signal('options.signal', signal);
  const isFn = typeof input === 'function';
  if (!isFn && (input === null || typeof input !== 'object' || typeof input.then !== 'function')) {
    throw validate.typeError('input', 'a promise or a function returning one', input);
  }
  if (signal !== undefined && signal.aborted) return Promise.reject(abortError(signal));

  let controller;
  let promise = input;
  if (isFn) {
    controller = new AbortController();
    try {
      promise = Promise.resolve(input(controller.signal));
    } catch (err) {
      return Promise.reject(err);
    }
  }
  if (ms === Infinity && signal === undefined) return Promise.resolve(promise);

  return new Promise((resolve, reject) => {
    let done = false;
    let id = -1;
    const finish = () => {
      done = true;
      if (id !== -1) clearTimer(id);
      if (signal !== undefined) unlisten(signal, onAbort);
    };
    const onAbort = () => {
      if (done) return;
      finish();
      const err = abortError(signal);
      if (controller !== undefined) controller.abort(err);
      reject(err);
    };
    if (ms !== Infinity) {
      id = startTimer(ms, () => {
        if (done) return;
        id = -1;
        finish();
        // The error is built only now, when the deadline has passed.
        const err = message instanceof Error ? message
          : new TimeoutError(message === undefined ? `Promise timed out after ${ms} milliseconds` : message, ms);
        if (controller !== undefined) controller.abort(err);
        if (fallback === undefined) {
          reject(err);
        } else if (typeof fallback === 'function') {
          try {
            resolve(fallback());
          } catch (fallbackErr) {
            reject(fallbackErr);
          }
        } else {
          resolve(fallback);
        }
      });
    }
    if (signal !== undefined) signal.addEventListener('abort', onAbort, { once: true });
    promise.then((value) => {
      if (done) return;
      finish();
      resolve(value);
    }, (err) => {
      if (done) return;
      finish();
      reject(err);
    });
  });
}

module.exports = { withTimeout };
