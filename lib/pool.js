'use strict';
// Pool: runs items through a start function with bounded concurrency.
//
// The counts and the decisions (how many may start, when to stop, when all
// is done) live in the core's scheduler.  Completions are counted here and
// reported to it once per microtask batch, so a run of N items crosses into
// native code about N / batch times rather than N.

const { Sched } = require('./native');

const DONE = -1;
const STOPPED = -2;

class Pool {
  /**
   * @param source an array, or a sync or async iterator
   * @param hooks { start(item, index), ok(index, value), fail(index, err),
   *                sourceError(err), done() }
   */
  constructor(source, limit, stopOnError, hooks) {
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
    this.hooks = hooks;
    this.sched = new Sched(limit, this.array === null ? -1 : this.array.length, stopOnError);
    this.index = 0;
    this.nOk = 0;
    this.nFailed = 0;
    this.queued = false;
    this.ended = false;
    this.pulling = false;
    this.want = 0;
    this.flush = () => {
      this.queued = false;
      const ok = this.nOk;
      const failed = this.nFailed;
      this.nOk = 0;
      this.nFailed = 0;
      this.apply(this.sched.settle(ok, failed));
    };
  }

  begin() {
    this.apply(this.sched.settle(0, 0));
  }

  /** Stops starting new items; what is running keeps its handlers. */
  end() {
    if (this.ended) return;
    this.ended = true;
    const it = this.iterator;
    if (it !== null && typeof it.return === 'function') {
      try {
        const r = it.return();
        if (r !== null && typeof r === 'object' && typeof r.then === 'function') r.then(undefined, () => {});
      } catch { /* The run has ended; a failing return() changes nothing. */ }
    }
  }

  apply(r) {
    if (this.ended) return;
    if (r > 0) this.startN(r);
    else if (r === DONE) {
      this.ended = true;
      this.hooks.done();
    }
    // STOPPED: the hooks already ended the run on the failure itself.
  }

  settled(ok) {
    if (ok) this.nOk++;
    else this.nFailed++;
    if (!this.queued) {
      this.queued = true;
      queueMicrotask(this.flush);
    }
  }

  startN(n) {
    if (this.array !== null) {
      const items = this.array;
      for (let k = 0; k < n && !this.ended; k++) {
        const i = this.index++;
        this.launch(items[i], i);
      }
    } else if (!this.async) {
      for (let k = 0; k < n && !this.ended; k++) {
        let r;
        try {
          r = this.iterator.next();
        } catch (err) {
          this.sourceError(err);
          return;
        }
        if (r.done) {
          this.exhausted();
          return;
        }
        this.launch(r.value, this.index++);
      }
    } else {
      this.want += n;
      if (!this.pulling) this.pull();
    }
  }

  async pull() {
    this.pulling = true;
    while (this.want > 0 && !this.ended) {
      let r;
      try {
        r = await this.iterator.next();
      } catch (err) {
        this.pulling = false;
        this.sourceError(err);
        return;
      }
      if (this.ended) break;
      if (r.done) {
        this.want = 0;
        this.pulling = false;
        this.exhausted();
        return;
      }
      this.want--;
      this.launch(r.value, this.index++);
    }
    this.pulling = false;
  }

  exhausted() {
    this.iterator = null;
    this.sched.setTotal(this.index);
    this.apply(this.sched.settle(0, 0));
  }

  sourceError(err) {
    this.iterator = null;
    this.end();
    this.hooks.sourceError(err);
  }

  launch(item, i) {
    let p;
    try {
      p = this.hooks.start(item, i);
    } catch (err) {
      this.failed(i, err);
      return;
    }
    if (p !== null && typeof p === 'object' && typeof p.then === 'function') {
      p.then((value) => this.succeeded(i, value), (err) => this.failed(i, err));
    } else {
      this.succeeded(i, p);
    }
  }

  succeeded(i, value) {
    this.hooks.ok(i, value);
    this.settled(true);
  }

  failed(i, err) {
    this.hooks.fail(i, err);
    this.settled(false);
  }
}

module.exports = { Pool, DONE, STOPPED };
