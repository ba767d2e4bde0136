'use strict';
// Random arguments to every export (test/fixtures/fuzz-args.js, in a child
// process so that a crash or a wait that never ends cannot take the suite
// with it).  UVASYNC_FUZZ=N for N calls (default 20,000), UVASYNC_FUZZ_SEED.
const assert = require('node:assert/strict');
const path = require('node:path');
const { runNode } = require('./helpers');
const { closedPort } = require('./helpers/servers');

const N = Number(process.env.UVASYNC_FUZZ) || 20000;

describe('random arguments', () => {
  it(`to every export and method (${N} calls, throwing getters and proxies among them): only TypeError/RangeError thrown, no stray rejection, no crash`, async function () {
    this.timeout(60000 + N);
    const seed = Number(process.env.UVASYNC_FUZZ_SEED) || (Date.now() % 100000) + 1;
    const port = await closedPort();
    const script = path.join(__dirname, 'fixtures', 'fuzz-args.js');
    const r = await runNode(`process.env.UVASYNC_FUZZ_ARGS = ${JSON.stringify(JSON.stringify([N, seed, port]))}; require(${JSON.stringify(script)});`,
      { timeout: 50000 + N });
    assert.equal(r.code, 0, `exit ${r.code} ${r.signal || ''} (seed ${seed})\n${r.stderr.slice(-2000)}`);
    const out = JSON.parse(r.stdout.trim().split('\n').pop());
    assert.deepEqual(out.problems, [], `seed ${seed}`);
    assert.equal(out.calls, N);
    assert.ok(out.threw > N / 10 && out.resolved + out.rejected > N / 10, JSON.stringify(out));
  });
});
