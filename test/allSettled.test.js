'use strict';
const assert = require('node:assert/strict');
const { allSettled, delay, TimeoutError } = require('..');
const { binding } = require('../lib/native');

describe('allSettled', () => {
  afterEach(() => assert.equal(binding.timersPending(), 0, 'a native timer was left pending'));

  it('gives the same result shape as Promise.allSettled, in input order', async () => {
    const err = new Error('no');
    const make = () => [delay(20, { value: 'slow' }), Promise.reject(err), 3, Promise.resolve('fast')];
    // Promise.allSettled's fields, plus p-settle's isFulfilled and isRejected.
    const plain = (await allSettled(make())).map(({ isFulfilled, isRejected, ...rest }) => {
      assert.equal(isFulfilled, rest.status === 'fulfilled');
      assert.equal(isRejected, rest.status === 'rejected');
      return rest;
    });
    assert.deepEqual(plain, await Promise.allSettled(make()));
    assert.deepEqual(await allSettled(make()), [
      { status: 'fulfilled', value: 'slow', isFulfilled: true, isRejected: false },
      { status: 'rejected', reason: err, isFulfilled: false, isRejected: true },
      { status: 'fulfilled', value: 3, isFulfilled: true, isRejected: false },
      { status: 'fulfilled', value: 'fast', isFulfilled: true, isRejected: false },
    ]);
  });

  it('calls function items and records their sync throws as rejections', async () => {
    const r = await allSettled([() => 1, async () => 2, () => { throw new Error('sync'); }]);
    assert.deepEqual(r.map((x) => x.status), ['fulfilled', 'fulfilled', 'rejected']);
    assert.equal(r[2].reason.message, 'sync');
  });

  it('accepts any iterable and an empty one', async () => {
    assert.deepEqual(await allSettled(new Set([Promise.resolve(1)])), [{ status: 'fulfilled', value: 1, isFulfilled: true, isRejected: false }]);
    assert.deepEqual(await allSettled([]), []);
  });

  it('settles an item still pending after timeout as rejected with TimeoutError', async () => {
    let signal;
    const t0 = performance.now();
    const r = await allSettled([
      new Promise(() => {}),
      (s) => { signal = s; return new Promise(() => {}); },
      delay(1, { value: 'quick' }),
    ], { timeout: 30 });
    assert.ok(performance.now() - t0 >= 30);
    assert.ok(r[0].reason instanceof TimeoutError);
    assert.equal(r[0].reason.code, 'ETIMEDOUT');
    assert.ok(r[1].reason instanceof TimeoutError);
    assert.equal(signal.aborted, true, 'a timed-out function is told to stop');
    assert.deepEqual(r[2], { status: 'fulfilled', value: 'quick', isFulfilled: true, isRejected: false });
  });

  it('observes promise items the moment it gets them: with concurrency, an early rejection is never unhandled', async () => {
    // allSettled([delay(100), Promise.reject(...)], { concurrency: 1 })
    // killed the process with the unhandled rejection before it settled.
    const unhandled = [];
    const onUnhandled = (e) => unhandled.push(e);
    process.on('unhandledRejection', onUnhandled);
    try {
      const early = new Error('early');
      const r = await allSettled([delay(30, { value: 'late' }), Promise.reject(early), () => 'fn'], { concurrency: 1 });
      assert.deepEqual(r.map((x) => x.status), ['fulfilled', 'rejected', 'fulfilled']);
      assert.equal(r[1].reason, early);
      await delay(5);
    } finally {
      process.off('unhandledRejection', onUnhandled);
    }
    assert.deepEqual(unhandled, []);
  });

  it('maps every element through `mapper(element, index)`, limited, as p-settle does', async () => {
    let active = 0;
    let peak = 0;
    const r = await allSettled([1, 2, 3, 4], {
      concurrency: 2,
      mapper: async (x, i) => {
        active++;
        peak = Math.max(peak, active);
        await delay(2);
        active--;
        if (x === 3) throw new Error('three');
        return x * 10 + i;
      },
    });
    assert.deepEqual(r.map((x) => (x.isFulfilled ? x.value : x.reason.message)), [10, 21, 'three', 43]);
    assert.equal(peak, 2);
    await assert.rejects(() => allSettled([1], { mapper: 5 }), { name: 'TypeError', message: /`options.mapper`/ });
  });

  it('runs at most `concurrency` functions at once, and calls each only when its turn comes', async () => {
    let active = 0;
    let peak = 0;
    let called = 0;
    const items = Array.from({ length: 20 }, (_, i) => async () => {
      called++;
      active++;
      peak = Math.max(peak, active);
      await delay(2);
      active--;
      if (i % 3 === 0) throw new Error(`item ${i}`);
      return i;
    });
    const p = allSettled(items, { concurrency: 3 });
    assert.ok(called <= 3, `called ${called} before any finished`);
    const r = await p;
    assert.equal(peak, 3);
    assert.equal(r.length, 20);
    r.forEach((x, i) => assert.equal(x.status, i % 3 === 0 ? 'rejected' : 'fulfilled'));
  });

  it('combines concurrency and timeout: the timeout counts from each item start', async () => {
    const r = await allSettled([
      () => delay(20, { value: 'a' }),
      () => delay(20, { value: 'b' }),
      () => new Promise(() => {}),
    ], { concurrency: 1, timeout: 100 });
    assert.deepEqual(r.slice(0, 2).map((x) => x.value), ['a', 'b']);
    assert.ok(r[2].reason instanceof TimeoutError);
  });

  it('never rejects for a failing item and leaves no unhandled rejection', async () => {
    let unhandled = 0;
    const on = () => unhandled++;
    process.on('unhandledRejection', on);
    try {
      const r = await allSettled(Array.from({ length: 100 }, (_, i) => Promise.reject(new Error(String(i)))), { concurrency: 7 });
      assert.equal(r.filter((x) => x.status === 'rejected').length, 100);
      await delay(5);
      assert.equal(unhandled, 0);
    } finally {
      process.off('unhandledRejection', on);
    }
  });

  it('throws TypeError or RangeError naming the argument for bad input', async () => {
    await assert.rejects(() => allSettled(5), { name: 'TypeError', message: /`items`/ });
    await assert.rejects(() => allSettled([], 5), { name: 'TypeError', message: /`options`/ });
    await assert.rejects(() => allSettled([], { concurrency: 0 }), { name: 'RangeError', message: /`options.concurrency`/ });
    await assert.rejects(() => allSettled([], { timeout: -1 }), { name: 'RangeError', message: /`options.timeout`/ });
    await assert.rejects(() => allSettled((async function* () {})()), { name: 'TypeError', message: /`items`/ });
  });
});
