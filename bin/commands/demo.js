'use strict';
// `uvasync demo`: an embedded server on 127.0.0.1 (varied latency, some 503s
// with Retry-After, some stalls), and a few thousand URLs fetched from it
// with concurrency, a rate limit, a timeout and retries.

const http = require('node:http');
const { fetchCommand } = require('./fetch');

function startServer() {
  const seen = new Map();
  let stalled = [];
  const server = http.createServer((req, res) => {
    const id = Number(new URL(req.url, 'http://x').searchParams.get('id'));
    const n = (seen.get(id) || 0) + 1;
    seen.set(id, n);
    if (id % 97 === 13) { // A stall: accepted, never answered; the timeout ends it.
      stalled.push(res);
      return;
    }
    if (id % 41 === 7 && n === 1) { // Busy once: 503 with Retry-After, then fine.
      res.writeHead(503, { 'retry-after': '1' });
      res.end();
      return;
    }
    const latency = (id * 7919) % 40; // 0–39 ms, spread over the ids.
    setTimeout(() => {
      res.setHeader('content-type', 'application/json');
      res.end(JSON.stringify({ id, attempt: n, pad: 'x'.repeat(id % 512) }));
    }, latency);
  });
  return new Promise((resolve) => server.listen(0, '127.0.0.1', () => resolve({
    url: `http://127.0.0.1:${server.address().port}`,
    stop() {
      for (const r of stalled) r.destroy();
      stalled = [];
      server.closeAllConnections();
      return new Promise((r) => server.close(r));
    },
  })));
}

async function demo(opts) {
  const count = Number(opts.count);
  if (!Number.isInteger(count) || count < 1) throw new RangeError(`--count must be an integer ≥ 1, got ${JSON.stringify(opts.count)}`);
  const server = await startServer();
  try {
    const urls = Array.from({ length: count }, (_, i) => `${server.url}/item?id=${i}`);
    process.stderr.write(`uvasync demo: an embedded server at ${server.url}; fetching ${count} URLs\n`);
    return await fetchCommand(opts, urls, { title: 'uvasync demo' });
  } finally {
    await server.stop();
  }
}

module.exports = { demo };
