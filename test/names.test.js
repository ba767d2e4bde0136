'use strict';
// Host names, not IP literals: what libcurl resolves with its threaded
// resolver, whose socketpair it closes itself (no close-socket callback).
// Every name here resolves on this machine, from /etc/hosts or inside
// libcurl ('localhost'): nothing asks a nameserver.
const assert = require('node:assert/strict');
const dns = require('node:dns');
const http = require('node:http');
const os = require('node:os');
const { Fetcher, fetch } = require('..');
const { startHttp, fdCount } = require('./helpers/servers');

/** The machine's own host name when /etc/hosts maps it to loopback, else null. */
async function loopbackHostname() {
  const name = os.hostname();
  try {
    // getaddrinfo with files before dns (nsswitch): a name from /etc/hosts
    // answers at once.  The check itself must not leave the machine, so
    // only a name /etc/hosts lists is tried.
    const hosts = require('node:fs').readFileSync('/etc/hosts', 'latin1');
    const listed = hosts.split('\n').some((l) => !l.trimStart().startsWith('#') && l.split(/\s+/).slice(1).includes(name));
    if (!listed) return null;
    const { address } = await dns.promises.lookup(name, { family: 4 });
    return address.startsWith('127.') ? name : null;
  } catch {
    return null;
  }
}

describe('host names', () => {
  let srv;
  let names;
  before(async () => {
    srv = await startHttp((req, res) => res.end(`ok ${req.url}`));
    const own = await loopbackHostname();
    names = ['localhost', 'LOCALHOST'];
    if (own !== null) names.push(own, own.toUpperCase());
  });
  after(() => srv.stop());

  it('fetches by name, many times, with the resolver re-run each round, beside Node\'s own http traffic', async function () {
    this.timeout(60000);
    // Each round a new Fetcher and closed idle connections: libcurl's DNS
    // cache goes with its multi handle, so the names are resolved again and
    // the resolver's socketpair descriptor is closed and reused by the next
    // socket.  A watcher left on it took that socket's events: requests
    // timed out though the server had answered.
    const agent = new http.Agent({ keepAlive: false });
    // The engine's own descriptors (libcurl's multi handle keeps a wake-up
    // socketpair) are there from the first request on.
    await (await fetch(`${srv.url}/warm`)).text();
    const fd0 = fdCount();
    const failures = {};
    let ok = 0;
    for (let round = 0; round < 30; round++) {
      const f = new Fetcher({ concurrency: 8, perSecond: Infinity, timeout: 5000 });
      const jobs = [];
      for (let i = 0; i < 16; i++) {
        const path = `/${round}/${i}`;
        jobs.push(f.fetch(`http://${names[i % names.length]}:${srv.port}${path}`).then(
          async (r) => { if (r.status === 200 && await r.text() === `ok ${path}`) ok++; },
          (e) => { failures[e.code] = (failures[e.code] || 0) + 1; }));
        jobs.push(new Promise((resolve) => {
          http.get(`http://127.0.0.1:${srv.port}/node${path}`, { agent }, (res) => {
            let body = '';
            res.on('data', (d) => { body += d; });
            res.on('end', () => {
              if (body === `ok /node${path}`) ok++;
              else failures.node = (failures.node || 0) + 1;
              resolve();
            });
          }).on('error', () => { failures.node = (failures.node || 0) + 1; resolve(); });
        }));
      }
      await Promise.all(jobs);
      await f.close();
    }
    assert.deepEqual(failures, {});
    assert.equal(ok, 30 * 16 * 2);
    // The server's ends of the connections close a moment after the client's.
    for (let i = 0; i < 100 && fdCount() > fd0; i++) await new Promise((r) => setTimeout(r, 10));
    assert.ok(fdCount() <= fd0, `descriptors: ${fd0} before, ${fdCount()} after`);
  });

  it('reports the names it was given in res.url', async () => {
    for (const name of names) {
      const r = await fetch(`http://${name}:${srv.port}/x`, { timeout: 5000 });
      assert.equal(r.status, 200);
      assert.equal(new URL(r.url).hostname, name.toLowerCase());
    }
  });
});
