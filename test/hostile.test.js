'use strict';
// A server that lies: malformed, truncated, mutated and hostile responses,
// through fetch() and a Fetcher with retries.  No crash, every promise
// settles within its timeout, every rejection is a FetchError with a code
// the README lists, and descriptors and memory come back.
//
// UVASYNC_HOSTILE=N runs N requests a part instead of the default (a few
// seconds); the seed is printed, so a failing run can be replayed with
// UVASYNC_HOSTILE_SEED.
const assert = require('node:assert/strict');
const zlib = require('node:zlib');
const { fetch, Fetcher, FetchError } = require('..');
const { startHostile, NAMES, OK_BODY } = require('./helpers/hostile');
const { startRaw, fdCount } = require('./helpers/servers');
const { seeded } = require('./helpers');

// Every code a FetchError can carry (README, "Errors").
const CODES = new Set(['ECONNREFUSED', 'ETIMEDOUT', 'ENOTFOUND', 'ECONNRESET', 'EHOSTUNREACH', 'ENETUNREACH',
  'EMAXREDIRECTS', 'EBODYTOOLARGE', 'EPROTONOSUPPORT', 'EPROTO', 'ETLS', 'ABORT_ERR', 'ERR_FETCHER_CLOSED',
  'ERR_INVALID_URL', 'ERR_INVALID_ARG_VALUE', 'ENOMEM', 'EFETCH']);
// Of those, what a lying server may cause (EFETCH, libcurl's unmapped
// codes, must not be among them).
const SERVER_CODES = new Set(['ETIMEDOUT', 'ECONNRESET', 'EMAXREDIRECTS', 'EBODYTOOLARGE', 'EPROTONOSUPPORT', 'EPROTO']);
const N = Number(process.env.UVASYNC_HOSTILE) || 1500;
const SEED = Number(process.env.UVASYNC_HOSTILE_SEED) || (Date.now() % 100000) + 1;

function checkRejection(e, url, seen) {
  assert.ok(e instanceof FetchError, `${url}: not a FetchError: ${e && e.stack}`);
  assert.equal(typeof e.code, 'string');
  assert.ok(CODES.has(e.code), `${url}: ${e.code} is not a documented code`);
  assert.ok(SERVER_CODES.has(e.code), `${url}: ${e.code} (curl ${e.curlCode}: ${e.message}) from a lying server`);
  seen[e.code] = (seen[e.code] || 0) + 1;
}

describe('a hostile server', () => {
  let srv;
  before(async () => { srv = await startHostile(); });
  after(() => srv.stop());

  it('cannot corrupt the heap with a folded first header line on a reused connection (curl/curl#11101)', async () => {
    // libcurl < 8.1 kept a pointer to the previous transfer's freed headers
    // in a reused easy handle: the process died of a double free.
    for (let i = 0; i < 200; i++) {
      const name = i % 2 ? 'folded-first' : 'ok';
      const url = `${srv.url}/${name}/${i}`;
      try {
        const r = await fetch(url, { timeout: 5000 });
        assert.equal(r.status, 200);
        // libcurl reads the folded line as it likes (7.88: no header), or
        // refuses the response; it never crashes.
        assert.equal(await r.text(), name === 'ok' ? 'hostile ok' : 'ok');
      } catch (e) {
        if (name === 'ok') throw e;
        assert.equal(e.code, 'EPROTO', e.message);
      }
    }
  });

  it('rejects a truncated or bad gzip body with EPROTO, and caps a gzip bomb at maxBodySize', async () => {
    // fetch() resolves at the head: the body is what rejects, read whole or
    // as it arrives.
    const read = (url, o) => fetch(url, o).then((r) => r.bytes());
    for (let seed = 1; seed <= 20; seed++) {
      await assert.rejects(read(`${srv.url}/truncated-gzip/${seed}`), (e) => e.code === 'EPROTO' && /unexpected end of file/.test(e.message));
    }
    await assert.rejects(read(`${srv.url}/bad-gzip/1`), { code: 'EPROTO' });
    const streamed = await fetch(`${srv.url}/bad-gzip/2`);
    await assert.rejects(async () => { for await (const c of streamed.body) assert.ok(c); }, { code: 'EPROTO' });
    const bomb = zlib.gzipSync(Buffer.alloc(32 * 1024 * 1024));
    const s = await startRaw((sock) => sock.on('error', () => {}).on('data', () => {
      sock.write(`HTTP/1.1 200 OK\r\nContent-Encoding: gzip\r\nContent-Length: ${bomb.length}\r\n\r\n`);
      sock.end(bomb);
    }));
    try {
      await assert.rejects(read(s.url, { maxBodySize: 1024 * 1024 }), { code: 'EBODYTOOLARGE' });
      const whole = await fetch(s.url, { maxBodySize: 32 * 1024 * 1024 });
      assert.equal((await whole.bytes()).length, 32 * 1024 * 1024);
      const raw = await fetch(s.url, { decompress: false, maxBodySize: 1024 * 1024 });
      assert.equal((await raw.bytes()).length, bomb.length);
    } finally {
      await s.stop();
    }
  });

  it('rejects a NUL byte in a response header with EPROTO', async () => {
    for (let seed = 1; seed <= 6; seed++) {
      await assert.rejects(fetch(`${srv.url}/nul-header/${seed}`, { timeout: 5000 }), { code: 'EPROTO' });
    }
  });

  it('follows no redirect to a scheme other than http(s)', async () => {
    for (let seed = 1; seed <= 20; seed++) {
      await assert.rejects(fetch(`${srv.url}/redirect-scheme/${seed}`), { code: 'EPROTONOSUPPORT' });
    }
  });

  it(`survives ${N} seeded random hostile responses through fetch() and a Fetcher with retries`, async function () {
    this.timeout(120000 + N * 20);
    const rnd = seeded(SEED);
    await fetch(`${srv.url}/ok/1`); // The engine's own descriptors are there from the first request.
    const fd0 = fdCount();
    const rss0 = process.memoryUsage().rss;
    const seen = {};
    let ok = 0;
    const TIMEOUT = 300;
    const check = (p, url) => p.then(async (r) => {
      if (url.includes('/ok')) assert.equal(await r.text(), OK_BODY, url);
      ok++;
      return r.durationMs;
    }, (e) => {
      checkRejection(e, url, seen);
      return e.timings ? e.timings[5] : 0;
    });
    const pick = () => `${srv.url}/${NAMES[rnd(NAMES.length)]}/${rnd(1e6) + 1}`;
    // Keeps `width` requests in flight until `n` have settled.
    const drive = async (n, width, start) => {
      let next = 0;
      await Promise.all(Array.from({ length: width }, async () => {
        while (next < n) {
          next++;
          await start(pick());
        }
      }));
    };
    // fetch(): each settles within its timeout (a watchdog per request).
    await drive(N, 32, (url) => {
      let timer;
      const watchdog = new Promise((_, reject) => {
        timer = setTimeout(() => reject(new Error(`${url} did not settle within ${TIMEOUT + 2000} ms (seed ${SEED})`)), TIMEOUT + 2000);
      });
      return Promise.race([check(fetch(url, { timeout: TIMEOUT }), url), watchdog]).finally(() => clearTimeout(timer));
    });
    // A Fetcher with retries: 503s, resets and timeouts are retried.  Its
    // queue holds requests back, so each is timed from its first attempt's
    // start (durationMs), and the whole run has a watchdog.
    const f = new Fetcher({ concurrency: 32, perSecond: Infinity, timeout: TIMEOUT, retries: 2, retryDelay: 10, maxRetryDelay: 20 });
    const bound = 3 * TIMEOUT + 2 * 20 + 1000;
    let timer;
    const watchdog = new Promise((_, reject) => {
      timer = setTimeout(() => reject(new Error(`the Fetcher's ${N} requests did not settle within 60 s (seed ${SEED})`)), 60000);
    });
    const run = drive(N, 64, async (url) => {
      const ms = await check(f.fetch(url), url);
      assert.ok(ms <= bound, `${url} took ${ms} ms from its first attempt (seed ${SEED})`);
    });
    await Promise.race([run, watchdog]).finally(() => clearTimeout(timer));
    await f.close();
    assert.ok(ok > N / 10, `only ${ok} of ${2 * N} resolved (seed ${SEED}): ${JSON.stringify(seen)}`);
    for (let i = 0; i < 100 && fdCount() > fd0; i++) await new Promise((r) => setTimeout(r, 20));
    assert.ok(fdCount() <= fd0, `descriptors: ${fd0} before, ${fdCount()} after (seed ${SEED})`);
    // Not under AddressSanitizer, whose quarantine keeps freed memory (up to
    // 256 MiB by default) out of reuse on purpose.
    const grown = (process.memoryUsage().rss - rss0) / 1048576;
    if (!process.env.UVASYNC_ASAN) assert.ok(grown < 96, `RSS grew by ${grown.toFixed(1)} MiB (seed ${SEED})`);
  });
});
