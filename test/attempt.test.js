'use strict';
const assert = require('node:assert/strict');
const { attempt, timed, delay } = require('..');

describe('attempt', () => {
  it('resolves with success and the value, never rejecting', async () => {
    const r = await attempt(async () => 'v');
    assert.equal(r.success, true);
    assert.equal(r.value, 'v');
    assert.equal(r.error, undefined);
    assert.equal(r.attempts, 1);
    assert.ok(r.durationMs >= 0);
  });

  it('resolves with the error after the retries it was given', async () => {
    let n = 0;
    const r = await attempt(async () => { n++; throw new Error(`fail ${n}`); }, { retries: 2, delay: 1 });
    assert.equal(r.success, false);
    assert.equal(r.error.message, 'fail 3');
    assert.equal(r.attempts, 3);
  });

  it('succeeds after failures and reports the attempts it took, and the time', async () => {
    let n = 0;
    const r = await attempt(async () => { if (++n < 3) throw new Error('x'); return n; }, { retries: 5, delay: 10, backoff: 'fixed' });
    assert.deepEqual([r.success, r.value, r.attempts], [true, 3, 3]);
    assert.ok(r.durationMs >= 20, `durationMs ${r.durationMs}`);
  });

  it('records a sync throw as a failure', async () => {
    const r = await attempt(() => { throw new TypeError('sync'); });
    assert.equal(r.success, false);
    assert.ok(r.error instanceof TypeError);
  });

  it('throws for bad input', async () => {
    await assert.rejects(() => attempt(5), { name: 'TypeError', message: /`fn`/ });
    await assert.rejects(() => attempt(async () => 1, { retries: -1 }), { name: 'RangeError', message: /`options.retries`/ });
  });
});

describe('timed', () => {
  it('measures with the monotonic clock', async () => {
    const r = await timed(() => delay(20, { value: 'x' }));
    assert.equal(r.value, 'x');
    assert.ok(r.durationMs >= 20);
  });

  it('rejects with the error itself, with durationMs on it', async () => {
    await assert.rejects(timed(async () => { await delay(5); throw new Error('late'); }), (err) => err.message === 'late' && err.durationMs >= 5);
  });

  it('throws for bad input', async () => {
    await assert.rejects(() => timed('x'), { name: 'TypeError', message: /`fn`/ });
  });

  it('times a function that throws at once as a rejection', async () => {
    await assert.rejects(timed(() => { throw new Error('sync'); }), (err) => err.message === 'sync' && err.durationMs >= 0);
  });
});
