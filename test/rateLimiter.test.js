'use strict';
const assert = require('node:assert/strict');
const { RateLimiter, AbortError } = require('..');
const { binding } = require('../lib/native');
const { abortListeners, runNode, seeded } = require('./helpers');

describe('RateLimiter', () => {
  afterEach(() => assert.equal(binding.timersPending(), 0, 'a native timer was left pending'));

  it('lets the first `capacity` go at once, then waits at `rate`', async () => {
    const t0 = performance.now();
    const rl = new RateLimiter({ rate: 100, capacity: 5 });
    const pending = Array.from({ length: 10 }, () => rl.acquire());
    const called = performance.now();
    const waits = await Promise.all(pending);
    const took = performance.now() - t0;
    assert.deepEqual(waits.slice(0, 5), [0, 0, 0, 0, 0]);
    for (const w of waits.slice(5)) assert.ok(w > 0);
    // The 10th token is the 5th refilled one: at 100/s, 50 ms after the
    // bucket was made.  Its wait counts from its own acquire() call, which
    // may come a few ms later (an ASan build in CI: 47.97 ms waited).
    assert.ok(took >= 49, `took ${took} ms`);
    assert.ok(waits[9] >= 49 - (called - t0), `waited ${waits[9]} ms, called ${(called - t0).toFixed(2)} ms in`);
  });

  it('defaults capacity to max(1, floor(rate))', () => {
    assert.equal(new RateLimiter({ rate: 7.9 }).capacity, 7);
    assert.equal(new RateLimiter({ rate: 0.5 }).capacity, 1);
  });

  it('serves waiters first come, first served: a large request is not starved', async () => {
    const rl = new RateLimiter({ rate: 200, capacity: 4 });
    assert.equal(rl.tryAcquire(4), true);
    const order = [];
    const big = rl.acquire(4).then(() => order.push('big'));
    const smalls = [1, 2, 3].map((i) => rl.acquire(1).then(() => order.push(`small${i}`)));
    assert.equal(rl.tryAcquire(1), false, 'tryAcquire never jumps the queue');
    assert.equal(rl.pending, 4);
    await Promise.all([big, ...smalls]);
    assert.deepEqual(order, ['big', 'small1', 'small2', 'small3']);
  });

  it('reports available tokens and tryAcquire', () => {
    const rl = new RateLimiter({ rate: 1, capacity: 3 });
    assert.ok(rl.available >= 3 - 1e-6);
    assert.equal(rl.tryAcquire(2), true);
    assert.equal(rl.tryAcquire(2), false);
    assert.ok(rl.available >= 1 && rl.available < 1.1);
  });

  it('rejects with AbortError when aborted before or while waiting, and the next waiter moves up', async () => {
    const rl = new RateLimiter({ rate: 20, capacity: 1 });
    await assert.rejects(rl.acquire(1, { signal: AbortSignal.abort() }), AbortError);
    await rl.acquire();
    const c = new AbortController();
    const aborted = rl.acquire(1, { signal: c.signal });
    const next = rl.acquire(1);
    c.abort();
    await assert.rejects(aborted, AbortError);
    assert.equal(abortListeners(c.signal), 0);
    const waited = await next;
    assert.ok(waited >= 45 && waited < 200, `waited ${waited}`);
  });

  it('wraps a function so that each call takes a token', async () => {
    const rl = new RateLimiter({ rate: 1000, capacity: 2 });
    const f = rl.wrap(function (a, b) { return [this, a + b]; });
    const ctx = {};
    assert.deepEqual(await f.call(ctx, 1, 2), [ctx, 3]);
  });

  it('rejects waiters with AbortError on clear()', async () => {
    const rl = new RateLimiter({ rate: 1, capacity: 1 });
    await rl.acquire();
    const p = rl.acquire();
    rl.clear();
    await assert.rejects(p, AbortError);
    assert.equal(rl.pending, 0);
  });

  it('serves random sizes first come, first served, with random aborts, losing nothing', async () => {
    const rnd = seeded(777);
    for (let round = 0; round < 4; round++) {
      const rl = new RateLimiter({ rate: 1000, capacity: 3 });
      const order = [];
      let aborted = 0;
      await Promise.all(Array.from({ length: 40 }, async (_, i) => {
        const ac = new AbortController();
        if (rnd(5) === 0) setTimeout(() => ac.abort(), rnd(10));
        try {
          await rl.acquire(1 + rnd(3), { signal: ac.signal });
          order.push(i);
        } catch (e) {
          assert.equal(e.code, 'ABORT_ERR');
          aborted++;
        }
      }));
      assert.deepEqual(order, [...order].sort((a, b) => a - b), `round ${round}: served out of order`);
      assert.equal(order.length + aborted, 40);
      assert.equal(rl.pending, 0);
    }
  });

  it('throws TypeError or RangeError naming the argument for bad input', async () => {
    assert.throws(() => new RateLimiter(), { name: 'TypeError', message: /`options`/ });
    assert.throws(() => new RateLimiter({ rate: 0 }), { name: 'RangeError', message: /`options.rate` to be a number > 0 and ≤ 1000000000/ });
    assert.throws(() => new RateLimiter({ rate: '5' }), { name: 'TypeError', message: /`options.rate`/ });
    assert.throws(() => new RateLimiter({ rate: 5, capacity: -1 }), { name: 'RangeError', message: /`options.capacity`/ });
    const rl = new RateLimiter({ rate: 5 });
    await assert.rejects(() => rl.acquire(6), { name: 'RangeError', message: /`tokens`.*capacity/ });
    assert.throws(() => rl.tryAcquire(-1), { name: 'RangeError', message: /`tokens`/ });
    await assert.rejects(() => rl.acquire(1, { signal: 'x' }), { name: 'TypeError', message: /`options.signal`/ });
    assert.throws(() => rl.wrap(1), { name: 'TypeError', message: /`fn`/ });
  });

  it('holds its rate: over 5 s at rate 200, the count is within 2 % of 1,000 + capacity', async function () {
    this.timeout(20000);
    // Tolerance stated: |count - (1000 + capacity)| <= 2 % of 1,000 + capacity.
    const rl = new RateLimiter({ rate: 200 });
    const t0 = performance.now();
    let count = 0;
    const workers = Array.from({ length: 8 }, async () => {
      for (;;) {
        await rl.acquire();
        if (performance.now() - t0 >= 5000) return;
        count++;
      }
    });
    await Promise.all(workers);
    const expected = 1000 + rl.capacity;
    assert.ok(Math.abs(count - expected) <= 0.02 * expected, `count ${count}, expected ${expected} ± 2 %`);
    rl.clear();
  });

  it('keeps the process alive while a waiter waits, and lets it exit when idle', async () => {
    const r = await runNode(`
      const { RateLimiter } = require('.');
      const rl = new RateLimiter({ rate: 10, capacity: 1 });
      rl.acquire().then(() => rl.acquire()).then((ms) => process.stdout.write('waited ' + (ms >= 90)));
    `);
    assert.equal(r.code, 0, r.stderr);
    assert.equal(r.stdout, 'waited true');
  });
});
