'use strict';
const assert = require('node:assert/strict');
const { mapWithLimit, mapIterable, delay, AbortError } = require('..');
const { binding } = require('../lib/native');
const { abortListeners } = require('./helpers');

function tracker() {
  const t = { active: 0, peak: 0, calls: 0 };
  t.fn = async (x, i, signal) => {
    t.calls++;
    t.active++;
    t.peak = Math.max(t.peak, t.active);
    await delay((x * 7) % 5);
    t.active--;
    return x * 10 + (signal instanceof AbortSignal ? 0 : 1000);
  };
  return t;
}

describe('mapWithLimit', () => {
  afterEach(() => assert.equal(binding.timersPending(), 0, 'a native timer was left pending'));

  for (const c of [1, 3, 8, Infinity]) {
    it(`never runs more than ${c} calls at once and keeps input order`, async () => {
      const t = tracker();
      const items = Array.from({ length: 40 }, (_, i) => i);
      const r = await mapWithLimit(items, c, t.fn);
      assert.deepEqual(r, items.map((x) => x * 10));
      assert.equal(t.peak, Math.min(c, 40));
      assert.equal(t.calls, 40);
    });
  }

  it('passes (item, index, signal) to fn', async () => {
    const seen = [];
    await mapWithLimit(['a', 'b'], 2, (item, index, signal) => { seen.push([item, index, signal.aborted]); });
    assert.deepEqual(seen, [['a', 0, false], ['b', 1, false]]);
  });

  it('accepts sync values and sync throws from fn', async () => {
    assert.deepEqual(await mapWithLimit([1, 2], 1, (x) => x + 1), [2, 3]);
    await assert.rejects(mapWithLimit([1, 2], 1, () => { throw new Error('sync'); }), /sync/);
  });

  it('pulls a sync iterable lazily: at most `concurrency` items taken ahead', async () => {
    let pulled = 0;
    let done = 0;
    let maxAhead = 0;
    function* source() {
      for (let i = 0; i < 30; i++) {
        pulled++;
        maxAhead = Math.max(maxAhead, pulled - done);
        yield i;
      }
    }
    const r = await mapWithLimit(source(), 4, async (x) => { await delay(1); done++; return x; });
    assert.equal(r.length, 30);
    assert.ok(maxAhead <= 4, `took ${maxAhead} ahead`);
  });

  it('pulls an async iterable lazily and keeps input order', async () => {
    let pulled = 0;
    let done = 0;
    let maxAhead = 0;
    async function* source() {
      for (let i = 0; i < 25; i++) {
        await delay(i % 2);
        pulled++;
        maxAhead = Math.max(maxAhead, pulled - done);
        yield i;
      }
    }
    const r = await mapWithLimit(source(), 3, async (x) => { await delay((x * 3) % 4); done++; return x * 2; });
    assert.deepEqual(r, Array.from({ length: 25 }, (_, i) => i * 2));
    assert.ok(maxAhead <= 3, `took ${maxAhead} ahead`);
  });

  it('runs an async iterable with Infinity concurrency', async () => {
    async function* source() { for (let i = 0; i < 10; i++) yield i; }
    const t = tracker();
    const r = await mapWithLimit(source(), Infinity, t.fn);
    assert.deepEqual(r, Array.from({ length: 10 }, (_, i) => i * 10));
  });

  it('handles empty inputs', async () => {
    assert.deepEqual(await mapWithLimit([], 2, async () => 1), []);
    assert.deepEqual(await mapWithLimit(new Set(), 2, async () => 1), []);
    assert.deepEqual(await mapWithLimit((async function* () {})(), 2, async () => 1), []);
  });

  it('with stopOnError, rejects with the first error and starts no new call', async () => {
    let started = 0;
    let unhandled = 0;
    const on = () => unhandled++;
    process.on('unhandledRejection', on);
    try {
      await assert.rejects(mapWithLimit(Array.from({ length: 100 }, (_, i) => i), 4, async (x) => {
        started++;
        await delay(2);
        if (x >= 5) throw new Error(`item ${x}`);
        return x;
      }), /item 5/);
      const at = started;
      await delay(20);
      assert.equal(started, at, 'a call started after the failure');
      assert.ok(started < 12, `started ${started}`);
      assert.equal(unhandled, 0);
    } finally {
      process.off('unhandledRejection', on);
    }
  });

  it('aborts the signal it gave to running calls when the run stops on an error', async () => {
    const signals = [];
    await assert.rejects(mapWithLimit([0, 1, 2], 3, async (x, i, signal) => {
      signals.push(signal);
      if (x === 0) throw new Error('first');
      await delay(20);
    }), /first/);
    assert.equal(signals[1].aborted, true);
    await delay(30); // The calls still running finish their own delays.
  });

  it('with stopOnError false, runs everything and rejects with an AggregateError in input order', async () => {
    let calls = 0;
    await assert.rejects(mapWithLimit([5, 1, 3, 0], 2, async (x) => {
      calls++;
      await delay(x);
      if (x !== 1) throw new Error(`e${x}`);
      return x;
    }, { stopOnError: false }), (err) => {
      assert.ok(err instanceof AggregateError);
      assert.deepEqual(err.errors.map((e) => e.message), ['e5', 'e3', 'e0']);
      return true;
    });
    assert.equal(calls, 4);
  });

  it('counts the calls, not the results, in the AggregateError of an iterable run', async () => {
    // 4 calls, 2 failures said "2 of 2 calls failed" (results.length).
    function* four() { yield 1; yield 2; yield 3; yield 4; }
    await assert.rejects(mapWithLimit(four(), 2, async (x) => { if (x > 2) throw new Error(`e${x}`); return x; }, { stopOnError: false }),
      (e) => e instanceof AggregateError && e.message === '2 of 4 calls failed' && e.errors.length === 2);
  });

  it('awaits promise elements before the mapper sees them, and leaves out what the mapper skips (p-map)', async () => {
    const seen = [];
    const out = await mapWithLimit([1, delay(10, { value: 2 }), Promise.resolve(3), 4], 2, async (x) => {
      seen.push(x);
      return x % 2 ? mapWithLimit.skip : x * 10;
    });
    assert.deepEqual(seen.sort(), [1, 2, 3, 4]);
    assert.deepEqual(out, [20, 40]);
    await assert.rejects(mapWithLimit([Promise.reject(new Error('element')), 2], 1, async (x) => x), /element/);
    // A rejected element far down the array is not unhandled while it waits its turn.
    const unhandled = [];
    const onUnhandled = (e) => unhandled.push(e);
    process.on('unhandledRejection', onUnhandled);
    try {
      const late = [delay(20), ...Array.from({ length: 5 }, (_, i) => i), Promise.reject(new Error('late'))];
      await assert.rejects(mapWithLimit(late, 1, async (x) => x), /late/);
      await delay(5);
    } finally {
      process.off('unhandledRejection', onUnhandled);
    }
    assert.deepEqual(unhandled, []);
  });

  it('mapIterable: results in input order, lazily, with at most `backpressure` held (p-map\'s pMapIterable)', async () => {
    let pulled = 0;
    let active = 0;
    let peak = 0;
    function* source() { for (let i = 0; i < 20; i++) { pulled++; yield i; } }
    const out = [];
    for await (const v of mapIterable(source(), 3, async (x) => {
      active++;
      peak = Math.max(peak, active);
      await delay((x * 7) % 5);
      active--;
      return x % 4 === 0 ? mapWithLimit.skip : x;
    }, { backpressure: 5 })) {
      out.push(v);
      assert.ok(pulled - out.length <= 5 + 5, `read ${pulled} for ${out.length} consumed`);
    }
    assert.deepEqual(out, Array.from({ length: 20 }, (_, i) => i).filter((i) => i % 4 !== 0));
    assert.equal(peak, 3);
    // Leaving early closes the source; a failure is thrown in its place.
    let closed = false;
    function* endless() { try { for (let i = 0; ; i++) yield i; } finally { closed = true; } }
    for await (const v of mapIterable(endless(), 2, async (x) => x)) if (v === 3) break;
    assert.equal(closed, true);
    const got = [];
    await assert.rejects((async () => { for await (const v of mapIterable([1, 2, 3], 1, async (x) => { if (x === 2) throw new Error('two'); return x; })) got.push(v); })(), /two/);
    assert.deepEqual(got, [1]);
    // A slow consumer does not idle the mapper: once a result is taken, the
    // next call starts at once, in the background, up to `backpressure`.
    const started = [];
    const it = mapIterable([1, 2, 3, 4, 5], 2, async (x) => { started.push(x); await delay(x === 1 ? 5 : 20); return x; }, { backpressure: 2 })[Symbol.asyncIterator]();
    assert.equal((await it.next()).value, 1);
    await delay(40); // Not pulling: 2 is done and held, 3 has run meanwhile.
    assert.deepEqual(started, [1, 2, 3]);
    assert.equal((await it.next()).value, 2);
    await it.return();
    await delay(30); // What was running finishes; nothing more starts.
    assert.ok(started.length <= 4, started.join());
    assert.throws(() => mapIterable(5, 1, async () => {}), { name: 'TypeError', message: /`source`/ });
    assert.throws(() => mapIterable([], 2, async () => {}, { backpressure: 1 }), { name: 'RangeError', message: /`options.backpressure`/ });
  });

  it('reports progress as (done, total)', async () => {
    const seen = [];
    await mapWithLimit([1, 2, 3], 2, async (x) => x, { onProgress: (d, t) => seen.push([d, t]) });
    assert.deepEqual(seen, [[1, 3], [2, 3], [3, 3]]);
    const iterSeen = [];
    await mapWithLimit(new Set([1, 2]), 2, async (x) => x, { onProgress: (d, t) => iterSeen.push([d, t]) });
    assert.deepEqual(iterSeen, [[1, undefined], [2, undefined]]);
  });

  it('rejects with AbortError when aborted before, during, and does nothing after', async () => {
    const before = new AbortController();
    before.abort();
    let calls = 0;
    await assert.rejects(mapWithLimit([1], 1, () => { calls++; }, { signal: before.signal }), AbortError);
    assert.equal(calls, 0);

    const during = new AbortController();
    let inner;
    const p = mapWithLimit([1, 2, 3, 4], 1, async (x, i, s) => { inner = s; calls++; await delay(20); }, { signal: during.signal });
    setTimeout(() => during.abort(), 5);
    await assert.rejects(p, (err) => err instanceof AbortError && err.code === 'ABORT_ERR');
    assert.equal(inner.aborted, true);
    await delay(50);
    assert.equal(calls, 1, 'no call starts after the abort');
    assert.equal(abortListeners(during.signal), 0);

    const after = new AbortController();
    assert.deepEqual(await mapWithLimit([1], 1, async (x) => x, { signal: after.signal }), [1]);
    assert.equal(abortListeners(after.signal), 0);
    after.abort();
  });

  it('closes a generator source when the run stops early', async () => {
    let closed = false;
    function* source() {
      try {
        for (let i = 0; ; i++) yield i;
      } finally {
        closed = true;
      }
    }
    await assert.rejects(mapWithLimit(source(), 2, async (x) => { if (x === 3) throw new Error('stop'); }), /stop/);
    assert.equal(closed, true);
  });

  it('rejects with the error a source throws', async () => {
    function* source() { yield 1; throw new Error('source broke'); }
    await assert.rejects(mapWithLimit(source(), 2, async (x) => x), /source broke/);
    async function* asource() { yield 1; throw new Error('async source broke'); }
    await assert.rejects(mapWithLimit(asource(), 2, async (x) => x), /async source broke/);
  });

  it('rejects when onProgress throws, and when the promise it returns rejects (no unhandled rejection)', async () => {
    await assert.rejects(mapWithLimit([1, 2], 1, async (x) => x, { onProgress: () => { throw new Error('progress'); } }), /progress/);
    const unhandled = [];
    const onUnhandled = (e) => unhandled.push(e);
    process.on('unhandledRejection', onUnhandled);
    try {
      await assert.rejects(mapWithLimit([1, 2, 3], 1, async (x) => x, { onProgress: async () => { throw new Error('async progress'); } }), /async progress/);
      await delay(10);
    } finally {
      process.off('unhandledRejection', onUnhandled);
    }
    assert.deepEqual(unhandled, []);
  });

  it('rejects with the TypeError for...of throws when an iterator\'s next() returns a non-object', async () => {
    // It took 42 for a value and looped until V8 ran out of memory.
    const bad = { [Symbol.iterator]() { return { next: () => 42 }; } };
    await assert.rejects(mapWithLimit(bad, 2, async (x) => x), { name: 'TypeError', message: 'Iterator result 42 is not an object' });
    const badAsync = { [Symbol.asyncIterator]() { return { next: async () => null }; } };
    await assert.rejects(mapWithLimit(badAsync, 2, async (x) => x), { name: 'TypeError', message: /Iterator result null is not an object/ });
  });

  it('throws TypeError or RangeError naming the argument for bad input', async () => {
    const f = async () => {};
    await assert.rejects(() => mapWithLimit(5, 1, f), { name: 'TypeError', message: /`items`/ });
    await assert.rejects(() => mapWithLimit([], 0, f), { name: 'RangeError', message: /`concurrency`.*`0` \(number\)/ });
    await assert.rejects(() => mapWithLimit([], 1.5, f), { name: 'RangeError', message: /`concurrency`/ });
    await assert.rejects(() => mapWithLimit([], '2', f), { name: 'TypeError', message: /`concurrency`/ });
    await assert.rejects(() => mapWithLimit([], 1, 'f'), { name: 'TypeError', message: /`fn`/ });
    await assert.rejects(() => mapWithLimit([], 1, f, { stopOnError: 'no' }), { name: 'TypeError', message: /`options.stopOnError`/ });
    await assert.rejects(() => mapWithLimit([], 1, f, { onProgress: 1 }), { name: 'TypeError', message: /`options.onProgress`/ });
    await assert.rejects(() => mapWithLimit([], 1, f, { signal: {} }), { name: 'TypeError', message: /`options.signal`/ });
  });
});
