'use strict';
// Helpers shared by the tests.
const { spawn } = require('node:child_process');
const path = require('node:path');

const root = path.join(__dirname, '..', '..');

/**
 * Runs `code` in a fresh node process; resolves with { code, stdout, stderr, ms }.
 * `stdin`: undefined for none, a string to write and close, or 'open' for a
 * pipe that stays open and silent until the child exits.  `prefix`: a
 * command node runs under (`['ip', 'netns', 'exec', name]`).
 */
function runNode(code, { args = [], timeout = 15000, stdin, prefix = [] } = {}) {
  return new Promise((resolve, reject) => {
    const t0 = performance.now();
    const argv = [...prefix, process.execPath, ...args, '-e', code];
    const child = spawn(argv[0], argv.slice(1),
      { cwd: root, stdio: [stdin === undefined ? 'ignore' : 'pipe', 'pipe', 'pipe'] });
    if (typeof stdin === 'string' && stdin !== 'open') child.stdin.end(stdin);
    if (child.stdin) child.stdin.on('error', () => {});
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d) => { stdout += d; });
    child.stderr.on('data', (d) => { stderr += d; });
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`child did not exit within ${timeout} ms\nstdout: ${stdout}\nstderr: ${stderr}`));
    }, timeout);
    child.on('exit', (code, signal) => {
      clearTimeout(timer);
      resolve({ code, signal, stdout, stderr, ms: performance.now() - t0 });
    });
  });
}

/** Counts the listeners an AbortSignal has for 'abort'. */
function abortListeners(signal) {
  const sym = Object.getOwnPropertySymbols(signal).find((s) => s.description === 'kEvents');
  const events = sym && signal[sym];
  const entry = events && events.get('abort');
  return entry ? entry.size : 0;
}

/** A sync busy wait, to block the loop the way heavy synchronous work does. */
function block(ms) {
  const end = performance.now() + ms;
  while (performance.now() < end) { /* spin */ }
}

const tick = () => new Promise((r) => setImmediate(r));

/**
 * A seeded pseudo-random source, so that a randomized test can be replayed:
 * `rnd(n)` is an integer in [0, n).  (mulberry32: an LCG's low bits, which
 * `x % n` took, repeat with a short period, and some combinations of
 * consecutive draws never came up.)
 */
function seeded(seed) {
  let a = seed >>> 0;
  return (n) => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return Math.floor((((t ^ (t >>> 14)) >>> 0) / 4294967296) * n);
  };
}

/**
 * Skips the running test and says why: the reporter prints the reason under
 * the pending test and again in the closing summary (mocha's own skip()
 * takes no reason).  Call as `skip(this, 'why')` from an it() or a hook.
 */
function skip(ctx, reason) {
  const test = ctx.currentTest || ctx.test;
  if (test) test.skipReason = reason;
  ctx.skip();
}

module.exports = { root, runNode, abortListeners, block, tick, seeded, skip };
