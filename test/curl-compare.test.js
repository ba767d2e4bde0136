'use strict';
// fetch() against the curl command, byte for byte, through an nginx of the
// test's own on loopback: the status, the final URL, the HTTP version, every
// response header (but Date, which moves with the clock) and the body's
// sha256, for static files of 1 B to 50 MiB, gzip (chunked, decoded by both:
// curl --compressed), redirect chains, HEAD, 204, 304, 404, TLS and HTTP/2,
// by IP literal and by host name.
const assert = require('node:assert/strict');
const crypto = require('node:crypto');
const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');
const { execFile } = require('node:child_process');
const { fetch } = require('..');
const { skip } = require('./helpers');
const { nginxPath, startNginx, MISSING, toolEnv } = require('./helpers/nginx');

const sha = (b) => crypto.createHash('sha256').update(b).digest('hex');
const fixtures = path.join(__dirname, 'fixtures');
const ca = fs.readFileSync(path.join(fixtures, 'selfsigned-cert.pem'));

function curlPath() {
  for (const p of ['/usr/bin/curl', '/usr/local/bin/curl']) if (fs.existsSync(p)) return p;
  return null;
}

/** curl's view: { status, url, version, headers: [[name, value]] of the last response, sha }. */
function curl(url, args, dir) {
  const head = path.join(dir, 'h');
  const body = path.join(dir, 'b');
  fs.rmSync(body, { force: true });
  return new Promise((resolve, reject) => {
    execFile(curlPath(), ['-s', '-S', '--cacert', path.join(fixtures, 'selfsigned-cert.pem'), '-D', head, '-o', body,
      '-w', '%{http_code} %{http_version} %{url_effective}', ...args, url], { env: toolEnv() }, (err, stdout, stderr) => {
      if (err) return reject(new Error(`curl ${args.join(' ')} ${url}: ${stderr || err.message}`));
      const [status, version, effective] = stdout.split(' ');
      // -D holds every response of a redirect chain: the last block counts.
      const blocks = fs.readFileSync(head, 'latin1').split(/\r\n\r\n/).filter((b) => b.length > 0);
      const lines = blocks[blocks.length - 1].split('\r\n').slice(1);
      const headers = lines.map((l) => {
        const i = l.indexOf(':');
        return [l.slice(0, i).trim().toLowerCase(), l.slice(i + 1).trim()];
      });
      const bytes = fs.existsSync(body) ? fs.readFileSync(body) : Buffer.alloc(0);
      resolve({ status: Number(status), version, url: effective, headers, sha: sha(bytes), length: bytes.length });
    });
  });
}

/** Header pairs as Headers combines them (repeats joined), sorted, without Date. */
function normal(pairs) {
  const h = new Headers();
  for (const [k, v] of pairs) if (k !== 'date') h.append(k, v);
  return [...h];
}

describe('fetch() against curl through nginx', () => {
  let ng;
  let dir;
  const SIZES = [1, 100, 16384, 16385, 65536, 1 << 20, 50 << 20];
  before(async function () {
    this.timeout(30000);
    if (nginxPath() === null) return skip(this, MISSING);
    if (curlPath() === null) return skip(this, 'the curl command is not installed (apt-get install curl)');
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'uvasync-curl-'));
    const files = {
      'text/page.txt': 'the quick brown fox jumps over the lazy dog\n'.repeat(2000),
      'text/é ü.txt': 'non-ASCII name\n',
      'index.html': '<p>index</p>\n',
    };
    for (const n of SIZES) {
      const b = Buffer.alloc(n);
      for (let i = 0; i < n; i++) b[i] = (i * 31 + (i >> 9)) & 0xff;
      files[`files/${n}`] = b;
    }
    const server = `
      location /text/ { gzip on; gzip_types text/plain; gzip_min_length 1; }
      location = /r1 { return 301 /r2; }
      location = /r2 { return 302 $scheme://$http_host/r3; }
      location = /r3 { return 307 /r4; }
      location = /r4 { return 308 /files/100; }
      location = /nc { return 204; }
      location = /teapot { return 418 "short and stout"; }
      location = /headers { add_header X-Multi one; add_header X-Multi two; add_header Set-Cookie a=1; add_header Set-Cookie b=2; return 200 "h"; }
    `;
    ng = await startNginx({
      files,
      server,
      extraPorts: 1,
      http: ({ root, extra }) => `
        server {
          listen 127.0.0.1:${extra[0]} ssl http2;
          ssl_certificate ${path.join(fixtures, 'selfsigned-cert.pem')};
          ssl_certificate_key ${path.join(fixtures, 'selfsigned-key.pem')};
          root ${root};
          ${server}
        }`,
    });
  });
  after(async () => {
    if (ng !== undefined) await ng.stop();
    if (dir !== undefined) fs.rmSync(dir, { recursive: true, force: true });
  });

  // curl --compressed asks for the encodings fetch() asks for by default
  // (nginx has gzip), and decodes as fetch() does.
  async function same(url, { curlArgs = [], options = {} } = {}) {
    const theirs = await curl(url, ['--compressed', ...curlArgs], dir);
    if (options.method === 'HEAD') {
      // curl -I writes the headers where the body would go.
      theirs.sha = sha(Buffer.alloc(0));
      theirs.length = 0;
    }
    const res = await fetch(url, { ca, maxBodySize: Infinity, ...options });
    const body = options.method === 'HEAD' ? Buffer.alloc(0) : Buffer.from(await res.bytes());
    const mine = { status: res.status, version: res.httpVersion, url: res.url, headers: [...res.headers], sha: sha(body), length: body.length };
    const what = `${options.method || 'GET'} ${url}`;
    assert.equal(mine.status, theirs.status, what);
    assert.equal(mine.url, theirs.url, what);
    assert.equal(mine.version, theirs.version, what);
    assert.deepEqual(normal(mine.headers), normal(theirs.headers), what);
    assert.equal(mine.length, theirs.length, what);
    assert.equal(mine.sha, theirs.sha, what);
    return mine;
  }

  it('static files of 1 B to 50 MiB, by IP and by name, over HTTP/1.1 and over TLS with HTTP/2', async function () {
    this.timeout(60000);
    const tls = `https://127.0.0.1:${ng.extra[0]}`;
    for (const base of [ng.url, `http://localhost:${ng.port}`, tls]) {
      for (const n of SIZES) {
        const r = await same(`${base}/files/${n}`);
        assert.equal(r.length, n);
      }
      await same(`${base}/`);
      await same(`${base}/index.html`);
      await same(`${base}/text/%C3%A9%20%C3%BC.txt`);
      await same(`${base}/missing`);
    }
    assert.equal((await same(`${tls}/files/1`)).version, '2');
  });

  it('gzip, sent chunked and decoded by both', async () => {
    for (const base of [ng.url, `https://127.0.0.1:${ng.extra[0]}`]) {
      const r = await same(`${base}/text/page.txt`);
      assert.equal(r.length, 44 * 2000);
      assert.ok(r.headers.some(([k, v]) => k === 'content-encoding' && v === 'gzip'));
    }
  });

  it('redirect chains (301, 302 to an absolute URL, 307, 308): the final status, URL and body', async () => {
    for (const base of [ng.url, `http://localhost:${ng.port}`, `https://127.0.0.1:${ng.extra[0]}`]) {
      const r = await same(`${base}/r1`, { curlArgs: ['-L'] });
      assert.equal(r.url, `${base}/files/100`);
    }
  });

  it('HEAD, 204, 304, 418 with a body, and repeated headers', async () => {
    for (const base of [ng.url, `https://127.0.0.1:${ng.extra[0]}`]) {
      await same(`${base}/files/65536`, { curlArgs: ['-I'], options: { method: 'HEAD' } });
      await same(`${base}/nc`);
      await same(`${base}/teapot`);
      await same(`${base}/headers`);
      const etag = (await fetch(`${base}/files/100`, { ca })).headers.get('etag');
      const r = await same(`${base}/files/100`, { curlArgs: ['-H', `If-None-Match: ${etag}`], options: { headers: { 'If-None-Match': etag } } });
      assert.equal(r.status, 304);
    }
  });
});
