// bench/redis-child.mjs: one process of bench/redis.mjs's shared-rate run.
//   node bench/redis-child.mjs <uvasync|uvasync-lease|bottleneck> <port> <rate> <capacity> <seconds> <acquirers> <key>
// Prints { times: the grant times (ms since the epoch), calls: the commands
// this process sent to Redis } as JSON when done.
import { createRequire } from 'node:module';

const require = createRequire(import.meta.url);
const [kind, port, rate, capacity, seconds, acquirers, key] = process.argv.slice(2);
const end = Date.now() + Number(seconds) * 1000;
const times = [];
let acquire;
let close;
let calls;
if (kind === 'uvasync' || kind === 'uvasync-lease') {
  const { RedisStore, RateLimiter } = require('../lib/index.js');
  const store = new RedisStore({ port: Number(port) });
  calls = () => store.stats.calls;
  // uvasync-lease: 5 tokens per call (lease: 5).
  const l = new RateLimiter({ rate: Number(rate), capacity: Number(capacity), store, key, lease: kind === 'uvasync-lease' ? 5 : 1 });
  acquire = () => l.acquire();
  close = () => store.close();
} else {
  const Bottleneck = require('bottleneck');
  // Every command ioredis sends, counted where it is sent.
  const Redis = require('ioredis');
  let sent = 0;
  const send = Redis.prototype.sendCommand;
  Redis.prototype.sendCommand = function counted(...args) {
    sent++;
    return send.apply(this, args);
  };
  calls = () => sent;
  // Bottleneck's rate limit: minTime between jobs, shared through Redis (its clustering).
  const l = new Bottleneck({ id: key, datastore: 'ioredis', clientOptions: { port: Number(port) }, clearDatastore: false, minTime: 1000 / Number(rate) });
  await l.ready();
  acquire = () => l.schedule(() => Promise.resolve());
  close = () => l.disconnect();
}
process.send?.('ready');
await new Promise((resolve) => process.once('message', resolve)); // Start together.
const calls0 = calls();
await Promise.all(Array.from({ length: Number(acquirers) }, async () => {
  while (Date.now() < end) {
    try {
      await acquire();
      times.push(Date.now());
    } catch {
      // Counted as not granted.
    }
  }
}));
process.stdout.write(JSON.stringify({ times, calls: calls() - calls0 }));
await close();
process.exit(0);
