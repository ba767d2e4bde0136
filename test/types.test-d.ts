// Type tests: compiled with `tsc -p test/tsconfig.json` as part of `npm test`.
// A line marked @ts-expect-error must fail to compile, or the check fails.
import {
  delay, withTimeout, retry, allSettled, mapWithLimit,
  RateLimiter, limit, limitFunction, Semaphore, Queue, TaskQueue, producerConsumer, attempt, timed, mapIterable,
  TimeoutError, AbortError, UvasyncError,
  fetch, Fetcher, FetchError, Response, WorkerPool, RedisStore, RateLimiter as RL,
} from 'uvasync';
import type { FetchResult, SettledResult, FetchErrorCode, RetryContext } from 'uvasync';

type Equal<A, B> = (<G>() => G extends A ? 1 : 2) extends (<G>() => G extends B ? 1 : 2) ? true : false;
function expectType<A, B>(_: Equal<A, B>): void {}

async function checks(): Promise<void> {
  const d = await delay(10, { value: 42 as const });
  expectType<typeof d, 42>(true);
  const u = await delay(10);
  expectType<typeof u, undefined>(true);

  const t1 = await withTimeout(Promise.resolve('x'), 10);
  expectType<typeof t1, string>(true);
  const t2 = await withTimeout(async (signal: AbortSignal) => 1, 10, { fallback: 'fb' });
  expectType<typeof t2, number | string>(true);
  const t3 = await withTimeout(Promise.resolve(1), 10, null);
  expectType<typeof t3, number | null>(true);

  const r1 = await retry(async (attempt) => attempt * 2, { retries: 2, backoff: 'linear' });
  expectType<typeof r1, number>(true);
  const r2 = await retry(() => Promise.resolve('s'), 3, 100);
  expectType<typeof r2, string>(true);

  const s1 = await allSettled([Promise.resolve(1), () => Promise.resolve('a')] as const);
  expectType<typeof s1, [SettledResult<number>, SettledResult<string>]>(true);
  const s2 = await allSettled(new Set([Promise.resolve(true)]));
  expectType<typeof s2, SettledResult<boolean>[]>(true);
  const first = s2[0];
  if (first.isFulfilled) expectType<typeof first.value, boolean>(true);

  const cleared = withTimeout(Promise.resolve(1), 10);
  cleared.clear();
  const skipped = await mapWithLimit([1, 2], 1, (n) => (n > 1 ? n : mapWithLimit.skip));
  expectType<typeof skipped, number[]>(true);
  for await (const v of mapIterable([1, 2], 2, async (n) => String(n), { backpressure: 4 })) expectType<typeof v, string>(true);
  const byObject = limit({ concurrency: 2 });
  const mapped = await byObject.map(['a'], (x, i) => x.length + i);
  expectType<typeof mapped, number[]>(true);
  const limited = limitFunction(async (a: number, b: string) => b.repeat(a), { concurrency: 1 });
  expectType<Awaited<ReturnType<typeof limited>>, string>(true);
  const tq = new TaskQueue({ concurrency: 2, interval: 100, intervalCap: 5 });
  const tv = await tq.add(async ({ signal }) => (signal ? 1 : 2), { priority: 1, id: 'x' });
  expectType<typeof tv, 1 | 2>(true);
  tq.on('completed', () => {});
  await tq.onIdle();
  await retry(() => 1, { maxRetryTime: 1000, unref: true });
  await retry(() => 1, {
    minTimeout: 10, maxTimeout: 100, randomize: true,
    onFailedAttempt: ({ attemptNumber, retriesLeft, retryDelay }: RetryContext) => { void (attemptNumber + retriesLeft + retryDelay); },
    shouldRetry: ({ error }) => error instanceof Error,
  });
  await delay(1, { ref: false });

  const m = await mapWithLimit([1, 2, 3], 2, async (n, i, signal) => String(n + i));
  expectType<typeof m, string[]>(true);
  async function* gen() { yield 1n; }
  const m2 = await mapWithLimit(gen(), Infinity, (n) => n * 2n);
  expectType<typeof m2, bigint[]>(true);

  const e = new TimeoutError();
  expectType<typeof e.code, 'ETIMEDOUT'>(true);
  const a: UvasyncError = new AbortError();
  void a;

  const rl = new RateLimiter({ rate: 5 });
  const waited = await rl.acquire(2, { signal: AbortSignal.timeout(10) });
  expectType<typeof waited, number>(true);
  const wrapped = rl.wrap((a: number, b: string) => b.repeat(a));
  expectType<Awaited<ReturnType<typeof wrapped>>, string>(true);

  const run = limit(2);
  const l = await run(async (x: number) => x > 1, 3);
  expectType<typeof l, boolean>(true);
  run.concurrency = 4;
  const release = await new Semaphore(1).acquire();
  release();

  const q = new Queue<string>({ capacity: 2 });
  await q.put('a');
  const got = await q.get();
  if (!got.done) expectType<typeof got.value, string>(true);
  for await (const item of q) expectType<typeof item, string>(true);

  const pc = await producerConsumer([1, 2], async (n) => `${n}`);
  expectType<typeof pc.results, (string | undefined)[]>(true);
  const at = await attempt(async () => 5);
  expectType<typeof at.value, number | undefined>(true);
  const tm = await timed(() => 'x');
  expectType<typeof tm.value, string>(true);

  // @ts-expect-error a queue of strings takes strings
  await q.put(5);
  // @ts-expect-error concurrency must be a number
  await mapWithLimit([1], '2', async (n) => n);
  // @ts-expect-error backoff takes one of three names
  await retry(async () => 1, { backoff: 'quadratic' });

  const res = await fetch('http://127.0.0.1/', { method: 'POST', body: 'x', headers: { a: 'b' }, timeout: 10 });
  expectType<typeof res, Response>(true);
  const j = await res.json<{ a: number }>();
  expectType<typeof j, { a: number }>(true);
  expectType<typeof res.headers, Headers>(true);
  const ct: string | null = res.headers.get('content-type');
  expectType<typeof res.body, ReadableStream<Uint8Array<ArrayBuffer>> | null>(true);
  const copy: Response = res.clone();
  const t: string = await copy.text();
  const pool = new WorkerPool({ filename: new URL('file:///tmp/task.js'), maxWorkers: 2 });
  const n = await pool.run<number>(1, { timeout: 100 });
  expectType<typeof n, number>(true);
  const ns = await pool.map<string>([1, 2], { ordered: false });
  expectType<typeof ns, string[]>(true);
  expectType<typeof pool.stats.utilization, number>(true);
  const procs = new WorkerPool({ filename: 'x.js', kind: 'process', env: { A: '1' }, resourceLimits: { maxOldGenerationSizeMb: 64 } });
  expectType<typeof procs.kind, 'thread' | 'process'>(true);
  const store = new RedisStore({ url: 'redis://127.0.0.1:6379/1', commandTimeout: 500 });
  const shared = new RL({ rate: 10, store, key: 'k', onStoreError: 'local' });
  const ok = await shared.tryAcquire();
  expectType<typeof ok, boolean>(true);
  expectType<ReturnType<typeof shared.tryAcquire>, Promise<boolean>>(true);
  const plain = new RL({ rate: 10 });
  expectType<ReturnType<typeof plain.tryAcquire>, boolean>(true);
  const shsem = new Semaphore(3, { store, key: 's', ttl: 5000 });
  const rel = await shsem.acquire();
  rel();
  await store.close();
  // @ts-expect-error no such kind
  new WorkerPool({ filename: 'x.js', kind: 'fiber' });
  await pool.close();
  const fetcher = new Fetcher({ concurrency: 4, perSecond: Infinity, retries: 2 });
  const all = await fetcher.fetchAll(['http://a/'], { onProgress: (done: number, total: number, r: FetchResult) => {} });
  expectType<typeof all, FetchResult[]>(true);
  for await (const r of fetcher.stream((async function* () { yield 'http://a/'; })())) {
    expectType<typeof r.status, number>(true);
    if (r.error !== undefined) expectType<typeof r.error, FetchError>(true);
    if (r.error !== undefined && r.error.type === 'max-size') expectType<typeof r.error.code, FetchErrorCode>(true);
  }
  // @ts-expect-error a number is not a URL
  await fetch(42);
  // @ts-expect-error not one of node-fetch's types
  if (new FetchError('m', 'EPROTO', 'u').type === 'bad-type') void 0;
  const aborted: 'aborted' = new AbortError().type;
  void aborted;
  const active: number = fetcher.stats.active;
  void active;
  await fetcher.close();
  const disposed: Promise<void> = fetcher[Symbol.asyncDispose]();
}
void checks;
