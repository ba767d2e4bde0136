'use strict';
// The requests in flight by id, for the core's callbacks to find them: an
// array of slots, not a Map.  A Map whose entries come and go rehashes into
// a new table every few dozen requests, and a replaced table keeps its
// entries (for iterators); once such a table is in the old generation it
// holds the requests it listed, and all they reference, through the next
// scavenges, until a full collection.  With a Map, 5,000 requests left
// 1-2 MB of the young generation alive after a scavenge and 3 MB more in
// the old one (test/fetch.test.js counts that); with slots, nothing.
//
// An id is slot * GENERATIONS + generation: unique while the core may still
// name it (a slot is used again only once its request has left the table,
// with the next generation), and below 2^53 for 2^33 slots.

const GENERATIONS = 2 ** 20;
const RESERVED = Symbol('reserved');

class IdTable {
  constructor() {
    this.items = []; // Per slot: a request, RESERVED, or undefined (free).
    this.gens = []; // Per slot: the generation of its current id.
    this.free = []; // Free slots.
  }

  /** A new id, held for a set() (or a delete() if it is never set). */
  reserve() {
    let slot;
    if (this.free.length > 0) {
      slot = this.free.pop();
      this.gens[slot] = (this.gens[slot] + 1) % GENERATIONS;
    } else {
      slot = this.items.length;
      this.gens.push(0);
    }
    this.items[slot] = RESERVED;
    return slot * GENERATIONS + this.gens[slot];
  }

  /** Lists `item` under `id`, reserved for it. */
  set(id, item) {
    const slot = Math.floor(id / GENERATIONS);
    if (this.items[slot] === RESERVED && this.gens[slot] === id % GENERATIONS) this.items[slot] = item;
  }

  /** What is listed under `id`, or undefined. */
  get(id) {
    const slot = Math.floor(id / GENERATIONS);
    const item = this.items[slot];
    return item === undefined || item === RESERVED || this.gens[slot] !== id % GENERATIONS ? undefined : item;
  }

  /** Frees `id` (listed or only reserved): true when something was listed under it. */
  delete(id) {
    const slot = Math.floor(id / GENERATIONS);
    const item = this.items[slot];
    if (item === undefined || this.gens[slot] !== id % GENERATIONS) return false;
    this.items[slot] = undefined;
    this.free.push(slot);
    return item !== RESERVED;
  }
}

module.exports = { IdTable };
