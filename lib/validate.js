'use strict';
// Argument checks. Each throws a TypeError or RangeError that names the
// argument, its value and its type.

const { inspect } = require('node:util');

const MAX_MS = 4294967295; // About 49.7 days.

function describe(value) {
  const type = value === null ? 'null' : typeof value;
  let shown;
  try {
    shown = typeof value === 'function' ? (value.name ? `[Function ${value.name}]` : '[Function]')
      : inspect(value, { depth: 0, breakLength: Infinity, maxStringLength: 40, maxArrayLength: 5 });
  } catch {
    shown = '?';
  }
  return `\`${shown}\` (${type})`;
}

function typeError(name, expected, value) {
  return new TypeError(`Expected \`${name}\` to be ${expected}, got ${describe(value)}`);
}

function rangeError(name, expected, value) {
  return new RangeError(`Expected \`${name}\` to be ${expected}, got ${describe(value)}`);
}

function number(name, value, expected) {
  if (typeof value !== 'number' || Number.isNaN(value)) throw typeError(name, expected, value);
}

/** A duration in ms: finite, 0 ≤ ms ≤ MAX_MS; `Infinity` when allowed. */
function ms(name, value, allowInfinity = false) {
  const expected = `a number of milliseconds from 0 to ${MAX_MS}${allowInfinity ? ' or `Infinity`' : ''}`;
  number(name, value, expected);
  if (value === Infinity && allowInfinity) return;
  if (!(value >= 0 && value <= MAX_MS)) throw rangeError(name, expected, value);
}

/** An integer ≥ min; `Infinity` when allowed. */
function integer(name, value, min, allowInfinity = false) {
  const expected = `an integer ≥ ${min}${allowInfinity ? ' or `Infinity`' : ''}`;
  number(name, value, expected);
  if (value === Infinity && allowInfinity) return;
  if (!Number.isInteger(value) || value < min) throw rangeError(name, expected, value);
}

/** A finite number in [min, max]; a min of Number.MIN_VALUE reads "> 0". */
function between(name, value, min, max) {
  const expected = min === Number.MIN_VALUE ? `a number > 0 and ≤ ${max}` : `a number from ${min} to ${max}`;
  number(name, value, expected);
  if (!(value >= min && value <= max)) throw rangeError(name, expected, value);
}

function fn(name, value) {
  if (typeof value !== 'function') throw typeError(name, 'a function', value);
}

function optionalFn(name, value) {
  if (value !== undefined) fn(name, value);
}

function options(name, value) {
  if (value === undefined) return;
  if (value === null || typeof value !== 'object') throw typeError(name, 'an object', value);
}

function signal(name, value) {
  if (value === undefined) return;
  // A real AbortSignal, or anything with both listener methods: one that
  // cannot remove its listener would throw later, from a loop callback.
  if (value === null || typeof value !== 'object' || typeof value.aborted !== 'boolean' ||
      typeof value.addEventListener !== 'function' || typeof value.removeEventListener !== 'function') {
    throw typeError(name, 'an AbortSignal', value);
  }
}

function iterable(name, value) {
  if (value != null && (typeof value[Symbol.iterator] === 'function' ||
      typeof value[Symbol.asyncIterator] === 'function')) return;
  throw typeError(name, 'an iterable or async iterable', value);
}

module.exports = { MAX_MS, describe, typeError, rangeError, number, ms, integer, between, fn, optionalFn, options, signal, iterable };
