// bench/pool.mjs: WorkerPool against piscina, tinypool and workerpool (issue 16).
//
//   node bench/pool.mjs [--rounds N] [--noop N] [--cpu N] [--buf N] [--pnoop N] [--pbuf N] [--only thread|process]
//
// 2 workers each, 64 tasks in flight, every contender in this process and
// this run, rounds interleaved, the median shown. Cases: a no-op task; a
// task that spins 1 ms of CPU (beside the same tasks run one after another
// on this thread: "one thread"); a 1 MiB Buffer in and out, copied (no
// transfer lists). Each pool is made and warmed up before it is timed.
// Then the process kind against the peers that have one (tinypool's
// child_process runtime, workerpool's process workers): a no-op task, and
// a 1 MiB Buffer in and out (and whether it came back a Buffer).
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
const counts = { noop: arg('--noop', 100000), spin: arg('--cpu', 2000), buf: arg('--buf', 2000), pnoop: arg('--pnoop', 20000), pbuf: arg('--pbuf', 60) };
const only = argv.includes('--only') ? argv[argv.indexOf('--only') + 1] : null;
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
        // What a peer's process pool gives back for a Buffer: JSON's { type, data }, or an object of indexes.
        let back = r;
        if (!(r instanceof Uint8Array) && r !== null && typeof r === 'object') back = r.type === 'Buffer' ? r.data : Object.keys(r);
        if (name === 'buf' && back.length !== arg0.length) failed = new Error(`${name}: ${back.length} bytes back`);
        if (name === 'buf') pool.plain = !Buffer.isBuffer(r);
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

const median = (xs) => xs.slice().sort((a, b) => a - b)[Math.floor(xs.length / 2)];
const big = Buffer.alloc(1 << 20, 7);

if (only !== 'process') {
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
}

// ---- the process kind ----------------------------------------------------------
const processContenders = {
  uvasync: () => {
    const p = new WorkerPool({ filename: TASK, kind: 'process', minWorkers: 2, maxWorkers: 2 });
    return { run: (name, x) => p.run(x, { name }), close: () => p.close() };
  },
  tinypool: () => {
    const p = new Tinypool({ filename: TASK, runtime: 'child_process', minThreads: 2, maxThreads: 2 });
    return { run: (name, x) => p.run(x, { name }), close: () => p.destroy() };
  },
  workerpool: () => {
    const p = workerpool.pool(path.join(here, 'pool-task-workerpool.js'), { minWorkers: 2, maxWorkers: 2, workerType: 'process' });
    return { run: (name, x) => p.exec(name, [x]), close: () => p.terminate() };
  },
};

if (only !== 'thread') {
  // The no-op's payload is the number 1 (it goes without a serializer in
  // uvasync); 'obj' sends and gets back a small object, which is serialized.
  const pcases = [['noop', 1, 'pnoop'], ['obj', { i: 1, s: 'x' }, 'pnoop'], ['buf', big, 'pbuf']];
  const presults = { noop: {}, obj: {}, buf: {} };
  const plain = {};
  for (const k of Object.keys(processContenders)) {
    presults.noop[k] = [];
    presults.obj[k] = [];
    presults.buf[k] = [];
  }
  for (let round = 0; round < rounds; round++) {
    for (const [c, a, count] of pcases) {
      for (const [name, make] of Object.entries(processContenders)) {
        const pool = make();
        const task = c === 'obj' ? 'noop' : c;
        await drive(pool, task, a, Math.max(20, Math.min(2000, counts[count] / 10))); // warm-up
        presults[c][name].push(await drive(pool, task, a, counts[count]));
        if (c === 'buf') plain[name] = pool.plain;
        await pool.close();
      }
    }
  }
  console.log(`\nWorkerPool kind 'process' vs peers, 2 processes, ${INFLIGHT} in flight, median of ${rounds} rounds`);
  console.log('| case | uvasync | tinypool (child_process) | workerpool (process) | uvasync / workerpool | uvasync / best peer |');
  console.log('|---|---|---|---|---|---|');
  const plabel = { noop: `no-op task, µs/task (${counts.pnoop})`, obj: `no-op task, an object in and out, µs/task (${counts.pnoop})`, buf: `1 MiB Buffer in and out, ms/task (${counts.pbuf})` };
  for (const [c] of pcases) {
    const m = Object.fromEntries(Object.entries(presults[c]).map(([k, v]) => [k, median(v) / (c === 'buf' ? 1000 : 1)]));
    const note = (k) => (c === 'buf' && plain[k] ? ' (not a Buffer)' : '');
    const digits = c === 'buf' ? 2 : 1;
    console.log(`| ${plabel[c]} | ${m.uvasync.toFixed(digits)}${note('uvasync')} | ${m.tinypool.toFixed(digits)}${note('tinypool')} | ${m.workerpool.toFixed(digits)}${note('workerpool')} | ${(m.uvasync / m.workerpool).toFixed(2)}× | ${(m.uvasync / Math.min(m.tinypool, m.workerpool)).toFixed(2)}× |`);
  }
}
