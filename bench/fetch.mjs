// bench/fetch.mjs: the fetcher against nginx on loopback.
//
//   node bench/fetch.mjs [--quick] [--rounds N] [--only CASE-PREFIX]
//                        [--contenders NAME,NAME...]
//
// Starts nginx (installing it with apt when root and it is missing) on a
// free port with a 100-byte and a 64 KiB file, then, for each case, runs
// every contender in a fresh child process: a warm-up, then the measured
// requests, each contender keeping `concurrency` requests in flight with the
// same closed-loop driver. Reports req/s and the client's CPU µs per request
// (process.cpuUsage, user + system), the median of the rounds, and the median
// (min-max) of each round's CPU ratio to undici.request's in the same round
// (the host's load swings on some VMs; one round's contenders run back to
// back and bear it alike). The C ceiling
// is bench/ceiling.c (libcurl multi, curl_multi_poll), built here; "C ceiling
// + options" is the same with the libcurl options uvasync sets by default.
// --contenders runs only those (uvasync and undici.request always): more
// rounds of the two the bar compares, in the time of a full run.
import { spawn, spawnSync, execFileSync } from 'node:child_process';
import { createRequire } from 'node:module';
import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { contenders } from './common.mjs';

const require = createRequire(import.meta.url);
// nginx is on loopback: common.mjs sets no_proxy (a proxy in the
// environment must not sit between it and uvasync or the C ceiling), and
// children inherit it.
const here = path.dirname(fileURLToPath(import.meta.url));
const argv = process.argv.slice(2);

// ---- child: one contender, one case --------------------------------------
async function closedLoop(concurrency, total, one) {
  let next = 0;
  const worker = async () => {
    while (next < total) {
      next++;
      await one();
    }
  };
  await Promise.all(Array.from({ length: concurrency }, worker));
}

async function child(name, url, concurrency, total, warmup) {
  let one;
  let done = async () => {};
  let bytes = 0;
  if (name === 'uvasync') {
    const { Fetcher } = require('../lib/index.js');
    const f = new Fetcher({ concurrency, perSecond: Infinity, timeout: 30000 });
    one = async () => {
      const res = await f.fetch(url);
      const n = (await res.bytes()).length;
      bytes += n; // Read `bytes` after the await: += would race.
    };
    done = () => f.close();
  } else if (name === 'undici.request') {
    const { Pool } = require('undici');
    const pool = new Pool(new URL(url).origin, { connections: concurrency });
    one = async () => {
      const { body } = await pool.request({ path: new URL(url).pathname, method: 'GET' });
      const ab = await body.arrayBuffer();
      bytes += ab.byteLength;
    };
    done = () => pool.close();
  } else if (name === 'undici fetch') {
    const { Agent, fetch } = require('undici');
    const dispatcher = new Agent({ connections: concurrency });
    one = async () => {
      const ab = await (await fetch(url, { dispatcher })).arrayBuffer();
      bytes += ab.byteLength;
    };
    done = () => dispatcher.close();
  } else if (name === 'global fetch') {
    one = async () => {
      const ab = await (await fetch(url)).arrayBuffer();
      bytes += ab.byteLength;
    };
  } else if (name === 'node:http') {
    const http = require('node:http');
    const agent = new http.Agent({ keepAlive: true, maxSockets: concurrency });
    one = () => new Promise((resolve, reject) => {
      http.get(url, { agent }, (res) => {
        const chunks = [];
        res.on('data', (c) => chunks.push(c));
        res.on('end', () => { bytes += Buffer.concat(chunks).length; resolve(); });
        res.on('error', reject);
      }).on('error', reject);
    });
    done = () => agent.destroy();
  } else {
    throw new Error(`unknown contender ${name}`);
  }
  await closedLoop(concurrency, warmup, one);
  bytes = 0;
  globalThis.gc?.();
  const c0 = process.cpuUsage();
  const t0 = process.hrtime.bigint();
  await closedLoop(concurrency, total, one);
  const wallMs = Number(process.hrtime.bigint() - t0) / 1e6;
  const c = process.cpuUsage(c0);
  await done();
  process.stdout.write(`${JSON.stringify({ wallMs, cpuUs: c.user + c.system, bytes })}\n`);
}

if (argv[0] === '--child') {
  await child(argv[1], argv[2], Number(argv[3]), Number(argv[4]), Number(argv[5]));
  process.exit(0);
}

// ---- parent ---------------------------------------------------------------
const QUICK = argv.includes('--quick');
const ROUNDS = argv.includes('--rounds') ? Number(argv[argv.indexOf('--rounds') + 1]) : (QUICK ? 1 : 3);
const ONLY = argv.includes('--only') ? argv[argv.indexOf('--only') + 1] : '';
const CONTENDERS = contenders(['uvasync', 'undici.request', 'undici fetch', 'global fetch', 'node:http', 'C ceiling', 'C ceiling + options'],
  ['uvasync', 'undici.request']);
const scale = QUICK ? 0.2 : 1;
const CASES = [
  { name: '100 B, concurrency 1', file: 'small', concurrency: 1, total: 20000 * scale },
  { name: '100 B, concurrency 16', file: 'small', concurrency: 16, total: 20000 * scale },
  { name: '100 B, concurrency 64', file: 'small', concurrency: 64, total: 20000 * scale },
  { name: '64 KiB, concurrency 16', file: 'big', concurrency: 16, total: 2000 * scale },
  // The same past the first ~1,000 bodies, the first 64 MB of them, which
  // a process keeps before V8's first collection frees them: those land in
  // pages the process touches for the first time (see RESULTS.md).
  { name: '64 KiB, concurrency 16', file: 'big', concurrency: 16, total: 20000 * scale },
].filter((c) => `${c.name} (${c.total})`.startsWith(ONLY));

function ensureNginx() {
  const found = spawnSync('sh', ['-c', 'command -v nginx || ls /usr/sbin/nginx'], { encoding: 'utf8' }).stdout.trim().split('\n')[0];
  if (found) return found;
  if (process.getuid && process.getuid() === 0) {
    console.error('bench: installing nginx (apt-get install -y nginx)');
    execFileSync('sh', ['-c', 'apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq nginx'], { stdio: 'inherit' });
    return '/usr/sbin/nginx';
  }
  console.error('bench: nginx is missing. Install it with:\n  sudo apt-get install -y nginx');
  process.exit(1);
}

function freePort() {
  return new Promise((resolve) => {
    const s = net.createServer().listen(0, '127.0.0.1', () => {
      const { port } = s.address();
      s.close(() => resolve(port));
    });
  });
}

async function startNginx(bin) {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'uvasync-nginx-'));
  fs.chmodSync(dir, 0o755); // nginx's workers run as another user when started by root.
  const www = path.join(dir, 'www');
  fs.mkdirSync(www, { mode: 0o755 });
  fs.writeFileSync(path.join(www, 'small'), 'x'.repeat(100));
  fs.writeFileSync(path.join(www, 'big'), Buffer.alloc(64 * 1024, 'y'));
  const port = await freePort();
  const temp = (n) => `${n}_temp_path ${path.join(dir, n)};`;
  fs.writeFileSync(path.join(dir, 'nginx.conf'), `
worker_processes 1;
daemon off;
pid ${path.join(dir, 'nginx.pid')};
error_log ${path.join(dir, 'error.log')} error;
events { worker_connections 4096; }
http {
  access_log off;
  ${temp('client_body')} ${temp('proxy')} ${temp('fastcgi')} ${temp('uwsgi')} ${temp('scgi')}
  keepalive_requests 10000000;
  keepalive_timeout 120s;
  open_file_cache max=16;
  default_type application/octet-stream;
  server {
    listen 127.0.0.1:${port} backlog=4096;
    root ${www};
    location / { }
  }
}
`);
  const proc = spawn(bin, ['-c', path.join(dir, 'nginx.conf'), '-p', dir], { stdio: ['ignore', 'ignore', 'inherit'] });
  for (let i = 0; i < 100; i++) {
    const up = await new Promise((resolve) => {
      const s = net.connect(port, '127.0.0.1', () => { s.destroy(); resolve(true); }).on('error', () => resolve(false));
    });
    if (up) break;
    await new Promise((r) => setTimeout(r, 50));
  }
  return {
    base: `http://127.0.0.1:${port}`,
    stop() {
      proc.kill('SIGQUIT');
      return new Promise((resolve) => proc.once('exit', () => {
        fs.rmSync(dir, { recursive: true, force: true });
        resolve();
      }));
    },
  };
}

function buildCeiling() {
  const out = path.join(os.tmpdir(), `uvasync-ceiling-${process.pid}`);
  execFileSync('cc', ['-O2', '-o', out, path.join(here, 'ceiling.c'), '-lcurl']);
  return out;
}

function runOne(name, url, c, total, ceiling) {
  const warmup = Math.min(2000, Math.max(c * 4, Math.floor(total / 5)));
  const [cmd, args] = name.startsWith('C ceiling')
    ? [ceiling, [url, String(c), String(total), String(warmup), name === 'C ceiling' ? '' : 'options']]
    : [process.execPath, ['--expose-gc', fileURLToPath(import.meta.url), '--child', name, url, String(c), String(total), String(warmup)]];
  const r = spawnSync(cmd, args, { encoding: 'utf8', maxBuffer: 1 << 20, timeout: 300_000 });
  if (r.status !== 0) throw new Error(`${name} failed: ${r.stderr || r.stdout}`);
  const out = JSON.parse(r.stdout.trim().split('\n').pop());
  const expected = total * (url.endsWith('/big') ? 64 * 1024 : 100);
  if (out.bytes !== undefined && out.bytes !== expected) throw new Error(`${name} received ${out.bytes} bytes, expected ${expected}`);
  if (out.ok !== undefined && out.ok !== total) throw new Error(`${name}: ${out.ok} of ${total} were 200`);
  return out;
}

const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];

const bin = ensureNginx();
const ceiling = buildCeiling();
const nginx = await startNginx(bin);
const rows = [];
try {
  for (const c of CASES) {
    const url = `${nginx.base}/${c.file}`;
    const samples = Object.fromEntries(CONTENDERS.map((n) => [n, []]));
    for (let r = 0; r < ROUNDS; r++) {
      for (const name of CONTENDERS) samples[name].push(runOne(name, url, c.concurrency, c.total, ceiling));
    }
    const m = {};
    for (const name of CONTENDERS) {
      m[name] = {
        rps: median(samples[name].map((s) => c.total / (s.wallMs / 1000))),
        cpu: median(samples[name].map((s) => s.cpuUs / c.total)),
      };
    }
    const pr = samples.uvasync.map((s, i) => s.cpuUs / samples['undici.request'][i].cpuUs);
    rows.push({ c, m, pr });
    console.error(`${c.name}: ${CONTENDERS.map((n) => `${n} ${m[n].rps.toFixed(0)} req/s ${m[n].cpu.toFixed(1)} µs`).join(', ')}`);
  }
} finally {
  await nginx.stop();
  fs.rmSync(ceiling, { force: true });
}

const f0 = (x) => x.toFixed(0);
const f1 = (x) => x.toFixed(1);
const ratio = (a, b) => (b === undefined ? '–' : (a / b).toFixed(2));
const lines = [
  '| case | uvasync req/s | uvasync CPU µs/req | undici.request req/s, µs | undici fetch | global fetch | node:http | C ceiling | C ceiling + options | CPU ÷ undici.request | per round (min-max) | CPU ÷ C ceiling | CPU ÷ ceiling + options | req/s ÷ undici.request |',
  '|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|',
];
for (const { c, m, pr } of rows) {
  const cell = (n) => (m[n] === undefined ? '–' : `${f0(m[n].rps)}, ${f1(m[n].cpu)}`);
  const cpu = (n) => m[n] && m[n].cpu;
  const u = m.uvasync;
  lines.push(`| ${c.name} (${c.total.toLocaleString('en')} requests) | ${f0(u.rps)} | ${f1(u.cpu)} | ${cell('undici.request')} | ${cell('undici fetch')} | ${cell('global fetch')} | ${cell('node:http')} | ${cell('C ceiling')} | ${cell('C ceiling + options')} | ${ratio(u.cpu, cpu('undici.request'))} | ${median(pr).toFixed(2)} (${Math.min(...pr).toFixed(2)}-${Math.max(...pr).toFixed(2)}) | ${ratio(u.cpu, cpu('C ceiling'))} | ${ratio(u.cpu, cpu('C ceiling + options'))} | ${ratio(u.rps, m['undici.request'].rps)} |`);
}
console.log(lines.join('\n'));
