'use strict';
const { Pool } = require('./pool');
const { withTimeout } = require('./timeout');
const validate = require('./validate');

function isThenable(x) {
  return x !== null && (typeof x === 'object' || typeof x === 'function') && typeof x.then === 'function';
}

// p-settle's result shape: Promise.allSettled's, with isFulfilled and
// isRejected.  Plain objects, all of one shape.
function fulfilled(value) {
  return { status: 'fulfilled', value, isFulfilled: true, isRejected: false };
}

function rejected(reason) {
  return { status: 'rejected', reason, isFulfilled: false, isRejected: true };
}

/**
 * allSettled(items, { concurrency = Infinity, timeout, mapper })
 * Like Promise.allSettled, for promises or functions returning promises.
 * Promises are observed the moment they are received, as p-settle and
 * Promise.allSettled do (a rejection is never unhandled meanwhile);
 * `concurrency` limits how many functions run at once (each is called when
 * its turn comes).  With `timeout`, an item still pending that long after
 * it started (a promise: after it was received) settles as rejected with
 * TimeoutError; a function item then sees its AbortSignal abort.
 * Bad arguments reject.
 */
function allSettled(items, options) {
  let concurrency = Infinity;
  let timeout;
  let mapper;
  let list;
  try {
    validate.iterable('items', items);
    validate.options('options', options);
    if (options !== undefined) {
      if (options.concurrency !== undefined) {
        validate.integer('options.concurrency', options.concurrency, 1, true);
        concurrency = options.concurrency;
      }
      if (options.timeout !== undefined) {
        validate.ms('options.timeout', options.timeout, true);
        timeout = options.timeout;
      }
      mapper = options.mapper;
      validate.optionalFn('options.mapper', mapper);
    }
    if (typeof items[Symbol.iterator] !== 'function') {
      throw validate.typeError('items', 'an iterable (use mapWithLimit for async iterables)', items);
    }
    list = Array.isArray(items) ? items : Array.from(items);
  } catch (err) {
    return Promise.reject(err);
  }
  const n = list.length;
  const results = new Array(n);
  if (n === 0) return Promise.resolve(results);
  return new Promise((resolve) => {
    let left = n;
    const settle = (i, result) => {
      results[i] = result;
      if (--left === 0) resolve(results);
    };
    const observe = (i, p) => p.then((value) => settle(i, fulfilled(value)), (reason) => settle(i, rejected(reason)));
    const fns = [];
    for (let i = 0; i < n; i++) {
      // With a mapper (p-settle's), every element is a call of it, limited.
      const item = mapper === undefined ? list[i] : mapped(mapper, list[i], i);
      if (typeof item === 'function') {
        if (concurrency >= n) startFn(i, item, timeout, settle, observe);
        else fns.push(i);
      } else if (isThenable(item)) {
        observe(i, timeout === undefined ? Promise.resolve(item) : withTimeout(Promise.resolve(item), timeout));
      } else {
        settle(i, fulfilled(item));
      }
    }
    if (fns.length === 0) return;
    // Only the functions wait for a slot.
    const pool = new Pool(fns, concurrency, false, (i) => run(mapper === undefined ? list[i] : mapped(mapper, list[i], i), timeout), undefined, {
      results: null,
      ok(index, value) { settle(fns[index], fulfilled(value)); },
      fail(index, reason) { settle(fns[index], rejected(reason)); },
      sourceError() {},
      done() {},
    });
    pool.begin();
  });
}

function mapped(mapper, element, index) {
  return () => mapper(element, index);
}

function run(fn, timeout) {
  return timeout === undefined ? fn() : withTimeout(fn, timeout);
}

function startFn(i, fn, timeout, settle, observe) {
  let p;
  try {
    p = run(fn, timeout);
  } catch (reason) {
    settle(i, rejected(reason));
    return;
  }
  if (isThenable(p)) observe(i, Promise.resolve(p));
  else settle(i, fulfilled(p));
}

module.exports = { allSettled };
