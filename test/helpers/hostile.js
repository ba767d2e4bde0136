'use strict';
// A lying server: a raw TCP server on loopback that answers each request
// with a response its path names, from a seeded generator of malformed and
// mutated HTTP.  GET /<case>/<seed> → that case; the seed picks the details
// and the mutations, so a failing request can be replayed alone.
const zlib = require('node:zlib');
const { startRaw } = require('./servers');
const { seeded } = require('./index');

const OK_BODY = 'hostile ok';
const gz = zlib.gzipSync(Buffer.alloc(20000, 'gz'));

function head(status, headers) {
  return `HTTP/1.1 ${status}\r\n${headers.map((h) => `${h}\r\n`).join('')}\r\n`;
}

/** Each case: (rnd, path) → { bytes, then } where then is 'keep', 'close', 'reset' or 'stall'. */
const CASES = {
  ok: () => ({ bytes: head('200 OK', [`Content-Length: ${OK_BODY.length}`]) + OK_BODY }),
  'ok-chunked': () => ({ bytes: `${head('200 OK', ['Transfer-Encoding: chunked'])}5\r\nhosti\r\n5\r\nle ok\r\n0\r\n\r\n` }),
  'truncated-status': (rnd) => ({ bytes: 'HTTP/1.1 20'.slice(0, 1 + rnd(10)), then: 'close' }),
  'bad-status': (rnd) => ({ bytes: [`HTTP/1.1 2x0 OK\r\n\r\n`, 'HTTP/9.9 200 OK\r\nContent-Length: 0\r\n\r\n', 'HTTP/1.1 999999999999 X\r\n\r\n', 'ICY 200 OK\r\n\r\n'][rnd(4)], then: 'close' }),
  'bad-length': (rnd) => ({ bytes: head('200 OK', [['Content-Length: nope', 'Content-Length: -5', 'Content-Length: 2, 3', 'Content-Length: 99999999999999999999999'][rnd(4)]]) + 'xyz', then: 'close' }),
  'dup-length': () => ({ bytes: head('200 OK', ['Content-Length: 3', 'Content-Length: 4']) + 'abcd', then: 'close' }),
  'short-body': () => ({ bytes: head('200 OK', ['Content-Length: 100']) + 'only a little', then: 'close' }),
  'bad-chunk': (rnd) => ({ bytes: head('200 OK', ['Transfer-Encoding: chunked']) + ['zz\r\nabc\r\n0\r\n\r\n', 'ffffffffffffffffff\r\nabc', '3\r\nabcdef\r\n0\r\n\r\n', '-1\r\n\r\n'][rnd(4)], then: 'close' }),
  'bad-gzip': () => ({ bytes: head('200 OK', ['Content-Encoding: gzip', 'Content-Length: 10']) + 'not gzip!!' }),
  'truncated-gzip': (rnd) => {
    const cut = gz.subarray(0, 10 + rnd(gz.length - 20));
    return { bytes: Buffer.concat([Buffer.from(head('200 OK', ['Content-Encoding: gzip', `Content-Length: ${cut.length}`])), cut]) };
  },
  'nul-header': (rnd) => ({ bytes: head('200 OK', [['X-A: a\0b', 'X\0B: 1', '\0: x'][rnd(3)], 'Content-Length: 2']) + 'ok', then: 'close' }),
  'many-headers': (rnd) => ({ bytes: head('200 OK', [...Array.from({ length: 10000 }, (_, i) => `X-H${i}: ${'v'.repeat(rnd(8))}`), 'Content-Length: 2']) + 'ok', then: 'close' }),
  'folded-first': () => ({ bytes: head('200 OK', [' X-Folded: yes', 'Content-Length: 2']) + 'ok' }),
  'folded-later': () => ({ bytes: head('200 OK', ['X-A: a', '  folded', 'Content-Length: 2']) + 'ok' }),
  'close-in-headers': () => ({ bytes: 'HTTP/1.1 200 OK\r\nContent-Le', then: 'close' }),
  'close-in-body': () => ({ bytes: head('200 OK', ['Content-Length: 50']) + 'half', then: 'close' }),
  reset: (rnd) => ({ bytes: rnd(2) ? '' : head('200 OK', ['Content-Length: 50']) + 'x', then: 'reset' }),
  'no-response': () => ({ bytes: '', then: 'close' }),
  'redirect-scheme': (rnd) => ({ bytes: head('302 Found', [`Location: ${['file:///etc/passwd', 'ftp://127.0.0.1/x', 'data:text/plain,hi', 'gopher://127.0.0.1/', 'javascript:alert(1)'][rnd(5)]}`, 'Content-Length: 0']) }),
  'redirect-loop': () => ({ bytes: head('301 Moved', ['Location: /redirect-loop/1', 'Content-Length: 0']) }),
  'redirect-bad': (rnd) => ({ bytes: head('302 Found', [['Location: http://[::1', 'Location: http://a b/', 'Location: ht!tp://x', 'Location: http://[zz]/', 'Location: /ok/1\r\nX-Injected: 1'][rnd(5)], 'Content-Length: 0']) }),
  'http09': () => ({ bytes: 'just some bytes, no status line\n', then: 'close' }),
  stall: () => ({ bytes: '', then: 'stall' }),
  'stall-body': () => ({ bytes: head('200 OK', ['Content-Length: 10']) + 'abc', then: 'stall' }),
  mutated: (rnd) => {
    const base = Buffer.from(head('200 OK', ['Content-Type: text/plain', 'Transfer-Encoding: chunked', 'X-Pad: abcdef']) + '5\r\nhello\r\n0\r\n\r\n');
    const b = Buffer.from(base);
    for (let n = 1 + rnd(4); n > 0; n--) b[rnd(b.length)] = [0, 10, 13, 32, 58, 48 + rnd(10), rnd(256)][rnd(7)];
    return { bytes: b, then: 'close' };
  },
};

const NAMES = Object.keys(CASES);

/** Starts the server; stats.requests counts what it answered. */
async function startHostile() {
  const stats = { requests: 0 };
  const srv = await startRaw((sock) => {
    let buf = '';
    sock.on('error', () => {});
    sock.on('data', (d) => {
      buf += d.toString('latin1');
      for (let end = buf.indexOf('\r\n\r\n'); end !== -1; end = buf.indexOf('\r\n\r\n')) {
        const req = buf.slice(0, end);
        buf = buf.slice(end + 4);
        const path = req.split(' ')[1] || '/';
        const [, name, seed] = path.split('/');
        const make = CASES[name] || CASES.ok;
        const { bytes, then = 'keep' } = make(seeded(Number(seed) || 1), path);
        stats.requests++;
        if (bytes.length > 0) sock.write(bytes);
        if (then === 'close') { sock.end(); return; }
        if (then === 'reset') { sock.resetAndDestroy(); return; }
        if (then === 'stall') return; // Never answers again.
      }
    });
  });
  return { ...srv, stats };
}

module.exports = { startHostile, CASES, NAMES, OK_BODY };
