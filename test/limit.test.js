'use strict';
const assert = require('node:assert/strict');
const { limit, limitFunction, Semaphore, delay, AbortError } = require('..');
const { abortListeners, seeded } = require('./helpers');

describe('limit', () => {
  it('runs at most `concurrency` tasks at once, in FIFO order, passing args', async () => {
    const run = limit(2);
    let active = 0;
    let peak = 0;
    const order = [];
    const task = async (i, ms) => {
      active++;
      peak = Math.max(peak, active);
      order.push(i);
      await delay(ms);
      active--;
      return i * 2;
    };
    const ps = [5, 1, 3, 1, 2, 1].map((ms, i) => run(task, i, ms));
    assert.equal(run.activeCount, 2);
    assert.equal(run.pendingCount, 4);
    assert.deepEqual(await Promise.all(ps), [0, 2, 4, 6, 8, 10]);
    assert.equal(peak, 2);
    assert.deepEqual(order, [0, 1, 2, 3, 4, 5]);
    assert.equal(run.activeCount, 0);
    assert.equal(run.pendingCount, 0);
  });

  it('passes rejections and sync throws through, and keeps going', async () => {
    const run = limit(1);
    const a = run(() => { throw new Error('sync'); });
    const b = run(async () => { throw new Error('async'); });
    const c = run((x) => x, 'plain');
    await assert.rejects(a, /sync/);
    await assert.rejects(b, /async/);
    assert.equal(await c, 'plain');
  });

  it('starts waiting tasks at once when concurrency is raised', async () => {
    const run = limit(1);
    let active = 0;
    let peak = 0;
    const task = async () => { active++; peak = Math.max(peak, active); await delay(10); active--; };
    const ps = Array.from({ length: 6 }, () => run(task));
    run.concurrency = 3;
    assert.equal(run.concurrency, 3);
    assert.equal(run.activeCount, 3);
    await Promise.all(ps);
    assert.equal(peak, 3);
  });

  it('rejects the tasks dropped by clearQueue() with AbortError (they never hang)', async () => {
    const run = limit(1);
    const first = run(() => delay(5, { value: 'first' }));
    const dropped = [run(() => 1), run(() => 2)];
    run.clearQueue();
    assert.equal(run.pendingCount, 0);
    for (const p of dropped) await assert.rejects(p, (e) => e instanceof AbortError && e.code === 'ABORT_ERR');
    assert.equal(await first, 'first');
  });

  it('settles every task under random concurrency changes, clearQueue() and failures', async () => {
    const rnd = seeded(12345);
    for (let round = 0; round < 20; round++) {
      const run = limit(1 + rnd(4));
      let started = 0;
      let cleared = 0;
      const ps = [];
      for (let i = 0; i < 60; i++) {
        ps.push(run(async () => {
          started++;
          await delay(rnd(3));
          if (rnd(10) === 0) throw new Error('task failed');
        }).catch((e) => { if (e.code === 'ABORT_ERR') cleared++; }));
        if (rnd(15) === 0) run.concurrency = 1 + rnd(5);
        if (rnd(40) === 0) run.clearQueue();
        if (rnd(8) === 0) await delay(rnd(2));
      }
      await Promise.all(ps);
      assert.equal(started + cleared, 60, `round ${round}: each task either ran or was cleared`);
      assert.equal(run.activeCount, 0);
      assert.equal(run.pendingCount, 0);
    }
  });

  it('runs 100,000 queued tasks that return at once without overflowing the stack', async () => {
    // launch → startNext → start → launch recursed once per task that
    // returned a plain value: 3,000 overflowed the stack, uncaught.
    const run = limit(1);
    const first = run(() => delay(5));
    const rest = Array.from({ length: 100_000 }, (_, i) => run(() => i));
    const thrower = run(() => { throw new Error('sync'); });
    await first;
    const values = await Promise.all(rest);
    assert.equal(values.length, 100_000);
    assert.equal(values[99_999], 99_999);
    await assert.rejects(thrower, /sync/);
    assert.equal(run.activeCount, 0);
  });

  it('starts a task a microtask after the call, its slot counted at once, as p-limit does', async () => {
    const run = limit(2);
    let calls = 0;
    const p = run(() => { calls++; });
    run(() => { calls++; });
    run(() => { calls++; });
    assert.equal(calls, 0, 'no task runs inside the call');
    assert.equal(run.activeCount, 2);
    assert.equal(run.pendingCount, 1);
    await p;
    assert.ok(calls >= 2);
  });

  it('runs each queued task in its caller\'s async context (AsyncLocalStorage)', async () => {
    const { AsyncLocalStorage } = require('node:async_hooks');
    const als = new AsyncLocalStorage();
    const run = limit(1);
    const seen = [];
    const task = () => delay(2).then(() => seen.push(als.getStore()));
    await Promise.all(['A', 'B', 'C'].map((ctx) => als.run(ctx, () => run(task))));
    assert.deepEqual(seen, ['A', 'B', 'C']);
  });

  it('has map(items, fn) and limitFunction(fn, { concurrency }), as p-limit does', async () => {
    const run = limit(2);
    let active = 0;
    let peak = 0;
    const fn = async (x, i) => {
      active++;
      peak = Math.max(peak, active);
      await delay(2);
      active--;
      return x * 10 + i;
    };
    assert.deepEqual(await run.map([1, 2, 3, 4], fn), [10, 21, 32, 43]);
    assert.equal(peak, 2);
    await assert.rejects(() => run.map(5, fn), { name: 'TypeError', message: /`items`/ });
    const limited = limitFunction(async function (a, b) { active++; peak = Math.max(peak, active); await delay(2); active--; return [this && this.k, a + b]; }, { concurrency: 1 });
    peak = 0;
    const obj = { k: 'this', limited };
    assert.deepEqual(await Promise.all([obj.limited(1, 2), obj.limited(3, 4)]), [['this', 3], ['this', 7]]);
    assert.equal(peak, 1);
    assert.throws(() => limitFunction(5, { concurrency: 1 }), /`fn`/);
    assert.throws(() => limitFunction(fn, { concurrency: 0 }), /`concurrency`/);
    const viaObject = limit({ concurrency: 3 });
    assert.equal(viaObject.concurrency, 3);
  });

  it('throws TypeError or RangeError naming the argument for bad input', async () => {
    assert.throws(() => limit(0), { name: 'RangeError', message: /`concurrency`/ });
    assert.throws(() => limit('2'), { name: 'TypeError', message: /`concurrency`/ });
    const run = limit(Infinity);
    await assert.rejects(() => run('x'), { name: 'TypeError', message: /`fn`/ });
    assert.throws(() => { run.concurrency = -1; }, { name: 'RangeError', message: /`concurrency`/ });
  });
});

describe('Semaphore', () => {
  it('grants permits first come, first served, and release is idempotent', async () => {
    const sem = new Semaphore(2);
    const r1 = await sem.acquire();
    const r2 = await sem.acquire();
    const order = [];
    const p3 = sem.acquire().then((r) => { order.push(3); return r; });
    const p4 = sem.acquire().then((r) => { order.push(4); return r; });
    assert.equal(sem.active, 2);
    assert.equal(sem.pending, 2);
    r1();
    r1(); // A second call does nothing.
    const r3 = await p3;
    assert.equal(sem.active, 2);
    assert.equal(sem.pending, 1);
    r2();
    const r4 = await p4;
    assert.deepEqual(order, [3, 4]);
    r3();
    r4();
    assert.equal(sem.active, 0);
  });

  it('rejects with AbortError when aborted before or while waiting, without losing the permit', async () => {
    const sem = new Semaphore(1);
    await assert.rejects(sem.acquire({ signal: AbortSignal.abort() }), AbortError);
    const held = await sem.acquire();
    const c = new AbortController();
    const waiting = sem.acquire({ signal: c.signal });
    const next = sem.acquire();
    c.abort();
    await assert.rejects(waiting, AbortError);
    assert.equal(abortListeners(c.signal), 0);
    held();
    const r = await next; // The aborted waiter did not take the permit.
    assert.equal(sem.active, 1);
    r();
  });

  it('never grants more than n permits, with random aborts and double releases', async () => {
    const rnd = seeded(4242);
    for (let round = 0; round < 10; round++) {
      const n = 1 + rnd(3);
      const sem = new Semaphore(n);
      let held = 0;
      let most = 0;
      await Promise.all(Array.from({ length: 30 }, async () => {
        const ac = new AbortController();
        if (rnd(4) === 0) setTimeout(() => ac.abort(), rnd(3));
        let release;
        try {
          release = await sem.acquire({ signal: ac.signal });
        } catch (e) {
          assert.equal(e.code, 'ABORT_ERR');
          return;
        }
        held++;
        most = Math.max(most, held);
        await delay(rnd(3));
        held--;
        release();
        release();
      }));
      assert.ok(most <= n, `round ${round}: ${most} permits out of ${n}`);
      // No permit leaked: all n are free again.
      const all = await Promise.all(Array.from({ length: n }, () => sem.acquire()));
      for (const r of all) r();
    }
  });

  it('throws for bad input in the constructor; acquire rejects with it', async () => {
    assert.throws(() => new Semaphore(0), { name: 'RangeError', message: /`permits`/ });
    await assert.rejects(() => new Semaphore(1).acquire({ signal: 1 }), { name: 'TypeError', message: /`options.signal`/ });
  });
});
