'use strict';
// TaskQueue: p-queue's shape, its order and window in the core.
const assert = require('node:assert/strict');
const { AsyncLocalStorage } = require('node:async_hooks');
const { TaskQueue, delay, AbortError, TimeoutError } = require('..');
const { binding } = require('../lib/native');
const { runNode, abortListeners, seeded } = require('./helpers');

const work = (ms, value) => () => delay(ms, { value });

describe('TaskQueue', () => {
  afterEach(() => assert.equal(binding.timersPending(), 0, 'a native timer was left pending'));

  it('runs at most `concurrency` tasks, starting one that fits inside add(), as p-queue does', async () => {
    const q = new TaskQueue({ concurrency: 2 });
    let active = 0;
    let peak = 0;
    let syncStarted = false;
    const task = (i) => async () => {
      active++;
      peak = Math.max(peak, active);
      await delay(3);
      active--;
      return i;
    };
    const first = q.add(() => { syncStarted = true; return 0; });
    assert.equal(syncStarted, true);
    const all = Array.from({ length: 10 }, (_, i) => q.add(task(i)));
    assert.equal(q.pending, 2); // The first, done at once, frees its slot a microtask later.
    assert.equal(q.size, 9);
    assert.equal(q.isSaturated, true);
    assert.deepEqual(await Promise.all(all), Array.from({ length: 10 }, (_, i) => i));
    assert.equal(await first, 0);
    assert.equal(peak, 2);
    assert.equal(q.size + q.pending, 0);
  });

  it('starts waiting tasks by priority, first come first served among equals, and setPriority moves one', async () => {
    const q = new TaskQueue({ concurrency: 1 });
    const order = [];
    const t = (name) => async () => { order.push(name); await delay(1); };
    q.add(t('running'));
    const ps = [
      q.add(t('a0')), q.add(t('b0')), q.add(t('c1'), { priority: 1 }), q.add(t('d-1'), { priority: -1 }),
      q.add(t('e1'), { priority: 1 }), q.add(t('crab'), { priority: 0, id: 'crab' }), q.add(t('f0.5'), { priority: 0.5 }),
    ];
    assert.equal(q.sizeBy({ priority: 1 }), 2);
    q.setPriority('crab', 2);
    assert.throws(() => q.setPriority('no such id', 5), ReferenceError);
    q.setPriority('5', 0.75); // Added without an id: the fifth added, 'd-1'.
    await Promise.all(ps);
    assert.deepEqual(order, ['running', 'crab', 'c1', 'e1', 'd-1', 'f0.5', 'a0', 'b0']);
    assert.throws(() => q.setPriority('crab', NaN), { name: 'TypeError', message: /`priority`/ });
  });

  it('starts at most intervalCap tasks in each interval, never early, and carries running ones over when asked', async () => {
    const q = new TaskQueue({ interval: 60, intervalCap: 2 });
    const t0 = performance.now();
    const starts = await Promise.all(Array.from({ length: 6 }, () => q.add(() => performance.now() - t0)));
    const windows = starts.map((ms) => Math.floor(ms / 60));
    assert.deepEqual(windows.slice(0, 2), [0, 0]);
    assert.ok(starts[2] >= 60 && starts[4] >= 120, starts.join(', '));
    for (let w = 0; w < 3; w++) assert.ok(windows.filter((x) => x === w).length <= 2);
    // With carryover, a task still running at the window's end takes a slot of the next.
    const c = new TaskQueue({ interval: 50, intervalCap: 2, carryoverIntervalCount: true });
    const t1 = performance.now();
    const long = c.add(work(80));
    const more = Array.from({ length: 3 }, () => c.add(() => performance.now() - t1));
    const [s1, s2, s3] = await Promise.all(more);
    assert.ok(s1 < 50, `first ${s1}`);
    assert.ok(s2 >= 50 && s3 >= 100, `carried over: ${s2}, ${s3}`);
    await long;
  });

  it('autoStart: false waits for start(); pause() holds waiting tasks while running ones go on', async () => {
    const q = new TaskQueue({ autoStart: false, concurrency: 1 });
    let ran = 0;
    const ps = [q.add(() => { ran++; }), q.add(() => { ran++; })];
    await delay(5);
    assert.equal(ran, 0);
    assert.equal(q.isPaused, true);
    assert.equal(q.start(), q);
    await Promise.all(ps);
    assert.equal(ran, 2);
    const slow = q.add(work(10, 'slow'));
    const held = q.add(() => 'held');
    q.pause();
    assert.equal(await slow, 'slow');
    await delay(10);
    assert.equal(q.size, 1);
    q.start();
    assert.equal(await held, 'held');
  });

  it('clear() rejects each waiting task with AbortError (p-queue\'s never settle) and keeps the running one', async () => {
    const q = new TaskQueue({ concurrency: 1 });
    const running = q.add(work(10, 'kept'));
    const dropped = [q.add(work(1)), q.add(work(1))];
    const events = [];
    q.on('empty', () => events.push('empty'));
    q.clear();
    for (const p of dropped) await assert.rejects(p, (e) => e instanceof AbortError && e.code === 'ABORT_ERR');
    assert.equal(await running, 'kept');
    assert.equal(q.size, 0);
    assert.ok(events.includes('empty'));
  });

  it('onEmpty, onIdle, onSizeLessThan, onPendingZero and onError settle when they should', async () => {
    const q = new TaskQueue({ concurrency: 2 });
    await q.onIdle(); // Already idle.
    const done = [];
    for (let i = 0; i < 6; i++) q.add(work(3 + i));
    const fail = q.add(async () => { await delay(2); throw new Error('task failed'); });
    fail.catch(() => {});
    const waits = [
      q.onSizeLessThan(3).then(() => done.push(`<3 at ${q.size}`)),
      q.onEmpty().then(() => done.push(`empty at ${q.size}`)),
      q.onIdle().then(() => done.push(`idle at ${q.size + q.pending}`)),
      q.onError().then(() => done.push('no error?'), (e) => done.push(`error ${e.message}`)),
    ];
    await Promise.all(waits);
    assert.equal(done[0].startsWith('<3'), true, done.join('; '));
    assert.ok(done.includes('empty at 0') && done.includes('idle at 0') && done.includes('error task failed'), done.join('; '));
    q.add(work(5));
    await q.onPendingZero();
    assert.equal(q.pending, 0);
  });

  it('emits p-queue\'s events: add, active, completed, error, next, empty, idle, pendingZero', async () => {
    const q = new TaskQueue({ concurrency: 1 });
    const seen = [];
    for (const e of ['add', 'active', 'completed', 'error', 'next', 'empty', 'idle', 'pendingZero']) q.on(e, (v) => seen.push(v === undefined ? e : `${e}:${v instanceof Error ? v.message : v}`));
    q.add(() => 'one');
    q.add(() => { throw new Error('two'); }).catch(() => {});
    await q.onIdle();
    // The slot passes straight from one task to the next, so the running
    // count does not touch zero in between (p-queue's does, for a moment).
    assert.deepEqual(seen.filter((e) => !e.startsWith('empty') && !e.startsWith('next')), [
      'add', 'active', 'add', 'completed:one', 'active', 'error:two', 'pendingZero', 'idle']);
    assert.ok(seen.filter((e) => e === 'next').length === 2);
    let once = 0;
    q.once('completed', () => once++);
    await q.add(() => 1);
    await q.add(() => 2);
    assert.equal(once, 1);
  });

  it('aborts: a waiting task leaves at once, a running one rejects at the abort and its signal aborts', async () => {
    const q = new TaskQueue({ concurrency: 1 });
    const running = new AbortController();
    let seenSignal;
    const r = q.add(({ signal }) => { seenSignal = signal; return delay(200); }, { signal: running.signal });
    const waiting = new AbortController();
    const w = q.add(work(1), { signal: waiting.signal });
    const after = q.add(() => 'after');
    waiting.abort(new Error('not needed'));
    await assert.rejects(w, (e) => e instanceof AbortError && e.cause.message === 'not needed');
    assert.equal(q.size, 1);
    const t0 = performance.now();
    running.abort(new Error('stop'));
    await assert.rejects(r, (e) => e instanceof AbortError && e.cause.message === 'stop');
    assert.ok(performance.now() - t0 < 100);
    assert.equal(seenSignal.aborted, true);
    assert.equal(await after, 'after');
    await assert.rejects(q.add(() => 1, { signal: AbortSignal.abort() }), AbortError);
    assert.equal(abortListeners(running.signal) + abortListeners(waiting.signal), 0);
    await delay(210); // The aborted task's own delay ends.
  });

  it('times tasks out from their start: TimeoutError, or undefined with throwOnTimeout: false', async () => {
    const q = new TaskQueue({ concurrency: 1, timeout: 30 });
    let signal;
    const t0 = performance.now();
    const slow = q.add((o) => { signal = o.signal; return new Promise(() => {}); });
    const second = q.add(() => performance.now() - t0);
    await assert.rejects(slow, (e) => e instanceof TimeoutError && e.code === 'ETIMEDOUT' && /timed out after 30ms/.test(e.message));
    assert.equal(signal.aborted, true);
    assert.ok((await second) >= 30, 'the next task starts when the slot is freed at the timeout');
    assert.equal(await q.add(work(5, 'own'), { timeout: 100 }), 'own');
    const lenient = new TaskQueue({ timeout: 10, throwOnTimeout: false });
    assert.equal(await lenient.add(() => new Promise(() => {})), undefined);
    q.timeout = undefined;
    assert.equal(await q.add(work(40, 'no limit')), 'no limit');
  });

  it('reports runningTasks and raises concurrency at run time', async () => {
    const q = new TaskQueue({ concurrency: 1, timeout: 1000 });
    const a = q.add(work(20), { id: 'a', priority: 3 });
    const b = q.add(work(20), { id: 'b' });
    const [info] = q.runningTasks;
    assert.equal(q.runningTasks.length, 1);
    assert.deepEqual([info.id, info.priority, info.timeout], ['a', 3, 1000]);
    assert.ok(info.timeoutRemaining <= 1000 && info.timeoutRemaining > 900);
    q.concurrency = 2;
    assert.equal(q.pending, 2);
    await Promise.all([a, b]);
    assert.equal(q.runningTasks.length, 0);
  });

  it('runs 100,000 tasks that return at once, through addAll too, without overflowing the stack', async () => {
    const q = new TaskQueue({ concurrency: 1 });
    q.add(work(5));
    const values = await Promise.all(Array.from({ length: 100_000 }, (_, i) => q.add(() => i)));
    assert.equal(values[99_999], 99_999);
    assert.deepEqual(await q.addAll([() => 1, async () => 2]), [1, 2]);
  });

  it('runs each task in its caller\'s async context', async () => {
    const als = new AsyncLocalStorage();
    const q = new TaskQueue({ concurrency: 1 });
    q.add(work(5));
    const seen = await Promise.all(['A', 'B', 'C'].map((ctx) => als.run(ctx, () => q.add(() => als.getStore()))));
    assert.deepEqual(seen, ['A', 'B', 'C']);
  });

  it('settles every task under random priorities, aborts, timeouts, pauses and clears', async function () {
    this.timeout(30000);
    const rnd = seeded(4242);
    for (let round = 0; round < 20; round++) {
      const q = new TaskQueue({ concurrency: 1 + rnd(4), timeout: rnd(2) ? 15 : undefined, interval: rnd(3) === 0 ? 10 : 0, intervalCap: 3 });
      const all = [];
      let running = 0;
      let peak = 0;
      for (let i = 0; i < 60; i++) {
        const c = rnd(5) === 0 ? new AbortController() : undefined;
        all.push(q.add(async () => {
          running++;
          peak = Math.max(peak, running);
          await delay(rnd(20));
          running--;
          if (rnd(6) === 0) throw new Error('x');
          return i;
        }, { priority: rnd(3), signal: c && c.signal }).then(() => 'ok', (e) => e.name));
        if (c) setTimeout(() => c.abort(), rnd(30));
        if (rnd(20) === 0) q.pause();
        if (rnd(20) === 0) q.start();
        if (rnd(60) === 0) q.clear();
      }
      q.start();
      const outcomes = await Promise.all(all);
      assert.ok(outcomes.every((o) => ['ok', 'Error', 'AbortError', 'TimeoutError'].includes(o)), outcomes.join());
      assert.ok(peak <= q.concurrency + 60, 'sanity');
      await q.onIdle();
      await delay(25); // Tasks timed out or aborted still finish their own delay.
      assert.equal(q.size + q.pending, 0);
    }
  });

  it('keeps the process alive while the window holds tasks, and lets it exit when idle', async () => {
    const r = await runNode(`
      const { TaskQueue } = require('.');
      const q = new TaskQueue({ interval: 100, intervalCap: 1 });
      const t0 = Date.now();
      for (let i = 0; i < 3; i++) q.add(() => {}).then(() => process.stdout.write(String(Date.now() - t0 >= i * 100 ? i : 'early')));
    `);
    assert.equal(r.code, 0, r.stderr);
    assert.equal(r.stdout, '012');
    assert.ok(r.ms < 5000);
  });

  it('throws for bad options in the constructor; add rejects bad arguments', async () => {
    assert.throws(() => new TaskQueue({ concurrency: 0 }), { name: 'RangeError', message: /`options.concurrency`/ });
    assert.throws(() => new TaskQueue({ intervalCap: 1.5 }), { name: 'RangeError', message: /`options.intervalCap`/ });
    assert.throws(() => new TaskQueue({ interval: -1 }), { name: 'RangeError', message: /`options.interval`/ });
    assert.throws(() => new TaskQueue({ autoStart: 'yes' }), { name: 'TypeError', message: /`options.autoStart`/ });
    assert.throws(() => new TaskQueue(5), { name: 'TypeError', message: /`options`/ });
    const q = new TaskQueue();
    await assert.rejects(() => q.add(5), { name: 'TypeError', message: /`fn`/ });
    await assert.rejects(() => q.add(() => 1, { priority: 'high' }), { name: 'TypeError', message: /`options.priority`/ });
    await assert.rejects(() => q.add(() => 1, { signal: {} }), { name: 'TypeError', message: /`options.signal`/ });
    await assert.rejects(() => q.add(() => 1, { timeout: -5 }), { name: 'RangeError', message: /`options.timeout`/ });
    await assert.rejects(() => q.addAll(5), { name: 'TypeError', message: /`fns`/ });
    assert.throws(() => { q.concurrency = 0; }, RangeError);
  });
});
