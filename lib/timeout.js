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

function noClear() {}

// The resolvers of a new promise, taken without a closure per call.
let capturedResolve = null;
let capturedReject = null;
function capture(resolve, reject) {
  capturedResolve = resolve;
  capturedReject = reject;
}

/** A promise with p-timeout's clear(); for the paths with no timer, a no-op. */
function withClear(promise, clear = noClear) {
  promise.clear = clear;
  return promise;
}

/**
 * withTimeout(input, ms, { fallback, message, signal }) → a promise with
 * clear(), which stops the timer (it then settles only with the input).
 * Bad arguments reject, as p-timeout's do.
 */
function withTimeout(input, ms, options) {
  let fallback;
  let message;
  let signal;
  let isFn;
  try {
    validate.ms('ms', ms, true);
    if (options !== undefined) {
      if (isOptions(options)) {
        fallback = options.fallback;
        message = options.message;
        signal = options.signal;
      } else {
        fallback = options;
      }
    }
    if (message !== undefined && message !== false && typeof message !== 'string' && !(message instanceof Error)) {
      throw validate.typeError('options.message', 'a string, an Error or `false`', message);
    }
    validate.signal('options.signal', signal);
    isFn = typeof input === 'function';
    if (!isFn && (input === null || typeof input !== 'object' || typeof input.then !== 'function')) {
      throw validate.typeError('input', 'a promise or a function returning one', input);
    }
  } catch (err) {
    return withClear(Promise.reject(err));
  }
  if (signal !== undefined && signal.aborted) return withClear(Promise.reject(abortError(signal)));

  let controller;
  // A native promise is itself; a thenable is adopted, so that a then()
  // that throws is a rejection, not an exception with a timer left armed.
  let promise = isFn ? undefined : Promise.resolve(input);
  if (isFn) {
    controller = new AbortController();
    try {
      promise = Promise.resolve(input(controller.signal));
    } catch (err) {
      return withClear(Promise.reject(err));
    }
  }
  if (ms === Infinity && signal === undefined) return withClear(Promise.resolve(promise));

  const outer = new Promise(capture);
  const resolveOuter = capturedResolve;
  const rejectOuter = capturedReject;
  let done = false;
  let id = -1;
  const stopTimer = () => {
    if (id !== -1) {
      clearTimer(id);
      id = -1;
    }
  };
  let onAbort;
  const finish = () => {
    if (done) return;
    done = true;
    stopTimer();
    if (signal !== undefined) unlisten(signal, onAbort);
  };
  if (signal !== undefined) {
    onAbort = () => {
      if (done) return;
      finish();
      const err = abortError(signal);
      if (controller !== undefined) controller.abort(err);
      rejectOuter(err);
    };
  }
  if (ms !== Infinity) {
    id = startTimer(ms, () => {
      id = -1;
      if (done) return;
      finish();
      // The error is built only now, when the deadline has passed.
      const err = message instanceof Error ? message
        : new TimeoutError(typeof message === 'string' ? message : `Promise timed out after ${ms} milliseconds`, ms);
      if (controller !== undefined) controller.abort(err);
      // A cancelable input (p-cancelable's cancel()) is told, as p-timeout does.
      if (typeof input === 'object' && typeof input.cancel === 'function') {
        try {
          input.cancel();
        } catch { /* Its own failure to cancel changes nothing here. */ }
      }
      if (message === false && fallback === undefined) {
        resolveOuter(undefined); // p-timeout's message: false: resolve, silently.
      } else if (fallback === undefined) {
        rejectOuter(err);
      } else if (typeof fallback === 'function') {
        try {
          resolveOuter(fallback());
        } catch (fallbackErr) {
          rejectOuter(fallbackErr);
        }
      } else {
        resolveOuter(fallback);
      }
    });
  }
  if (signal !== undefined) signal.addEventListener('abort', onAbort, { once: true });
  // Settled with the outer promise's own resolving functions, and cleaned
  // up by the one reaction on it, whose promise is what the caller gets: each
  // promise on the way has one reaction, so V8 follows an error's async
  // stack frames from the input to whoever awaits the result.  (A second
  // reaction on the input, or a wrapper around resolve, cut them off; a
  // finally() here cost three promises more than this.)
  promise.then(resolveOuter, rejectOuter);
  const result = outer.then((value) => {
    finish();
    return value;
  }, (err) => {
    finish();
    throw err;
  });
  return withClear(result, stopTimer);
}

module.exports = { withTimeout };
