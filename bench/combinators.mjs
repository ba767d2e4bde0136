// bench/combinators.mjs: uvasync's combinators against the peers, one run.
//
//   node --expose-gc bench/combinators.mjs [--quick] [--markdown]
//
// Each row is a median of ns per operation over several interleaved
// repetitions (after a warm-up), so every contender meets the same machine
// state.  Peak RSS is measured in a fresh child process per contender.
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import asyncLib from 'async';
import pLimit from 'p-limit';
import pMap from 'p-map';
import pRetry from 'p-retry';
import pSettle from 'p-settle';
import pTimeout from 'p-timeout';
import * as uva from '../lib/index.mjs';
import { fileURLToPath as toPath } from 'node:url';
import { runCasesIsolated, table } from './harness.mjs';

const argv = process.argv.slice(2);
const QUICK = argv.includes('--quick');
const N = QUICK ? 20_000 : 100_000;
const REPS = QUICK ? 3 : 7;
const self = fileURLToPath(import.meta.url);

const noop = async (x) => x;
const range = (n) => Array.from({ length: n }, (_, i) => i);

// ---- hand-written floors ----
async function handPool(items, c, fn) {
  const res = new Array(items.length);
  let next = 0;
  const worker = async () => {
    while (next < items.length) {
      const k = next++;
      res[k] = await fn(items[k]);
    }
  };
  await Promise.all(Array.from({ length: Math.min(c, items.length) }, worker));
  return res;
}

function handTimeout(promise, ms) {
  let t;
  return Promise.race([promise, new Promise((_, rej) => { t = setTimeout(() => rej(new Error('timeout')), ms); })])
    .finally(() => clearTimeout(t));
}

async function handRetry(fn, retries) {
  for (let i = 0; ; i++) {
    try {
      return await fn();
    } catch (e) {
      if (i >= retries) throw e;
    }
  }
}

// ---- cases: name -> { contender: async () => void } ----
function mapCases(c) {
  const items = range(N);
  return {
    uvasync: () => uva.mapWithLimit(items, c, noop),
    'p-map': () => pMap(items, noop, { concurrency: c }),
    'p-limit': () => { const limit = pLimit(c); return Promise.all(items.map((x) => limit(noop, x))); },
    'async.mapLimit': () => asyncLib.mapLimit(items, c, noop),
    'hand pool': () => handPool(items, c, noop),
  };
}

const never = new Promise(() => {});
const cases = [];
for (const c of [1, 8, 64, 1024]) cases.push([`mapWithLimit, concurrency ${c}`, mapCases(c), 'hand pool']);
cases.push(['withTimeout, resolves', {
  uvasync: () => Promise.all(range(N).map((i) => uva.withTimeout(Promise.resolve(i), 60_000))),
  'p-timeout': () => Promise.all(range(N).map((i) => pTimeout(Promise.resolve(i), { milliseconds: 60_000 }))),
  'hand-written': () => Promise.all(range(N).map((i) => handTimeout(Promise.resolve(i), 60_000))),
}, 'hand-written']);
cases.push(['withTimeout, times out at 1 ms', {
  uvasync: () => Promise.all(range(N).map(() => uva.withTimeout(never, 1).catch(() => {}))),
  'p-timeout': () => Promise.all(range(N).map(() => pTimeout(never, { milliseconds: 1 }).catch(() => {}))),
  'hand-written': () => Promise.all(range(N).map(() => handTimeout(never, 1).catch(() => {}))),
}, 'hand-written']);
cases.push(['retry, first try succeeds', {
  uvasync: () => Promise.all(range(N).map((i) => uva.retry(() => Promise.resolve(i), { retries: 3 }))),
  'p-retry': () => Promise.all(range(N).map((i) => pRetry(() => Promise.resolve(i), { retries: 3 }))),
  'plain loop': () => Promise.all(range(N).map((i) => handRetry(() => Promise.resolve(i), 3))),
}, 'plain loop']);
const mixed = () => range(N).map((i) => (i % 2 ? Promise.reject(new Error('x')) : Promise.resolve(i)));
cases.push(['allSettled, half rejected', {
  uvasync: () => uva.allSettled(mixed()),
  'Promise.allSettled': () => Promise.allSettled(mixed()),
  'p-settle': () => pSettle(mixed()),
}, 'Promise.allSettled']);

// Creating the inputs is part of every contender's time alike (the same
// mixed() or range()); the cost that differs is the library's.

// ---- peak RSS child ----
// Each contender runs in a fresh process.  The input is made only as the
// contender needs it: an array for the array-taking peers, a generator for
// the iterable rows, so those rows show what the run itself keeps.
const RSS_ROWS = [
  ['uvasync, array', 1_000_000, 64],
  ['uvasync, iterable', 1_000_000, 64],
  ['uvasync, iterable', 250_000, 64],
  ['uvasync, iterable', 1_000_000, 1024],
  ['p-map, array', 1_000_000, 64],
  ['p-map, iterable', 1_000_000, 64],
  ['hand pool, array', 1_000_000, 64],
];
async function rssChild(name, n, c) {
  function* gen() { for (let i = 0; i < n; i++) yield i; }
  const fns = {
    'uvasync, array': () => uva.mapWithLimit(range(n), c, noop),
    'uvasync, iterable': () => uva.mapWithLimit(gen(), c, noop),
    'p-map, array': () => pMap(range(n), noop, { concurrency: c }),
    'p-map, iterable': () => pMap(gen(), noop, { concurrency: c }),
    'hand pool, array': () => handPool(range(n), c, noop),
  };
  const base = process.memoryUsage.rss();
  let peak = base;
  const iv = setInterval(() => { peak = Math.max(peak, process.memoryUsage.rss()); }, 2);
  globalThis.gc();
  const heap0 = process.memoryUsage().heapUsed;
  const results = await fns[name]();
  peak = Math.max(peak, process.memoryUsage.rss());
  clearInterval(iv);
  globalThis.gc();
  // What the run keeps once it is done: the results array and nothing else.
  const retained = process.memoryUsage().heapUsed - heap0;
  process.stdout.write(JSON.stringify({ peak, base, retained, length: results.length }));
}

async function main() {
  if (argv[0] === '--rss') return rssChild(argv[1], Number(argv[2]), Number(argv[3]));
  const only = argv.includes('--only') ? argv[argv.indexOf('--only') + 1] : '';
  const rows = await runCasesIsolated(toPath(import.meta.url), cases, { ops: N, reps: REPS, only });
  const rss = [];
  for (const [name, n, c] of only && only !== 'rss' ? [] : RSS_ROWS) {
    const r = spawnSync(process.execPath, ['--expose-gc', self, '--rss', name, String(n), String(c)], { encoding: 'utf8' });
    const { peak, base, retained } = JSON.parse(r.stdout);
    rss.push({ name, n, c, peak: peak / 1048576, grew: (peak - base) / 1048576, perItem: retained / n });
    process.stderr.write(`peak RSS ${name} n=${n} c=${c}: ${(peak / 1048576).toFixed(0)} MB\n`);
  }
  const out = table(rows);
  if (rss.length > 0) {
    out.push('');
    out.push('| mapWithLimit, async no-op | items | concurrency | peak RSS (MB) | growth over the start (MB) | heap kept after the run, bytes per item (results included) |');
    out.push('|---|---:|---:|---:|---:|---:|');
    for (const r of rss) out.push(`| ${r.name} | ${r.n.toLocaleString('en')} | ${r.c} | ${r.peak.toFixed(0)} | ${r.grew.toFixed(0)} | ${r.perItem.toFixed(1)} |`);
  }
  console.log(out.join('\n'));
}

await main();
