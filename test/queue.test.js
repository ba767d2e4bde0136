'use strict';
const assert = require('node:assert/strict');
const { Queue, producerConsumer, delay, AbortError } = require('..');
const { abortListeners, seeded } = require('./helpers');

describe('Queue', () => {
  it('is a FIFO that makes put wait while full (backpressure)', async () => {
    const q = new Queue({ capacity: 2 });
    await q.put(1);
    await q.put(2);
    let third = false;
    const p3 = q.put(3).then(() => { third = true; });
    await delay(5);
    assert.equal(third, false);
    assert.equal(q.size, 2);
    assert.deepEqual(await q.get(), { value: 1, done: false });
    await p3;
    assert.deepEqual(await q.get(), { value: 2, done: false });
    assert.deepEqual(await q.get(), { value: 3, done: false });
    assert.equal(q.size, 0);
  });

  it('makes get wait while empty, and wakes consumers in FIFO order', async () => {
    const q = new Queue({ capacity: 10 });
    const order = [];
    const gets = [0, 1, 2].map((i) => q.get().then((r) => order.push([i, r.value])));
    await q.put('a');
    await q.put('b');
    await q.put('c');
    await Promise.all(gets);
    assert.deepEqual(order, [[0, 'a'], [1, 'b'], [2, 'c']]);
  });

  it('offers tryPut and tryGet without waiting', () => {
    const q = new Queue({ capacity: 1 });
    assert.equal(q.tryGet(), undefined);
    assert.equal(q.tryPut('x'), true);
    assert.equal(q.tryPut('y'), false);
    assert.deepEqual(q.tryGet(), { value: 'x', done: false });
  });

  it('drains what is left after close(), then resolves gets as done; put after close rejects', async () => {
    const q = new Queue({ capacity: 3 });
    await q.put(1);
    await q.put(2);
    const waiting = new Queue({ capacity: 1 });
    await waiting.put('held');
    const blocked = waiting.put('blocked');
    const emptyGet = new Queue().get();
    q.close();
    waiting.close();
    await assert.rejects(blocked, { code: 'ERR_QUEUE_CLOSED' });
    await assert.rejects(q.put(3), { code: 'ERR_QUEUE_CLOSED' });
    assert.equal(q.tryPut(3), false); // A boolean, as documented: `closed` says why.
    assert.equal(q.closed, true);
    assert.deepEqual(await q.get(), { value: 1, done: false });
    assert.deepEqual(await q.get(), { value: 2, done: false });
    assert.deepEqual(await q.get(), { value: undefined, done: true });
    assert.deepEqual(q.tryGet(), { value: undefined, done: true });
    const pending = new Queue();
    const g = pending.get();
    pending.close();
    assert.deepEqual(await g, { value: undefined, done: true });
    void emptyGet;
  });

  it('iterates with for await until closed and drained', async () => {
    const q = new Queue({ capacity: 2 });
    (async () => {
      for (let i = 0; i < 5; i++) await q.put(i);
      q.close();
    })();
    const seen = [];
    for await (const item of q) seen.push(item);
    assert.deepEqual(seen, [0, 1, 2, 3, 4]);
  });

  it('rejects with AbortError when put or get is aborted, before or mid-wait', async () => {
    const q = new Queue({ capacity: 1 });
    await assert.rejects(q.get({ signal: AbortSignal.abort() }), AbortError);
    await assert.rejects(q.put(1, { signal: AbortSignal.abort() }), AbortError);
    const c = new AbortController();
    const g = q.get({ signal: c.signal });
    c.abort();
    await assert.rejects(g, AbortError);
    assert.equal(abortListeners(c.signal), 0);
    await q.put('kept'); // The aborted getter did not take it.
    assert.deepEqual(q.tryGet(), { value: 'kept', done: false });
  });

  it('neither loses nor duplicates an item when many producers and consumers abort mid-wait', async function () {
    this.timeout(30000);
    const q = new Queue({ capacity: 4 });
    const N = 4000;
    const accepted = new Set(); // Items whose put resolved.
    const received = [];
    const rnd = seeded(12345);
    const producers = Array.from({ length: 16 }, (_, p) => (async () => {
      for (let i = p; i < N; i += 16) {
        const c = new AbortController();
        if (rnd(10) < 3) setTimeout(() => c.abort(), rnd(3));
        try {
          await q.put(i, { signal: c.signal });
          accepted.add(i);
        } catch (err) {
          assert.equal(err.code, 'ABORT_ERR');
        }
      }
    })());
    const consumers = Array.from({ length: 16 }, () => (async () => {
      for (;;) {
        const c = new AbortController();
        if (rnd(10) < 3) setTimeout(() => c.abort(), rnd(3));
        let r;
        try {
          r = await q.get({ signal: c.signal });
        } catch (err) {
          assert.equal(err.code, 'ABORT_ERR');
          continue;
        }
        if (r.done) return;
        received.push(r.value);
        // Slow down now and then, so producers wait (and some abort) too.
        if (rnd(10) < 2) await delay(1);
      }
    })());
    await Promise.all(producers);
    q.close();
    await Promise.all(consumers);
    assert.equal(new Set(received).size, received.length, 'an item was delivered twice');
    assert.deepEqual(new Set(received), accepted, 'an accepted item was lost, or a refused one delivered');
    assert.ok(accepted.size > N * 0.5 && accepted.size < N, `accepted ${accepted.size}: aborts must have happened`);
  });

  it('throws for bad input in the constructor; put and get reject with it', async () => {
    assert.throws(() => new Queue({ capacity: 0 }), { name: 'RangeError', message: /`options.capacity`/ });
    assert.throws(() => new Queue(5), { name: 'TypeError', message: /`options`/ });
    await assert.rejects(() => new Queue().put(1, { signal: {} }), { name: 'TypeError', message: /`options.signal`/ });
    await assert.rejects(() => new Queue().get(null), { name: 'TypeError', message: /`options`/ });
  });
});

describe('producerConsumer', () => {
  it('resolves with results in input order and the errors per item, printing nothing', async () => {
    const { results, errors } = await producerConsumer([1, 2, 3, 4, 5], async (x) => {
      await delay(6 - x);
      if (x === 3) throw new Error('three');
      return x * 10;
    }, { workers: 2, queueSize: 2 });
    assert.deepEqual(results, [10, 20, undefined, 40, 50]);
    assert.equal(errors.length, 1);
    assert.equal(errors[0].index, 2);
    assert.equal(errors[0].item, 3);
    assert.equal(errors[0].error.message, 'three');
  });

  it('pauses the producer while the queue is full: a fast source is never more than queueSize + workers ahead', async () => {
    let pulled = 0;
    let finished = 0;
    let maxAhead = 0;
    function* source() {
      for (let i = 0; i < 200; i++) {
        pulled++;
        maxAhead = Math.max(maxAhead, pulled - finished);
        yield i;
      }
    }
    const { results } = await producerConsumer(source(), async (x) => { await delay(1); finished++; return x; }, { workers: 3, queueSize: 5 });
    assert.equal(results.length, 200);
    // One more than queueSize + workers: the item pulled and held by a put that waits.
    assert.ok(maxAhead <= 5 + 3 + 1, `source ran ${maxAhead} ahead`);
  });

  it('takes async iterables, reports progress, and never runs more than `workers` at once', async () => {
    async function* source() { for (let i = 0; i < 20; i++) yield i; }
    let active = 0;
    let peak = 0;
    const progress = [];
    await producerConsumer(source(), async (x) => {
      active++;
      peak = Math.max(peak, active);
      await delay(1);
      active--;
      return x;
    }, { workers: 4, onProgress: (done) => progress.push(done) });
    assert.equal(peak, 4);
    assert.deepEqual(progress, Array.from({ length: 20 }, (_, i) => i + 1));
  });

  it('rejects with AbortError and stops consuming when aborted', async () => {
    const c = new AbortController();
    let calls = 0;
    const p = producerConsumer(Array.from({ length: 100 }, (_, i) => i), async () => { calls++; await delay(5); }, { workers: 2, signal: c.signal });
    setTimeout(() => c.abort(), 12);
    await assert.rejects(p, AbortError);
    const at = calls;
    await delay(30);
    assert.ok(calls <= at + 2, `calls went on: ${at} → ${calls}`);
    assert.equal(abortListeners(c.signal), 0);
  });

  it('rejects with the error the source throws', async () => {
    function* source() { yield 1; throw new Error('source broke'); }
    await assert.rejects(producerConsumer(source(), async (x) => x), /source broke/);
  });

  it('starts no more consumers than there is work, and bounds `workers`', async () => {
    // workers: 1e7 for 3 items started ten million consumers (out of memory).
    let running = 0;
    let most = 0;
    const { results } = await producerConsumer([1, 2, 3], async (x) => {
      running++;
      most = Math.max(most, running);
      await delay(5);
      running--;
      return x * 2;
    }, { workers: 100_000 });
    assert.deepEqual(results, [2, 4, 6]);
    assert.ok(most <= 3);
    await assert.rejects(() => producerConsumer([1], async () => {}, { workers: 1e7 }), { name: 'RangeError', message: /`options.workers`.*100000/ });
  });

  it('ends the run when onProgress throws or its promise rejects, with no unhandled rejection', async () => {
    const unhandled = [];
    const onUnhandled = (e) => unhandled.push(e);
    process.on('unhandledRejection', onUnhandled);
    try {
      await assert.rejects(producerConsumer([1, 2, 3], async (x) => x, { onProgress: () => { throw new Error('sync'); } }), /sync/);
      await assert.rejects(producerConsumer([1, 2, 3], async (x) => x, { onProgress: async () => { throw new Error('async'); } }), /async/);
      await delay(10);
    } finally {
      process.off('unhandledRejection', onUnhandled);
    }
    assert.deepEqual(unhandled, []);
  });

  it('throws for bad input', async () => {
    await assert.rejects(() => producerConsumer(5, async () => {}), { name: 'TypeError', message: /`source`/ });
    await assert.rejects(() => producerConsumer([], 5), { name: 'TypeError', message: /`worker`/ });
    await assert.rejects(() => producerConsumer([], async () => {}, { workers: 0 }), { name: 'RangeError', message: /`options.workers`/ });
    await assert.rejects(() => producerConsumer([], async () => {}, { queueSize: -1 }), { name: 'RangeError', message: /`options.queueSize`/ });
    await assert.rejects(() => producerConsumer([], async () => {}, { onProgress: 1 }), { name: 'TypeError', message: /`options.onProgress`/ });
  });
});
