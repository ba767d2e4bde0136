#!/usr/bin/env node
'use strict';
// The uvasync command. `uvasync demo` shows the combinators at work against
// simulated jobs with varied latency and failures.

const { parseArgs } = require('node:util');
const uva = require('../lib/index.js');

const usage = `Usage: uvasync demo [-n JOBS] [-c CONCURRENCY] [-t TIMEOUT_MS]

  demo   runs JOBS simulated jobs (varied latency, some flaky, some stalled)
         through mapWithLimit, each under withTimeout and retry, and prints
         a summary.

Options:
  -n, --jobs         number of jobs (default 2000)
  -c, --concurrency  jobs in flight at once (default 64)
  -t, --timeout      per-attempt timeout in ms (default 50)
  -h, --help         this text`;

function percentile(sorted, p) {
  if (sorted.length === 0) return 0;
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))];
}

async function demo(opts) {
  const jobs = Number(opts.jobs);
  const concurrency = Number(opts.concurrency);
  const timeout = Number(opts.timeout);
  for (const [name, v] of [['--jobs', jobs], ['--concurrency', concurrency], ['--timeout', timeout]]) {
    if (!Number.isInteger(v) || v < 1) throw new RangeError(`${name} must be an integer ≥ 1, got ${JSON.stringify(opts[name.slice(2)])}`);
  }
  // A deterministic job mix: most fast, some slow, some flaky, a few stalled.
  let seed = 42;
  const rnd = () => ((seed = (seed * 1103515245 + 12345) % 2147483648) / 2147483648);
  const specs = Array.from({ length: jobs }, (_, id) => {
    const r = rnd();
    return { id, latency: Math.floor(rnd() * 20), flaky: r < 0.15 ? 2 : 0, stall: r > 0.98 };
  });

  let active = 0;
  let peak = 0;
  const latencies = [];
  const outcome = { ok: 0, timedOut: 0, retried: 0, failed: 0 };
  const t0 = performance.now();
  let lastLine = 0;

  const results = await uva.mapWithLimit(specs, concurrency, async (spec) => {
    const start = performance.now();
    active++;
    peak = Math.max(peak, active);
    try {
      const value = await uva.retry(async (attempt, signal) => {
        if (attempt > 1) outcome.retried++;
        return uva.withTimeout(async (timeoutSignal) => {
          if (spec.stall) return new Promise(() => {}); // Never answers.
          await uva.delay(spec.latency, { signal: timeoutSignal });
          if (attempt <= spec.flaky) throw Object.assign(new Error('flaky'), { code: 'EFLAKY' });
          return spec.id;
        }, timeout);
      }, { retries: 2, delay: 5, backoff: 'exponential', jitter: 0.2, retryIf: (err) => err.code !== 'ETIMEDOUT' });
      outcome.ok++;
      return { id: spec.id, value };
    } catch (err) {
      if (err.code === 'ETIMEDOUT') outcome.timedOut++;
      else outcome.failed++;
      return { id: spec.id, error: err.code };
    } finally {
      active--;
      latencies.push(performance.now() - start);
    }
  }, {
    onProgress(done, total) {
      const now = performance.now();
      if (now - lastLine > 250 || done === total) {
        lastLine = now;
        process.stderr.write(`${process.stderr.isTTY ? '\r' : ''}${done}/${total} done, ${active} in flight${process.stderr.isTTY ? '' : '\n'}`);
      }
    },
  });
  if (process.stderr.isTTY) process.stderr.write('\n');

  const elapsed = performance.now() - t0;
  latencies.sort((a, b) => a - b);
  const inOrder = results.every((r, i) => r.id === i);
  console.log(`uvasync demo: ${jobs} jobs, concurrency ${concurrency}, per-attempt timeout ${timeout} ms`);
  console.log(`  ok ${outcome.ok}, timed out ${outcome.timedOut}, failed ${outcome.failed}, retries ${outcome.retried}`);
  console.log(`  peak in flight ${peak} (limit ${concurrency}), results in input order: ${inOrder ? 'yes' : 'NO'}`);
  console.log(`  latency ms p50 ${percentile(latencies, 50).toFixed(1)}  p90 ${percentile(latencies, 90).toFixed(1)}  p99 ${percentile(latencies, 99).toFixed(1)}  max ${latencies[latencies.length - 1].toFixed(1)}`);
  console.log(`  ${(jobs / (elapsed / 1000)).toFixed(0)} jobs/s over ${(elapsed / 1000).toFixed(2)} s`);
  if (!inOrder || peak > concurrency) process.exitCode = 1;
}

async function main() {
  let parsed;
  try {
    parsed = parseArgs({
      allowPositionals: true,
      options: {
        jobs: { type: 'string', short: 'n', default: '2000' },
        concurrency: { type: 'string', short: 'c', default: '64' },
        timeout: { type: 'string', short: 't', default: '50' },
        help: { type: 'boolean', short: 'h' },
      },
    });
  } catch (err) {
    console.error(`uvasync: ${err.message}\n\n${usage}`);
    process.exit(2);
  }
  const [cmd] = parsed.positionals;
  if (parsed.values.help || cmd === undefined) {
    console.log(usage);
    return;
  }
  if (cmd !== 'demo') {
    console.error(`uvasync: unknown command ${JSON.stringify(cmd)}\n\n${usage}`);
    process.exit(2);
  }
  try {
    await demo(parsed.values);
  } catch (err) {
    console.error(`uvasync: ${err.message}`);
    process.exit(2);
  }
}

main();
