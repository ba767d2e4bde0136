'use strict';
// WorkerPool: tasks on real worker threads (the core's shared queue) and
// real child processes (frames on fd 3, read and written by the core), the
// same tests for both kinds where they mean the same.
const assert = require('node:assert/strict');
const fs = require('node:fs');
const path = require('node:path');
const { WorkerPool, AbortError, TimeoutError } = require('..');
const { runNode } = require('./helpers');

const TASKS = path.join(__dirname, 'fixtures', 'pool', 'tasks.js');
const threads = () => fs.readdirSync('/proc/self/task').length;
/** This process's child processes (live ones: zombies are being reaped). */
function children() {
  const out = [];
  for (const d of fs.readdirSync('/proc')) {
    if (!/^\d+$/.test(d)) continue;
    try {
      const stat = fs.readFileSync(`/proc/${d}/stat`, 'utf8');
      const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
      if (Number(f[1]) === process.pid && f[0] !== 'Z') out.push(Number(d));
    } catch {
      // Gone meanwhile.
    }
  }
  return out;
}
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

/** Waits until `f()` holds (10 s at most). */
async function until(f) {
  const end = Date.now() + 10000;
  while (!f()) {
    if (Date.now() > end) throw new Error(`never came true: ${f}`);
    await sleep(5);
  }
}

for (const kind of ['thread', 'process']) describe(`WorkerPool (${kind})`, () => {
  let pool;
  // Threads or child processes, as the kind has them.
  const workersNow = kind === 'thread' ? threads : () => children().length;
  afterEach(async () => {
    if (pool !== undefined) await pool.destroy();
    pool = undefined;
  });

  it(`runs tasks on worker ${kind === 'thread' ? 'threads' : 'processes'}: results, structured-clone payloads, a Buffer back as a Buffer, CJS and ESM`, async () => {
    pool = new WorkerPool({ kind, filename: TASKS, maxWorkers: 2 });
    assert.equal(await pool.run(41), 41);
    assert.equal(await pool.run({ a: 1, b: 2 }, { name: 'add' }), 3);
    const value = { d: new Date(5), m: new Map([[1, 'x']]), s: new Set([2]), f: new Float64Array([1.5]), big: 10n, re: /a/g, e: new RangeError('r') };
    const back = await pool.run(value, { name: 'echo' });
    assert.deepEqual(back.d, value.d);
    assert.deepEqual([...back.m], [[1, 'x']]);
    assert.ok(back.s.has(2));
    assert.ok(back.f instanceof Float64Array && back.f[0] === 1.5);
    assert.equal(back.big, 10n);
    assert.ok(back.e instanceof RangeError && back.e.message === 'r');
    for (const size of [0, 1, 1000, 3 << 20]) {
      const b = Buffer.alloc(size, 7);
      const r = await pool.run(b, { name: 'echo' });
      assert.ok(Buffer.isBuffer(r), `${size}: a Buffer`);
      assert.ok(r.equals(b));
      const u = await pool.run(new Uint8Array([1, 2, 3]), { name: 'echo' });
      assert.ok(u instanceof Uint8Array && !Buffer.isBuffer(u));
      assert.deepEqual([...u], [1, 2, 3]);
    }
    const nested = await pool.run({ b: Buffer.from('in an object') }, { name: 'echo' });
    assert.ok(Buffer.isBuffer(nested.b) && nested.b.toString() === 'in an object');
    // A text of every length, non-ASCII at the ends.
    for (let n = 0; n < 300; n += 37) {
      const s = `é${'ж'.repeat(n)}😀`;
      assert.equal(await pool.run(s, { name: 'echo' }), s);
    }
    // What goes as itself, not through the serializer, comes back as structured clone gives it.
    for (const v of [0, -0, NaN, Infinity, -1.5, 2 ** 53 + 2, '', 'a', true, false, null, undefined, '\ud800 lone', 'x\udc00', 5n]) {
      assert.ok(Object.is(await pool.run(v, { name: 'echo' }), v), String(v));
    }
    await assert.rejects(pool.run(() => 1), { name: 'DataCloneError' });
    const esm = new WorkerPool({ kind, filename: path.join(__dirname, 'fixtures', 'pool', 'esm.mjs'), maxWorkers: 1 });
    assert.deepEqual(await esm.run(1), { esm: 1 });
    assert.equal(await esm.run(21, { name: 'twice' }), 42);
    await assert.rejects(esm.run(1, { name: 'nope' }), { code: 'ERR_INVALID_ARG_VALUE', message: /no function export named `nope`/ });
    await esm.close();
  });

  it('rejects with the error as the worker threw it: name, message, stack, code, cause and own properties', async () => {
    pool = new WorkerPool({ kind, filename: TASKS, maxWorkers: 1 });
    const err = await pool.run({ code: 'E_MINE', message: 'bad input' }, { name: 'fail' }).catch((e) => e);
    assert.ok(err instanceof TypeError);
    assert.equal(err.message, 'bad input');
    assert.equal(err.code, 'E_MINE');
    assert.deepEqual(err.detail, { n: 1 });
    assert.equal(err.cause.message, 'the cause');
    assert.match(err.stack, /tasks\.js/);
    const custom = await pool.run(null, { name: 'custom' }).catch((e) => e);
    assert.equal(custom.name, 'MyError');
    assert.equal(custom.message, 'mine');
    await assert.rejects(pool.run(null, { name: 'throwValue' }), (e) => e === 42);
    // The worker goes on after a throw.
    assert.equal(await pool.run(5), 5);
    assert.equal(pool.stats.workers, 1);
  });

  it('keeps one queue for all workers: short tasks do not wait behind a long one', async () => {
    pool = new WorkerPool({ kind, filename: TASKS, maxWorkers: 2, minWorkers: 2 });
    await Promise.all([pool.run(null, { name: 'thread' }), pool.run(null, { name: 'thread' })]);
    // Long enough for 20 round trips to the other worker: under ASan on a
    // slow machine 300 ms were not (2026-12-07).
    const long = pool.run(process.env.UVASYNC_ASAN ? 3000 : 300, { name: 'spin' });
    const order = [];
    long.then(() => order.push('long'));
    const shorts = await Promise.all(Array.from({ length: 20 }, (_, i) => pool.run(1, { name: 'spin' }).then((tid) => { order.push(i); return tid; })));
    await long;
    // Every short one ran on the other worker, before the long one ended.
    assert.equal(new Set(shorts).size, 1);
    assert.equal(order[order.length - 1], 'long');
  });

  it('map: input order, or finishing order; progress; items pulled lazily', async () => {
    pool = new WorkerPool({ kind, filename: TASKS, maxWorkers: 2 });
    const progress = [];
    const r = await pool.map([30, 1, 20, 2], { name: 'later', onProgress: (done, total) => progress.push([done, total]) });
    assert.deepEqual(r, [30, 1, 20, 2]);
    assert.deepEqual(progress.map((p) => p[0]), [1, 2, 3, 4]);
    // The 1 ms task may wait for the second worker to start (a process
    // under ASan on a slow machine took over 60 ms): the long one is long.
    const unordered = await pool.map([1500, 1], { name: 'later', ordered: false, concurrency: 2 });
    assert.deepEqual(unordered, [1, 1500]);
    let pulled = 0;
    function* lazy() {
      for (let i = 0; i < 1000; i++) {
        pulled++;
        yield i;
      }
    }
    const seen = [];
    const all = pool.map(lazy(), { concurrency: 4, onProgress: () => seen.push(pulled) });
    assert.equal((await all).length, 1000);
    // Never more than `concurrency` items ahead of what has finished.
    assert.ok(seen.every((p, i) => p <= i + 1 + 4), `pulled ahead: ${seen.slice(0, 10)}`);
    async function* asyncItems() {
      yield { a: 1, b: 1 };
      yield { a: 2, b: 2 };
    }
    assert.deepEqual(await pool.map(asyncItems(), { name: 'add' }), [2, 4]);
    const ac = new AbortController();
    const aborted = pool.map([100, 100, 100, 100], { name: 'later', signal: ac.signal, concurrency: 1 });
    setTimeout(() => ac.abort(new Error('stop')), 20);
    await assert.rejects(aborted, { name: 'AbortError' });
  });

  it('abort and timeout: a queued task leaves the queue at once; a running one gets its worker replaced', async () => {
    pool = new WorkerPool({ kind, filename: TASKS, maxWorkers: 1, minWorkers: 1 });
    const blocker = pool.run(null, { name: 'hang' });
    blocker.catch(() => {});
    await until(() => pool.stats.active === 1);
    const ac = new AbortController();
    const queued = pool.run(1, { signal: ac.signal });
    const reason = new Error('no longer needed');
    ac.abort(reason);
    await assert.rejects(queued, (e) => e instanceof AbortError && e.cause === reason);
    assert.equal(pool.stats.queued, 0);
    const timedQueued = pool.run(1, { timeout: 20 });
    await assert.rejects(timedQueued, (e) => e instanceof TimeoutError && e.code === 'ETIMEDOUT');
    blocker.catch(() => {});
    await pool.destroy();
    // A running one: its worker is terminated and replaced.
    pool = new WorkerPool({ kind, filename: TASKS, maxWorkers: 1, minWorkers: 1 });
    const first = await pool.run(null, { name: 'thread' });
    const hung = pool.run(null, { name: 'hang', timeout: 50 });
    await assert.rejects(hung, { name: 'TimeoutError' });
    const second = await pool.run(null, { name: 'thread' });
    assert.notEqual(second, first, 'a new worker after the timeout');
    const ac2 = new AbortController();
    const running = pool.run(null, { name: 'hang', signal: ac2.signal });
    await until(() => pool.stats.active === 1);
    ac2.abort(reason);
    await assert.rejects(running, (e) => e instanceof AbortError && e.cause === reason);
    const third = await pool.run(null, { name: 'thread' });
    assert.notEqual(third, second, 'a new worker after the abort');
    assert.equal(pool.stats.workers, 1);
  });

  it('a worker that dies rejects only its own task, and the pool starts a replacement', async function () {
    this.timeout(40000); // 8.5 s under ASan on a slow machine (2026-12-07).
    pool = new WorkerPool({ kind, filename: TASKS, maxWorkers: 2, minWorkers: 2, resourceLimits: { maxOldGenerationSizeMb: 32 } });
    const ways = [['exit', 3], ['timerThrow', null], ['oom', null]];
    for (const [name, arg] of ways) {
      const others = Array.from({ length: 6 }, (_, i) => pool.run(i + 1, { name: 'later' }));
      const err = await pool.run(arg, { name }).catch((e) => e);
      assert.equal(err.code, 'ERR_WORKER_EXITED', `${name}: ${err.stack}`);
      assert.ok(typeof err.exitCode === 'number' || typeof err.signal === 'string', `${err.exitCode} ${err.signal}`);
      if (name === 'exit') assert.equal(err.exitCode, 3);
      if (kind === 'thread') {
        if (name === 'timerThrow') assert.equal(err.cause.message, 'thrown in a timer');
        if (name === 'oom') assert.equal(err.cause.code, 'ERR_WORKER_OUT_OF_MEMORY');
      } else {
        // A process: what its exit tells (the error went to its stderr).
        if (name === 'timerThrow') assert.equal(err.exitCode, 1);
        if (name === 'oom') assert.ok(err.signal === 'SIGABRT' || err.exitCode === 134, `${err.exitCode} ${err.signal}`);
      }
      assert.deepEqual(await Promise.all(others), [1, 2, 3, 4, 5, 6], `${name}: the others`);
      await until(() => pool.stats.workers === 2);
    }
    assert.equal(await pool.run(9), 9);
  });

  it('settles 2,000 tasks (500 under ASan) among random aborts, timeouts and crashes, and leaves exactly maxWorkers workers', async function () {
    // Under ASan each of the ~80 workers this replaces starts slowly: 2,000
    // processes' tasks took 155 s on a slow machine (2026-12-07).
    this.timeout(180000);
    const total = process.env.UVASYNC_ASAN ? 500 : 2000;
    pool = new WorkerPool({ kind, filename: TASKS, maxWorkers: 3 });
    let seed = 7;
    const rand = () => ((seed = (seed * 1103515245 + 12345) % 2147483648) / 2147483648);
    const all = [];
    for (let i = 0; i < total; i++) {
      const r = rand();
      const ac = new AbortController();
      let p;
      if (r < 0.02) p = pool.run(1, { name: 'exit' });
      else if (r < 0.04) p = pool.run(null, { name: 'hang', timeout: 5 + Math.floor(rand() * 20) });
      else p = pool.run(Math.floor(rand() * 3), { name: 'later', signal: ac.signal });
      if (r > 0.9) setTimeout(() => ac.abort(), Math.floor(rand() * 10));
      all.push(p);
    }
    const out = await Promise.allSettled(all);
    assert.equal(out.length, total);
    const codes = new Set(out.filter((o) => o.status === 'rejected').map((o) => o.reason.code));
    for (const c of codes) assert.ok(['ERR_WORKER_EXITED', 'ETIMEDOUT', 'ABORT_ERR'].includes(c), c);
    // A worker lost when nothing was waiting is not replaced (minWorkers is
    // 0, as piscina refills to its minimum only); work brings the pool back to
    // maxWorkers, and never past it.
    assert.deepEqual(await Promise.all(Array.from({ length: 6 }, () => pool.run(20, { name: 'later' }))), Array(6).fill(20));
    assert.equal(pool.stats.workers, 3);
    if (kind === 'process') assert.equal(children().length, 3);
    assert.equal(await pool.run(1), 1);
    assert.deepEqual([pool.stats.queued, pool.stats.active], [0, 0]);
  });

  it(`close() finishes what is queued then stops every ${kind}; destroy() rejects the rest; none is left`, async function () {
    this.timeout(40000); // 8.5 s under ASan on a slow machine (2026-12-07).
    const base = workersNow();
    const p = new WorkerPool({ kind, filename: TASKS, maxWorkers: 3 });
    const work = Array.from({ length: 30 }, (_, i) => p.run(i % 3, { name: 'later' }));
    const closing = p.close();
    await assert.rejects(p.run(1), { code: 'ERR_POOL_CLOSED' });
    assert.deepEqual(await Promise.all(work), Array.from({ length: 30 }, (_, i) => i % 3));
    await closing;
    await until(() => workersNow() <= base);
    const d = new WorkerPool({ kind, filename: TASKS, maxWorkers: 3 });
    const doomed = Array.from({ length: 10 }, () => d.run(null, { name: 'hang' }));
    for (const x of doomed) x.catch(() => {}); // Rejected by destroy(), looked at below.
    await until(() => d.stats.workers === 3);
    await d.destroy();
    for (const r of await Promise.allSettled(doomed)) assert.equal(r.reason.code, 'ERR_POOL_DESTROYED');
    await until(() => workersNow() <= base);
    assert.equal(d.stats.workers, 0);
  });

  it('works from inside a worker thread, and the process exits as soon as the pool is closed or idle', async function () {
    this.timeout(40000); // 12 s under ASan on a slow machine (2026-12-07).
    // A thread pool's worker makes a pool of this kind.
    pool = new WorkerPool({ filename: TASKS, maxWorkers: 1 });
    assert.equal(await pool.run({ n: 41, kind }, { name: 'nested' }), 42);
    // An idle pool keeps nothing alive; a closed one neither.
    // (A child left running is killed at 15 s and fails the test.)
    for (const how of ['idle', 'close']) {
      // Run with node -e, whose flags a child process must not inherit: a
      // child that ran this script again would exit 7, and its task fail.
      const code = `if (process.env.UVA_POOL_TEST_CHILD) process.exit(7);
        process.env.UVA_POOL_TEST_CHILD = '1';
        const { WorkerPool } = require('./lib');
        const pool = new WorkerPool({ kind: '${kind}', filename: ${JSON.stringify(TASKS)}, maxWorkers: 2, minWorkers: 2 });
        pool.run(2).then((r) => { console.log('got', r); if (${JSON.stringify(how)} === 'close') pool.close(); });`;
      const r = await runNode(code, { timeout: 15000 });
      assert.equal(r.code, 0, r.stderr);
      assert.match(r.stdout, /got 2/);
    }
  });

  it('idleTimeout: after that long without a task, the workers above minWorkers stop; new work starts them again', async () => {
    pool = new WorkerPool({ kind, filename: TASKS, maxWorkers: 3, minWorkers: 1, idleTimeout: 50 });
    await Promise.all(Array.from({ length: 6 }, () => pool.run(20, { name: 'later' })));
    assert.equal(pool.stats.workers, 3);
    await until(() => pool.stats.workers === 1);
    await Promise.all(Array.from({ length: 6 }, () => pool.run(20, { name: 'later' })));
    assert.equal(pool.stats.workers, 3);
  });

  it('stats: counts, and utilization as the run time of the tasks over the capacity since the pool was made', async () => {
    const made = performance.now();
    pool = new WorkerPool({ kind, filename: TASKS, maxWorkers: 2, minWorkers: 2 });
    assert.equal(pool.stats.utilization, 0);
    const t0 = performance.now();
    await Promise.all([pool.run(100, { name: 'spin' }), pool.run(100, { name: 'spin' })]);
    const elapsed = performance.now() - t0;
    const s = pool.stats;
    const age = performance.now() - made;
    assert.deepEqual([s.completed, s.failed, s.queued, s.active, s.workers], [2, 0, 0, 0, 2]);
    // Each spin runs about 100 ms (counted to the ms: 190 for two) and at most the `elapsed` its run()
    // took, over 2 workers' capacity since the pool was made (older than
    // `elapsed`, younger than `age`).  (A bound of 210 ms of run time failed
    // under ASan on a slow machine, 2026-12-07: the pool's count of a task's
    // time includes its trip to the worker and back.)
    assert.ok(s.utilization >= 190 / (2 * age) && s.utilization <= 1, `${s.utilization} (elapsed ${elapsed.toFixed(0)} ms, age ${age.toFixed(0)} ms)`);
    await pool.run(null, { name: 'fail' }).catch(() => {});
    assert.equal(pool.stats.failed, 1);
  });

  it('maxQueue: past that many tasks waiting beyond the busy workers, run() rejects with ERR_POOL_QUEUE_FULL', async () => {
    pool = new WorkerPool({ kind, filename: TASKS, maxWorkers: 1, minWorkers: 1, maxQueue: 2 });
    const running = pool.run(null, { name: 'hang' });
    running.catch(() => {});
    await until(() => pool.stats.active === 1);
    const waiting = [pool.run(1), pool.run(2)];
    await assert.rejects(pool.run(3), { code: 'ERR_POOL_QUEUE_FULL' });
    assert.equal(pool.stats.queued, 2);
    for (const w of waiting) w.catch(() => {});
  });

  it('maxQueue: a worker that has taken its first task no longer makes room for one more, even before its ready message', async () => {
    pool = new WorkerPool({ kind, filename: TASKS, maxWorkers: 1, minWorkers: 0, maxQueue: 1 });
    const running = pool.run(null, { name: 'hang' });
    const waiting = pool.run(1); // The starting worker will take one of the two.
    for (const p of [running, waiting]) p.catch(() => {});
    await assert.rejects(pool.run(2), { code: 'ERR_POOL_QUEUE_FULL' });
    if (kind === 'thread') {
      // A thread takes its first task from the core's queue as it attaches;
      // its ready message cannot reach this thread while it spins.  When
      // the pool counted workers as starting until that message, one task
      // more got in here (a libcurl 8 CI pass hung on it, 2026-12-07).
      const end = Date.now() + 20000;
      while (pool._native.counts()[0] !== 1) {
        if (Date.now() > end) throw new Error('the worker never took its task');
      }
    } else {
      await until(() => pool.stats.active === 1);
    }
    const third = pool.run(3);
    third.catch(() => {});
    assert.equal(pool.stats.queued, 1, 'one task more was let in');
    await assert.rejects(third, { code: 'ERR_POOL_QUEUE_FULL' });
  });

  it('a module that exits as it loads fails the waiting tasks with ERR_WORKER_INIT_FAILED, not a worker started for ever', async () => {
    pool = new WorkerPool({ kind, filename: path.join(__dirname, 'fixtures', 'pool', 'exits.js'), maxWorkers: 2 });
    const all = await Promise.allSettled([pool.run(1), pool.run(2), pool.run(3)]);
    for (const r of all) assert.equal(r.reason.code, 'ERR_WORKER_INIT_FAILED');
    assert.match(all[0].reason.message, /exited with code 3 before it loaded/);
    // The second worker may still be starting (a process under ASan on a
    // slow machine took over 100 ms, 2026-12-07): it too exits; then none
    // is started again while nothing waits.
    await until(() => pool.stats.workers === 0);
    await sleep(300);
    assert.equal(pool.stats.workers, 0, 'none started again while nothing waits');
  });

  it('throws or rejects with TypeError/RangeError naming the argument', async () => {
    assert.throws(() => new WorkerPool(), { name: 'TypeError', message: /options/ });
    assert.throws(() => new WorkerPool({ filename: 3 }), { name: 'TypeError', message: /options\.filename/ });
    assert.throws(() => new WorkerPool({ filename: TASKS, kind: 'fiber' }), { name: 'TypeError', message: /options\.kind/ });
    assert.throws(() => new WorkerPool({ kind, filename: TASKS, maxWorkers: 0 }), { name: 'RangeError', message: /options\.maxWorkers/ });
    assert.throws(() => new WorkerPool({ kind, filename: TASKS, minWorkers: 3, maxWorkers: 2 }), { name: 'RangeError', message: /options\.minWorkers/ });
    assert.throws(() => new WorkerPool({ kind, filename: TASKS, execArgv: '--x' }), { name: 'TypeError', message: /options\.execArgv/ });
    assert.throws(() => new WorkerPool({ kind, filename: TASKS, resourceLimits: 5 }), { name: 'TypeError', message: /options\.resourceLimits/ });
    assert.throws(() => new WorkerPool({ kind, filename: TASKS, env: 'x' }), { name: 'TypeError', message: /options\.env/ });
    // An execArgv new Worker() refuses: the task rejects (it never waits for a worker that cannot start).
    const refused = new WorkerPool({ kind, filename: TASKS, maxWorkers: 1, execArgv: ['--no-such-flag-at-all'] });
    await assert.rejects(refused.run(1), { code: 'ERR_WORKER_INIT_FAILED' });
    assert.equal(refused.stats.queued, 0);
    await refused.destroy();
    pool = new WorkerPool({ kind, filename: TASKS, maxWorkers: 1 });
    await assert.rejects(pool.run(1, { timeout: -1 }), { name: 'RangeError', message: /options\.timeout/ });
    await assert.rejects(pool.run(1, { name: 5 }), { name: 'TypeError', message: /options\.name/ });
    await assert.rejects(pool.run(1, { signal: {} }), { name: 'TypeError', message: /options\.signal/ });
    await assert.rejects(pool.map([1], { concurrency: 0 }), { name: 'RangeError', message: /concurrency/ });
    const missing = new WorkerPool({ kind, filename: path.join(__dirname, 'fixtures', 'pool', 'missing.js'), maxWorkers: 1 });
    await assert.rejects(missing.run(1), { code: 'ERR_WORKER_INIT_FAILED' });
    await missing.destroy();
  });
});

describe('WorkerPool (process): what only processes have', () => {
  let pool;
  afterEach(async () => {
    if (pool !== undefined) await pool.destroy();
    pool = undefined;
  });

  it('a child killed with SIGKILL rejects only its own task, with the signal, and is replaced', async () => {
    pool = new WorkerPool({ kind: 'process', filename: TASKS, maxWorkers: 2, minWorkers: 2 });
    await Promise.all([pool.run(30, { name: 'later' }), pool.run(30, { name: 'later' })]); // Both started.
    const running = pool.run(null, { name: 'hang' });
    await until(() => pool.stats.active === 1);
    const old = children();
    // Both die: the busy one's task rejects, the idle one's death costs no task.
    for (const p of old) process.kill(p, 'SIGKILL');
    const err = await running.catch((e) => e);
    assert.equal(err.code, 'ERR_WORKER_EXITED');
    assert.equal(err.signal, 'SIGKILL');
    assert.equal(err.exitCode, null);
    assert.match(err.message, /killed by SIGKILL/);
    // Once the pool has seen both go (a task written to a child whose death
    // it has not read yet would go with that child), both are replaced.
    await until(() => pool.stats.workers === 2 && children().length === 2 && children().every((p) => !old.includes(p)));
    assert.deepEqual(await Promise.all(Array.from({ length: 4 }, (_, i) => pool.run(i, { name: 'later' }))), [0, 1, 2, 3]);
    // One killed while it starts is replaced too (the tasks waiting stay).
    const mine = children();
    const starting = new WorkerPool({ kind: 'process', filename: TASKS, maxWorkers: 1 });
    const waiting = starting.run(5);
    let fresh;
    await until(() => (fresh = children().filter((c) => !mine.includes(c))).length === 1);
    process.kill(fresh[0], 'SIGKILL'); // Before its module has loaded (or while it runs the task: then it fails).
    const r = await waiting.catch((e) => e);
    assert.ok(r === 5 || r.signal === 'SIGKILL', String(r));
    await starting.close();
    const self = await pool.run(null, { name: 'killSelf' }).catch((e) => e);
    assert.equal(self.signal, 'SIGKILL');
    assert.equal(await pool.run(7), 7);
    assert.equal(pool.stats.failed, 2);
  });

  it('a child has /dev/null for stdin, the pool\'s socket on fd 3 only, and the env it was given', async () => {
    process.env.UVA_POOL_INHERITED = 'yes';
    pool = new WorkerPool({ kind: 'process', filename: TASKS, maxWorkers: 1 });
    const fds = await pool.run(null, { name: 'fds' });
    assert.equal(fds.stdin, '');
    assert.match(fds.fd3, /^socket:/);
    // What the task execs does not get the pool's socket.
    assert.equal(await pool.run(null, { name: 'cloexec' }), true);
    assert.equal(await pool.run('UVA_POOL_INHERITED', { name: 'env' }), 'yes');
    await pool.close();
    // The whole environment is the one given (and, under the ASan run, what
    // loads the sanitizer for the addon: a child without it cannot load it).
    const sanitizer = Object.fromEntries(['LD_PRELOAD', 'ASAN_OPTIONS', 'LSAN_OPTIONS', 'UBSAN_OPTIONS'].filter((k) => k in process.env).map((k) => [k, process.env[k]]));
    pool = new WorkerPool({ kind: 'process', filename: TASKS, maxWorkers: 1, env: { ...sanitizer, ONLY_THIS: 'é😀', SKIPPED: undefined } });
    assert.equal(await pool.run('ONLY_THIS', { name: 'env' }), 'é😀');
    assert.equal(await pool.run('UVA_POOL_INHERITED', { name: 'env' }), undefined);
    assert.equal(await pool.run('SKIPPED', { name: 'env' }), undefined);
    delete process.env.UVA_POOL_INHERITED;
  });

  it('a child that writes what is no frame, or a result for no task of its, is ended; only its task fails', async () => {
    pool = new WorkerPool({ kind: 'process', filename: TASKS, maxWorkers: 2, minWorkers: 2 });
    for (const name of ['garbage', 'forge']) {
      const others = Array.from({ length: 4 }, (_, i) => pool.run(i, { name: 'later' }));
      const err = await pool.run(null, { name }).catch((e) => e);
      assert.equal(err.code, 'ERR_WORKER_EXITED', name);
      assert.equal(err.signal, 'SIGKILL', name);
      assert.deepEqual(await Promise.all(others), [0, 1, 2, 3]);
    }
    await until(() => pool.stats.workers === 2);
    assert.equal(await pool.run(3), 3);
  });

  it('a worker thread terminated with its process pool at work leaves no child behind', async () => {
    const { Worker } = require('node:worker_threads');
    const before = children();
    for (let round = 0; round < 3; round++) {
      const w = new Worker(`
        const { parentPort } = require('node:worker_threads');
        const { WorkerPool } = require(${JSON.stringify(path.join(__dirname, '..'))});
        const pool = new WorkerPool({ kind: 'process', filename: ${JSON.stringify(TASKS)}, maxWorkers: 3 });
        for (let i = 0; i < 2; i++) pool.run(null, { name: 'hang' }).catch(() => {});
        pool.run(1).then(() => parentPort.postMessage('running'));`, { eval: true });
      await new Promise((resolve) => w.once('message', resolve));
      assert.equal(children().filter((c) => !before.includes(c)).length, 3);
      await w.terminate();
      await until(() => children().filter((c) => !before.includes(c)).length === 0);
    }
  });

  it('refuses what a child process cannot take', () => {
    const { SHARE_ENV } = require('node:worker_threads');
    assert.throws(() => new WorkerPool({ kind: 'process', filename: TASKS, env: SHARE_ENV }), { name: 'TypeError', message: /options\.env/ });
    assert.throws(() => new WorkerPool({ kind: 'process', filename: TASKS, resourceLimits: { stackSizeMb: 4 } }), { name: 'TypeError', message: /options\.resourceLimits\.stackSizeMb/ });
    assert.throws(() => new WorkerPool({ kind: 'process', filename: TASKS, resourceLimits: { maxOldGenerationSizeMb: 0 } }), { name: 'RangeError', message: /maxOldGenerationSizeMb/ });
  });
});
