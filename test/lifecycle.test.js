'use strict';
// Life cycle: worker threads, teardown with work in flight, prompt exit.
const assert = require('node:assert/strict');
const path = require('node:path');
const { Worker } = require('node:worker_threads');
const { runNode, root } = require('./helpers');

const entry = JSON.stringify(path.join(root, 'lib', 'index.js'));

function worker(code) {
  return new Worker(`const u = require(${entry}); const { parentPort } = require('node:worker_threads');\n${code}`, { eval: true });
}

const once = (w, ev) => new Promise((resolve) => w.once(ev, resolve));

// The worker's first message, or a failure that says why it never came.
function ready(w) {
  return new Promise((resolve, reject) => {
    w.once('message', resolve);
    w.once('error', (err) => reject(new Error(`worker failed before it was ready: ${err.stack}`)));
    w.once('exit', (code) => reject(new Error(`worker exited with ${code} before it was ready`)));
  });
}

describe('life cycle', () => {
  it('runs the combinators in worker threads, each with its own native state', async () => {
    const ws = [0, 1, 2].map((n) => worker(`
      (async () => {
        const r = await u.mapWithLimit([1, 2, 3], 2, async (x) => { await u.delay(5); return x * ${n}; });
        const t = await u.withTimeout(new Promise(() => {}), 5, { fallback: 'fb' });
        parentPort.postMessage({ r, t });
      })();
    `));
    const exits = ws.map((w) => once(w, 'exit'));
    const msgs = await Promise.all(ws.map((w) => once(w, 'message')));
    assert.deepEqual(msgs.map((m) => m.r), [[0, 0, 0], [1, 2, 3], [2, 4, 6]]);
    assert.deepEqual(msgs.map((m) => m.t), ['fb', 'fb', 'fb']);
    assert.deepEqual(await Promise.all(exits), [0, 0, 0]);
  });

  it('lets a worker exit by itself when its work is done', async () => {
    const w = worker('u.delay(10).then(() => parentPort.postMessage("done"));');
    const exit = once(w, 'exit');
    assert.equal(await once(w, 'message'), 'done');
    assert.equal(await exit, 0);
  });

  for (const [stage, code] of [
    ['right after loading', 'parentPort.postMessage("ready");'],
    ['with 1,000 timers pending', 'for (let i = 0; i < 1000; i++) u.delay(60000 + i); parentPort.postMessage("ready");'],
    ['inside a timer batch', 'u.delay(1).then(() => { parentPort.postMessage("ready"); const end = Date.now() + 200; while (Date.now() < end); });'],
    ['in the middle of mapWithLimit', 'u.mapWithLimit(Array.from({ length: 1e5 }, (_, i) => i), 16, (x) => u.delay(x % 3)); parentPort.postMessage("ready");'],
    ['with RateLimiter waiters on a core-owned timer', 'const rl = new u.RateLimiter({ rate: 1, capacity: 1 }); for (let i = 0; i < 50; i++) rl.acquire().catch(() => {}); parentPort.postMessage("ready");'],
    ['with Queue, limit and Semaphore waiters', 'const q = new u.Queue({ capacity: 1 }); q.put(1); for (let i = 0; i < 10; i++) { q.put(i).catch(() => {}); new u.Queue().get(); } const run = u.limit(1); for (let i = 0; i < 10; i++) run(() => new Promise(() => {})); const s = new u.Semaphore(1); s.acquire(); s.acquire(); parentPort.postMessage("ready");'],
    ['with withTimeout and retry waiting', 'u.withTimeout(new Promise(() => {}), 60000).catch(() => {}); u.retry(() => Promise.reject(new Error("x")), { delay: 60000 }).catch(() => {}); parentPort.postMessage("ready");'],
  ]) {
    it(`terminates a worker ${stage} without a crash`, async () => {
      const w = worker(code);
      const exit = once(w, 'exit');
      await ready(w);
      await w.terminate();
      assert.equal(typeof (await exit), 'number');
    });
  }

  it('survives 30 cycles of workers terminated with timers in flight, and the process then exits at once', async () => {
    const r = await runNode(`
      const { Worker } = require('node:worker_threads');
      const code = 'const u = require(${entry.replace(/"/g, '\\"')}); for (let i = 0; i < 500; i++) u.delay(60000); const rl = new u.RateLimiter({ rate: 1 }); for (let i = 0; i < 20; i++) rl.acquire(); require("node:worker_threads").parentPort.postMessage(1);';
      (async () => {
        for (let i = 0; i < 30; i++) {
          const w = new Worker(code, { eval: true });
          await new Promise((r) => w.once('message', r));
          await w.terminate();
        }
        process.stdout.write('cycled');
      })();
    `, { timeout: 60000 });
    assert.equal(r.code, 0, `signal ${r.signal}, after ${r.ms.toFixed(0)} ms; stdout: ${r.stdout}; stderr: ${r.stderr}`);
    assert.equal(r.stdout, 'cycled', r.stderr);
  });

  it('survives workers terminated at any moment, also while they load the addon', async () => {
    // Terminated while loading, every Node-API call in the addon's init
    // fails; node-addon-api then could not throw the error into JS and
    // aborted the whole process.  The delays sweep 0-39 ms, from before the
    // addon loads to the middle of fetches, timers and queue work.
    const r = await runNode(`
      const { Worker } = require('node:worker_threads');
      const http = require('node:http');
      const code = \`
        const { parentPort, workerData } = require('node:worker_threads');
        const u = require(${entry.replace(/"/g, '\\"')});
        const f = new u.Fetcher({ concurrency: 8, perSecond: Infinity, retries: 1 });
        const q = new u.Queue({ capacity: 4 });
        const rl = new u.RateLimiter({ rate: 1000 });
        (async () => {
          for (let i = 0; i < 200; i++) {
            f.fetch(workerData.url).catch(() => {});
            u.delay(i % 5).catch(() => {});
            q.tryPut(i); q.tryGet();
            rl.acquire().catch(() => {});
            if (i % 10 === 0) await u.delay(1);
          }
        })();
      \`;
      const srv = http.createServer((req, res) => setTimeout(() => res.end('x'.repeat(100)), 5));
      srv.listen(0, '127.0.0.1', async () => {
        const url = 'http://127.0.0.1:' + srv.address().port + '/';
        let n = 0;
        for (let round = 0; round < 20; round++) {
          const ws = [];
          for (let i = 0; i < 6; i++) {
            const w = new Worker(code, { eval: true, workerData: { url } });
            w.on('error', (e) => process.stderr.write('worker error: ' + e.message + '\\n'));
            setTimeout(() => w.terminate(), (round * 6 + i) * 7 % 40);
            ws.push(new Promise((r) => w.once('exit', r)));
          }
          await Promise.all(ws);
          n += ws.length;
        }
        srv.close();
        process.stdout.write('survived ' + n);
      });
    `, { timeout: 60000 });
    assert.equal(r.code, 0, r.stderr);
    assert.equal(r.stdout, 'survived 120', r.stderr);
  });

  it('fails a load whose Node-API calls fail without leaking, and loads again after it', async () => {
    // Exports that refuse properties make every definition of the addon's
    // init fail, as a worker terminated while it loads the addon does (the
    // test above).  The method tables of the addon and its classes are
    // then not attached to anything: under AddressSanitizer this test
    // fails if any was allocated (node-addon-api's non-template
    // InstanceMethod/InstanceAccessor allocate one per method and leak it).
    const addon = JSON.stringify(require('../lib/native').file);
    const r = await runNode(`
      let refused = 'loaded';
      try { process.dlopen({ exports: Object.freeze({}) }, ${addon}); } catch (e) { refused = e.constructor.name; }
      const u = require(${entry});
      u.delay(1).then(() => process.stdout.write(refused + ', then ' + new u.Semaphore(2).active));
    `);
    assert.equal(r.code, 0, r.stderr);
    assert.equal(r.stdout, 'Error, then 0', r.stderr);
  });

  it('survives workers terminated mid-work with stream uploads and a WorkerPool of their own in flight', async function () {
    this.timeout(60000);
    // A worker thread that sends stream bodies (the core holds their fed
    // bytes, its pump waits for news) and runs a pool of its own (its
    // workers attached to a queue in C) says when both are under way; it is
    // terminated 0-29 ms after that (and, every other one, at a random
    // moment before).  The pool's and the workers' cleanup hooks close the
    // C sides: nothing crashes, and no thread is left.
    const tasks = JSON.stringify(path.join(root, 'test', 'fixtures', 'pool', 'tasks.js'));
    const r = await runNode(`
      const fs = require('node:fs');
      const { Worker } = require('node:worker_threads');
      const http = require('node:http');
      const code = \`
        const { workerData, parentPort } = require('node:worker_threads');
        const u = require(${entry.replace(/"/g, '\\"')});
        const pool = new u.WorkerPool({ filename: ${tasks.replace(/"/g, '\\"')}, maxWorkers: 2 });
        let ran = 0;
        let fed = 0;
        let said = false;
        const busy = () => { if (!said && ran >= 1 && fed >= 20) { said = true; parentPort.postMessage('busy'); } };
        for (let i = 0; i < 50; i++) pool.run(i % 3 ? 5 : null, { name: i % 3 ? 'later' : 'hang' }).then(() => { ran++; busy(); }, () => {});
        async function* body() { for (let i = 0; i < 1e6; i++) { fed++; busy(); yield Buffer.alloc(65536, i); } }
        for (let i = 0; i < 3; i++) u.fetch(workerData.url, { method: 'POST', body: body() }).catch(() => {});
      \`;
      const srv = http.createServer((req, res) => { req.on('data', () => {}); req.on('end', () => res.end('ok')); });
      const threads = () => fs.readdirSync('/proc/self/task').length;
      srv.listen(0, '127.0.0.1', async () => {
        const url = 'http://127.0.0.1:' + srv.address().port + '/';
        const base = threads();
        let n = 0;
        let busy = 0;
        for (let round = 0; round < 8; round++) {
          const ws = [];
          for (let i = 0; i < 3; i++) {
            const k = round * 3 + i;
            const w = new Worker(code, { eval: true, workerData: { url } });
            w.on('error', (e) => process.stderr.write('worker error: ' + e.message + '\\n'));
            if (k % 2 === 0) w.once('message', () => { busy++; setTimeout(() => w.terminate(), k * 7 % 30); });
            else setTimeout(() => w.terminate(), k * 11 % 60);
            ws.push(new Promise((r) => w.once('exit', r)));
          }
          await Promise.all(ws);
          n += ws.length;
        }
        for (let i = 0; i < 200 && threads() > base; i++) await new Promise((r) => setTimeout(r, 10));
        srv.closeAllConnections();
        srv.close();
        process.stdout.write('survived ' + n + ', ' + busy + ' busy' + (threads() > base ? ', threads left: ' + (threads() - base) : ''));
      });
    `, { timeout: 60000 });
    assert.equal(r.code, 0, r.stderr);
    assert.equal(r.stdout, 'survived 24, 12 busy', r.stderr);
  });

  it('reports an exception from user code in a loop callback as uncaught, and settles the rest of its batch', async () => {
    // A signal-like object whose removeEventListener throws: the exception
    // was cleared by the binding, and every other request (or timer) of
    // that loop turn never settled.
    const { startHttp } = require('./helpers/servers');
    const srv = await startHttp((req, res) => res.end('ok'));
    try {
      const r = await runNode(`
        const u = require('./lib');
        let uncaught = 0;
        process.on('uncaughtException', (e) => { if (e.message === 'boom') uncaught++; else throw e; });
        const sig = { aborted: false, addEventListener() {}, removeEventListener() { throw new Error('boom'); } };
        const url = ${JSON.stringify(srv.url)};
        (async () => {
          const f = new u.Fetcher({ concurrency: 8, perSecond: Infinity });
          const got = await Promise.all([f.fetch(url, { signal: sig }), ...Array.from({ length: 7 }, () => f.fetch(url))]);
          const timers = await Promise.all([u.delay(5, { signal: sig, value: 'a' }), u.delay(5, { value: 'b' }), u.delay(5, { value: 'c' })]);
          await f.close();
          setImmediate(() => console.log(JSON.stringify({ statuses: got.map((x) => x.status), timers, uncaught })));
        })();
      `, { timeout: 10000 });
      assert.equal(r.code, 0, r.stderr);
      assert.deepEqual(JSON.parse(r.stdout), { statuses: Array(8).fill(200), timers: ['a', 'b', 'c'], uncaught: 2 });
    } finally {
      await srv.stop();
    }
  });

  it('refuses a signal without removeEventListener, which could not let go of its listener', async () => {
    const u = require('..');
    const half = { aborted: false, addEventListener() {} };
    await assert.rejects(() => u.delay(5, { signal: half }), /options\.signal/);
    await assert.rejects(() => u.fetch('http://127.0.0.1:1/', { signal: half }), /options\.signal/);
  });

  it('exits at once when nothing is pending, even after heavy use', async () => {
    const r = await runNode(`
      const u = require('.');
      (async () => {
        await u.mapWithLimit(Array.from({ length: 5000 }, (_, i) => i), 64, async (x) => u.withTimeout(u.delay(x % 2), 60000));
        await u.allSettled([u.delay(1), Promise.reject(new Error('x'))], { timeout: 60000 });
        await u.retry(async (n) => { if (n < 2) throw new Error('again'); }, { delay: 1 });
        globalThis.t = performance.now();
        process.on('exit', () => process.stdout.write(String(performance.now() - globalThis.t)));
      })();
    `);
    assert.equal(r.code, 0, r.stderr);
    assert.ok(Number(r.stdout) < 1000, `exited ${r.stdout} ms after the work`);
  });

  it('loads through the ESM entry with the same exports', async () => {
    const esm = await import('../lib/index.mjs');
    const cjs = require('..');
    for (const key of Object.keys(cjs)) assert.equal(esm[key], cjs[key], key);
    assert.equal(esm.default, cjs);
  });

  it('loads without Node\'s bundled undici, which only Response, Request and Headers need, on first use', async () => {
    // The globals Response, Request and Headers are getters that load undici
    // (tens of ms, and a WebAssembly compile in the background that Node 20
    // can crash on when a worker is terminated during it).
    const r = await runNode(`
      const undici = () => process.moduleLoadList.some((m) => m.includes('undici'));
      const u = require(${entry});
      (async () => {
        await u.delay(1);
        await u.mapWithLimit([1, 2], 1, (x) => x);
        await new u.RateLimiter({ rate: 1000 }).acquire();
        await u.limit(1)(() => u.withTimeout(u.delay(1), 1000));
        const before = undici();
        const json = await u.Response.json({ a: 1 }).json();
        const err = u.Response.error().type;
        const out = [before, json.a, err, u.Headers === globalThis.Headers, u.Request === globalThis.Request];
        const http = require('node:http');
        const srv = http.createServer((q, s) => s.end('ok')).listen(0, '127.0.0.1', async () => {
          const res = await u.fetch('http://127.0.0.1:' + srv.address().port + '/');
          out.push(res instanceof globalThis.Response, res instanceof u.Response, Object.prototype.toString.call(res), await res.text());
          srv.close();
          process.stdout.write(JSON.stringify(out));
        });
      })();
    `);
    assert.equal(r.code, 0, r.stderr);
    assert.deepEqual(JSON.parse(r.stdout), [false, 1, 'error', true, true, true, true, '[object Response]', 'ok']);
  });
});
