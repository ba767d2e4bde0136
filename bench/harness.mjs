// bench/harness.mjs: measures cases and prints the table; shared by the
// benchmark files.  Each case is [title, { contender: () => Promise }, floor].
// Contenders run interleaved, REPS times after a warm-up, and the median of
// ns per operation is reported, so every contender meets the same machine.

const median = (xs) => { const s = [...xs].sort((a, b) => a - b); return s[s.length >> 1]; };

async function measure(fn, ops) {
  globalThis.gc?.();
  const t0 = process.hrtime.bigint();
  await fn();
  return Number(process.hrtime.bigint() - t0) / ops;
}

export async function runCases(cases, { ops, reps, only = '' }) {
  const rows = [];
  for (const [title, contenders, floorName] of cases) {
    if (only && !title.startsWith(only)) continue;
    const names = Object.keys(contenders);
    const samples = Object.fromEntries(names.map((n) => [n, []]));
    for (const n of names) await contenders[n](); // Warm-up.
    for (let r = 0; r < reps; r++) {
      for (const n of names) samples[n].push(await measure(contenders[n], ops));
    }
    const med = Object.fromEntries(names.map((n) => [n, median(samples[n])]));
    // A hand-written floor is not a peer; Promise.allSettled is both.
    const peers = names.filter((n) => n !== 'uvasync' && !(n === floorName && /^(hand|plain)/.test(n)));
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
