// bench/harness.mjs: measures cases and prints the table; shared by the
// benchmark files.  Each case is [title, { contender: () => Promise }, floor,
// ops] (ops: operations per call, when not the file's default).
// Contenders run interleaved, REPS times after a warm-up, and the median of
// ns per operation is reported, so every contender meets the same machine.
// runCasesIsolated() runs each case in a fresh process, so that no case
// inherits the heap an earlier one left behind.
import { spawnSync } from 'node:child_process';

const median = (xs) => { const s = [...xs].sort((a, b) => a - b); return s[s.length >> 1]; };

async function measure(fn, ops) {
  globalThis.gc?.();
  const t0 = process.hrtime.bigint();
  await fn();
  return Number(process.hrtime.bigint() - t0) / ops;
}

export async function runCases(cases, { ops, reps, only = '' }) {
  const rows = [];
  for (const [title, contenders, floorName, caseOps = ops] of cases) {
    if (only && !title.startsWith(only)) continue;
    const names = Object.keys(contenders);
    const samples = Object.fromEntries(names.map((n) => [n, []]));
    for (const n of names) await contenders[n](); // Warm-up.
    for (let r = 0; r < reps; r++) {
      for (const n of names) samples[n].push(await measure(contenders[n], caseOps));
    }
    const med = Object.fromEntries(names.map((n) => [n, median(samples[n])]));
    // Hand-written floors are not peers; Promise.allSettled is both.
    const peers = names.filter((n) => n !== 'uvasync' && !/^(hand|plain)/.test(n));
    const fastest = peers.length > 0 ? peers.reduce((a, b) => (med[a] <= med[b] ? a : b)) : floorName;
    rows.push({ title, med, fastest, floorName });
    process.stderr.write(`${title}: ${names.map((n) => `${n} ${med[n].toFixed(0)}`).join(', ')}\n`);
  }
  return rows;
}

export function table(rows) {
  const out = [];
  out.push('| case | uvasync ns/op | fastest peer | ratio | floor | ratio to floor | all contenders (ns/op) |');
  out.push('|---|---:|---|---:|---|---:|---|');
  for (const { title, med, fastest, floorName } of rows) {
    const u = med.uvasync;
    const floor = floorName ? `${floorName} ${med[floorName].toFixed(0)} | ${(u / med[floorName]).toFixed(2)}` : '— | —';
    out.push(`| ${title} | ${u.toFixed(0)} | ${fastest} ${med[fastest].toFixed(0)} | ${(u / med[fastest]).toFixed(2)} | ${floor} | ${Object.entries(med).map(([k, v]) => `${k} ${v.toFixed(0)}`).join(', ')} |`);
  }
  return out;
}

/** As runCases, each case in a fresh `node --expose-gc self ... --case i`. */
export async function runCasesIsolated(self, cases, { ops, reps, only = '' }) {
  const at = process.argv.indexOf('--case');
  if (at >= 0) {
    const rows = await runCases([cases[Number(process.argv[at + 1])]], { ops, reps });
    process.stdout.write(JSON.stringify(rows));
    process.exit(0);
  }
  const rows = [];
  for (let i = 0; i < cases.length; i++) {
    if (only && !cases[i][0].startsWith(only)) continue;
    const r = spawnSync(process.execPath, ['--expose-gc', self, ...process.argv.slice(2), '--case', String(i)],
      { encoding: 'utf8', stdio: ['ignore', 'pipe', 'inherit'], maxBuffer: 1 << 20 });
    if (r.status !== 0) throw new Error(`case ${cases[i][0]} failed (exit ${r.status})`);
    rows.push(...JSON.parse(r.stdout));
  }
  return rows;
}
