// Type tests: compiled with `tsc -p test/tsconfig.json` as part of `npm test`.
// A line marked @ts-expect-error must fail to compile, or the check fails.
import {
  delay, withTimeout, retry, allSettled, mapWithLimit,
  TimeoutError, AbortError, UvasyncError,
} from 'uvasync';

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
  expectType<typeof s1, [PromiseSettledResult<number>, PromiseSettledResult<string>]>(true);
  const s2 = await allSettled(new Set([Promise.resolve(true)]));
  expectType<typeof s2, PromiseSettledResult<boolean>[]>(true);

  const m = await mapWithLimit([1, 2, 3], 2, async (n, i, signal) => String(n + i));
  expectType<typeof m, string[]>(true);
  async function* gen() { yield 1n; }
  const m2 = await mapWithLimit(gen(), Infinity, (n) => n * 2n);
  expectType<typeof m2, bigint[]>(true);

  const e = new TimeoutError();
  expectType<typeof e.code, 'ETIMEDOUT'>(true);
  const a: UvasyncError = new AbortError();
  void a;

  // @ts-expect-error concurrency must be a number
  await mapWithLimit([1], '2', async (n) => n);
  // @ts-expect-error backoff takes one of three names
  await retry(async () => 1, { backoff: 'quadratic' });
}
void checks;
