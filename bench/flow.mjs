// bench/flow.mjs: uvasync's flow control against the peers, one run.
//
//   node --expose-gc bench/flow.mjs [--quick] [--only PREFIX]
import Bottleneck from 'bottleneck';
import { RateLimiter as TokenLimiter } from 'limiter';
import pLimit from 'p-limit';
import PQueue from 'p-queue';
import * as uva from '../lib/index.mjs';
import { createRequire } from 'node:module';
import { fileURLToPath as toPath } from 'node:url';
import { runCasesIsolated, table } from './harness.mjs';

const { binding } = createRequire(import.meta.url)('../lib/native.js');
const argv = process.argv.slice(2);
const QUICK = argv.includes('--quick');
const only = argv.includes('--only') ? argv[argv.indexOf('--only') + 1] : '';
const N = QUICK ? 20_000 : 100_000;
const REPS = QUICK ? 3 : 7;
const noop = async () => {};

// A minimal hand-written bounded promise queue: the floor for put/get pairs.
class HandQueue {
  constructor(capacity) { this.items = []; this.getters = []; this.putters = []; this.capacity = capacity; }
  put(x) {
    if (this.getters.length > 0) { this.getters.shift()(x); return Promise.resolve(); }
    if (this.items.length < this.capacity) { this.items.push(x); return Promise.resolve(); }
    return new Promise((resolve) => this.putters.push(() => { this.items.push(x); resolve(); }));
  }
  get() {
    if (this.items.length > 0) {
      const x = this.items.shift();
      if (this.putters.length > 0) this.putters.shift()();
      return Promise.resolve(x);
    }
    return new Promise((resolve) => this.getters.push(resolve));
  }
}

// The same with one call into C per put and per get that does nothing
// (binding.crossing, shaped like the queue's own calls): what any queue
// whose state lives in C pays on top of this one's work, through Node-API.
class HandQueueCrossing extends HandQueue {
  constructor(capacity) { super(capacity); this.c = { crossing: binding.crossing }; }
  put(x) { this.c.crossing(); return super.put(x); }
  get() { this.c.crossing(); return super.get(); }
}

// Each contender has its own driver: one driver shared by both would make
// its call sites polymorphic and measure the mix rather than each queue.
async function pairsUva(q) {
  const consumer = (async () => { for (let i = 0; i < N; i++) await q.get(); })();
  for (let i = 0; i < N; i++) await q.put(i);
  await consumer;
}

async function pairsHand(q) {
  const consumer = (async () => { for (let i = 0; i < N; i++) await q.get(); })();
  for (let i = 0; i < N; i++) await q.put(i);
  await consumer;
}

async function pairsHandCrossing(q) {
  const consumer = (async () => { for (let i = 0; i < N; i++) await q.get(); })();
  for (let i = 0; i < N; i++) await q.put(i);
  await consumer;
}

const cases = [];
for (const c of [8, 64]) {
  cases.push([`limit, concurrency ${c}, ${N.toLocaleString('en')} no-op tasks`, {
    uvasync: () => { const run = uva.limit(c); return Promise.all(Array.from({ length: N }, () => run(noop))); },
    'p-limit': () => { const run = pLimit(c); return Promise.all(Array.from({ length: N }, () => run(noop))); },
    'p-queue': () => { const q = new PQueue({ concurrency: c }); return Promise.all(Array.from({ length: N }, () => q.add(noop))); },
  }]);
}
// TaskQueue against p-queue: plain, and with an interval window so wide
// that it never holds a task back (what the window's bookkeeping costs).
for (const c of [8, 64]) {
  for (const windowed of [false, true]) {
    const opts = windowed ? { concurrency: c, interval: 1000, intervalCap: 1e9 } : { concurrency: c };
    cases.push([`TaskQueue, concurrency ${c}${windowed ? ', interval window' : ''}, ${N.toLocaleString('en')} no-op tasks`, {
      uvasync: () => { const q = new uva.TaskQueue(opts); return Promise.all(Array.from({ length: N }, () => q.add(noop))); },
      'p-queue': () => { const q = new PQueue(opts); return Promise.all(Array.from({ length: N }, () => q.add(noop))); },
    }]);
  }
}
// A rate no contender can reach: what is measured is each call's overhead.
// Calls are made all at once (Bottleneck takes milliseconds per call when
// each waits for the previous, which would make the run take hours).
const many = (n, f) => Promise.all(Array.from({ length: n }, f));
cases.push(['RateLimiter.acquire, never waiting', {
  uvasync: () => { const rl = new uva.RateLimiter({ rate: 1e9, capacity: 1e9 }); return many(N, () => rl.acquire()); },
  limiter: () => { const rl = new TokenLimiter({ tokensPerInterval: 1e9, interval: 'second' }); return many(N, () => rl.removeTokens(1)); },
}]);
// Bottleneck needs milliseconds a call, so it gets a case of its own with
// fewer calls (100,000 would take half an hour a round).
const FEW = 2_000;
cases.push(['RateLimiter.acquire, never waiting, 2,000 calls', {
  uvasync: () => { const rl = new uva.RateLimiter({ rate: 1e9, capacity: 1e9 }); return many(FEW, () => rl.acquire()); },
  limiter: () => { const rl = new TokenLimiter({ tokensPerInterval: 1e9, interval: 'second' }); return many(FEW, () => rl.removeTokens(1)); },
  Bottleneck: () => { const b = new Bottleneck(); return many(FEW, () => b.schedule(noop)); },
}, undefined, FEW]);
cases.push(['Queue put/get pairs, capacity 64', {
  uvasync: () => pairsUva(new uva.Queue({ capacity: 64 })),
  'hand-written': () => pairsHand(new HandQueue(64)),
  'hand-written + 2 calls into C': () => pairsHandCrossing(new HandQueueCrossing(64)),
}, 'hand-written']);

const rows = await runCasesIsolated(toPath(import.meta.url), cases, { ops: N, reps: REPS, only });
console.log(table(rows).join('\n'));
