// bench/redis.mjs: the rate limit shared through Redis (issue 17), uvasync
// against Bottleneck's Redis clustering (ioredis), one local redis-server.
//
//   node bench/redis.mjs [--seconds N] [--only accuracy|latency|throughput|restart]
//
// accuracy: 4 processes × 8 acquirers for N s (10) at 200/s and 2,000/s:
//   the aggregate rate (after the first second), the highest 1 s window,
//   each process's share, and Redis commands per grant (INFO commandstats).
// latency: one acquire at a time, unthrottled: median and p99.
// throughput: 64 acquires in flight in one process: acquires/s, client CPU.
// restart: 20 Redis stop/start cycles under load: the slowest settle of a
//   failed acquire, and the time from each restart to the next grant.
import { fork } from 'node:child_process';
import { createRequire } from 'node:module';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const require = createRequire(import.meta.url);
const here = path.dirname(fileURLToPath(import.meta.url));
const { RedisServer, ensureRedis } = require('../test/helpers/redis.js');
const { RedisStore, RateLimiter } = require('../lib/index.js');
const Bottleneck = require('bottleneck');

const argv = process.argv.slice(2);
const opt = (n, d) => (argv.includes(n) ? argv[argv.indexOf(n) + 1] : d);
const seconds = Number(opt('--seconds', 10));
const only = opt('--only', null);
const want = (c) => only === null || only === c;

const why = ensureRedis();
if (why !== null) {
  console.error(why);
  process.exit(1);
}
const server = await RedisServer.start();
const stats = () => {
  const out = {};
  for (const m of server.cli('INFO', 'commandstats').matchAll(/cmdstat_([\w|]+):calls=(\d+)/g)) out[m[1]] = Number(m[2]);
  return out;
};
const totalCalls = (s) => Object.entries(s).filter(([k]) => k !== 'info').reduce((a, [, v]) => a + v, 0);
const pct = (xs, p) => xs.slice().sort((a, b) => a - b)[Math.min(xs.length - 1, Math.floor(xs.length * p))];

async function accuracy(kind, rate, capacity) {
  const key = `bench-${kind}-${rate}-${Date.now()}`;
  const kids = Array.from({ length: 4 }, () => fork(path.join(here, 'redis-child.mjs'),
    [kind, String(server.port), String(rate), String(capacity), String(seconds), '8', key], { stdio: ['ignore', 'pipe', 'inherit', 'ipc'] }));
  const outs = kids.map((k) => new Promise((resolve) => {
    let s = '';
    k.stdout.on('data', (d) => { s += d; });
    k.on('exit', () => resolve(s));
  }));
  await Promise.all(kids.map((k) => new Promise((resolve) => k.once('message', resolve))));
  const before = stats();
  for (const k of kids) k.send('go');
  const outsJson = (await Promise.all(outs)).map((s) => JSON.parse(s || '{"times":[],"calls":0}'));
  const lists = outsJson.map((o) => o.times);
  const after = stats();
  // Calls the clients sent: counted by each client, and (for the scripts
  // uvasync runs) EVALSHA/EVAL in commandstats, which also counts the
  // commands a script runs inside (TIME, GET, SET) under their own names.
  const clientCalls = outsJson.reduce((a, o) => a + o.calls, 0);
  const evals = ['evalsha', 'eval'].reduce((a, k) => a + (after[k] || 0) - (before[k] || 0), 0);
  const calls = totalCalls(after) - totalCalls(before);
  const all = lists.flat().sort((a, b) => a - b);
  const t0 = all[0];
  // The rate after the first second (the burst and the start are in it).
  const steady = all.filter((t) => t >= t0 + 1000 && t < t0 + seconds * 1000);
  const steadyRate = steady.length / (seconds - 1);
  let maxWindow = 0;
  for (let i = 0, j = 0; i < all.length; i++) {
    while (all[j] < all[i] - 1000) j++;
    maxWindow = Math.max(maxWindow, i - j + 1);
  }
  const shares = lists.map((l) => (100 * l.length) / all.length);
  return { steadyRate, maxWindow, shares, clientPerGrant: clientCalls / all.length, evalPerGrant: evals / all.length, perGrant: calls / all.length, grants: all.length };
}

async function latency(kind, n = 3000) {
  let acquire;
  let close;
  if (kind === 'uvasync') {
    const store = new RedisStore({ port: server.port });
    const l = new RateLimiter({ rate: 1e8, capacity: 1e8, store, key: `lat-${Date.now()}` });
    acquire = () => l.acquire();
    close = () => store.close();
  } else {
    const l = new Bottleneck({ id: `lat-${Date.now()}`, datastore: 'ioredis', clientOptions: { port: server.port }, minTime: 0 });
    await l.ready();
    acquire = () => l.schedule(() => Promise.resolve());
    close = () => l.disconnect();
  }
  for (let i = 0; i < 200; i++) await acquire(); // warm-up
  const xs = [];
  for (let i = 0; i < n; i++) {
    const t = process.hrtime.bigint();
    await acquire();
    xs.push(Number(process.hrtime.bigint() - t) / 1000);
  }
  await close();
  return { median: pct(xs, 0.5), p99: pct(xs, 0.99) };
}

async function throughput(n = 100000) {
  const store = new RedisStore({ port: server.port });
  const l = new RateLimiter({ rate: 1e8, capacity: 1e8, store, key: `tp-${Date.now()}` });
  for (let i = 0; i < 1000; i++) await l.acquire();
  const c0 = process.cpuUsage();
  const t0 = performance.now();
  let started = 0;
  await Promise.all(Array.from({ length: 64 }, async () => {
    while (started++ < n) await l.acquire();
  }));
  const ms = performance.now() - t0;
  const cpu = process.cpuUsage(c0);
  await store.close();
  return { perSecond: (n / ms) * 1000, cpuUs: (cpu.user + cpu.system) / n };
}

async function restart(cycles = 20) {
  const store = new RedisStore({ port: server.port, commandTimeout: 200 });
  const l = new RateLimiter({ rate: 1000, capacity: 10, store, key: `rs-${Date.now()}` });
  let slowestFail = 0;
  let lastGrant = 0;
  const grants = [];
  let running = true;
  const loops = Array.from({ length: 8 }, async () => {
    while (running) {
      const t = performance.now();
      try {
        await l.acquire();
        lastGrant = performance.now();
        grants.push(lastGrant);
      } catch {
        slowestFail = Math.max(slowestFail, performance.now() - t);
        await new Promise((r) => setTimeout(r, 5));
      }
    }
  });
  const resume = [];
  const ups = [];
  for (let i = 0; i < cycles; i++) {
    await new Promise((r) => setTimeout(r, 200));
    await server.down();
    await new Promise((r) => setTimeout(r, 100));
    await server.up();
    const up = performance.now();
    while (lastGrant < up && performance.now() - up < 5000) await new Promise((r) => setTimeout(r, 2));
    resume.push(lastGrant - up);
    ups.push(up);
  }
  running = false;
  await Promise.all(loops);
  await store.close();
  // Extra grants across a restart: those in the 150 ms after it beyond what
  // the rate allows in that time (the limit's state is gone with the server:
  // the bucket starts full again).
  const extra = ups.map((up) => grants.filter((t) => t >= up && t < up + 150).length - 150);
  return { slowestFail, resumeMax: Math.max(...resume), resumeMedian: pct(resume, 0.5), extraMax: Math.max(...extra) };
}

console.log(`RateLimiter shared through Redis vs Bottleneck (ioredis), one redis-server ${server.cli('INFO', 'server').match(/redis_version:(\S+)/)[1]}, ${process.version}`);
if (want('accuracy')) {
  console.log(`\n4 processes × 8 acquirers, ${seconds} s`);
  console.log('| limiter | target | steady rate (after 1 s) | vs target | highest 1 s window | shares % | calls sent per grant (client count) | EVALSHA+EVAL per grant (commandstats) | all commandstats per grant (script internals too) |');
  console.log('|---|---|---|---|---|---|---|---|---|');
  for (const rate of [200, 2000]) {
    for (const kind of ['uvasync', 'uvasync-lease', 'bottleneck']) {
      const r = await accuracy(kind, rate, 10);
      console.log(`| ${kind} | ${rate}/s | ${r.steadyRate.toFixed(1)}/s | ${((r.steadyRate / rate - 1) * 100).toFixed(2)} % | ${r.maxWindow} | ${r.shares.map((x) => x.toFixed(1)).join(' / ')} | ${r.clientPerGrant.toFixed(3)} | ${r.evalPerGrant.toFixed(3)} | ${r.perGrant.toFixed(2)} |`);
    }
  }
}
if (want('latency')) {
  const u = await latency('uvasync');
  const b = await latency('bottleneck');
  console.log('\nOne acquire at a time, unthrottled (µs)');
  console.log('| limiter | median | p99 |');
  console.log('|---|---|---|');
  console.log(`| uvasync | ${u.median.toFixed(1)} | ${u.p99.toFixed(1)} |`);
  console.log(`| bottleneck | ${b.median.toFixed(1)} | ${b.p99.toFixed(1)} |`);
  console.log(`uvasync / Bottleneck median: ${(u.median / b.median).toFixed(3)}×`);
}
if (want('throughput')) {
  const t = await throughput();
  console.log(`\n64 in flight, one process: ${t.perSecond.toFixed(0)} acquires/s, ${t.cpuUs.toFixed(2)} µs client CPU per acquire`);
}
if (want('restart')) {
  const r = await restart();
  console.log(`\n20 Redis stop/start cycles (commandTimeout 200 ms): slowest failed acquire settled in ${r.slowestFail.toFixed(1)} ms; first grant after a restart: median ${r.resumeMedian.toFixed(1)} ms, at most ${r.resumeMax.toFixed(1)} ms; grants beyond the rate in the 150 ms after a restart: at most ${r.extraMax} (capacity 10)`);
}
await server.stop();
