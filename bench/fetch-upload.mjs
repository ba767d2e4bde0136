// bench/fetch-upload.mjs: a 1 GiB file uploaded as a stream, memory and CPU.
//
//   node bench/fetch-upload.mjs [--size MiB] [--rounds N]
//
// A server in a process of its own (node:http, on loopback) reads each
// upload to its end, counts it, and answers with the count, which must be
// the file's size. Each contender runs in a fresh child process and sends
// one file of --size MiB (1024) from disk:
//   uvasync Readable   fetch(url, { method: 'PUT', body: fs.createReadStream(file) }): chunked
//   uvasync Blob       fetch(url, { method: 'PUT', body: await fs.openAsBlob(file) }): Content-Length
//   fetch Readable     Node's global fetch, the same Readable with duplex: 'half'
//   fetch Blob         Node's global fetch, the same Blob
//   curl -T            the curl command (it reads the file as it sends)
// CPU is process.cpuUsage (user + system) over the upload alone, peak RSS is
// VmHWM less the RSS just before; curl's are its getrusage as a child, less
// those of a 1-byte upload (its start-up). The median of the rounds is shown.
import { spawnSync } from 'node:child_process';
import { createRequire } from 'node:module';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { arg, argv, rssKiB } from './common.mjs';

const require = createRequire(import.meta.url);
const here = path.dirname(fileURLToPath(import.meta.url));

// ---- child: one contender ----------------------------------------------------
async function child(name, url, file) {
  const fetch = name.startsWith('uvasync') ? require('../lib/index.js').fetch : globalThis.fetch;
  const blob = name.endsWith('Blob') ? await fs.openAsBlob(file) : null;
  const base = rssKiB('VmRSS');
  const c0 = process.cpuUsage();
  const t0 = performance.now();
  const body = blob !== null ? blob : fs.createReadStream(file);
  const res = await fetch(url, { method: 'PUT', body, duplex: 'half' });
  const got = Number(await res.text());
  const ms = performance.now() - t0;
  const c = process.cpuUsage(c0);
  process.stdout.write(JSON.stringify({ cpuMs: (c.user + c.system) / 1000, ms, peakMiB: (rssKiB('VmHWM') - base) / 1024, size: got }));
}

if (argv[0] === '--child') {
  await child(argv[1], argv[2], argv[3]);
  process.exit(0);
}

if (argv[0] === '--server') {
  const http = await import('node:http');
  const srv = http.createServer((req, res) => {
    let n = 0;
    req.on('data', (c) => { n += c.length; });
    req.on('end', () => res.end(String(n)));
  });
  srv.listen(0, '127.0.0.1', () => process.stdout.write(`${srv.address().port}\n`));
  process.stdin.on('end', () => process.exit(0)).resume();
}

// ---- parent ------------------------------------------------------------------
if (argv[0] !== '--server') await main();

async function main() {
const { spawn } = await import('node:child_process');
const mib = arg('--size', 1024);
const rounds = arg('--rounds', 3);
const server = spawn(process.execPath, [fileURLToPath(import.meta.url), '--server'], { stdio: ['pipe', 'pipe', 'inherit'] });
const port = await new Promise((resolve) => server.stdout.once('data', (d) => resolve(Number(String(d).trim()))));
const ng = { url: `http://127.0.0.1:${port}` };
const out = fs.mkdtempSync(path.join(os.tmpdir(), 'uvasync-up-'));
const file = path.join(out, 'big');
const one = path.join(out, 'one');
{
  const fd = fs.openSync(file, 'w');
  const chunk = Buffer.alloc(1 << 20, 'u');
  for (let i = 0; i < mib; i++) fs.writeSync(fd, chunk);
  fs.closeSync(fd);
  fs.writeFileSync(one, 'x');
}

function curlRun(url, from) {
  const py = 'import resource,subprocess,sys\n' +
    'p=subprocess.run(["curl","-s","-T",sys.argv[2],sys.argv[1]],check=True,capture_output=True)\n' +
    'r=resource.getrusage(resource.RUSAGE_CHILDREN)\n' +
    'print((r.ru_utime+r.ru_stime)*1000, r.ru_maxrss, int(p.stdout))';
  const t0 = performance.now();
  const r = spawnSync('python3', ['-c', py, url, from], { encoding: 'utf8' });
  const ms = performance.now() - t0;
  if (r.status !== 0) throw new Error(r.stderr);
  const [cpuMs, maxKiB, size] = r.stdout.trim().split(' ').map(Number);
  return { cpuMs, maxKiB, ms, size };
}

const names = ['uvasync Readable', 'uvasync Blob', 'fetch Readable', 'fetch Blob', 'curl -T'];
const results = Object.fromEntries(names.map((n) => [n, []]));
for (let round = 0; round < rounds; round++) {
  for (const name of names) {
    let r;
    if (name === 'curl -T') {
      const small = curlRun(`${ng.url}/up`, one);
      const big = curlRun(`${ng.url}/up`, file);
      r = { cpuMs: big.cpuMs - small.cpuMs, ms: big.ms, peakMiB: (big.maxKiB - small.maxKiB) / 1024, size: big.size };
    } else {
      const c = spawnSync(process.execPath, [fileURLToPath(import.meta.url), '--child', name, `${ng.url}/up`, file],
        { encoding: 'utf8', cwd: path.join(here, '..') });
      if (c.status !== 0) throw new Error(`${name}: ${c.stderr}`);
      r = JSON.parse(c.stdout);
    }
    if (r.size !== mib << 20) throw new Error(`${name}: the server got ${r.size} bytes, not ${mib << 20}`);
    results[name].push(r);
  }
}
server.stdin.end();
fs.rmSync(out, { recursive: true, force: true });

const median = (xs) => xs.slice().sort((a, b) => a - b)[Math.floor(xs.length / 2)];
const row = (name) => {
  const rs = results[name];
  return { cpuPerMiB: median(rs.map((r) => r.cpuMs)) / mib, ms: median(rs.map((r) => r.ms)), peak: median(rs.map((r) => r.peakMiB)) };
};
const ref = row('fetch Readable');
const curl = row('curl -T');
console.log(`${mib} MiB from a file to a node:http server on loopback, median of ${rounds} rounds (${process.version}, libcurl ${require('../lib/fetch.js').FEATURES.curl})`);
console.log('| contender | CPU ms/MiB | vs fetch Readable | vs curl -T | wall ms | peak RSS over baseline (MiB) |');
console.log('|---|---|---|---|---|---|');
for (const name of names) {
  const r = row(name);
  console.log(`| ${name} | ${r.cpuPerMiB.toFixed(3)} | ${(r.cpuPerMiB / ref.cpuPerMiB).toFixed(2)}× | ${(r.cpuPerMiB / curl.cpuPerMiB).toFixed(2)}× | ${r.ms.toFixed(0)} | ${r.peak.toFixed(1)} |`);
}
}
