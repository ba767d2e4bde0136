'use strict';
// AbortSignal listeners.  A signal-like object is user code: a throwing
// removeEventListener must not leave a promise unsettled or cost a batch
// of completions its turn, so its error is reported as uncaught (as Node
// does for errors in its own callbacks) and the caller goes on.

function rethrow(err) {
  throw err;
}

/** Removes `fn` as the signal's abort listener; never throws. */
function unlisten(signal, fn) {
  try {
    signal.removeEventListener('abort', fn);
  } catch (err) {
    process.nextTick(rethrow, err);
  }
}

module.exports = { unlisten, rethrow };
