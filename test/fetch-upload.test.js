'use strict';
// Request bodies sent as they are produced (streams, iterables, large
// Blobs): through libcurl's read callback with pause, never read whole
// first, with backpressure, and with what fetch says of replaying them.
const assert = require('node:assert/strict');
const crypto = require('node:crypto');
const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');
const { Readable } = require('node:stream');
const { Fetcher, fetch } = require('..');
const { startHttp } = require('./helpers/servers');
const { FEATURES } = require('../lib/fetch');

const sha = (b) => crypto.createHash('sha256').update(b).digest('hex');
const turn = () => new Promise((r) => setImmediate(r));

/** Waits until `f()` holds, a loop turn at a time (failing after 10 s, not spinning for good). */
async function until(f) {
  const end = Date.now() + 10000;
  while (!f()) {
    if (Date.now() > end) throw new Error(`never came true: ${f}`);
    await turn();
  }
}

/** Resolves once `value()` has not changed for `n` checks 20 ms apart: the producer has stopped. */
async function settled(value, n = 10) {
  let last = -1;
  let same = 0;
  while (same < n) {
    await new Promise((r) => setTimeout(r, 20));
    const v = value();
    if (v === last) same++;
    else { same = 0; last = v; }
  }
  return last;
}

describe('request bodies sent as they are produced', () => {
  let srv;
  // What the server has seen of the request under way.
  const seen = { received: 0, headers: null, aborted: false, hold: null };
  let handler = null;
  // A handler that reads nothing until seen.hold() is called, then answers
  // with the body's length and sha (and its Transfer-Encoding, `te`).
  const readWhenAsked = (te) => (req, res) => {
    req.pause();
    seen.hold = () => {
      let n = 0;
      const hash = crypto.createHash('sha256');
      req.on('data', (c) => { n += c.length; hash.update(c); });
      req.on('end', () => res.end(JSON.stringify({ length: n, sha: hash.digest('hex'), ...(te ? { te: req.headers['transfer-encoding'] } : {}) })));
      req.resume();
    };
  };
  before(async () => {
    srv = await startHttp((req, res) => {
      if (handler !== null) { handler(req, res); return; }
      seen.received = 0;
      seen.headers = req.headers;
      seen.aborted = false;
      const hash = crypto.createHash('sha256');
      req.on('data', (c) => { seen.received += c.length; hash.update(c); });
      req.on('aborted', () => { seen.aborted = true; });
      req.on('end', () => res.end(JSON.stringify({ method: req.method, length: seen.received, sha: hash.digest('hex'),
        te: req.headers['transfer-encoding'], cl: req.headers['content-length'], type: req.headers['content-type'] })));
    });
  });
  after(() => srv.stop());
  beforeEach(() => {
    seen.received = 0;
    seen.aborted = false;
  });
  afterEach(() => { handler = null; });

  it("sends the form-data package's FormData as node-fetch does: its boundary, its length when known, else chunked", async () => {
    const FormDataPackage = require('form-data');
    const filled = () => {
      const form = new FormDataPackage();
      form.append('a', '1');
      form.append('ü', Buffer.from('zwei \u00e9'));
      return form;
    };
    // What the package itself writes: the bytes the server must see.
    const expected = await new Promise((resolve) => {
      const parts = [];
      const f = filled();
      f.on('data', (c) => parts.push(Buffer.from(c)));
      f.on('end', () => resolve({ bytes: Buffer.concat(parts), boundary: f.getBoundary() }));
      f.resume();
    });
    const known = filled();
    const length = known.getLengthSync();
    const r = await (await fetch(`${srv.url}/`, { method: 'POST', body: known })).json();
    assert.equal(r.type, `multipart/form-data;boundary=${known.getBoundary()}`);
    assert.equal(r.cl, String(length));
    assert.equal(r.length, expected.bytes.length);
    assert.equal(r.sha, sha(expected.bytes.toString().replaceAll(expected.boundary, known.getBoundary())));
    // A stream in it: no known length, so chunked; the caller's type wins.
    const file = path.join(os.tmpdir(), `uvasync-form-${process.pid}.txt`);
    fs.writeFileSync(file, 'x'.repeat(100000));
    try {
      const streamed = new FormDataPackage();
      streamed.append('f', fs.createReadStream(file));
      const s = await (await fetch(`${srv.url}/`, { method: 'POST', body: streamed, headers: streamed.getHeaders() })).json();
      assert.equal(s.te, 'chunked');
      assert.equal(s.type, `multipart/form-data; boundary=${streamed.getBoundary()}`);
      assert.ok(s.length > 100000);
    } finally {
      fs.rmSync(file, { force: true });
    }
    // Its methods are the caller's code: one that throws rejects the request.
    const broken = filled();
    broken.getBoundary = () => { throw new RangeError('no boundary'); };
    await assert.rejects(fetch(`${srv.url}/`, { method: 'POST', body: broken }), { name: 'RangeError', message: 'no boundary' });
    // A Writable has the old Stream's pipe() too, and nothing to read: refused.
    await assert.rejects(fetch(`${srv.url}/`, { method: 'POST', body: new (require('node:stream').Writable)() }), TypeError);
  });

  it('sends a stream body while it is produced, chunked over HTTP/1.1, each chunk before the next is asked for', async () => {
    // Each chunk is yielded only once the server has every byte before
    // it: a body read whole before sending never gets past the first.
    const parts = Array.from({ length: 20 }, (_, i) => crypto.randomBytes(1000 + i * 977));
    async function* lockstep() {
      let sent = 0;
      for (const p of parts) {
        yield p;
        sent += p.length;
        await until(() => seen.received >= sent);
      }
    }
    const send = async (method, body, extra) => {
      seen.received = 0;
      return (await fetch(`${srv.url}/`, { method, body, ...extra })).json();
    };
    const all = Buffer.concat(parts);
    const r = await send('POST', lockstep(), { duplex: 'half' });
    assert.deepEqual([r.method, r.length, r.sha, r.te, r.cl], ['POST', all.length, sha(all), 'chunked', undefined]);
    // The same through a web stream and a Node Readable, with PUT and PATCH.
    const w = await send('PUT', Readable.toWeb(Readable.from(lockstep(), { highWaterMark: 1 })), { duplex: 'half' });
    assert.deepEqual([w.method, w.sha], ['PUT', sha(all)]);
    const n = await send('PATCH', Readable.from(lockstep(), { highWaterMark: 1 }));
    assert.deepEqual([n.method, n.sha], ['PATCH', sha(all)]);
  });

  it('pulls no more from the source than the core holds while the server does not read, and sends it all when it does', async () => {
    handler = readWhenAsked(false);
    const chunk = crypto.randomBytes(65536);
    const total = 1024; // 64 MiB
    let produced = 0;
    async function* lots() {
      for (let i = 0; i < total; i++) {
        produced += chunk.length;
        yield chunk;
      }
    }
    const p = fetch(`${srv.url}/`, { method: 'POST', body: lots() });
    const stalled = await settled(() => produced);
    // The core's 1 MiB and the sockets' buffers on loopback (a few MiB);
    // without backpressure the whole 64 MiB is pulled at once.
    assert.ok(stalled < 16 * 1024 * 1024, `pulled ${stalled} bytes while nothing was read`);
    seen.hold();
    const r = await (await p).json();
    const expected = crypto.createHash('sha256');
    for (let i = 0; i < total; i++) expected.update(chunk);
    assert.deepEqual(r, { length: total * chunk.length, sha: expected.digest('hex') });
  });

  it('sends a Request\'s body as it is produced when it is large (a Request that passes an upload on), whole with its length when small', async () => {
    handler = readWhenAsked(true);
    const chunk = crypto.randomBytes(65536);
    const total = 512; // 32 MiB
    let produced = 0;
    let i = 0;
    const source = new ReadableStream({
      pull(controller) {
        if (i++ === total) return controller.close();
        produced += chunk.length;
        return controller.enqueue(new Uint8Array(chunk));
      },
    }, { highWaterMark: 0 });
    const p = fetch(new Request(`${srv.url}/`, { method: 'POST', body: source, duplex: 'half' }));
    const stalled = await settled(() => produced);
    assert.ok(stalled < 16 * 1024 * 1024, `pulled ${stalled} bytes of the Request's body while nothing was read`);
    seen.hold();
    const r = await (await p).json();
    const expected = crypto.createHash('sha256');
    for (let k = 0; k < total; k++) expected.update(chunk);
    assert.deepEqual(r, { length: total * chunk.length, sha: expected.digest('hex'), te: 'chunked' });
    // Small: one Buffer, with its Content-Length (and sent again on a 307).
    handler = null;
    const small = new ReadableStream({ start(c) { c.enqueue(new TextEncoder().encode('small')); c.close(); } });
    const s = await (await fetch(new Request(`${srv.url}/`, { method: 'PUT', body: small, duplex: 'half' }))).json();
    assert.deepEqual([s.method, s.length, s.cl, s.te], ['PUT', 5, '5', undefined]);
    // A body given beside the Request is the one sent; the Request's is left unread.
    const unread = new Request(`${srv.url}/`, { method: 'POST', body: 'request' });
    const o = await (await fetch(unread, { body: 'options' })).json();
    assert.deepEqual([o.length, unread.bodyUsed], [7, false]);
  });

  it('stops the source when the server answers before the body is sent (and resolves with that answer)', async () => {
    handler = (req, res) => {
      res.statusCode = 413;
      res.end('too large');
    };
    let finished = false;
    let produced = 0;
    async function* endless() {
      const c = Buffer.alloc(65536, 'e');
      try {
        for (;;) {
          produced += c.length;
          yield c;
        }
      } finally {
        finished = true;
      }
    }
    const r = await fetch(`${srv.url}/`, { method: 'POST', body: endless() });
    assert.equal(r.status, 413);
    assert.equal(await r.text(), 'too large');
    await until(() => finished);
    assert.ok(produced < 64 * 1024 * 1024, `${produced}`);
  });

  it('rejects with the source\'s own error when it fails mid-body, and the server sees the request cut off', async () => {
    const boom = new Error('producer failed');
    async function* failing() {
      yield Buffer.alloc(100000, 'a');
      await until(() => seen.received >= 100000);
      throw boom;
    }
    await assert.rejects(fetch(`${srv.url}/`, { method: 'POST', body: failing() }), (e) => e === boom);
    await until(() => seen.aborted);
    // A Readable destroyed with an error, and a chunk of a kind no body has.
    const readable = new Readable({ read() {} });
    readable.push('x');
    setTimeout(() => readable.destroy(boom), 20);
    await assert.rejects(fetch(`${srv.url}/`, { method: 'POST', body: readable }), (e) => e === boom);
    await assert.rejects(fetch(`${srv.url}/`, { method: 'POST', body: (async function* () { yield 'a'; yield 42; })() }),
      { name: 'TypeError', message: /options\.body chunk/ });
    const locked = new ReadableStream();
    locked.getReader();
    await assert.rejects(fetch(`${srv.url}/`, { method: 'POST', body: locked }), { name: 'TypeError', message: /locked/ });
  });

  it('aborts mid-body: rejects with AbortError, and the source stops', async () => {
    const ac = new AbortController();
    const reason = new Error('enough');
    const readable = new Readable({ read() {} });
    let destroyedWith = null;
    readable.on('error', (e) => { destroyedWith = e; });
    readable.push(Buffer.alloc(50000, 'r'));
    const p = fetch(`${srv.url}/`, { method: 'POST', body: readable, signal: ac.signal });
    await until(() => seen.received >= 50000);
    ac.abort(reason);
    await assert.rejects(p, (e) => e.code === 'ABORT_ERR' && e.cause === reason);
    await until(() => destroyedWith !== null); // Destroyed with the error, emitted on the next tick.
    assert.equal(destroyedWith.code, 'ABORT_ERR');
    await until(() => seen.aborted);
  });

  it('sends a large Blob (a file\'s) through its stream with its Content-Length, and again on a 307', async () => {
    const file = path.join(fs.mkdtempSync(path.join(os.tmpdir(), 'uva-up-')), 'big.bin');
    const data = crypto.randomBytes(5 * 1024 * 1024 + 7);
    fs.writeFileSync(file, data);
    const blob = await fs.openAsBlob(file, { type: 'application/x-big' });
    const r = await (await fetch(`${srv.url}/`, { method: 'PUT', body: blob })).json();
    assert.deepEqual([r.length, r.sha, r.cl, r.te, r.type], [data.length, sha(data), String(data.length), undefined, 'application/x-big']);
    let hops = 0;
    handler = (req, res) => {
      if (hops++ === 0) {
        req.resume();
        res.writeHead(307, { location: '/again' }).end();
        return;
      }
      handler = null;
      srv.server.emit('request', req, res);
    };
    const again = await fetch(`${srv.url}/`, { method: 'POST', body: blob });
    assert.equal(again.redirected, true);
    assert.equal((await again.json()).sha, sha(data));
    fs.rmSync(path.dirname(file), { recursive: true });
  });

  it('refuses a 307/308 that would send a stream body again, and follows a 303 as a GET without it', async () => {
    handler = (req, res) => {
      req.resume();
      if (req.url === '/307') res.writeHead(307, { location: '/end' }).end();
      else if (req.url === '/303') res.writeHead(303, { location: '/end' }).end();
      else res.end(`${req.method} ${req.headers['content-length'] || '-'} ${req.headers['transfer-encoding'] || '-'}`);
    };
    await assert.rejects(fetch(`${srv.url}/307`, { method: 'POST', body: Readable.from(['a', 'b']) }), { code: 'EREDIRECT' });
    const r = await fetch(`${srv.url}/303`, { method: 'POST', body: Readable.from(['a', 'b']) });
    assert.equal(await r.text(), 'GET - -');
  });

  it('never retries a request whose body was a stream (a Fetcher with retries sends it once)', async () => {
    let calls = 0;
    handler = (req, res) => {
      calls++;
      req.resume();
      req.on('end', () => { res.statusCode = 503; res.end('busy'); });
    };
    const f = new Fetcher({ retries: 2, retryDelay: 1, perSecond: Infinity });
    try {
      const r = await f.fetch(`${srv.url}/`, { method: 'PUT', body: Readable.from(['a', 'b']) });
      assert.deepEqual([r.status, r.attempts, calls], [503, 1, 1]);
      calls = 0;
      const s = await f.fetch(`${srv.url}/`, { method: 'PUT', body: 'ab' });
      assert.deepEqual([s.status, s.attempts, calls], [503, 3, 3], 'a body from memory is retried');
    } finally {
      await f.close();
    }
  });

  it('streams a body over HTTP/2 (TLS) while the response streams back (HTTP/1.1 on libcurl < 8.1)', async () => {
    const http2 = require('node:http2');
    const dir = path.join(__dirname, 'fixtures');
    const cert = fs.readFileSync(path.join(dir, 'selfsigned-cert.pem'));
    const h2 = http2.createSecureServer({ key: fs.readFileSync(path.join(dir, 'selfsigned-key.pem')), cert, allowHTTP1: true }, (req, res) => {
      // An echo: the response's body is the request's, as it arrives.
      res.writeHead(200, { 'content-type': 'application/octet-stream' });
      req.pipe(res);
    });
    const sessions = new Set();
    h2.on('session', (x) => { sessions.add(x); x.on('close', () => sessions.delete(x)); });
    await new Promise((r) => h2.listen(0, '127.0.0.1', r));
    try {
      const parts = Array.from({ length: 30 }, () => crypto.randomBytes(50000));
      let echoed = 0;
      async function* lockstep() {
        let sent = 0;
        for (const p of parts) {
          yield p;
          sent += p.length;
          // The next chunk only once this one has come back.
          await until(() => echoed >= sent);
        }
      }
      const res = await fetch(`https://127.0.0.1:${h2.address().port}/`, { method: 'POST', body: lockstep(), ca: cert });
      // libcurl 7.88 leaves the last data read before a pause unsent over
      // HTTP/2, and this producer waits for it: a stream body goes over
      // HTTP/1.1 there (FEATURES.h2Upload).
      assert.equal(res.httpVersion, FEATURES.h2Upload ? '2' : '1.1');
      const got = [];
      for await (const c of res.body) {
        got.push(c);
        echoed += c.length;
      }
      assert.equal(sha(Buffer.concat(got)), sha(Buffer.concat(parts)));
    } finally {
      for (const x of sessions) x.destroy(); // The kept-alive connection.
      await new Promise((r) => h2.close(r));
    }
  });
});
