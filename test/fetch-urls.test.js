'use strict';
// URLs as WHATWG URL reads them, and redirects as the fetch standard
// follows them.  What the server sees is compared with what `new URL()`
// says the caller asked for: one reading only.
const assert = require('node:assert/strict');
const { fetch, Fetcher, Response, Request } = require('..');
const { startHttp } = require('./helpers/servers');

describe('URLs and redirects', () => {
  let srv;
  before(async () => {
    srv = await startHttp((req, res) => {
      const u = new URL(req.url, 'http://x');
      const chunks = [];
      req.on('data', (c) => chunks.push(c));
      req.on('end', () => {
        if (u.pathname.startsWith('/to/')) {
          // /to/<status>?l=<location>
          res.writeHead(Number(u.pathname.slice(4)), { location: u.searchParams.get('l') });
          res.end('redirect body');
          return;
        }
        res.setHeader('content-type', 'application/json');
        res.end(JSON.stringify({
          method: req.method, url: req.url, host: req.headers.host, body: Buffer.concat(chunks).toString(),
          auth: req.headers.authorization, cookie: req.headers.cookie, proxyAuth: req.headers['proxy-authorization'],
          contentType: req.headers['content-type'], custom: req.headers['x-custom'],
        }));
      });
    });
  });
  after(() => srv.stop());

  it('fetches the host and path that new URL() reads, for the classic parser differentials', async () => {
    const p = srv.port;
    const cases = [
      `http://127.0.0.1:${p}\\@evil.invalid/`, // Backslash: a path for WHATWG; userinfo "…\" and host evil for others.
      `http://127.0.0.1:${p}/\\@evil.invalid/`,
      `http://user@name:pa ss@127.0.0.1:${p}/at`, // '@' in the userinfo.
      `http://127.0.0.1:${p}/a\tb\nc`, // Tabs and newlines are removed.
      `  http://127.0.0.1:${p}/trimmed  `,
      `http://0x7f.0.0.1:${p}/hex`, `http://2130706433:${p}/int`, `http://0177.0.0.1:${p}/octal`, `http://127.1:${p}/short`,
      `http://ｌｏｃａｌｈｏｓｔ:${p}/fullwidth`, `http://LocalHost:${p}/case`, // An IDN that maps to localhost.
      `http://127.0.0.1:${p}/a/./b/../c`, `http://127.0.0.1:${p}/%2e%2E/d`, `http://127.0.0.1:${p}/sp ace?q=a b#frag`,
      `http://127.0.0.1:${p}/ü?ß=€`,
    ];
    // Each twice in a row: the second reading is the one checkUrl() keeps.
    for (const input of cases.flatMap((c) => [c, c])) {
      const want = new URL(input);
      const r = await fetch(input, { timeout: 5000 });
      const seen = await r.json();
      assert.equal(seen.host, want.host, input);
      assert.equal(seen.url, want.pathname + want.search, input);
      assert.equal(r.url, want.href.replace(want.hash, ''), input);
      if (want.username) assert.equal(seen.auth, `Basic ${Buffer.from(`${decodeURIComponent(want.username)}:${decodeURIComponent(want.password)}`).toString('base64')}`, input);
    }
  });

  it('refuses what is not an absolute http(s) URL, with a TypeError naming the argument', async () => {
    for (const bad of ['', 'not a url', '/relative', 'ftp://127.0.0.1/', 'file:///etc/passwd', 'http://', 'http://[::1', 42, null]) {
      await (await fetch(`${srv.url}/ok`)).text(); // A good URL just before changes nothing.
      await assert.rejects(() => fetch(bad), { name: 'TypeError', message: /`url`/ }, String(bad));
      await assert.rejects(() => fetch(bad), { name: 'TypeError', message: /`url`/ }, String(bad));
    }
  });

  it('reads data: and blob: URLs as the global fetch does (no network), into the same Response', async () => {
    const blobUrl = URL.createObjectURL(new Blob(['blob é'], { type: 'text/x-test' }));
    const cases = [
      ['data:text/plain;base64,aGk=', 'GET'], ['data:,Hello%2C%20World%21', 'GET'], ['  data:text/html,<b>x</b>#frag', 'GET'],
      ['data:text/plain;charset=utf-8;base64,w6k=', 'POST'], ['DATA:application/json,%7B%22a%22%3A1%7D', 'HEAD'],
      [new URL('data:;base64,AAEC/w=='), 'GET'], [blobUrl, 'GET'],
    ];
    const shape = async (r) => [r.status, r.statusText, r.url, r.redirected, r.type, [...r.headers],
      r.body === null, Buffer.from(await r.arrayBuffer()).toString('hex'), r.bodyUsed];
    const f = new Fetcher();
    for (const [url, method] of cases) {
      const want = await shape(await globalThis.fetch(url, { method }));
      assert.deepEqual(await shape(await fetch(url, { method })), want, `${url} ${method}`);
      assert.deepEqual(await shape(await fetch(new Request(url, { method }))), want, `Request ${url} ${method}`);
      assert.deepEqual(await shape(await f.fetch(url, { method })), want, `Fetcher ${url} ${method}`);
    }
    const r = await fetch('data:application/json,%7B%22a%22%3A1%7D');
    assert.ok(r instanceof Response && r instanceof globalThis.Response);
    assert.deepEqual(await r.clone().json(), { a: 1 });
    assert.equal(r.httpVersion, '');
    assert.equal(typeof r.durationMs, 'number');
    // What the global fetch fails, as FetchErrors with the global's error as their cause.
    await assert.rejects(fetch('data:;base64,@@@'), (e) => e.name === 'FetchError' && e.code === 'ERR_INVALID_URL' && e.cause instanceof TypeError);
    await assert.rejects(fetch(blobUrl, { method: 'POST', body: 'x' }), { name: 'FetchError', code: 'ERR_INVALID_URL', message: /GET only/ });
    URL.revokeObjectURL(blobUrl);
    await assert.rejects(fetch(blobUrl), { name: 'FetchError', code: 'ERR_INVALID_URL', message: /names no Blob/ });
    // The options that mean something here: signal, maxBodySize, output; bad ones are the same TypeErrors.
    const ac = new AbortController();
    ac.abort(new Error('why'));
    await assert.rejects(fetch('data:,x', { signal: ac.signal }), (e) => e.name === 'AbortError' && e.code === 'ABORT_ERR' && e.cause.message === 'why');
    await assert.rejects((await fetch('data:,12345', { maxBodySize: 4 })).text(), { code: 'EBODYTOOLARGE' });
    await assert.rejects(() => fetch('data:,x', { timeout: -1 }), { name: 'RangeError', message: /options\.timeout/ });
    const dir = require('node:fs').mkdtempSync(require('node:path').join(require('node:os').tmpdir(), 'uva-data-'));
    const file = require('node:path').join(dir, 'out');
    const out = await fetch('data:,to%20a%20file', { output: file });
    assert.deepEqual([out.output, out.body, require('node:fs').readFileSync(file, 'utf8')], [file, null, 'to a file']);
    await assert.rejects(fetch('data:,x', { output: require('node:path').join(dir, 'no', 'such') }), { code: 'EOUTPUT' });
    require('node:fs').rmSync(dir, { recursive: true });
    await f.close();
    await assert.rejects(f.fetch('data:,x'), { code: 'ERR_FETCHER_CLOSED' });
  });

  it('changes the method and drops the body as the fetch standard says, for each redirect status', async () => {
    const at = (status, l) => `${srv.url}/to/${status}?l=${encodeURIComponent(l)}`;
    const send = async (method, status) => {
      const body = method === 'GET' || method === 'HEAD' ? undefined : 'payload';
      const r = await fetch(at(status, '/echo'), { method, body, headers: { 'content-type': 'text/plain', 'x-custom': 'kept' } });
      return method === 'HEAD' ? { status: r.status, method: 'HEAD' } : await r.json();
    };
    for (const status of [301, 302]) {
      assert.deepEqual(await send('POST', status).then((s) => [s.method, s.body, s.contentType, s.custom]), ['GET', '', undefined, 'kept']);
      for (const m of ['PUT', 'PATCH', 'DELETE']) {
        assert.deepEqual(await send(m, status).then((s) => [s.method, s.body, s.contentType]), [m, 'payload', 'text/plain'], `${m} ${status}`);
      }
    }
    for (const m of ['POST', 'PUT', 'PATCH', 'DELETE']) {
      assert.deepEqual(await send(m, 303).then((s) => [s.method, s.body]), ['GET', ''], `${m} 303`);
    }
    assert.equal((await send('HEAD', 303)).status, 200);
    for (const status of [307, 308]) {
      for (const m of ['POST', 'PUT', 'PATCH', 'DELETE']) {
        assert.deepEqual(await send(m, status).then((s) => [s.method, s.body]), [m, 'payload'], `${m} ${status}`);
      }
    }
  });

  it('rejects a redirect that would send a stream body again (307, 308, 301/302 of a PUT), as fetch does; a Blob is sent again', async () => {
    const { Readable } = require('node:stream');
    const at = (status) => `${srv.url}/to/${status}?l=${encodeURIComponent('/echo')}`;
    for (const [status, method] of [[307, 'POST'], [308, 'PUT'], [301, 'PUT'], [302, 'PATCH']]) {
      await assert.rejects(fetch(at(status), { method, body: Readable.from(['stream']) }), { code: 'EREDIRECT', type: 'unsupported-redirect', message: /stream body/ }, `${method} ${status}`);
    }
    // A 303 (and a POST's 301/302) drops the body: nothing to send again.
    assert.equal((await (await fetch(at(303), { method: 'POST', body: Readable.from(['stream']) })).json()).method, 'GET');
    const blob = await (await fetch(at(307), { method: 'POST', body: new Blob(['blob']) })).json();
    assert.deepEqual([blob.method, blob.body], ['POST', 'blob']);
  });

  it('drops Authorization, Cookie and Proxy-Authorization on a redirect to another origin, and keeps them on the same', async () => {
    const headers = { authorization: 'Bearer secret', cookie: 'a=1', 'proxy-authorization': 'Basic eDp5', 'x-custom': 'kept' };
    const same = await (await fetch(`${srv.url}/to/302?l=/echo`, { headers })).json();
    assert.deepEqual([same.auth, same.cookie, same.proxyAuth, same.custom], ['Bearer secret', 'a=1', 'Basic eDp5', 'kept']);
    // localhost is another origin than 127.0.0.1, on the same server.
    const other = `http://localhost:${srv.port}/echo`;
    for (const status of [301, 302, 303, 307, 308]) {
      const seen = await (await fetch(`${srv.url}/to/${status}?l=${encodeURIComponent(other)}`, { headers })).json();
      assert.deepEqual([seen.auth, seen.cookie, seen.proxyAuth, seen.custom, seen.host], [undefined, undefined, undefined, 'kept', `localhost:${srv.port}`], String(status));
    }
  });

  it("reports redirects: 'manual' returns the 3xx, 'error' rejects, and res.url is the final URL, normalized", async () => {
    const manual = await fetch(`${srv.url}/to/302?l=/echo`, { redirect: 'manual' });
    assert.equal(manual.status, 302);
    assert.equal(manual.headers.get('location'), '/echo');
    assert.equal(manual.redirected, false);
    await assert.rejects(fetch(`${srv.url}/to/302?l=/echo`, { redirect: 'error' }), { code: 'EREDIRECT' });
    const followed = await fetch(`${srv.url}/to/301?l=${encodeURIComponent('/x/../echo/./y')}`);
    assert.equal(followed.redirected, true);
    assert.equal(followed.url, `${srv.url}/echo/y`);
    await assert.rejects(() => fetch(srv.url, { redirect: 'sometimes' }), { name: 'TypeError', message: /options\.redirect/ });
  });

  it('counts each redirect hop against a Fetcher\'s limits, and rejects a Location that is not a URL with EPROTO', async () => {
    const f = new Fetcher({ concurrency: 1, perSecond: Infinity });
    const before = srv.stats.requests;
    const all = await f.fetchAll([`${srv.url}/to/302?l=/to/302%3Fl%3D/echo`, `${srv.url}/echo`]);
    assert.deepEqual(all.map((r) => r.status), [200, 200]);
    assert.equal(srv.stats.requests - before, 4);
    assert.equal(srv.stats.maxActive, 1);
    await assert.rejects(f.fetch(`${srv.url}/to/302?l=${encodeURIComponent('http://[zz]/')}`), { code: 'EPROTO' });
    await f.close();
  });
});
