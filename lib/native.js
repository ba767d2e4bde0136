'use strict';
// The bridge to the addon: loads it, and dispatches timer expirations.
//
// The core hands over every timer that expired in one loop turn as a batch
// of ids in the shared `fired` array; `callbacks[slot]` holds what to run.

const path = require('node:path');
const { rethrow } = require('./signal');

function load() {
  const dir = path.join(__dirname, '..', 'build');
  const errors = [];
  for (const kind of ['Release', 'Debug']) {
    const file = path.join(dir, kind, 'uvasync.node');
    try {
      return { binding: require(file), file };
    } catch (err) {
      if (err.code !== 'MODULE_NOT_FOUND') throw err;
      errors.push(err);
    }
  }
  const err = new Error('uvasync: the native addon is not built. Run `npm install` ' +
    '(or `node scripts/install.js`) in the uvasync package folder.');
  err.code = 'ERR_UVASYNC_NOT_BUILT';
  throw err;
}

// file: the addon's path (a test loads it a second time itself).
const { binding, file } = load();
const ID_MASK = 0xffffff;
const fired = binding.fired;
const callbacks = [];

binding.setTimerCallback((count) => {
  // Take every callback of the batch out first: a callback may start new
  // timers.  An exception is reported as uncaught from a fresh tick, as Node
  // does for its own callbacks, and never costs the others their turn.
  const batch = new Array(count);
  for (let i = 0; i < count; i++) {
    const slot = fired[i] & ID_MASK;
    batch[i] = callbacks[slot];
    callbacks[slot] = undefined;
  }
  for (let i = 0; i < count; i++) {
    const cb = batch[i];
    if (cb === undefined) continue;
    try {
      cb();
    } catch (err) {
      process.nextTick(rethrow, err);
    }
  }
});


/** Calls `cb` once after at least `ms`; returns the timer's id. */
function startTimer(ms, cb) {
  const id = binding.timerStart(ms);
  if (id < 0) {
    const err = new Error(`uvasync: cannot start a timer (${binding.errName(id)})`);
    err.code = binding.errName(id);
    throw err;
  }
  callbacks[id & ID_MASK] = cb;
  return id;
}

/** The pending timer no longer keeps the process alive (as timeout.unref()). */
function unrefTimer(id) {
  binding.timerUnref(id);
}

/** Cancels a pending timer; a timer that already fired is left alone. */
function clearTimer(id) {
  if (binding.timerClear(id)) callbacks[id & ID_MASK] = undefined;
}

module.exports = { binding, file, startTimer, clearTimer, unrefTimer, Sched: binding.Sched };
