'use strict';
// `uvasync combinators`: the combinators at work against simulated jobs with
// varied latency, flaky and stalled ones (no network).

const uva = require('../../lib/index.js');
const { percentile } = require('./summary');

async function combinators(opts) {
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
  console.log(`uvasync combinators: ${jobs} jobs, concurrency ${concurrency}, per-attempt timeout ${timeout} ms`);
  console.log(`  ok ${outcome.ok}, timed out ${outcome.timedOut}, failed ${outcome.failed}, retries ${outcome.retried}`);
  console.log(`  peak in flight ${peak} (limit ${concurrency}), results in input order: ${inOrder ? 'yes' : 'NO'}`);
  console.log(`  latency ms p50 ${percentile(latencies, 50).toFixed(1)}  p90 ${percentile(latencies, 90).toFixed(1)}  p99 ${percentile(latencies, 99).toFixed(1)}  max ${latencies[latencies.length - 1].toFixed(1)}`);
  console.log(`  ${(jobs / (elapsed / 1000)).toFixed(0)} jobs/s over ${(elapsed / 1000).toFixed(2)} s`);
  if (!inOrder || peak > concurrency) process.exitCode = 1;
}


module.exports = { combinators };
