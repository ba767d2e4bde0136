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
const { UvasyncError, TimeoutError, AbortError, FetchError } = require('./errors');

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
  Response,
  UvasyncError,
  TimeoutError,
  AbortError,
  FetchError,
};
