// ESM entry: a thin re-export of the CommonJS build.
import uvasync from './index.js';

export const {
  delay,
  withTimeout,
  retry,
  allSettled,
  mapWithLimit,
  RateLimiter,
  limit,
  Semaphore,
  Queue,
  producerConsumer,
  attempt,
  timed,
  UvasyncError,
  TimeoutError,
  AbortError,
} = uvasync;
export default uvasync;
