'use strict';
// The Response of fetch(): the fetch standard's shape (Node's own Headers, a
// web ReadableStream body, async body methods, clone) over what the core
// hands over, compared where it can be with Node's global fetch.
const assert = require('node:assert/strict');
const { fetch, Fetcher, Response } = require('..');
const { startHttp } = require('./helpers/servers');

describe('Response', () => {
  let srv;
  before(async () => {
    srv = await startHttp((req, res) => {
      const u = new URL(req.url, 'http://x');
      switch (u.pathname) {
        case '/multi':
          res.setHeader('Set-Cookie', ['a=1', 'b=2']);
          res.setHeader('X-Many', ['one', 'two']);
          res.setHeader('Content-Type', 'text/plain; charset=utf-8');
          res.end('multi');
          return;
        case '/bom': res.end(Buffer.concat([Buffer.from([0xef, 0xbb, 0xbf]), Buffer.from('{"a":"é"}')])); return;
        case '/bad-json': res.end('{nope'); return;
        case '/bytes': res.end(Buffer.alloc(Number(u.searchParams.get('n')), 'q')); return;
        case '/204': res.writeHead(204); res.end(); return;
        case '/form': res.setHeader('content-type', 'application/x-www-form-urlencoded'); res.end('a=1&b=zwei'); return;
        case '/reason': res.writeHead(418, 'I Am A Teapot'); res.end('t'); return;
        default: res.end('ok');
      }
    });
  });
  after(() => srv.stop());

  it('has headers in a Node Headers, repeated fields joined and set-cookie kept apart, as the global fetch does', async () => {
    const mine = await fetch(`${srv.url}/multi`);
    const node = await globalThis.fetch(`${srv.url}/multi`);
    assert.ok(mine.headers instanceof Headers);
    assert.equal(mine.headers.get('x-many'), node.headers.get('x-many'));
    assert.deepEqual(mine.headers.getSetCookie(), node.headers.getSetCookie());
    assert.equal(mine.headers.get('Content-Type'), 'text/plain; charset=utf-8');
    assert.equal(mine.headers.get('absent'), null);
    assert.equal(mine.headers, mine.headers, 'one Headers object');
    await node.text();
  });

  it('reads the body through a web ReadableStream, chunks of Uint8Array, once', async () => {
    for (const n of [0, 1, 1000, 100_000, 3 << 20]) {
      const res = await fetch(`${srv.url}/bytes?n=${n}`);
      assert.ok(res.body instanceof ReadableStream);
      let total = 0;
      for await (const chunk of res.body) {
        assert.ok(chunk instanceof Uint8Array);
        assert.ok(chunk.every((b) => b === 0x71));
        total += chunk.length;
      }
      assert.equal(total, n);
      assert.equal(res.bodyUsed, true, `n=${n}`);
      await assert.rejects(res.text(), TypeError);
      assert.throws(() => res.clone(), TypeError);
    }
  });

  it('refuses a second reader and a body method while the stream is locked', async () => {
    const res = await fetch(`${srv.url}/bytes?n=10`);
    const reader = res.body.getReader();
    await assert.rejects(res.arrayBuffer(), TypeError);
    assert.throws(() => res.body.getReader(), TypeError);
    const { value } = await reader.read();
    assert.equal(value.length, 10);
  });

  it('clones: each copy reads the whole body, by stream or by method, and writing one leaves the other', async () => {
    for (const n of [10, 100_000]) {
      const a = await fetch(`${srv.url}/bytes?n=${n}`);
      const b = a.clone();
      const c = b.clone();
      let total = 0;
      for await (const chunk of a.body) total += chunk.length;
      assert.equal(total, n);
      const bytes = await b.bytes();
      bytes.fill(0);
      assert.equal((await c.text()).length, n);
      assert.equal(Buffer.from(await (await fetch(`${srv.url}/bytes?n=${n}`)).arrayBuffer()).toString(), 'q'.repeat(n));
    }
  });

  it('has async arrayBuffer, bytes, blob, text and json; text drops a byte order mark, json rejects bad JSON', async () => {
    const ab = await (await fetch(`${srv.url}/bytes?n=5`)).arrayBuffer();
    assert.ok(ab instanceof ArrayBuffer);
    assert.equal(ab.byteLength, 5);
    const u8 = await (await fetch(`${srv.url}/bytes?n=5`)).bytes();
    assert.ok(u8 instanceof Uint8Array);
    const blob = await (await fetch(`${srv.url}/multi`)).blob();
    assert.ok(blob instanceof Blob);
    assert.equal(blob.type, 'text/plain; charset=utf-8');
    assert.equal(await blob.text(), 'multi');
    assert.equal(await (await fetch(`${srv.url}/bom`)).text(), '{"a":"é"}');
    assert.deepEqual(await (await fetch(`${srv.url}/bom`)).json(), { a: 'é' });
    await assert.rejects((await fetch(`${srv.url}/bad-json`)).json(), SyntaxError);
    const p = (await fetch(`${srv.url}/`)).text();
    assert.ok(p instanceof Promise);
  });

  it('gives each of many small bodies finished in one turn its own bytes, though they share a Buffer', async () => {
    // The binding copies the small bodies of one batch into one Buffer
    // (src/binding/fetch.cc); each Response sees only its part.
    const f = new Fetcher({ concurrency: 64, perSecond: Infinity });
    const sizes = Array.from({ length: 256 }, (_, i) => [1, 100, 4095, 4096, 5000][i % 5] + (i % 7));
    let shared = 0;
    try {
      await Promise.all(sizes.map(async (n, i) => {
        const res = await f.fetch(`${srv.url}/bytes?n=${n}&i=${i}`);
        if (i % 2 === 0) {
          const ab = await res.arrayBuffer();
          assert.equal(ab.byteLength, n, 'arrayBuffer() is the body, not the Buffer it shares');
          assert.ok(new Uint8Array(ab).every((c) => c === 0x71), `body ${i} is not all its own bytes`);
          return;
        }
        const u8 = await res.bytes();
        assert.equal(u8.length, n);
        assert.ok(u8.every((c) => c === 0x71), `body ${i} is not all its own bytes`);
        if (u8.buffer.byteLength > n) shared++;
      }));
    } finally {
      await f.close();
    }
    assert.ok(shared > 0, 'no batch had two small bodies: the shared path went untested');
  });

  it('is constructible as fetch\'s Response (what that builds is Node\'s own), with its statics', async () => {
    const made = new Response('made', { status: 201, headers: { 'x-a': '1' } });
    assert.ok(made instanceof globalThis.Response);
    assert.equal(made.status, 201);
    assert.equal(made.headers.get('x-a'), '1');
    assert.equal(await made.text(), 'made');
    assert.deepEqual(await Response.json({ a: 1 }).json(), { a: 1 });
    assert.equal(Response.error().type, 'error');
  });

  it('takes signal: null as no signal, as fetch\'s RequestInit does', async () => {
    assert.equal((await fetch(`${srv.url}/`, { signal: null })).status, 200);
  });

  it('has a null body for 204 (as fetch), the reason phrase as statusText, and type basic', async () => {
    const none = await fetch(`${srv.url}/204`);
    assert.equal(none.status, 204);
    assert.equal(none.body, null);
    assert.equal(await none.text(), '');
    const tea = await fetch(`${srv.url}/reason`);
    assert.equal(tea.status, 418);
    assert.equal(tea.ok, false);
    assert.equal(tea.statusText, 'I Am A Teapot');
    assert.equal(tea.type, 'basic');
  });

  it('leaves a locked stream as the body of a response read through a body method, as fetch does', async () => {
    for (const n of [10, 100_000, 8 << 20]) {
      const node = await globalThis.fetch(`${srv.url}/bytes?n=${n}`);
      await node.arrayBuffer();
      const res = await fetch(`${srv.url}/bytes?n=${n}`);
      await res.arrayBuffer();
      assert.deepEqual([res.bodyUsed, res.body instanceof ReadableStream, res.body.locked], [node.bodyUsed, true, node.body.locked], `n=${n}`);
      assert.equal(res.body.locked, true);
      assert.throws(() => res.body.getReader(), TypeError);
    }
  });

  it('counts a cancelled body as used: bodyUsed, and the body methods and clone() refuse, as in fetch', async () => {
    for (const n of [10, 100_000, 8 << 20]) {
      const node = await globalThis.fetch(`${srv.url}/bytes?n=${n}`);
      await node.body.cancel();
      const res = await fetch(`${srv.url}/bytes?n=${n}`);
      await res.body.cancel();
      assert.equal(res.bodyUsed, node.bodyUsed, `n=${n}`);
      assert.equal(res.bodyUsed, true, `n=${n}`);
      await assert.rejects(() => node.text(), TypeError);
      await assert.rejects(() => res.text(), TypeError, `n=${n}`);
      await assert.rejects(() => res.arrayBuffer(), TypeError, `n=${n}`);
      assert.throws(() => res.clone(), TypeError, `n=${n}`);
    }
  });

  it('has no body for HEAD or a null-body status: null, never used, read as empty as often as asked, cloned (as fetch)', async () => {
    const f = new Fetcher();
    try {
      for (const [path, method] of [['/204', 'GET'], ['/multi', 'HEAD'], ['/bytes?n=5000', 'HEAD']]) {
        const node = await globalThis.fetch(`${srv.url}${path}`, { method });
        for (const [how, get] of [['fetch', fetch], ['Fetcher.fetch', (u, o) => f.fetch(u, o)]]) {
          const what = `${method} ${path} through ${how}`;
          const res = await get(`${srv.url}${path}`, { method });
          assert.equal(res.body, node.body, what);
          assert.equal(res.body, null, what);
          assert.equal(await res.text(), '', what);
          assert.equal(await res.text(), '', `${what}, twice`);
          assert.equal((await res.arrayBuffer()).byteLength, 0, what);
          assert.equal((await res.bytes()).length, 0, what);
          assert.equal((await res.blob()).size, 0, what);
          const copy = res.clone();
          assert.equal(copy.body, null, what);
          assert.equal(await copy.text(), '', what);
          assert.equal(res.bodyUsed, node.bodyUsed, what);
          assert.equal(res.bodyUsed, false, what);
          assert.equal(copy.bodyUsed, false, what);
          assert.equal(res.headers.get('content-type'), node.headers.get('content-type'), what);
        }
      }
    } finally {
      await f.close();
    }
  });

  it('is exported, a subclass of Node\'s global Response with timings, attempts and httpVersion, and prints', async () => {
    const res = await fetch(`${srv.url}/`);
    assert.ok(res instanceof Response);
    assert.ok(res instanceof globalThis.Response);
    assert.match(require('node:util').inspect(res), /^Response \{[^]*status: 200/);
    const form = await fetch(`${srv.url}/form`);
    assert.deepEqual([...(await form.formData())], [['a', '1'], ['b', 'zwei']]);
    assert.equal(typeof res.timings.total, 'number');
    assert.equal(typeof res.durationMs, 'number');
  });
});
