// bench/pool.mjs: WorkerPool against piscina, tinypool and workerpool (issue 16).
//
//   node bench/pool.mjs [--rounds N] [--noop N] [--cpu N] [--buf N]
//
// 2 workers each, 64 tasks in flight, every contender in this process and
// this run, rounds interleaved, the median shown. Cases: a no-op task; a
// task that spins 1 ms of CPU (beside the same tasks run one after another
// on this thread: "one thread"); a 1 MiB Buffer in and out, copied (no
// transfer lists). Each pool is made and warmed up before it is timed.
import { createRequire } from 'node:module';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const require = createRequire(import.meta.url);
const here = path.dirname(fileURLToPath(import.meta.url));
const argv = process.argv.slice(2);
const arg = (name, def) => {
  const i = argv.indexOf(name);
  return i >= 0 ? Number(argv[i + 1]) : def;
};
const rounds = arg('--rounds', 3);
const counts = { noop: arg('--noop', 100000), spin: arg('--cpu', 2000), buf: arg('--buf', 2000) };
const TASK = path.join(here, 'pool-task.js');
const INFLIGHT = 64;
const { WorkerPool } = require('../lib/index.js');
const { Piscina } = require('piscina');
const { Tinypool } = require('tinypool');
const workerpool = require('workerpool');
const { spin } = require('./pool-task.js');

const contenders = {
  uvasync: () => {
    const p = new WorkerPool({ filename: TASK, minWorkers: 2, maxWorkers: 2 });
    return { run: (name, x) => p.run(x, { name }), close: () => p.close() };
  },
  piscina: () => {
    const p = new Piscina({ filename: TASK, minThreads: 2, maxThreads: 2 });
    return { run: (name, x) => p.run(x, { name }), close: () => p.destroy() };
  },
  tinypool: () => {
    const p = new Tinypool({ filename: TASK, minThreads: 2, maxThreads: 2 });
    return { run: (name, x) => p.run(x, { name }), close: () => p.destroy() };
  },
  workerpool: () => {
    const p = workerpool.pool(path.join(here, 'pool-task-workerpool.js'), { minWorkers: 2, maxWorkers: 2, workerType: 'thread' });
    return { run: (name, x) => p.exec(name, [x]), close: () => p.terminate() };
  },
};

/** Runs n tasks with INFLIGHT outstanding; µs per task. */
async function drive(pool, name, arg0, n) {
  let started = 0;
  let failed = null;
  const t0 = performance.now();
  await new Promise((resolve) => {
    let done = 0;
    const one = () => {
      started++;
      pool.run(name, arg0).then((r) => {
        if (name === 'buf' && r.length !== arg0.length) failed = new Error(`${name}: ${r.length} bytes back`);
      }, (err) => { failed = err; }).finally(() => {
        done++;
        if (done === n) resolve();
        else if (started < n) one();
      });
    };
    for (let i = 0; i < Math.min(INFLIGHT, n); i++) one();
  });
  if (failed !== null) throw failed;
  return ((performance.now() - t0) * 1000) / n;
}

const big = Buffer.alloc(1 << 20, 7);
const cases = [['noop', 1], ['spin', 1], ['buf', big]];
const results = {};
for (const [c] of cases) results[c] = Object.fromEntries(Object.keys(contenders).map((k) => [k, []]));
results.spin['one thread'] = [];
for (let round = 0; round < rounds; round++) {
  for (const [c, a] of cases) {
    for (const [name, make] of Object.entries(contenders)) {
      const pool = make();
      await drive(pool, c, a, Math.min(2000, counts[c] / 10)); // warm-up
      results[c][name].push(await drive(pool, c, a, counts[c]));
      await pool.close();
    }
    if (c === 'spin') {
      const t0 = performance.now();
      for (let i = 0; i < counts.spin / 4; i++) spin(1);
      results.spin['one thread'].push(((performance.now() - t0) * 1000) / (counts.spin / 4));
    }
  }
}

const median = (xs) => xs.slice().sort((a, b) => a - b)[Math.floor(xs.length / 2)];
console.log(`WorkerPool vs peers, 2 workers, ${INFLIGHT} in flight, median of ${rounds} rounds (${process.version})`);
console.log('| case | uvasync | piscina | tinypool | workerpool | one thread | uvasync / best peer |');
console.log('|---|---|---|---|---|---|---|');
const label = { noop: `no-op task, µs/task (${counts.noop})`, spin: `1 ms CPU task, µs/task (${counts.spin})`, buf: `1 MiB Buffer in and out, µs/task (${counts.buf})` };
for (const [c] of cases) {
  const m = Object.fromEntries(Object.entries(results[c]).map(([k, v]) => [k, median(v)]));
  const best = Math.min(m.piscina, m.tinypool, m.workerpool);
  const one = m['one thread'] !== undefined ? m['one thread'].toFixed(0) : '–';
  console.log(`| ${label[c]} | ${m.uvasync.toFixed(1)} | ${m.piscina.toFixed(1)} | ${m.tinypool.toFixed(1)} | ${m.workerpool.toFixed(1)} | ${one} | ${(m.uvasync / best).toFixed(2)}× |`);
}
const s = results.spin;
console.log(`1 ms CPU task: uvasync's throughput is ${(median(s['one thread']) / median(s.uvasync)).toFixed(2)}× one thread's`);
