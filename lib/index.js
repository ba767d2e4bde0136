'use strict';
// uvasync: a native async toolkit on Node's own libuv loop.

const { delay } = require('./delay');
const { withTimeout } = require('./timeout');
const { retry } = require('./retry');
const { allSettled } = require('./settled');
const { mapWithLimit, mapIterable } = require('./map');
const { limit, limitFunction, Semaphore } = require('./limit');
const { RateLimiter } = require('./rate');
const { Queue, producerConsumer } = require('./queue');
const { TaskQueue } = require('./taskqueue');
const { attempt, timed } = require('./attempt');
const { fetch, Response } = require('./fetch');
const { Fetcher } = require('./fetcher');
const { WorkerPool } = require('./workerpool');
const { RedisStore } = require('./redis');
const { UvasyncError, TimeoutError, AbortError, FetchError } = require('./errors');
// (Node reads the ESM entry's names from the literal below.)

module.exports = {
  delay,
  withTimeout,
  retry,
  allSettled,
  mapWithLimit,
  mapIterable,
  RateLimiter,
  limit,
  limitFunction,
  Semaphore,
  Queue,
  TaskQueue,
  producerConsumer,
  attempt,
  timed,
  fetch,
  Fetcher,
  WorkerPool,
  RedisStore,
  Response,
  UvasyncError,
  TimeoutError,
  AbortError,
  FetchError,
};
// Node's own classes, as node-fetch's exports have them: fetch() takes a
// Request as its input, and Headers is what res.headers is.  Read on use:
// the globals load Node's bundled undici (see response.js).  The ESM entry
// names them itself.
Object.defineProperties(module.exports, {
  Request: { enumerable: true, get: () => globalThis.Request },
  Headers: { enumerable: true, get: () => globalThis.Headers },
});
