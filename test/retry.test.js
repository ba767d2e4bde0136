'use strict';
const assert = require('node:assert/strict');
const { retry, AbortError } = require('..');
const { binding } = require('../lib/native');
const { abortListeners, runNode } = require('./helpers');

function failing(times, value = 'ok') {
  const calls = [];
  const fn = async (attempt, signal) => {
    calls.push({ attempt, signal, at: performance.now() });
    if (calls.length <= times) throw new Error(`fail ${calls.length}`);
    return value;
  };
  return { fn, calls };
}

describe('retry', () => {
  afterEach(() => assert.equal(binding.timersPending(), 0, 'a native timer was left pending'));

  it('returns the first success without waiting', async () => {
    const { fn, calls } = failing(0);
    assert.equal(await retry(fn), 'ok');
    assert.equal(calls.length, 1);
    assert.equal(calls[0].attempt, 1);
  });

  it('retries up to `retries` times and rejects with the last error itself, with attempts set', async () => {
    const { fn, calls } = failing(10);
    await assert.rejects(retry(fn, { retries: 2, delay: 1 }), (err) => {
      assert.equal(err.message, 'fail 3');
      assert.equal(err.attempts, 3);
      return true;
    });
    assert.deepEqual(calls.map((c) => c.attempt), [1, 2, 3]);
  });

  it('waits the documented exponential delays (never less)', async () => {
    const { fn, calls } = failing(3);
    await retry(fn, { retries: 3, delay: 20, factor: 2 });
    const gaps = calls.slice(1).map((c, i) => c.at - calls[i].at);
    [20, 40, 80].forEach((want, i) => assert.ok(gaps[i] >= want, `gap ${i}: ${gaps[i]} < ${want}`));
  });

  it('keeps the seed call shape retry(fn, retries, delayMs) with linear delays', async () => {
    const { fn, calls } = failing(2);
    assert.equal(await retry(fn, 2, 20), 'ok');
    const gaps = calls.slice(1).map((c, i) => c.at - calls[i].at);
    assert.ok(gaps[0] >= 20 && gaps[1] >= 40, `gaps ${gaps}`);
  });

  it('reports each wait through onRetry(err, attempt, waitMs): fixed, linear, capped, function', async () => {
    const seen = async (opts) => {
      const waits = [];
      const { fn } = failing(3);
      await retry(fn, { retries: 3, delay: 2, ...opts, onRetry: (err, attempt, ms) => waits.push([err.message, attempt, ms]) });
      return waits;
    };
    assert.deepEqual(await seen({ backoff: 'fixed' }), [['fail 1', 1, 2], ['fail 2', 2, 2], ['fail 3', 3, 2]]);
    assert.deepEqual((await seen({ backoff: 'linear' })).map((w) => w[2]), [2, 4, 6]);
    assert.deepEqual((await seen({ backoff: 'exponential', factor: 3, maxDelay: 10 })).map((w) => w[2]), [2, 6, 10]);
    assert.deepEqual((await seen({ backoff: (attempt) => attempt * 1.5 })).map((w) => w[2]), [1.5, 3, 4.5]);
  });

  it('draws jittered waits within [d × (1 − jitter), d]', async () => {
    const waits = [];
    const { fn } = failing(5);
    await retry(fn, { retries: 5, delay: 10, backoff: 'fixed', jitter: 0.5, onRetry: (e, a, ms) => waits.push(ms) });
    for (const w of waits) assert.ok(w >= 5 && w <= 10, `wait ${w}`);
  });

  it('stops when retryIf returns false', async () => {
    const { fn, calls } = failing(5);
    await assert.rejects(retry(fn, { retries: 5, delay: 1, retryIf: (err, attempt) => attempt < 2 }), (err) => err.attempts === 2);
    assert.equal(calls.length, 2);
  });

  it('stops at once when fn throws an AbortError', async () => {
    let n = 0;
    await assert.rejects(retry(async () => { n++; throw new AbortError(); }, { retries: 5, delay: 1 }), AbortError);
    assert.equal(n, 1);
    const dom = new DOMException('stopped', 'AbortError');
    await assert.rejects(retry(async () => { throw dom; }, { retries: 5, delay: 1 }), (e) => e === dom);
  });

  it('passes the signal to fn, rejects at once if aborted before, and stops while waiting', async () => {
    const before = new AbortController();
    before.abort();
    await assert.rejects(retry(async () => 1, { signal: before.signal }), AbortError);

    const c = new AbortController();
    const { fn, calls } = failing(10);
    const p = retry(fn, { retries: 10, delay: 10_000, signal: c.signal });
    setTimeout(() => c.abort(), 20);
    await assert.rejects(p, AbortError);
    assert.equal(calls.length, 1);
    assert.equal(calls[0].signal, c.signal);
    assert.equal(abortListeners(c.signal), 0);
  });

  it('rejects with AbortError at the abort, during an attempt, and the attempt\'s signal aborts', async () => {
    // Aborting at 50 ms during a 500 ms attempt that then succeeded
    // resolved with its value after 502 ms.
    const c = new AbortController();
    let seen;
    const t0 = performance.now();
    const p = retry((n, signal) => {
      seen = signal;
      return new Promise((resolve) => setTimeout(() => resolve('late'), 500));
    }, { signal: c.signal });
    setTimeout(() => c.abort(new Error('stop')), 50);
    await assert.rejects(p, (e) => e instanceof AbortError && e.cause.message === 'stop');
    const ms = performance.now() - t0;
    assert.ok(ms < 300, `rejected after ${ms} ms`);
    assert.equal(seen.aborted, true);
    assert.equal(abortListeners(c.signal), 0);
  });

  it('stops retrying at maxRetryTime: no retry starts after it, and a wait is cut to it', async () => {
    let calls = 0;
    const t0 = performance.now();
    await assert.rejects(retry(() => { calls++; throw new Error(`try ${calls}`); }, { retries: 100, delay: 40, backoff: 'fixed', maxRetryTime: 100 }),
      (e) => e.message === `try ${calls}` && e.attempts === calls);
    const ms = performance.now() - t0;
    assert.ok(calls >= 2 && calls <= 4, `${calls} calls`);
    assert.ok(ms >= 100 - 1 && ms < 400, `${ms} ms`);
    // A long wait is cut to what is left.
    const t1 = performance.now();
    let n = 0;
    assert.equal(await retry(() => { if (++n === 1) throw new Error('once'); return 'ok'; }, { delay: 10_000, maxRetryTime: 50 }), 'ok');
    assert.ok(performance.now() - t1 < 1000);
    await assert.rejects(() => retry(() => 1, { maxRetryTime: -1 }), { name: 'RangeError', message: /`options.maxRetryTime`/ });
  });

  it('with unref, its waits do not keep the process alive', async () => {
    const r = await runNode(`
      const { retry } = require('.');
      retry(() => { throw new Error('x'); }, { retries: 5, delay: 60_000, unref: true }).catch(() => {});
      setTimeout(() => process.stdout.write('exited'), 20);
    `);
    assert.equal(r.code, 0, r.stderr);
    assert.equal(r.stdout, 'exited');
    assert.ok(r.ms < 5000, `took ${r.ms} ms`);
    await assert.rejects(() => retry(() => 1, { unref: 1 }), { name: 'TypeError', message: /`options.unref`/ });
  });

  it('retries a primitive rejection and rejects with it', async () => {
    await assert.rejects(retry(() => Promise.reject('plain'), { retries: 1, delay: 1 }), (e) => e === 'plain');
  });

  it('throws TypeError or RangeError naming the argument for bad input', async () => {
    await assert.rejects(() => retry(), { name: 'TypeError', message: /`fn`/ });
    await assert.rejects(() => retry(async () => 1, -1), { name: 'RangeError', message: /`retries`/ });
    await assert.rejects(() => retry(async () => 1, 1, -1), { name: 'RangeError', message: /`delayMs`/ });
    await assert.rejects(() => retry(async () => 1, { retries: 1.5 }), { name: 'RangeError', message: /`options.retries`/ });
    await assert.rejects(() => retry(async () => 1, { delay: '1' }), { name: 'TypeError', message: /`options.delay`/ });
    await assert.rejects(() => retry(async () => 1, { backoff: 'quadratic' }), { name: 'TypeError', message: /`options.backoff`/ });
    await assert.rejects(() => retry(async () => 1, { factor: 0.5 }), { name: 'RangeError', message: /`options.factor`/ });
    await assert.rejects(() => retry(async () => 1, { jitter: 2 }), { name: 'RangeError', message: /`options.jitter`/ });
    await assert.rejects(() => retry(async () => 1, { retryIf: true }), { name: 'TypeError', message: /`options.retryIf`/ });
    await assert.rejects(() => retry(async () => 1, { onRetry: 1 }), { name: 'TypeError', message: /`options.onRetry`/ });
    await assert.rejects(() => retry(async () => 1, { signal: 1 }), { name: 'TypeError', message: /`options.signal`/ });
  });

  it("takes p-retry's option names, with p-retry's contexts and waits: minTimeout, maxTimeout, randomize, onFailedAttempt, shouldRetry", async () => {
    const { default: pRetry } = await import('p-retry');
    // The contexts each sees, in order, for the same failing function.
    async function trace(run, extra = {}) {
      const seen = [];
      const result = await run(async (n) => { throw new Error(`f${n}`); }, {
        retries: 4, minTimeout: 2, factor: 2, maxTimeout: 5, ...extra,
        onFailedAttempt: (c) => { seen.push(['failed', { ...c, error: c.error.message }]); },
        shouldRetry: (c) => { seen.push(['should', c.attemptNumber, c.retryDelay]); return true; },
      }).catch((e) => e.message);
      return [result, seen];
    }
    const mine = await trace(retry);
    assert.deepEqual(mine, await trace(pRetry));
    assert.deepEqual(mine[1].filter(([k]) => k === 'failed').map(([, c]) => c.retryDelay), [2, 4, 5, 5, 0]);
    // shouldRetry returning nothing stops; onFailedAttempt's throw rejects with what it threw.
    for (const run of [pRetry, retry]) {
      const a = failing(9);
      await assert.rejects(run(a.fn, { retries: 5, minTimeout: 1, shouldRetry: () => {} }), /fail 1/);
      assert.equal(a.calls.length, 1);
      const b = failing(9);
      await assert.rejects(run(b.fn, { retries: 5, minTimeout: 1, onFailedAttempt: (c) => { if (c.attemptNumber === 2) throw new Error('enough'); } }), /enough/);
      assert.equal(b.calls.length, 2);
    }
    // randomize: each wait a whole number of ms from 1x to 2x the wait (maxTimeout after).
    const waits = [];
    await retry(failing(6).fn, { retries: 6, minTimeout: 10, factor: 1, randomize: true, maxTimeout: 17,
      onFailedAttempt: (c) => waits.push(c.retryDelay) }).catch(() => {});
    assert.equal(waits.length, 6);
    for (const w of waits) assert.ok(Number.isInteger(w) && w >= 10 && w <= 17, `${w}`);
    // One name for one thing.
    await assert.rejects(() => retry(async () => 1, { delay: 5, minTimeout: 5 }), { name: 'TypeError', message: /`options.minTimeout`/ });
    await assert.rejects(() => retry(async () => 1, { maxDelay: 5, maxTimeout: 5 }), { name: 'TypeError', message: /`options.maxTimeout`/ });
    await assert.rejects(() => retry(async () => 1, { randomize: 1 }), { name: 'TypeError', message: /`options.randomize`/ });
    await assert.rejects(() => retry(async () => 1, { onFailedAttempt: 1 }), { name: 'TypeError', message: /`options.onFailedAttempt`/ });
    await assert.rejects(() => retry(async () => 1, { shouldRetry: 'no' }), { name: 'TypeError', message: /`options.shouldRetry`/ });
  });

  it('rejects with a RangeError when a backoff function returns a bad wait', async () => {
    await assert.rejects(retry(() => Promise.reject(new Error('x')), { retries: 1, backoff: () => -5 }), RangeError);
  });
});
