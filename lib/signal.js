'use strict';
// AbortSignal listeners.  A signal-like object is user code: a throwing
// removeEventListener must not leave a promise unsettled or cost a batch
// of completions its turn, so its error is reported as uncaught (as Node
// does for errors in its own callbacks) and the caller goes on.

const { abortFetchError } = require('./errors');

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

/**
 * A fetch() request's signal once its Response is out: as in fetch, an
 * abort still errors a body that has not been read (a whole one, or one
 * still arriving: `onAbort(err)` errors its reader).  The listener is its
 * own, holding the signal and the request's URL, not the request; it goes
 * at the abort, or once each Response sharing the body (a whole one's
 * clones) has been read or collected (done()).
 */
class LateAbort {
  constructor(signal, url) {
    this.signal = signal;
    this.err = null;
    this.readers = 1;
    this.onAbort = null;
    this.listener = () => {
      this.listener = null;
      this.err = abortFetchError(signal, url);
      if (this.onAbort !== null) this.onAbort(this.err);
    };
    signal.addEventListener('abort', this.listener, { once: true });
  }

  done() {
    if (--this.readers > 0 || this.listener === null) return;
    unlisten(this.signal, this.listener);
    this.listener = null;
  }
}

module.exports = { unlisten, rethrow, LateAbort };
