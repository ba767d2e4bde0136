'use strict';
const { Pool } = require('./pool');
const { withTimeout } = require('./timeout');
const validate = require('./validate');

/**
 * allSettled(items, { concurrency = Infinity, timeout })
 * Like Promise.allSettled, for promises or functions returning promises.
 * With `concurrency`, at most that many items run at once (functions are
 * called only when their turn comes).  With `timeout`, an item still pending
 * that long after it started settles as rejected with TimeoutError; a
 * function item then sees its AbortSignal abort.
 */
function allSettled(items, options) {
  validate.iterable('items', items);
  validate.options('options', options);
  let concurrency = Infinity;
  let timeout;
  if (options !== undefined) {
    if (options.concurrency !== undefined) {
      validate.integer('options.concurrency', options.concurrency, 1, true);
      concurrency = options.concurrency;
    }
    if (options.timeout !== undefined) {
      validate.ms('options.timeout', options.timeout, true);
      timeout = options.timeout;
    }
  }
  if (typeof items[Symbol.iterator] !== 'function') {
    throw validate.typeError('items', 'an iterable (use mapWithLimit for async iterables)', items);
  }
  const list = Array.isArray(items) ? items : Array.from(items);
  const start = timeout === undefined
    ? (item) => (typeof item === 'function' ? item() : item)
    : (item) => {
      if (typeof item === 'function') return withTimeout(item, timeout);
      if (item !== null && typeof item === 'object' && typeof item.then === 'function') return withTimeout(item, timeout);
      return item;
    };

  if (concurrency === Infinity || concurrency >= list.length) return settleAll(list, start);
  return new Promise((resolve) => {
    const results = new Array(list.length);
    const pool = new Pool(list, concurrency, false, start, undefined, {
      results,
      ok(index, value) {
        results[index] = { status: 'fulfilled', value };
      },
      fail(index, reason) {
        results[index] = { status: 'rejected', reason };
      },
      sourceError() {},
      done() {
        resolve(results);
      },
    });
    pool.begin();
  });
}

// With no limit there is nothing to schedule: every item starts now and
// each settles into its own place.
function settleAll(list, start) {
  const n = list.length;
  const results = new Array(n);
  if (n === 0) return Promise.resolve(results);
  let left = n;
  return new Promise((resolve) => {
    for (let i = 0; i < n; i++) {
      let p;
      try {
        p = start(list[i]);
      } catch (reason) {
        results[i] = { status: 'rejected', reason };
        if (--left === 0) resolve(results);
        continue;
      }
      if (p === null || typeof p !== 'object' || typeof p.then !== 'function') {
        results[i] = { status: 'fulfilled', value: p };
        if (--left === 0) resolve(results);
        continue;
      }
      p.then((value) => {
        results[i] = { status: 'fulfilled', value };
        if (--left === 0) resolve(results);
      }, (reason) => {
        results[i] = { status: 'rejected', reason };
        if (--left === 0) resolve(results);
      });
    }
  });
}

module.exports = { allSettled };
