'use strict';
// Task functions for bench/pool.mjs (piscina, tinypool and uvasync load this module).
function noop(x) {
  return x;
}
function spin(ms) {
  const end = performance.now() + ms;
  while (performance.now() < end);
  return ms;
}
function buf(b) {
  return b;
}
module.exports = noop;
module.exports.noop = noop;
module.exports.spin = spin;
module.exports.buf = buf;
