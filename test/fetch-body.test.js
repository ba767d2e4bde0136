'use strict';
// What fetch() sends: bodies of every length and kind, exactly, and nothing
// the caller did not give it.
const assert = require('node:assert/strict');
const crypto = require('node:crypto');
const { Fetcher, fetch } = require('..');
const { startHttp } = require('./helpers/servers');
const { runNode } = require('./helpers');
const vm = require('node:vm');

const sha = (b) => crypto.createHash('sha256').update(b).digest('hex');

describe('request bodies', () => {
  let srv;
  before(async () => {
    srv = await startHttp((req, res) => {
      const chunks = [];
      req.on('data', (c) => chunks.push(c));
      req.on('end', () => {
        const body = Buffer.concat(chunks);
        res.setHeader('content-type', 'application/json');
        res.end(JSON.stringify({
          method: req.method, length: body.length, sha: sha(body), text: body.length < 64 ? body.toString('latin1') : undefined,
          contentLength: req.headers['content-length'], x: req.headers['x-text'], type: req.headers['content-type'],
        }));
      });
    });
  });
  after(() => srv.stop());

  it('sends a POST without a body as Content-Length: 0 and never reads the process\'s stdin', async function () {
    // Two children, each up to 15 s: an ASan run on a slow machine (a
    // fresh-clone CI run, 2026-12-07) took more than mocha's 20 s for both.
    this.timeout(45000);
    // libcurl's default read callback reads stdin: the server received
    // "SECRET\n"; with stdin open and silent, the loop blocked.
    const code = `require('./lib').fetch(${JSON.stringify(`${srv.url}/`)}, { method: 'POST', timeout: 2000 })
      .then(async (r) => { console.log(await r.text()); process.exit(0); }, (e) => { console.log(e.code); process.exit(1); });`;
    const piped = await runNode(code, { stdin: 'SECRET\n' });
    assert.equal(piped.code, 0, piped.stderr);
    const seen = JSON.parse(piped.stdout);
    assert.equal(seen.length, 0);
    assert.equal(seen.contentLength, '0');
    // With stdin open and silent the old code blocked the loop in libcurl's
    // read of it, and the request's 2 s timeout rejected it (exit 1): a
    // response, and exit 0, say nothing blocked.  (No wall-clock bound: an
    // ASan run on a busy machine took 3.3 s to start and finish the child.)
    const open = await runNode(code, { stdin: 'open', timeout: 15000 });
    assert.equal(open.code, 0, `${open.stdout} ${open.stderr}`);
    assert.equal(JSON.parse(open.stdout).length, 0);
    for (const method of ['PUT', 'PATCH']) {
      const r = await (await fetch(`${srv.url}/`, { method })).json();
      assert.deepEqual([r.method, r.length, r.contentLength], [method, 0, '0']);
    }
  });

  it('takes any ArrayBuffer view or ArrayBuffer from any realm, and URLSearchParams, with fetch\'s content types', async () => {
    // A vm context's Uint8Array is not `instanceof` this realm's: it was refused.
    const foreign = vm.runInNewContext('new Uint8Array([104, 105])');
    const seen = async (body, headers) => (await fetch(`${srv.url}/`, { method: 'POST', body, headers })).json();
    for (const body of [foreign, new Uint16Array([0x6968]), new DataView(new Uint8Array([104, 105]).buffer), new Uint8Array([104, 105]).buffer, vm.runInNewContext('new ArrayBuffer(2)')]) {
      const r = await seen(body);
      assert.equal(r.length, 2, Object.prototype.toString.call(body));
      assert.equal(r.type, undefined, 'no content type of libcurl\'s own (application/x-www-form-urlencoded)');
    }
    assert.equal((await seen(foreign)).text, 'hi');
    const form = await seen(new URLSearchParams({ a: '1', b: 'é' }));
    assert.equal(form.text, 'a=1&b=%C3%A9');
    assert.equal(form.type, 'application/x-www-form-urlencoded;charset=UTF-8');
    assert.equal((await seen('text')).type, 'text/plain;charset=UTF-8');
    assert.equal((await seen('{}', { 'content-type': 'application/json' })).type, 'application/json');
    await assert.rejects(() => fetch(srv.url, { method: 'POST', body: { a: 1 } }), { name: 'TypeError', message: /options\.body/ });
  });

  it('sends Blob, FormData (serialized by Node\'s own Response), ReadableStream, Readable and async iterable bodies', async () => {
    const { Readable } = require('node:stream');
    const post = async (body, extra = {}) => (await fetch(`${srv.url}/`, { method: 'POST', body, ...extra })).json();
    const blob = await post(new Blob(['a blob ', new Uint8Array([0xe9])], { type: 'text/x-mine' }));
    assert.equal(blob.text, 'a blob \xe9');
    assert.equal(blob.type, 'text/x-mine');
    assert.equal((await post(new Blob(['x']), { headers: { 'content-type': 'text/theirs' } })).type, 'text/theirs');
    const fd = new FormData();
    fd.append('name', 'välue');
    fd.append('file', new Blob([Buffer.alloc(1000, 'f')], { type: 'application/x-f' }), 'f.bin');
    const seen = await post(fd);
    const reference = new Response(fd);
    assert.match(seen.type, /^multipart\/form-data; boundary=/);
    // The same serialization as Node's own, up to the boundary it picks.
    const boundary = (t) => t.split('boundary=')[1];
    const expected = Buffer.from(await reference.arrayBuffer()).toString('latin1')
      .split(boundary(reference.headers.get('content-type'))).join(boundary(seen.type));
    assert.equal(seen.sha, sha(Buffer.from(expected, 'latin1')));
    const big = crypto.randomBytes(3 << 20);
    const parts = [];
    for (let i = 0; i < big.length; i += 65536) parts.push(big.subarray(i, i + 65536));
    assert.equal((await post(Readable.from(parts))).sha, sha(big));
    const web = new ReadableStream({
      start(c) {
        for (const p of parts) c.enqueue(new Uint8Array(p));
        c.close();
      },
    });
    assert.equal((await post(web, { duplex: 'half' })).sha, sha(big));
    const gen = await post((async function* () { yield 'str'; yield new Uint8Array([1, 2]); yield new ArrayBuffer(3); })());
    assert.equal(gen.length, 8);
    // A producer that reuses its buffer: what was sent is what it gave at the time.
    const reused = Buffer.alloc(4);
    const again = await post((async function* () { reused.fill('a'); yield reused; reused.fill('b'); yield reused; })());
    assert.equal(again.text, 'aaaabbbb');
    await assert.rejects(post((async function* () { yield 42; })()), { name: 'TypeError', message: /options\.body chunk/ });
    await assert.rejects(post((async function* () { yield 'a'; throw new Error('producer failed'); })()), /producer failed/);
    await assert.rejects(fetch(`${srv.url}/`, { method: 'POST', body: 'x', duplex: 'full' }), { name: 'TypeError', message: /options\.duplex/ });
  });

  it('settles on an abort while a stream body that never ends is read, and stops the source', async () => {
    // It waited for the body's end for good: the abort went unheard (found
    // by node-fetch's suite).
    const { Readable } = require('node:stream');
    const post = (body, signal) => fetch(`${srv.url}/`, { method: 'POST', body, signal });
    const readable = new Readable({ read() {} });
    let destroyedWith = null;
    readable.on('error', (e) => { destroyedWith = e; });
    let cancelled = false;
    const web = new ReadableStream({ pull() { return new Promise(() => {}); }, cancel() { cancelled = true; } });
    // An async generator stops at its next step (one that never ends cannot
    // be stopped from outside, by anyone): this one yields every 10 ms.
    let finished = false;
    const gen = (async function* () {
      try {
        for (;;) {
          yield 'a';
          await new Promise((r) => setTimeout(r, 10));
        }
      } finally {
        finished = true;
      }
    })();
    for (const body of [readable, web, gen]) {
      const ac = new AbortController();
      const reason = new Error('stop');
      const p = post(body, ac.signal);
      setTimeout(() => ac.abort(reason), 30);
      await assert.rejects(p, (e) => e.code === 'ABORT_ERR' && e.cause === reason);
    }
    await new Promise((r) => setTimeout(r, 50));
    assert.equal(destroyedWith && destroyedWith.code, 'ABORT_ERR');
    assert.equal(cancelled, true);
    assert.equal(finished, true);
  });

  it('takes a Request as the input, its method, headers, body and signal, under the options given beside it', async () => {
    const { Request } = require('..');
    assert.equal(Request, globalThis.Request);
    const r1 = await (await fetch(new Request(`${srv.url}/`, { method: 'PUT', body: 'from a request', headers: { 'X-Text': 'yes' } }))).json();
    assert.deepEqual([r1.method, r1.text, r1.x, r1.type], ['PUT', 'from a request', 'yes', 'text/plain;charset=UTF-8']);
    const r2 = await (await fetch(new Request(`${srv.url}/`, { method: 'PUT', body: 'b' }), { method: 'PATCH' })).json();
    assert.equal(r2.method, 'PATCH');
    const f = new Fetcher({ perSecond: Infinity });
    assert.equal((await (await f.fetch(new Request(`${srv.url}/`))).json()).method, 'GET');
    await f.close();
    const ac = new AbortController();
    ac.abort(new Error('stop'));
    await assert.rejects(fetch(new Request(`${srv.url}/`, { signal: ac.signal })), { code: 'ABORT_ERR' });
    const used = new Request(`${srv.url}/`, { method: 'POST', body: 'once' });
    await used.text();
    await assert.rejects(fetch(used), TypeError);
  });

  it('refuses the headers that frame the message (Content-Length, Transfer-Encoding, Host, Connection, Expect)', async () => {
    // A caller's Content-Length beside a shorter body left the request
    // waiting for good (fetch() has no default timeout).
    for (const name of ['Content-Length', 'transfer-encoding', 'Host', 'Connection', 'EXPECT']) {
      await assert.rejects(() => fetch(srv.url, { method: 'POST', body: 'x', headers: { [name]: '999' } }),
        (e) => e instanceof TypeError && e.message.includes(name));
    }
    assert.throws(() => new Fetcher({ headers: { 'content-length': '5' } }), { name: 'TypeError', message: /content-length/ });
    const r = await (await fetch(srv.url, { method: 'POST', body: 'abc' })).json();
    assert.equal(r.contentLength, '3'); // The fetcher's own, from the body.
  });

  it('sends UTF-8 string bodies and header values of every length whole, multi-byte characters at every boundary (header values as bytes)', async function () {
    this.timeout(120000);
    // The binding copied strings through a 1,024-byte buffer and took a cut
    // one for whole when a multi-byte character straddled byte 1,023.
    const lengths = [];
    for (let n = 0; n <= 2200; n++) lengths.push(n);
    for (let p = 4096; p <= 65536; p *= 2) for (let d = -6; d <= 6; d++) lengths.push(p + d);
    for (let n = 2201; n <= 70000; n += 997) lengths.push(n);
    const chars = ['é', '€', '😀']; // 2, 3 and 4 bytes in UTF-8.
    const f = new Fetcher({ concurrency: 32, perSecond: Infinity, timeout: 10000 });
    const bad = [];
    const jobs = [];
    for (const n of lengths) {
      for (const ch of chars) {
        // n bytes: ASCII up to a multi-byte character that ends at byte n.
        const w = Buffer.byteLength(ch);
        if (n < w) continue;
        const text = 'a'.repeat(n - w) + ch;
        jobs.push(f.fetch(`${srv.url}/`, { method: 'POST', body: text }).then(async (r) => {
          const seen = await r.json();
          if (seen.length !== n || seen.sha !== sha(Buffer.from(text))) bad.push(`body ${n} (${ch}): ${seen.length} bytes`);
        }));
      }
    }
    // A header block past 1,024 bytes with a Latin-1 character across it
    // (values are ByteStrings: a byte a character), and the same with text
    // the caller encoded as UTF-8 bytes first.
    for (let n = 990; n <= 1100; n++) {
      const value = 'h'.repeat(n) + 'é' + 'h'.repeat(3);
      const text = 'h'.repeat(n) + '€' + 'h'.repeat(3);
      jobs.push(f.fetch(`${srv.url}/`, { headers: { 'x-text': value } }).then(async (r) => {
        const got = (await r.json()).x; // Node's server reads a byte a character.
        if (got !== value) bad.push(`header ${n}: ${got.length} characters`);
      }));
      jobs.push(f.fetch(`${srv.url}/`, { headers: { 'x-text': Buffer.from(text).toString('latin1') } }).then(async (r) => {
        const got = Buffer.from((await r.json()).x, 'latin1').toString('utf8');
        if (got !== text) bad.push(`UTF-8 header ${n}: ${got.length} characters`);
      }));
    }
    await Promise.all(jobs);
    await f.close();
    assert.deepEqual(bad, []);
  });
});
