'use strict';
// Progress and the end-of-run summary for `uvasync fetch` and `uvasync demo`.

const cliProgress = require('cli-progress');

function percentile(sorted, p) {
  if (sorted.length === 0) return 0;
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))];
}

function formatBytes(n) {
  if (n < 1024) return `${n} B`;
  if (n < 1024 * 1024) return `${(n / 1024).toFixed(1)} KiB`;
  return `${(n / 1024 / 1024).toFixed(1)} MiB`;
}

/**
 * A bar on a TTY (rate, ETA); a plain line every `every` ms otherwise.
 * total may be undefined (a list from stdin): then counts without ETA.
 */
class Progress {
  constructor(stream, total, every = 1000) {
    this.stream = stream;
    this.total = total;
    this.every = every;
    this.done = 0;
    this.t0 = performance.now();
    this.last = 0;
    this.bar = null;
    if (stream.isTTY) {
      this.bar = new cliProgress.SingleBar({
        stream,
        format: total === undefined
          ? '{value} fetched | {rate} req/s | {errors} errors'
          : '[{bar}] {percentage}% | {value}/{total} | {rate} req/s | ETA {eta_formatted} | {errors} errors',
        hideCursor: true,
        etaBuffer: 200,
        fps: 10,
      }, cliProgress.Presets.shades_classic);
      this.bar.start(total === undefined ? 0 : total, 0, { rate: 0, errors: 0 });
    }
  }

  tick(errors) {
    this.done++;
    const now = performance.now();
    const rate = Math.round(this.done / ((now - this.t0) / 1000 || 1));
    if (this.bar !== null) {
      this.bar.update(this.done, { rate, errors });
      return;
    }
    if (now - this.last >= this.every) {
      this.last = now;
      const of = this.total === undefined ? '' : `/${this.total} (${Math.floor((this.done / this.total) * 100)}%)`;
      const eta = this.total === undefined || rate === 0 ? '' : `, ETA ${Math.ceil((this.total - this.done) / rate)} s`;
      this.stream.write(`uvasync: ${this.done}${of} fetched, ${rate} req/s${eta}, ${errors} errors\n`);
    }
  }

  /** A line on the stream, above the bar when there is one. */
  note(text) {
    if (this.bar !== null) {
      this.bar.stop();
      this.stream.write(`${text}\n`);
      this.bar.start(this.total === undefined ? 0 : this.total, this.done);
    } else {
      this.stream.write(`${text}\n`);
    }
  }

  stop() {
    if (this.bar !== null) this.bar.stop();
  }
}

/** Collects results; prints counts by status class and error code, latency, throughput, bytes. */
class Summary {
  constructor() {
    this.t0 = performance.now();
    this.classes = { '2xx': 0, '3xx': 0, '4xx': 0, '5xx': 0 };
    this.errors = {};
    this.errorCount = 0;
    this.latencies = [];
    this.bytes = 0;
    this.retried = 0;
    this.count = 0;
  }

  add(r) {
    this.count++;
    // A line that was never fetched (attempts 0) has no latency.
    if (r.attempts > 0) this.latencies.push(r.durationMs);
    if (r.attempts > 1) this.retried++;
    if (r.error !== undefined) {
      const code = r.error.code || 'EFETCH';
      this.errors[code] = (this.errors[code] || 0) + 1;
      this.errorCount++;
      return;
    }
    this.bytes += r.bytes !== undefined ? r.bytes : r.body.length; // r.bytes: a body in a file.
    const cls = `${Math.floor(r.status / 100)}xx`;
    this.classes[cls] = (this.classes[cls] || 0) + 1;
  }

  lines(title) {
    const secs = (performance.now() - this.t0) / 1000;
    const l = this.latencies.sort((a, b) => a - b);
    const fmt = (x) => x.toFixed(1);
    const classes = Object.entries(this.classes).map(([k, v]) => `${k} ${v}`).join(', ');
    const errors = Object.entries(this.errors).sort((a, b) => b[1] - a[1]).map(([k, v]) => `${k} ${v}`).join(', ');
    return [
      title,
      `  responses: ${classes}`,
      `  errors: ${this.errorCount === 0 ? 'none' : errors}`,
      `  retried: ${this.retried}`,
      `  latency ms: p50 ${fmt(percentile(l, 50))}  p90 ${fmt(percentile(l, 90))}  p99 ${fmt(percentile(l, 99))}  max ${fmt(l.length ? l[l.length - 1] : 0)}`,
      `  throughput: ${(this.count / secs).toFixed(0)} req/s over ${secs.toFixed(2)} s, ${formatBytes(this.bytes)} received`,
    ];
  }
}

module.exports = { Progress, Summary, percentile, formatBytes };
