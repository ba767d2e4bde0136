'use strict';
// Pool: runs items through a start function with bounded concurrency.
//
// A slot is a worker that takes items one after another.  The core's
// scheduler decides how many slots open, when a failure stops the run and
// when the run is done; the workers loop in JS and report to it only when
// an item fails or a worker closes (closes are batched per microtask).  A
// run of N items so crosses into native code O(concurrency) times, not O(N).

const { Sched } = require('./native');

const DONE = -1;
const STOPPED = -2;
/** What a mapper returns to leave its element out (p-map's pMapSkip). */
const SKIP = Symbol('uvasync.skip');

function noop() {}

// A plain indexed loop of its own (a for...of in the constructor ran
// unoptimized: 25 ns an element).
function observeThenables(array) {
  for (let i = 0; i < array.length; i++) {
    const x = array[i];
    if (typeof x === 'object' && x !== null && typeof x.then === 'function') Promise.resolve(x).catch(noop);
  }
}

function isThenable(x) {
  return x !== null && (typeof x === 'object' || typeof x === 'function') && typeof x.then === 'function';
}

class Pool {
  /**
   * @param source an array, or a sync or async iterable
   * @param fn called as fn(item, index, arg) for each item
   * @param hooks { results: array | null, ok(index, value) | null,
   *                fail(index, err, stopped), sourceError(err), done() };
   *        with `ok` null a value goes straight into `results[index]`.
   */
  constructor(source, limit, stopOnError, fn, arg, hooks) {
    // With no limit a sync iterable is taken whole at once anyway.
    if (limit === Infinity && !Array.isArray(source) && typeof source[Symbol.asyncIterator] !== 'function') {
      source = Array.from(source);
    }
    this.array = Array.isArray(source) ? source : null;
    this.iterator = null;
    this.async = false;
    if (this.array === null) {
      if (typeof source[Symbol.asyncIterator] === 'function') {
        this.iterator = source[Symbol.asyncIterator]();
        this.async = true;
      } else {
        this.iterator = source[Symbol.iterator]();
      }
    }
    this.grow = limit === Infinity && this.array === null;
    this.fn = fn;
    this.arg = arg;
    this.results = hooks.results;
    this.onOk = hooks.ok;
    this.hooks = hooks;
    this.awaitItems = hooks.awaitItems === true; // Promise elements are awaited first (p-map).
    this.skipped = false;
    // A rejected element far down the array is observed now: awaited only
    // when its turn comes, it would count as unhandled meanwhile.
    if (this.awaitItems && this.array !== null) observeThenables(this.array);
    this.sched = new Sched(limit, this.array === null ? -1 : this.array.length, stopOnError);
    this.index = 0;
    this.ended = false;
    this.exhausted = false;
    this.closedSlots = 0;
    this.closedOk = 0;
    this.flushQueued = false;
    this.flush = () => {
      this.flushQueued = false;
      const slots = this.closedSlots;
      const ok = this.closedOk;
      this.closedSlots = 0;
      this.closedOk = 0;
      if (this.sched.close(slots, ok, 0) === DONE && !this.ended) {
        this.ended = true;
        this.hooks.done();
      }
    };
  }

  begin() {
    const n = this.sched.open();
    if (n === 0) {
      this.ended = true;
      this.hooks.done();
      return;
    }
    for (let k = 0; k < n; k++) this.worker();
  }

  /** Stops taking new items; what is running keeps its handlers. */
  end() {
    if (this.ended) return;
    this.ended = true;
    this.sched.stop();
    this.closeIterator();
  }

  closeIterator() {
    const it = this.iterator;
    this.iterator = null;
    if (it === null || this.exhausted || typeof it.return !== 'function') return;
    try {
      const r = it.return();
      if (r !== null && typeof r === 'object' && typeof r.then === 'function') r.then(undefined, () => {});
    } catch { /* The run has ended; a failing return() changes nothing. */ }
  }

  sourceError(err) {
    if (this.ended) return;
    this.exhausted = true;
    this.end();
    this.hooks.sourceError(err);
  }

  async worker() {
    const array = this.array;
    const hooks = this.hooks;
    const fn = this.fn;
    const arg = this.arg;
    const results = this.results;
    const onOk = this.onOk;
    let ok = 0; // Successes not yet reported to the scheduler.
    for (;;) {
      if (this.ended || this.exhausted) break;
      let item;
      let index;
      if (array !== null) {
        index = this.index;
        if (index >= array.length) break;
        item = array[index];
        this.index = index + 1;
      } else {
        let r;
        try {
          r = this.async ? await this.iterator.next() : this.iterator.next();
        } catch (err) {
          this.sourceError(err);
          break;
        }
        if (this.ended) break;
        if (r === null || typeof r !== 'object') {
          // What for...of throws; taking it for a value looped forever.
          this.sourceError(new TypeError(`Iterator result ${String(r)} is not an object`));
          break;
        }
        if (r.done) {
          this.exhausted = true;
          this.iterator = null;
          break;
        }
        item = r.value;
        index = this.index++; // Taken now: other workers may take more.
        if (this.grow) {
          for (let n = this.sched.open(); n > 0; n--) this.worker();
        }
      }
      try {
        if (this.awaitItems && isThenable(item)) item = await item;
        const value = await fn(item, index, arg);
        if (value === SKIP) this.skipped = true;
        ok++;
        if (onOk === null) results[index] = value;
        else onOk(index, value);
      } catch (err) {
        const r = this.sched.report(ok, 1);
        ok = 0;
        hooks.fail(index, err, r === STOPPED);
      }
    }
    this.closedSlots++;
    this.closedOk += ok;
    if (!this.flushQueued) {
      this.flushQueued = true;
      queueMicrotask(this.flush);
    }
  }
}

module.exports = { Pool, DONE, STOPPED, SKIP, isThenable };
