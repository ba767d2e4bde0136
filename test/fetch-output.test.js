'use strict';
// fetch(url, { output }): the core writes the body to a file as it arrives,
// as curl -o does, with no JS in the path; the promise settles after the
// file is complete and closed.
const assert = require('node:assert/strict');
const crypto = require('node:crypto');
const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');
const zlib = require('node:zlib');
const { pathToFileURL } = require('node:url');
const { fetch, Fetcher } = require('..');
const { startHttp } = require('./helpers/servers');
const { runNode, root } = require('./helpers');

const sha = (b) => crypto.createHash('sha256').update(b).digest('hex');

describe('fetch output', () => {
  let srv;
  let dir;
  const flaky = new Map();
  before(async () => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'uvasync-out-'));
    srv = await startHttp((req, res) => {
      const u = new URL(req.url, 'http://x');
      switch (u.pathname) {
        case '/bytes': {
          const n = Number(u.searchParams.get('n'));
          const b = Buffer.alloc(n);
          for (let i = 0; i < n; i++) b[i] = (i * 7 + (i >> 8)) & 0xff;
          res.end(b);
          return;
        }
        case '/empty': res.end(); return;
        case '/gzip': res.setHeader('content-encoding', 'gzip'); res.end(zlib.gzipSync('hello gzip')); return;
        case '/flaky': {
          // 503 with a body of its own the first time, then the real one.
          const key = u.searchParams.get('k');
          const n = (flaky.get(key) || 0) + 1;
          flaky.set(key, n);
          if (n === 1) { res.writeHead(503, { 'retry-after': '0' }); res.end('x'.repeat(5000)); return; }
          res.end('second');
          return;
        }
        case '/moved': res.writeHead(302, { location: '/bytes?n=3' }); res.end('a redirect body'); return;
        case '/cut':
          res.writeHead(200, { 'content-length': 100000 });
          res.write(Buffer.alloc(1000, 'c'));
          setTimeout(() => req.socket.destroy(), 20);
          return;
        default: res.end(u.pathname);
      }
    });
  });
  after(async () => {
    await srv.stop();
    fs.rmSync(dir, { recursive: true, force: true });
  });

  it('writes the body to the file, whole, before the promise resolves; the Response has no body of its own', async () => {
    for (const n of [1, 1000, 16385, 1 << 20, 9 << 20]) {
      const file = path.join(dir, `b${n}`);
      const res = await fetch(`${srv.url}/bytes?n=${n}`, { output: file });
      assert.equal(res.status, 200);
      assert.equal(res.output, file);
      assert.equal(res.body, null);
      assert.equal((await res.bytes()).length, 0);
      const mine = fs.readFileSync(file);
      const theirs = Buffer.from(await (await globalThis.fetch(`${srv.url}/bytes?n=${n}`)).arrayBuffer());
      assert.equal(mine.length, n);
      assert.equal(sha(mine), sha(theirs), `n=${n}`);
    }
  });

  it('creates an empty file for an empty body and truncates a file that was there', async () => {
    const file = path.join(dir, 'was-there');
    fs.writeFileSync(file, 'old content that is longer');
    await fetch(`${srv.url}/empty`, { output: file });
    assert.equal(fs.readFileSync(file, 'utf8'), '');
    fs.writeFileSync(file, 'old content that is longer');
    await fetch(`${srv.url}/bytes?n=3`, { output: file });
    assert.equal(fs.statSync(file).size, 3);
  });

  it('keeps only the final response: a retried 503 and a followed redirect leave no bytes of theirs', async () => {
    const file = path.join(dir, 'retried');
    const f = new Fetcher({ retries: 2, retryDelay: 1, perSecond: Infinity });
    const res = await f.fetch(`${srv.url}/flaky?k=a`, { output: file });
    await f.close();
    assert.equal(res.status, 200);
    assert.equal(res.attempts, 2);
    assert.equal(fs.readFileSync(file, 'utf8'), 'second');
    const moved = path.join(dir, 'moved');
    const r2 = await fetch(`${srv.url}/moved`, { output: moved });
    assert.equal(r2.redirected, true);
    assert.equal(fs.statSync(moved).size, 3);
  });

  it('writes the bytes as sent, as curl -o does; decompress: true decodes them', async () => {
    const raw = path.join(dir, 'raw.gz');
    await fetch(`${srv.url}/gzip`, { output: raw });
    assert.equal(zlib.gunzipSync(fs.readFileSync(raw)).toString(), 'hello gzip');
    const dec = path.join(dir, 'decoded');
    await fetch(`${srv.url}/gzip`, { output: dec, decompress: true });
    assert.equal(fs.readFileSync(dec, 'utf8'), 'hello gzip');
  });

  it('rejects with EOUTPUT when the file cannot be made or written (a full disk: /dev/full)', async () => {
    await assert.rejects(fetch(`${srv.url}/bytes?n=10`, { output: path.join(dir, 'no', 'such', 'dir') }),
      { name: 'FetchError', code: 'EOUTPUT', message: /No such file or directory/ });
    await assert.rejects(fetch(`${srv.url}/bytes?n=100000`, { output: '/dev/full' }),
      { name: 'FetchError', code: 'EOUTPUT', message: /No space left on device/ });
  });

  it('has no size bound by default, and maxBodySize still bounds it when given', async () => {
    await assert.rejects(fetch(`${srv.url}/bytes?n=5000`, { output: path.join(dir, 'big'), maxBodySize: 4000 }),
      { code: 'EBODYTOOLARGE' });
    await fetch(`${srv.url}/bytes?n=${40 << 20}`, { output: path.join(dir, 'forty') });
    assert.equal(fs.statSync(path.join(dir, 'forty')).size, 40 << 20);
    fs.rmSync(path.join(dir, 'forty'));
  });

  it('rejects a transfer cut short, leaving what arrived, as curl -o does', async () => {
    const file = path.join(dir, 'cut');
    await assert.rejects(fetch(`${srv.url}/cut`, { output: file }), { code: 'ECONNRESET' });
    assert.equal(fs.statSync(file).size, 1000);
  });

  it('takes a file: URL, a path relative to the working directory at the call, or a function of the URL in fetchAll', async () => {
    const file = path.join(dir, 'by-url');
    await fetch(`${srv.url}/bytes?n=4`, { output: pathToFileURL(file) });
    assert.equal(fs.statSync(file).size, 4);
    const r = await runNode(`
      process.chdir(${JSON.stringify(dir)});
      require(${JSON.stringify(path.join(root, 'lib', 'index.js'))})
        .fetch(${JSON.stringify(`${srv.url}/bytes?n=6`)}, { output: 'relative' })
        .then((res) => console.log(res.output));
    `);
    assert.equal(r.stdout.trim(), path.join(dir, 'relative'));
    assert.equal(fs.statSync(path.join(dir, 'relative')).size, 6);
    const f = new Fetcher({ perSecond: Infinity });
    const all = await f.fetchAll([1, 2, 3].map((i) => `${srv.url}/file${i}`), { output: (url) => path.join(dir, path.basename(url)) });
    await f.close();
    assert.deepEqual(all.map((x) => x.status), [200, 200, 200]);
    for (const i of [1, 2, 3]) assert.equal(fs.readFileSync(path.join(dir, `file${i}`), 'utf8'), `/file${i}`);
  });

  it('rejects a bad output with a TypeError naming it', async () => {
    for (const bad of ['', 'a\0b', 42, new URL('http://x/'), {}]) {
      await assert.rejects(fetch(`${srv.url}/`, { output: bad }), { name: 'TypeError', message: /options\.output/ });
    }
    await assert.rejects(fetch(`${srv.url}/`, { output: () => 42 }), { name: 'TypeError', message: /options\.output/ });
  });
});
