'use strict';
// uvasync: a native async toolkit on Node's own libuv loop.

const { delay } = require('./delay');
const { withTimeout } = require('./timeout');
const { retry } = require('./retry');
const { allSettled } = require('./settled');
const { mapWithLimit } = require('./map');
const { UvasyncError, TimeoutError, AbortError } = require('./errors');

module.exports = {
  delay,
  withTimeout,
  retry,
  allSettled,
  mapWithLimit,
  UvasyncError,
  TimeoutError,
  AbortError,
};
