'use strict';
// Async context: what runs through a queue here runs in its caller's
// AsyncLocalStorage context, so request-scoped logging and tracing stay
// right (p-limit does the same with a promise reaction per task).
const assert = require('node:assert/strict');
const { AsyncLocalStorage } = require('node:async_hooks');
const u = require('..');

const als = new AsyncLocalStorage();
const CTX = ['A', 'B', 'C'];
const inEach = (fn) => Promise.all(CTX.map((ctx) => als.run(ctx, fn)));

describe('async context', () => {
  it('limit(): a queued task runs in its caller\'s context', async () => {
    const run = u.limit(1);
    const seen = await inEach(() => run(async () => { await u.delay(1); return als.getStore(); }));
    assert.deepEqual(seen, CTX);
  });

  it('Semaphore, RateLimiter and Queue: a waiter resumes in its own context, whoever lets it go', async () => {
    const sem = new u.Semaphore(1);
    const first = await sem.acquire();
    const semSeen = inEach(async () => {
      const release = await sem.acquire();
      const ctx = als.getStore();
      await u.delay(1);
      release();
      return ctx;
    });
    als.run('releaser', () => setTimeout(first, 5));
    assert.deepEqual(await semSeen, CTX);

    const limiter = new u.RateLimiter({ rate: 200, capacity: 1 });
    await limiter.acquire();
    assert.deepEqual(await inEach(async () => { await limiter.acquire(); return als.getStore(); }), CTX);
    const wrapped = limiter.wrap(() => als.getStore());
    assert.deepEqual(await inEach(() => wrapped()), CTX);

    const q = new u.Queue({ capacity: 1 });
    const gets = inEach(async () => { await q.get(); return als.getStore(); });
    als.run('producer', () => { for (const x of CTX) q.put(x); });
    assert.deepEqual(await gets, CTX);
  });

  it('mapWithLimit, mapIterable, allSettled and retry: the work runs in the caller\'s context', async () => {
    const seen = await inEach(() => u.mapWithLimit([1, 2, 3], 2, async () => { await u.delay(1); return als.getStore(); }));
    assert.deepEqual(seen, CTX.map((c) => [c, c, c]));
    const it = await inEach(async () => {
      const out = [];
      for await (const v of u.mapIterable([1, 2], 1, async () => als.getStore())) out.push(v);
      return out;
    });
    assert.deepEqual(it, CTX.map((c) => [c, c]));
    const settled = await inEach(() => u.allSettled([() => als.getStore(), () => u.delay(1).then(() => als.getStore())], { concurrency: 1 }));
    assert.deepEqual(settled.map((r) => r.map((x) => x.value)), CTX.map((c) => [c, c]));
    let n = 0;
    const retried = await inEach(() => u.retry(() => { if (++n % 2) throw new Error('again'); return als.getStore(); }, { delay: 1 }));
    assert.deepEqual(retried, CTX);
  });
});
