// bench/fetch-memory.mjs: a 1 GiB download into a file, memory and CPU.
//
//   node bench/fetch-memory.mjs [--size MiB] [--rounds N] [--contenders A,B] [--drop]
//
// nginx (test/helpers/nginx.js) serves one file of --size MiB (1024) from
// loopback. Each contender runs in a fresh child process and writes the body
// to a file of its own:
//   uvasync output      fetch(url, { output }): the core writes the file
//   uvasync res.body    fetch(url) then res.body piped to a file stream
//   fetch res.body      Node's global fetch, res.body piped to a file stream
//   curl -o             the curl command
// For the Node contenders the child reports its CPU (process.cpuUsage, user
// + system) over the download alone and its peak RSS (VmHWM) over the RSS it
// had just before (its baseline). curl's CPU is its getrusage as a child,
// less that of a 1-byte download (its start-up), and its peak is its
// maxrss less that of the 1-byte run. The median of the rounds is shown,
// and the median (min-max) of each round's ratio to Node's fetch: the
// contenders of one round run one after the other, so the host's load,
// which swings by 1.5x on some VMs, weighs on them alike.
// --drop: the two res.body contenders, each reading the body and dropping it
// (no file), and `curl -o /dev/null`: the client's own CPU, without the
// file's writes, whose cost in the kernel swings with the host's memory
// (bench/RESULTS.md), beside what curl itself costs to receive the body.
import { spawnSync } from 'node:child_process';
import { createRequire } from 'node:module';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { arg, argv, contenders, rssKiB } from './common.mjs';

const require = createRequire(import.meta.url);
const here = path.dirname(fileURLToPath(import.meta.url));


// ---- child: one contender ----------------------------------------------------
async function child(name, url, file, drop) {
  const { pipeline } = await import('node:stream/promises');
  const { Readable } = await import('node:stream');
  let run;
  if (name === 'uvasync output') {
    const { fetch } = require('../lib/index.js');
    run = async () => { await fetch(url, { output: file }); };
  } else if (name === 'uvasync res.body') {
    const { fetch } = require('../lib/index.js');
    run = async () => into(await fetch(url, { maxBodySize: Infinity }));
  } else {
    run = async () => into(await globalThis.fetch(url));
  }
  let got = 0;
  async function into(res) {
    if (!drop) return pipeline(Readable.fromWeb(res.body), fs.createWriteStream(file));
    for await (const c of res.body) got += c.length;
    return undefined;
  }
  const base = rssKiB('VmRSS');
  const c0 = process.cpuUsage();
  const t0 = performance.now();
  await run();
  const ms = performance.now() - t0;
  const c = process.cpuUsage(c0);
  const size = drop ? got : fs.statSync(file).size;
  if (!drop) fs.rmSync(file);
  process.stdout.write(JSON.stringify({ cpuMs: (c.user + c.system) / 1000, ms, peakMiB: (rssKiB('VmHWM') - base) / 1024, size }));
}

if (argv[0] === '--child') {
  await child(argv[1], argv[2], argv[3], argv[4] === 'drop');
  process.exit(0);
}

// ---- parent ------------------------------------------------------------------
// --contenders A,B: only those, and always the two the ratios are to.
const drop = argv.includes('--drop');
const CURL = drop ? 'curl -o /dev/null' : 'curl -o';
const names = drop ? ['uvasync res.body', 'fetch res.body', CURL]
  : contenders(['uvasync output', 'uvasync res.body', 'fetch res.body', 'curl -o'], ['fetch res.body', 'curl -o']);
const { nginxPath, startNginx, MISSING } = require('../test/helpers/nginx.js');
if (nginxPath() === null) {
  console.error(`bench: ${MISSING}`);
  process.exit(1);
}
const mib = arg('--size', 1024);
const rounds = arg('--rounds', 3);
const ng = await startNginx({ files: { one: 'x' } });
{
  // Written a MiB at a time, so that this process never holds the body.
  const fd = fs.openSync(path.join(ng.root, 'big'), 'w');
  const chunk = Buffer.alloc(1 << 20, 'b');
  for (let i = 0; i < mib; i++) fs.writeSync(fd, chunk);
  // On disk before the first round, so that the kernel's writeback of it
  // (30 s after it was written: a flusher thread beside nginx and the
  // contender, on 2 cores) cannot fall in a round.
  fs.fsyncSync(fd);
  fs.closeSync(fd);
}
const size = mib << 20;
const out = fs.mkdtempSync(path.join(os.tmpdir(), 'uvasync-mem-'));

// `file` null: to /dev/null (the size is curl's count of what it received).
function curlRun(url, file) {
  // python3's getrusage(RUSAGE_CHILDREN) gives the child's CPU and maxrss.
  const py = 'import resource,subprocess,sys\n' +
    'p=subprocess.run(["curl","-s","-o",sys.argv[2],"-w","%{size_download}",sys.argv[1]],check=True,stdout=subprocess.PIPE)\n' +
    'r=resource.getrusage(resource.RUSAGE_CHILDREN)\n' +
    'print((r.ru_utime+r.ru_stime)*1000, r.ru_maxrss, p.stdout.decode())';
  const t0 = performance.now();
  const r = spawnSync('python3', ['-c', py, url, file === null ? '/dev/null' : file], { encoding: 'utf8' });
  const ms = performance.now() - t0;
  if (r.status !== 0) throw new Error(r.stderr);
  const [cpuMs, maxKiB, received] = r.stdout.trim().split(' ').map(Number);
  if (file === null) return { cpuMs, maxKiB, ms, size: received };
  const got = fs.statSync(file).size;
  fs.rmSync(file);
  return { cpuMs, maxKiB, ms, size: got };
}

const results = Object.fromEntries(names.map((n) => [n, []]));
const file = path.join(out, 'body');
for (let round = 0; round < rounds; round++) {
  // Each round starts with the next contender, so that none always runs
  // just after the same other one (and the 1 GiB file it wrote).
  for (const name of names.map((_, i) => names[(i + round) % names.length])) {
    let r;
    if (name === CURL) {
      const small = curlRun(`${ng.url}/one`, drop ? null : file);
      const big = curlRun(`${ng.url}/big`, drop ? null : file);
      r = { cpuMs: big.cpuMs - small.cpuMs, ms: big.ms, peakMiB: (big.maxKiB - small.maxKiB) / 1024, size: big.size };
    } else {
      const c = spawnSync(process.execPath, [fileURLToPath(import.meta.url), '--child', name, `${ng.url}/big`, file, drop ? 'drop' : 'file'],
        { encoding: 'utf8', cwd: path.join(here, '..') });
      if (c.status !== 0) throw new Error(`${name}: ${c.stderr}`);
      r = JSON.parse(c.stdout);
    }
    if (r.size !== size) throw new Error(`${name}: ${r.size} bytes, not ${size}`);
    results[name].push(r);
  }
}
await ng.stop();
fs.rmSync(out, { recursive: true, force: true });

const median = (xs) => xs.slice().sort((a, b) => a - b)[Math.floor(xs.length / 2)];
const row = (name) => {
  const rs = results[name];
  const cpu = rs.map((r) => r.cpuMs / mib);
  return { cpuPerMiB: median(cpu), lo: Math.min(...cpu), hi: Math.max(...cpu), ms: median(rs.map((r) => r.ms)), peak: median(rs.map((r) => r.peakMiB)) };
};
const ref = row('fetch res.body');
const curl = row(CURL);
console.log(`${mib} MiB from nginx on loopback ${drop ? 'read and dropped' : 'into a file'}, median of ${rounds} rounds (${process.version}, libcurl ${require('../lib/fetch.js').FEATURES.curl})`);
// Each round's CPU over Node's fetch's in that round.
const perRound = (name) => results[name].map((r, i) => r.cpuMs / results['fetch res.body'][i].cpuMs);
console.log(`| contender | CPU ms/MiB | (min-max) | vs fetch res.body | per round vs fetch (min-max) | vs ${CURL} | wall ms | peak RSS over baseline (MiB) |`);
console.log('|---|---|---|---|---|---|---|---|');
for (const name of names) {
  const r = row(name);
  const pr = perRound(name);
  console.log(`| ${name} | ${r.cpuPerMiB.toFixed(3)} | ${r.lo.toFixed(3)}-${r.hi.toFixed(3)} | ${(r.cpuPerMiB / ref.cpuPerMiB).toFixed(2)}× | ${median(pr).toFixed(2)}× (${Math.min(...pr).toFixed(2)}-${Math.max(...pr).toFixed(2)}) | ${(r.cpuPerMiB / curl.cpuPerMiB).toFixed(2)}× | ${r.ms.toFixed(0)} | ${r.peak.toFixed(1)} |`);
}
