'use strict';
const assert = require('node:assert/strict');
const { delay, AbortError } = require('..');
const { binding } = require('../lib/native');
const { abortListeners, block, runNode } = require('./helpers');

describe('delay', () => {
  afterEach(() => assert.equal(binding.timersPending(), 0, 'a native timer was left pending'));

  it('resolves with value after at least ms', async () => {
    const t0 = performance.now();
    const v = await delay(50, { value: 'x' });
    assert.ok(performance.now() - t0 >= 50, `took ${performance.now() - t0} ms`);
    assert.equal(v, 'x');
  });

  it('resolves with undefined by default', async () => {
    assert.equal(await delay(0), undefined);
  });

  it('never fires early after a long synchronous block', async () => {
    // The loop's cached clock is stale after a block; the timer must count
    // from the call, not from the cached time.
    for (let i = 0; i < 5; i++) {
      block(30);
      const t0 = performance.now();
      await delay(50);
      const took = performance.now() - t0;
      assert.ok(took >= 50, `attempt ${i}: took ${took} ms`);
    }
  });

  it('never fires early right after the module loads', async () => {
    const r = await runNode(`
      const t0 = performance.now();
      const { delay } = require('.');
      const t1 = performance.now();
      delay(50).then(() => {
        process.stdout.write(JSON.stringify({ took: performance.now() - t1 }));
      });
    `);
    assert.equal(r.code, 0, r.stderr);
    assert.ok(JSON.parse(r.stdout).took >= 50, r.stdout);
  });

  it('fires many timers in deadline order, each no earlier than asked', async () => {
    const order = [];
    const t0 = performance.now();
    const lates = [];
    await Promise.all([30, 10, 20, 10, 0, 25].map((ms, i) => delay(ms).then(() => {
      order.push(i);
      lates.push(performance.now() - t0 - ms);
    })));
    assert.deepEqual(order, [4, 1, 3, 2, 5, 0]);
    for (const late of lates) assert.ok(late >= 0, `fired ${late} ms early`);
  });

  it('lets I/O through: a loop of `await delay(0)` does not starve the event loop', async () => {
    // A 0 ms timer started by what just fired waits for the next loop turn
    // (as setTimeout(0) does); it once ran again in the same timers phase,
    // and this loop kept the socket below from ever being polled.
    const http = require('node:http');
    const server = http.createServer((req, res) => res.end('ok'));
    await new Promise((r) => server.listen(0, '127.0.0.1', r));
    try {
      let answered = false;
      http.get(`http://127.0.0.1:${server.address().port}/`, (res) => {
        res.resume();
        res.on('end', () => { answered = true; });
      });
      const t0 = performance.now();
      while (!answered && performance.now() - t0 < 2000) await delay(0);
      assert.ok(answered, 'the request was answered while the loop ran');
    } finally {
      server.close();
    }
  });

  it('rejects with AbortError carrying the reason when the signal is already aborted', async () => {
    const c = new AbortController();
    const reason = new Error('stop');
    c.abort(reason);
    await assert.rejects(delay(10, { signal: c.signal }), (err) => {
      assert.ok(err instanceof AbortError);
      assert.equal(err.code, 'ABORT_ERR');
      assert.equal(err.cause, reason);
      return true;
    });
  });

  it('rejects with AbortError when aborted mid-flight and clears its timer', async () => {
    const c = new AbortController();
    const p = delay(10_000, { signal: c.signal });
    assert.equal(binding.timersPending(), 1);
    setTimeout(() => c.abort(), 5);
    await assert.rejects(p, { name: 'AbortError', code: 'ABORT_ERR' });
    assert.equal(binding.timersPending(), 0);
    assert.equal(abortListeners(c.signal), 0);
  });

  it('removes its abort listener when it resolves, and a later abort does nothing', async () => {
    const c = new AbortController();
    await delay(1, { signal: c.signal, value: 1 });
    assert.equal(abortListeners(c.signal), 0);
    c.abort();
  });

  it('throws TypeError or RangeError naming the argument for bad input', async () => {
    await assert.rejects(() => delay('5'), { name: 'TypeError', message: /`ms`.*'5'.*string/ });
    await assert.rejects(() => delay(-1), { name: 'RangeError', message: /`ms`/ });
    await assert.rejects(() => delay(NaN), { name: 'TypeError', message: /`ms`/ });
    await assert.rejects(() => delay(Infinity), { name: 'RangeError', message: /`ms`/ });
    await assert.rejects(() => delay(2 ** 32), { name: 'RangeError', message: /`ms`/ });
    await assert.rejects(() => delay(1, null), { name: 'TypeError', message: /`options`/ });
    await assert.rejects(() => delay(1, { signal: {} }), { name: 'TypeError', message: /`options.signal`/ });
  });

  it('lets the process exit at once when a pending delay is aborted', async () => {
    const r = await runNode(`
      const { delay } = require('.');
      const c = new AbortController();
      delay(60_000, { signal: c.signal }).catch(() => {});
      setImmediate(() => c.abort());
    `);
    assert.equal(r.code, 0, r.stderr);
    assert.ok(r.ms < 5000, `took ${r.ms} ms`);
  });

  it('with ref: false lets the process exit while it is pending, as timers/promises does; others still hold it', async () => {
    const r = await runNode(`
      const { delay } = require('.');
      delay(60_000, { ref: false }).then(() => process.stdout.write('fired'));
      delay(50).then(() => process.stdout.write('held'));
    `);
    assert.equal(r.code, 0, r.stderr);
    assert.equal(r.stdout, 'held');
    assert.ok(r.ms < 5000, `took ${r.ms} ms`);
    await assert.rejects(() => delay(1, { ref: 'no' }), { name: 'TypeError', message: /`options.ref`/ });
  });

  it('keeps the process alive while a delay is pending', async () => {
    const r = await runNode(`
      const { delay } = require('.');
      delay(100).then(() => process.stdout.write('done'));
    `);
    assert.equal(r.stdout, 'done');
  });
});
