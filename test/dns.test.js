'use strict';
// Name resolution that cannot leave the machine: inside a network
// namespace of the test's own, with an /etc/hosts the test writes and a
// nameserver that refuses everything.
const assert = require('node:assert/strict');
const { unavailable, runInNetns } = require('./helpers/netns');
const { skip } = require('./helpers');

const NAMES = Array.from({ length: 12 }, (_, i) => `uvasync-${i}.test`);

describe('name resolution (in a network namespace)', () => {
  before(function () {
    const why = unavailable();
    if (why !== null) skip(this, why);
  });

  it('reports a name that does not resolve with ENOTFOUND (curl code 6), asking no nameserver outside', async () => {
    const r = await runInNetns(`
      const { fetch } = require('./lib');
      fetch('http://no-such-host.invalid/', { timeout: 10000 }).then(
        () => console.log('resolved?'),
        (e) => console.log(JSON.stringify({ code: e.code, curl: e.curlCode, url: e.url })));
    `);
    assert.equal(r.code, 0, r.stderr);
    assert.deepEqual(JSON.parse(r.stdout), { code: 'ENOTFOUND', curl: 6, url: 'http://no-such-host.invalid/' });
  });

  it("resolves names from /etc/hosts through libcurl's resolver, again and again, beside Node's own sockets", async () => {
    // A dozen names, each a resolver run (its socketpair opened and closed)
    // per round: the descriptor numbers are reused all the time.
    const r = await runInNetns(`
      const http = require('node:http');
      const { Fetcher } = require('./lib');
      const names = ${JSON.stringify(NAMES)};
      const srv = http.createServer((req, res) => res.end('ok ' + req.url)).listen(0, '127.0.0.1', async () => {
        const port = srv.address().port;
        const agent = new http.Agent({ keepAlive: false });
        let ok = 0; const bad = [];
        for (let round = 0; round < 10; round++) {
          const f = new Fetcher({ concurrency: 12, perSecond: Infinity, timeout: 5000 });
          const jobs = names.map((n, i) => f.fetch('http://' + n + ':' + port + '/' + round + '/' + i).then(
            async (res) => { const t = await res.text(); if (t === 'ok /' + round + '/' + i) ok++; else bad.push(t); },
            (e) => bad.push(n + ' ' + e.code)));
          for (let i = 0; i < 12; i++) jobs.push(new Promise((done) => http.get('http://127.0.0.1:' + port + '/n', { agent }, (res) => { res.resume(); res.on('end', () => { ok++; done(); }); }).on('error', (e) => { bad.push('node ' + e.code); done(); })));
          await Promise.all(jobs);
          await f.close();
        }
        console.log(JSON.stringify({ ok, bad }));
        srv.close();
      });
    `, { hosts: NAMES.map((n) => `127.0.0.1 ${n}\n`).join('') });
    assert.equal(r.code, 0, r.stderr);
    assert.deepEqual(JSON.parse(r.stdout), { ok: 10 * 24, bad: [] });
  });
});
