'use strict';
const assert = require('node:assert/strict');
const { withTimeout, delay, TimeoutError, AbortError } = require('..');
const { binding } = require('../lib/native');
const { abortListeners, runNode } = require('./helpers');

describe('withTimeout', () => {
  afterEach(() => assert.equal(binding.timersPending(), 0, 'a native timer was left pending'));

  it('resolves with the input when it settles in time and clears its timer at once', async () => {
    const p = withTimeout(delay(5, { value: 'ok' }), 1000);
    assert.equal(binding.timersPending(), 2);
    assert.equal(await p, 'ok');
    assert.equal(binding.timersPending(), 0);
  });

  it('passes the input rejection through', async () => {
    await assert.rejects(withTimeout(Promise.reject(new Error('boom')), 1000), /boom/);
  });

  it('rejects with TimeoutError no earlier than ms', async () => {
    const t0 = performance.now();
    await assert.rejects(withTimeout(new Promise(() => {}), 50), (err) => {
      assert.ok(err instanceof TimeoutError);
      assert.equal(err.name, 'TimeoutError');
      assert.equal(err.code, 'ETIMEDOUT');
      assert.equal(err.timeout, 50);
      assert.match(err.message, /50 milliseconds/);
      return true;
    });
    assert.ok(performance.now() - t0 >= 50);
  });

  it('uses a custom message, or a custom Error', async () => {
    await assert.rejects(withTimeout(new Promise(() => {}), 1, { message: 'too slow' }), { name: 'TimeoutError', message: 'too slow' });
    const mine = new RangeError('mine');
    await assert.rejects(withTimeout(new Promise(() => {}), 1, { message: mine }), (err) => err === mine);
  });

  it('resolves with a fallback value on timeout (the seed threw a ReferenceError)', async () => {
    assert.equal(await withTimeout(new Promise(() => {}), 5, { fallback: 'fb' }), 'fb');
  });

  it('keeps the seed call shape: a third argument that is not options is the fallback', async () => {
    assert.equal(await withTimeout(new Promise(() => {}), 5, 42), 42);
    assert.deepEqual(await withTimeout(new Promise(() => {}), 5, [1]), [1]);
    assert.equal(await withTimeout(Promise.resolve('in time'), 100, 42), 'in time');
  });

  it('resolves with the result of a fallback function, and rejects with what it throws', async () => {
    assert.equal(await withTimeout(new Promise(() => {}), 5, { fallback: () => 'computed' }), 'computed');
    assert.equal(await withTimeout(new Promise(() => {}), 5, { fallback: async () => 'async' }), 'async');
    await assert.rejects(withTimeout(new Promise(() => {}), 5, { fallback: () => { throw new Error('fb failed'); } }), /fb failed/);
  });

  it('gives the function form a signal that aborts with the TimeoutError when time runs out', async () => {
    let seen;
    const p = withTimeout((signal) => {
      seen = signal;
      return new Promise(() => {});
    }, 10);
    assert.equal(seen.aborted, false);
    await assert.rejects(p, TimeoutError);
    assert.equal(seen.aborted, true);
    assert.ok(seen.reason instanceof TimeoutError);
  });

  it('does not abort the function form signal when the work finishes in time', async () => {
    let seen;
    await withTimeout((signal) => { seen = signal; return delay(1); }, 1000);
    assert.equal(seen.aborted, false);
  });

  it('rejects with what the function form throws synchronously', async () => {
    await assert.rejects(withTimeout(() => { throw new Error('sync'); }, 100), /sync/);
  });

  it('keeps the async stack frames of an error from the input, as a plain await does', async () => {
    async function inner() {
      await null;
      throw new Error('deep');
    }
    async function callerOfWithTimeout() {
      return await withTimeout(inner(), 1000);
    }
    async function callerOfFnForm() {
      return await withTimeout(() => inner(), 1000, { fallback: 1 });
    }
    for (const caller of [callerOfWithTimeout, callerOfFnForm]) {
      const err = await caller().catch((e) => e);
      assert.match(err.stack, new RegExp(`at async ${caller.name}`), err.stack);
    }
  });

  it('has clear(), as p-timeout does: the timer stops and the promise settles only with the input', async () => {
    const p = withTimeout(delay(60, { value: 'late' }), 10);
    p.clear();
    assert.equal(binding.timersPending(), 1, 'only the input delay is pending');
    assert.equal(await p, 'late');
    const q = withTimeout(Promise.resolve(1), Infinity);
    q.clear(); // A no-op where there is no timer.
    assert.equal(await q, 1);
    assert.equal(typeof withTimeout(5, 1).clear, 'function');
    await assert.rejects(withTimeout(5, 1), TypeError);
  });

  it('resolves with undefined on timeout with message: false, and calls cancel() on a cancelable input, as p-timeout does', async () => {
    assert.equal(await withTimeout(new Promise(() => {}), 5, { message: false }), undefined);
    let cancelled = 0;
    const cancelable = new Promise(() => {});
    cancelable.cancel = () => { cancelled++; };
    await assert.rejects(withTimeout(cancelable, 5), TimeoutError);
    assert.equal(cancelled, 1);
    await assert.rejects(() => withTimeout(Promise.resolve(1), 5, { message: 42 }), { name: 'TypeError', message: /`options.message`/ });
  });

  it('treats Infinity as no timeout', async () => {
    assert.equal(await withTimeout(delay(5, { value: 1 }), Infinity), 1);
  });

  it('rejects with AbortError when aborted before, and when aborted mid-flight', async () => {
    const before = new AbortController();
    before.abort();
    await assert.rejects(withTimeout(new Promise(() => {}), 100, { signal: before.signal }), AbortError);

    const during = new AbortController();
    let inner;
    const p = withTimeout((s) => { inner = s; return new Promise(() => {}); }, 10_000, { signal: during.signal });
    setTimeout(() => during.abort(new Error('user')), 5);
    await assert.rejects(p, (err) => err instanceof AbortError && err.cause.message === 'user');
    assert.equal(inner.aborted, true, 'the work is told to stop');
    assert.equal(abortListeners(during.signal), 0);
  });

  it('leaves no abort listener after settling, and an abort after settling changes nothing', async () => {
    const c = new AbortController();
    assert.equal(await withTimeout(Promise.resolve(1), 100, { signal: c.signal }), 1);
    assert.equal(abortListeners(c.signal), 0);
    c.abort();
    await assert.rejects(withTimeout(new Promise(() => {}), 1, { signal: new AbortController().signal }), TimeoutError);
  });

  it('throws TypeError or RangeError naming the argument for bad input', async () => {
    await assert.rejects(() => withTimeout(5, 10), { name: 'TypeError', message: /`input`/ });
    await assert.rejects(() => withTimeout(Promise.resolve(), '10'), { name: 'TypeError', message: /`ms`/ });
    await assert.rejects(() => withTimeout(Promise.resolve(), -5), { name: 'RangeError', message: /`ms`/ });
    await assert.rejects(() => withTimeout(Promise.resolve(), 5, { message: 5 }), { name: 'TypeError', message: /`options.message`/ });
    await assert.rejects(() => withTimeout(Promise.resolve(), 5, { signal: 'x' }), { name: 'TypeError', message: /`options.signal`/ });
  });

  it('leaves no timer behind: 10,000 fast withTimeout(…, 60_000) let the process exit within a second', async () => {
    const r = await runNode(`
      const { withTimeout } = require('.');
      const t0 = performance.now();
      const ps = [];
      for (let i = 0; i < 10000; i++) ps.push(withTimeout(Promise.resolve(i), 60000));
      Promise.all(ps).then(() => {
        globalThis.settledAt = performance.now();
        process.on('exit', () => process.stdout.write(String(performance.now() - globalThis.settledAt)));
      });
    `);
    assert.equal(r.code, 0, r.stderr);
    const afterSettle = Number(r.stdout);
    assert.ok(afterSettle < 1000, `exited ${afterSettle} ms after the last settle`);
  });
});
