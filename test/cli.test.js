'use strict';
// The uvasync command, end to end, against a real server.
const assert = require('node:assert/strict');
const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');
const { spawn } = require('node:child_process');
const { root } = require('./helpers');
const { startHttp } = require('./helpers/servers');

function cli(args, { input } = {}) {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, [path.join(root, 'bin', 'uvasync.js'), ...args], { cwd: root });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d) => { stdout += d; });
    child.stderr.on('data', (d) => { stderr += d; });
    if (input !== undefined) child.stdin.end(input);
    else child.stdin.end();
    child.on('exit', (code) => resolve({ code, stdout, stderr }));
  });
}

describe('uvasync command', () => {
  let srv;
  let dir;
  before(async () => {
    srv = await startHttp((req, res) => {
      if (req.url.startsWith('/missing')) res.statusCode = 404;
      if (req.url.startsWith('/boom')) res.statusCode = 500;
      res.end('body');
    });
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'uvasync-cli-'));
  });
  after(async () => {
    await srv.stop();
    fs.rmSync(dir, { recursive: true, force: true });
  });

  it('fetches URLs from arguments and a file, writes JSON lines, prints a summary', async () => {
    const list = path.join(dir, 'urls.txt');
    fs.writeFileSync(list, `# a comment\n${srv.url}/a\n\n${srv.url}/missing\n${srv.url}/boom\n`);
    const out = path.join(dir, 'out.jsonl');
    const r = await cli(['fetch', `${srv.url}/x`, `${srv.url}/y`, '-i', list, '-c', '4', '-r', '0', '-o', out]);
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, /5 URLs/);
    assert.match(r.stdout, /2xx 3, 3xx 0, 4xx 1, 5xx 1/);
    assert.match(r.stdout, /errors: none/);
    assert.match(r.stdout, /latency ms: p50 [\d.]+ {2}p90 [\d.]+ {2}p99 [\d.]+ {2}max [\d.]+/);
    assert.match(r.stdout, /throughput: \d+ req\/s/);
    const lines = fs.readFileSync(out, 'utf8').trim().split('\n').map((l) => JSON.parse(l));
    assert.equal(lines.length, 5);
    assert.deepEqual(lines.map((l) => l.url).sort(), [`${srv.url}/a`, `${srv.url}/boom`, `${srv.url}/missing`, `${srv.url}/x`, `${srv.url}/y`]);
    assert.ok(lines.every((l) => typeof l.durationMs === 'number' && l.attempts === 1));
    // Not a TTY: plain progress lines, no bar.
    assert.doesNotMatch(r.stderr, /\x1b\[/);
  });

  it('writes each body to a file of --output-dir, named as curl -O names it, and counts the bytes', async () => {
    const out = path.join(dir, 'bodies', 'deeper');
    const jsonl = path.join(dir, 'bodies.jsonl');
    const r = await cli(['fetch', `${srv.url}/a.txt`, `${srv.url}/a.txt`, `${srv.url}/`, `${srv.url}/d%20e?q=1`,
      '-r', '0', '--output-dir', out, '-o', jsonl]);
    assert.equal(r.code, 0, r.stderr);
    assert.deepEqual(fs.readdirSync(out).sort(), ['a.txt', 'a.txt.1', 'd e', 'index.html']);
    for (const f of fs.readdirSync(out)) assert.equal(fs.readFileSync(path.join(out, f), 'utf8'), 'body');
    assert.match(r.stdout, /16 B received/);
    const lines = fs.readFileSync(jsonl, 'utf8').trim().split('\n').map((l) => JSON.parse(l));
    assert.deepEqual(lines.map((l) => path.basename(l.file)).sort(), ['a.txt', 'a.txt.1', 'd e', 'index.html']);
    assert.ok(lines.every((l) => l.bytes === 4));
  });

  it('reads URLs from stdin and counts network errors by code', async () => {
    const r = await cli(['fetch', '-i', '-', '-r', '0'], { input: `${srv.url}/1\nhttp://127.0.0.1:1/\n` });
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, /2 URLs/);
    assert.match(r.stdout, /errors: ECONNREFUSED 1/);
  });

  it('reports and skips lines of a list that are not http(s) URLs, and fetches the rest', async () => {
    const out = path.join(dir, 'mixed.jsonl');
    const r = await cli(['fetch', '-i', '-', '-r', '0', '-o', out],
      { input: `${srv.url}/1\nftp://example.com/\n# comment\nnot a url\n${srv.url}/2\n` });
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stderr, /line 2 of stdin skipped: .*ftp:\/\/example\.com/);
    assert.match(r.stderr, /line 4 of stdin skipped: .*not a url/);
    assert.match(r.stdout, /4 URLs/);
    assert.match(r.stdout, /2xx 2,/);
    assert.match(r.stdout, /errors: ERR_INVALID_URL 2/);
    const lines = fs.readFileSync(out, 'utf8').trim().split('\n').map((l) => JSON.parse(l));
    assert.deepEqual(lines.filter((l) => !l.ok).map((l) => [l.line, l.url, l.error, l.attempts]).sort(),
      [[2, 'ftp://example.com/', 'ERR_INVALID_URL', 0], [4, 'not a url', 'ERR_INVALID_URL', 0]]);
    assert.equal(lines.filter((l) => l.ok).length, 2);
  });

  it('runs the demo against its embedded server', async function () {
    this.timeout(30000);
    const r = await cli(['demo', '--count', '300']);
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stderr, /embedded server at http:\/\/127\.0\.0\.1:\d+/);
    assert.match(r.stdout, /uvasync demo: 300 URLs/);
    assert.match(r.stdout, /errors: ETIMEDOUT \d+/, 'the stalls time out');
    assert.match(r.stdout, /retried: [1-9]/, 'the 503s are retried');
  });

  it('explains bad usage and exits with 2', async () => {
    let r = await cli(['fetch', srv.url, '-c', 'zero']);
    assert.equal(r.code, 2);
    assert.match(r.stderr, /--concurrency must be an integer/);
    r = await cli(['fetch']);
    assert.equal(r.code, 2);
    assert.match(r.stderr, /no URLs/);
    assert.doesNotMatch(r.stderr, /\n\s+at /, 'a usage error without a stack trace');
    r = await cli(['fetch', '-i', path.join(dir, 'no-such-list.txt')]);
    assert.equal(r.code, 2);
    assert.match(r.stderr, /cannot read --input ".*no-such-list\.txt": no such file/);
    assert.doesNotMatch(r.stderr, /\n\s+at /);
    r = await cli(['nope']);
    assert.equal(r.code, 2);
    assert.match(r.stderr, /unknown command/);
    r = await cli(['fetch', 'file:///etc/passwd']);
    assert.equal(r.code, 2);
    assert.match(r.stderr, /http: or https:/);
    r = await cli(['--help']);
    assert.equal(r.code, 0);
    assert.match(r.stdout, /uvasync fetch/);
    r = await cli(['--version']);
    assert.equal(r.code, 0);
    assert.match(r.stdout, new RegExp(`^uvasync ${require('../package.json').version.replace(/\./g, '\\.')} \\(libcurl \\d+\\.\\d+`));
  });

  it('takes curl\'s -X, -H, -d, --data-binary and --cacert', async () => {
    const seen = [];
    const echo = await startHttp((req, res) => {
      const chunks = [];
      req.on('data', (c) => chunks.push(c));
      req.on('end', () => {
        seen.push({ method: req.method, type: req.headers['content-type'], x: req.headers['x-one'], body: Buffer.concat(chunks).toString('latin1') });
        res.end('ok');
      });
    });
    try {
      const data = path.join(dir, 'data.txt');
      fs.writeFileSync(data, 'a=1\r\nb=2\n');
      let r = await cli(['fetch', echo.url, '-r', '0', '-X', 'PUT', '-H', 'X-One: 1 é€', '-H', 'Content-Type: text/x-test', '-d', 'hello']);
      assert.equal(r.code, 0, r.stderr);
      r = await cli(['fetch', echo.url, '-r', '0', '-d', `@${data}`]);
      assert.equal(r.code, 0, r.stderr);
      r = await cli(['fetch', echo.url, '-r', '0', '--data-binary', `@${data}`]);
      assert.equal(r.code, 0, r.stderr);
      assert.deepEqual(seen, [
        // A value's bytes as given (UTF-8 here), as curl sends them; Node's server reads them a byte a character.
        { method: 'PUT', type: 'text/x-test', x: Buffer.from('1 é€').toString('latin1'), body: 'hello' },
        { method: 'POST', type: 'application/x-www-form-urlencoded', x: undefined, body: 'a=1b=2' }, // As curl -d: newlines dropped.
        { method: 'POST', type: undefined, x: undefined, body: 'a=1\r\nb=2\n' },
      ]);
      for (const bad of [['-H', 'no colon'], ['-H', 'Content-Length: 5'], ['-d', '@/no/such/file'], ['--cacert', '/no/such/file'], ['-d', 'a', '--data-binary', 'b']]) {
        r = await cli(['fetch', echo.url, ...bad]);
        assert.equal(r.code, 2, `${bad.join(' ')}: ${r.stderr}`);
        assert.doesNotMatch(r.stderr, /\n\s+at /, 'no stack trace');
      }
    } finally {
      await echo.stop();
    }
    // --cacert: an https server with the test's own certificate.
    const https = require('node:https');
    const cert = path.join(root, 'test', 'fixtures', 'selfsigned-cert.pem');
    const tls = https.createServer({ cert: fs.readFileSync(cert), key: fs.readFileSync(path.join(root, 'test', 'fixtures', 'selfsigned-key.pem')) }, (req, res) => res.end('tls'));
    await new Promise((resolve) => tls.listen(0, '127.0.0.1', resolve));
    try {
      const url = `https://127.0.0.1:${tls.address().port}/`;
      const refused = await cli(['fetch', url, '-r', '0']);
      assert.match(refused.stdout, /ETLS 1/);
      const trusted = await cli(['fetch', url, '-r', '0', '--cacert', cert]);
      assert.equal(trusted.code, 0, trusted.stderr);
      assert.match(trusted.stdout, /2xx 1/);
    } finally {
      tls.closeAllConnections();
      await new Promise((resolve) => tls.close(resolve));
    }
  });
});
