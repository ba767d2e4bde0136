'use strict';
// fetch() resolves when the headers are in; the body arrives as a web
// ReadableStream fed from the core, and a slow reader pauses the transfer
// (libcurl's pause) instead of the body piling up in memory.
const assert = require('node:assert/strict');
const crypto = require('node:crypto');
const http = require('node:http');
const zlib = require('node:zlib');
const path = require('node:path');
const { fetch, Fetcher } = require('..');
const { runNode, root } = require('./helpers');
const { fdCount } = require('./helpers/servers');

const sha = (b) => crypto.createHash('sha256').update(b).digest('hex');
const MiB = 1 << 20;
// A collection on demand, here (not in a child): the flag, then the
// function from a new context, where V8 defines it.
require('node:v8').setFlagsFromString('--expose-gc');
const gc = require('node:vm').runInNewContext('gc');

function pattern(n, seed = 0) {
  const b = Buffer.alloc(n);
  for (let i = 0; i < n; i++) b[i] = (i * 13 + seed + (i >> 11)) & 0xff;
  return b;
}

describe('fetch body streams', () => {
  let server;
  let url;
  const sent = new Map(); // key → bytes the server's writes have handed to the kernel
  const closed = new Map(); // key → a promise of the response's close
  let lateEnd = null; // Ends the pending /late response.
  before(async () => {
    server = http.createServer((req, res) => {
      const u = new URL(req.url, 'http://x');
      const key = u.searchParams.get('k');
      switch (u.pathname) {
        case '/late':
          // The head and a first chunk now; the rest when the test says
          // (?auto: after 100 ms).
          res.writeHead(200, { 'content-type': 'text/plain' });
          res.write('early;');
          if (u.searchParams.has('auto')) setTimeout(() => res.end('late'), 100);
          else lateEnd = () => res.end('late');
          return;
        case '/big': {
          // 64 MiB written as fast as the client takes it, counted.
          const total = Number(u.searchParams.get('n') || 64 * MiB);
          const chunk = pattern(256 * 1024);
          let written = 0;
          sent.set(key, 0);
          closed.set(key, new Promise((r) => res.on('close', r)));
          // ?chunked: no Content-Length (the core cannot size its chunks from it).
          res.writeHead(200, u.searchParams.has('chunked') ? {} : { 'content-length': total });
          const pump = () => {
            while (written < total) {
              const n = Math.min(chunk.length, total - written);
              written += n;
              const ok = res.write(n === chunk.length ? chunk : chunk.subarray(0, n), () => sent.set(key, sent.get(key) + n));
              if (!ok) return res.once('drain', pump);
            }
            res.end();
            return undefined;
          };
          pump();
          return;
        }
        case '/gzip': {
          const body = pattern(3 * MiB, 7);
          const gz = zlib.gzipSync(body);
          res.writeHead(200, { 'content-encoding': 'gzip', 'x-sha': sha(body) });
          // In pieces, so that the client decodes as it goes.
          let i = 0;
          const step = () => {
            if (i >= gz.length) return res.end();
            res.write(gz.subarray(i, i + 100000));
            i += 100000;
            return setTimeout(step, 2);
          };
          step();
          return;
        }
        case '/cut-gzip': {
          const gz = zlib.gzipSync(pattern(MiB));
          res.writeHead(200, { 'content-encoding': 'gzip' });
          res.write(gz.subarray(0, 1000));
          setTimeout(() => res.end(gz.subarray(1000, gz.length - 100)), 50);
          return;
        }
        default: res.end('small');
      }
    });
    await new Promise((r) => server.listen(0, '127.0.0.1', r));
    url = `http://127.0.0.1:${server.address().port}`;
  });
  after(() => new Promise((r) => { server.closeAllConnections(); server.close(r); }));

  it('resolves when the headers are in, and the body follows as it arrives', async () => {
    // The server ends the body only once fetch() has resolved: resolving
    // at the end would wait for good (and the test time out).
    const res = await fetch(`${url}/late`);
    assert.equal(res.status, 200);
    const reader = res.body.getReader();
    const first = await reader.read();
    assert.equal(Buffer.from(first.value).toString(), 'early;');
    const atFirst = res.timings.total;
    await new Promise((r) => setTimeout(r, 50));
    lateEnd();
    const second = await reader.read();
    assert.equal(Buffer.from(second.value).toString(), 'late');
    assert.equal((await reader.read()).done, true);
    assert.ok(res.timings.total >= atFirst + 40, 'the timings are the end\'s once the body is in');
    assert.equal(res.bodyUsed, true);
  });

  it('pauses the transfer while the reader does not read: the server gets only a bounded part of 64 MiB ahead', async () => {
    const res = await fetch(`${url}/big?k=slow`);
    const reader = res.body.getReader();
    const mine = crypto.createHash('sha256');
    const first = await reader.read();
    mine.update(first.value);
    let n = first.value.length;
    await new Promise((r) => setTimeout(r, 500));
    // What the client took while nobody read: its queue (1 MiB), one turn's
    // chunk (4 MiB) and the kernel's socket buffers; not the 64 MiB.
    const ahead = sent.get('slow');
    assert.ok(ahead < 24 * MiB, `the server got ${(ahead / MiB).toFixed(1)} MiB out while nobody read`);
    for (;;) {
      const { done, value } = await reader.read();
      if (done) break;
      mine.update(value);
      n += value.length;
      if (n < 8 * MiB) await new Promise((r) => setTimeout(r, 1)); // Slow for a while.
    }
    assert.equal(n, 64 * MiB);
    // Every byte, in order: 256 such chunks are what the server sent.
    const theirs = crypto.createHash('sha256');
    const chunk = pattern(256 * 1024);
    for (let i = 0; i < 256; i++) theirs.update(chunk);
    assert.equal(mine.digest('hex'), theirs.digest('hex'));
  });

  it('hands a large body to the reader in pieces of at most 256 KiB, each its own buffer, a kept piece intact', async () => {
    // A turn's chunk (up to 4 MiB) goes to JS in pieces that share its
    // mapping (src/binding/body.cc, ChunkValue), and the next chunks are cut
    // from the rest of that mapping (src/core/fetch_chunk.c): it goes back
    // to the core only when the last piece of the last of them is collected.
    // Every fourth piece is kept, the rest collected as the body goes on;
    // were the mapping given back earlier, later chunks would be written
    // over the kept ones.
    const n = 40 * MiB + 5;
    const res = await fetch(`${url}/big?n=${n}&k=pieces`);
    const src = pattern(256 * 1024);
    const kept = [];
    const buffers = new Set();
    let at = 0;
    let max = 0;
    let count = 0;
    for await (const c of res.body) {
      assert.ok(!buffers.has(c.buffer), 'a piece has an ArrayBuffer of its own');
      if (kept.length < 64) buffers.add(c.buffer);
      max = Math.max(max, c.length);
      if (count++ % 4 === 0) kept.push([at, c]);
      at += c.length;
      if (count % 16 === 0) gc({ type: 'minor' });
    }
    assert.equal(at, n);
    assert.ok(max <= 256 * 1024, `a piece of ${max} bytes`);
    assert.ok(count >= n / (256 * 1024), `${count} pieces`);
    gc();
    await new Promise((r) => setTimeout(r, 50));
    for (const [off, c] of kept) {
      for (let i = 0; i < c.length; i += 4093) {
        if (c[i] !== src[(off + i) % src.length]) assert.fail(`byte ${off + i} changed after the rest of its chunk was collected`);
      }
    }
  });

  it('streams a large body without Content-Length whole, through res.body and the body methods', async () => {
    // Past a quarter of a turn's mapping the core moves such a body's
    // chunks into mappings (fetch_recv.c): the bytes must come out the same.
    for (const n of [100, 300 * 1024, 5 * MiB + 3, 24 * MiB]) {
      const expected = crypto.createHash('sha256');
      const chunk = pattern(256 * 1024);
      for (let w = 0; w < n; w += chunk.length) expected.update(chunk.subarray(0, Math.min(chunk.length, n - w)));
      const want = expected.digest('hex');
      const res = await fetch(`${url}/big?chunked&n=${n}&k=c${n}`);
      assert.equal(res.headers.get('transfer-encoding'), 'chunked');
      const got = crypto.createHash('sha256');
      let len = 0;
      for await (const c of res.body) {
        got.update(c);
        len += c.length;
      }
      assert.deepEqual([len, got.digest('hex')], [n, want], `${n} bytes through res.body`);
      const whole = await (await fetch(`${url}/big?chunked&n=${n}&k=d${n}`, { maxBodySize: Infinity })).arrayBuffer();
      assert.equal(sha(Buffer.from(whole)), want, `${n} bytes through arrayBuffer()`);
    }
  });

  it('stops the transfer when the reader cancels, and the connection closes', async () => {
    const before = fdCount();
    const res = await fetch(`${url}/big?k=cancel`);
    const reader = res.body.getReader();
    await reader.read();
    await reader.cancel();
    await closed.get('cancel');
    assert.ok(sent.get('cancel') < 64 * MiB);
    for (let i = 0; i < 50 && fdCount() > before; i++) await new Promise((r) => setTimeout(r, 20));
    assert.ok(fdCount() <= before, 'no descriptor left behind');
  });

  it('errors the body with ABORT_ERR when the signal aborts mid-body', async () => {
    const ac = new AbortController();
    const res = await fetch(`${url}/big?k=abort`, { signal: ac.signal });
    const reader = res.body.getReader();
    await reader.read();
    const reason = new Error('enough');
    ac.abort(reason);
    await assert.rejects(async () => { for (;;) if ((await reader.read()).done) break; }, (e) => e.code === 'ABORT_ERR' && e.cause === reason);
    await closed.get('abort');
  });

  it('errors a body not yet read when the signal aborts after the response, as fetch does (whole, arrived, clones), and then lets the signal go', async () => {
    const { getEventListeners } = require('node:events');
    const reason = new Error('late');
    // Each case through Node's fetch and ours: what the read after the abort gives.
    const cases = {
      'whole, text()': async (f, signal, ac) => { const r = await f(`${url}/small`, { signal }); ac.abort(reason); return r.text(); },
      'whole, a reader': async (f, signal, ac) => { const r = await f(`${url}/small`, { signal }); const rd = r.body.getReader(); ac.abort(reason); return rd.read().then((x) => x.done); },
      'whole, a clone': async (f, signal, ac) => { const r = await f(`${url}/small`, { signal }); const c = r.clone(); ac.abort(reason); return Promise.allSettled([r.text(), c.text()]).then((x) => x.map((y) => y.status)); },
      'arrived, unread': async (f, signal, ac) => {
        const r = await f(`${url}/late?auto`, { signal });
        await new Promise((res) => setTimeout(res, 400)); // Its end has arrived by now.
        ac.abort(reason);
        return r.text();
      },
      'read, then aborted': async (f, signal, ac) => { const r = await f(`${url}/small`, { signal }); const t = await r.text(); ac.abort(reason); return t; },
      'streamed to its end, then aborted': async (f, signal, ac) => {
        const r = await f(`${url}/late?auto`, { signal });
        let t = '';
        for await (const c of r.body) t += Buffer.from(c);
        ac.abort(reason);
        return t;
      },
    };
    for (const [name, run] of Object.entries(cases)) {
      const out = [];
      for (const f of [globalThis.fetch, fetch]) {
        const ac = new AbortController();
        // Node's errors vary (the reason itself, a DOMException, "Body is
        // unusable" once the body has arrived); ours is always an AbortError
        // whose cause is the reason (the house rule).
        out.push(await run(f, ac.signal, ac).then((v) => ['ok', v], (e) => {
          if (f === fetch) assert.ok(e.code === 'ABORT_ERR' && e.cause === reason, `${name}: ${e.stack}`);
          return ['rejected'];
        }));
      }
      assert.deepEqual(out[1], out[0], name);
    }
    const ac = new AbortController();
    const r = await fetch(`${url}/small`, { signal: ac.signal });
    const head = await fetch(`${url}/small`, { signal: ac.signal, method: 'HEAD' });
    ac.abort(reason);
    await assert.rejects(r.text(), (e) => e.code === 'ABORT_ERR' && e.cause === reason && r.bodyUsed);
    // A null body is not errored (the standard's "if response's body is non-null"; Node 20's rejects).
    assert.equal(await head.text(), '');
    // Read (whole or to its end), cancelled, or collected unread: nothing of it listens to the signal any more.
    const kept = new AbortController();
    const count = () => getEventListeners(kept.signal, 'abort').length;
    await (await fetch(`${url}/small`, { signal: kept.signal })).text();
    await (await fetch(`${url}/late?auto`, { signal: kept.signal })).text();
    const c = await fetch(`${url}/small`, { signal: kept.signal });
    await c.clone().arrayBuffer();
    assert.equal(count(), 1, 'the clone read, the original not yet');
    await c.bytes();
    await (await fetch(`${url}/late?auto`, { signal: kept.signal })).body.cancel();
    assert.equal(count(), 0);
    await (async () => { await fetch(`${url}/small`, { signal: kept.signal }); await fetch(`${url}/late?auto`, { signal: kept.signal }); })();
    await new Promise((res) => setTimeout(res, 400)); // The second one's transfer has ended (its own listener gone).
    assert.equal(count(), 2);
    for (let i = 0; i < 20 && count() > 0; i++) {
      gc();
      await new Promise((res) => setTimeout(res, 50));
    }
    assert.equal(count(), 0, 'collected unread');
  });

  it('decodes gzip as it arrives, and a gzip stream cut short errors the body with EPROTO', async () => {
    const res = await fetch(`${url}/gzip`);
    const parts = [];
    for await (const c of res.body) parts.push(Buffer.from(c));
    assert.ok(parts.length > 1, 'in more than one chunk');
    assert.equal(sha(Buffer.concat(parts)), res.headers.get('x-sha'));
    assert.equal(sha(Buffer.from(await (await fetch(`${url}/gzip`)).arrayBuffer())), res.headers.get('x-sha'));
    await assert.rejects((await fetch(`${url}/cut-gzip`)).text(), { code: 'EPROTO' });
  });

  it('clones a body still arriving: each branch reads it whole', async () => {
    const res = await fetch(`${url}/big?k=clone&n=${6 * MiB}`);
    const copy = res.clone();
    const [a, b] = await Promise.all([res.arrayBuffer(), copy.bytes()]);
    assert.equal(a.byteLength, 6 * MiB);
    assert.equal(sha(Buffer.from(a)), sha(Buffer.from(b)));
  });

  it('bounds the body methods by maxBodySize and stops the transfer there', async () => {
    const res = await fetch(`${url}/big?k=bound`, { maxBodySize: 2 * MiB });
    await assert.rejects(res.text(), { code: 'EBODYTOOLARGE' });
    await closed.get('bound');
  });

  it('lets Fetcher#close() resolve with a body unread, and that body can still be read', async () => {
    // close() waited for the reader: with none it never settled.
    const f = new Fetcher({ perSecond: Infinity });
    const res = await f.fetch(`${url}/big?k=closing&n=${6 * MiB}`);
    await f.close();
    await assert.rejects(f.fetch(`${url}/`), { code: 'ERR_FETCHER_CLOSED' });
    assert.equal((await res.bytes()).length, 6 * MiB);
  });

  it('streams through Fetcher#fetch too, and keeps fetchAll\'s whole Buffers', async () => {
    const f = new Fetcher({ perSecond: Infinity });
    const res = await f.fetch(`${url}/late`);
    const text = res.text();
    lateEnd();
    assert.equal(await text, 'early;late');
    const [r] = await f.fetchAll([`${url}/late?auto`]);
    assert.ok(Buffer.isBuffer(r.body));
    assert.equal(r.body.toString(), 'early;late');
    // The fetcher's byte count has every chunk of a streamed body.
    const before = f.stats.bytes;
    let n = 0;
    for await (const c of (await f.fetch(`${url}/big?k=stats&n=${6 * MiB}`)).body) n += c.length;
    assert.equal(n, 6 * MiB);
    assert.equal(f.stats.bytes - before, 6 * MiB);
    await f.close();
  });

  it('lets the process exit with a body unread, and cancels one whose Response is collected unread', async () => {
    const entry = JSON.stringify(path.join(root, 'lib', 'index.js'));
    const exit = await runNode(`require(${entry}).fetch(${JSON.stringify(`${url}/big?k=exit`)}).then((r) => console.log(r.status));`);
    assert.equal(exit.code, 0, exit.stderr);
    assert.equal(exit.stdout.trim(), '200');
    const gc = await runNode(`
      const { fetch } = require(${entry});
      (async () => {
        await fetch(${JSON.stringify(`${url}/big?k=gc`)}); // Dropped unread.
        await new Promise((r) => setTimeout(r, 100));
        globalThis.gc();
        await new Promise((r) => setTimeout(r, 100));
        setTimeout(() => {}, 1000); // Alive long enough for the server to see the close.
      })();
    `, { args: ['--expose-gc'] });
    assert.equal(gc.code, 0, gc.stderr);
    await closed.get('gc');
    assert.ok(sent.get('gc') < 64 * MiB);
  });
});
