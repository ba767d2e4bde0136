'use strict';
// Builds and runs the C core's own tests (test/core/*_test.c) against
// the system's libuv, without Node.  The addon itself always uses Node's
// libuv; this binary exists only to test the core on a loop of its own.
const assert = require('node:assert/strict');
const { spawnSync } = require('node:child_process');
const fs = require('node:fs');
const path = require('node:path');
const { root, skip } = require('./helpers');

function libuvFlags() {
  const r = spawnSync('pkg-config', ['--cflags', '--libs', 'libuv'], { encoding: 'utf8' });
  if (r.status === 0) return r.stdout.trim().split(/\s+/).filter(Boolean);
  return fs.existsSync('/usr/include/uv.h') ? ['-luv'] : null;
}

describe('C core (without Node)', function () {
  this.timeout(60000);
  const out = path.join(root, 'build', 'core-tests');
  const flags = libuvFlags();

  // Each test/core/*_test.c is a program of its own, in a plain build and
  // one with ASan and UBSan.
  const programs = fs.readdirSync(path.join(root, 'test', 'core')).filter((f) => f.endsWith('_test.c'));
  for (const program of programs) {
    for (const [name, extra] of [['plain', []], ['sanitized', ['-fsanitize=address,undefined', '-fno-omit-frame-pointer']]]) {
      it(`${program}: passes its own tests (${name} build) and closes every loop cleanly`, function () {
        if (flags === null) {
          skip(this, 'libuv development files not found; `sudo apt-get install -y libuv1-dev` enables these tests');
        }
        fs.mkdirSync(out, { recursive: true });
        const bin = path.join(out, `${program.replace(/\.c$/, '')}_${name}`);
        // redis.c as the addon has it: with hiredis where its headers are, else left out.
        const redis = spawnSync(process.execPath, [path.join(root, 'scripts', 'has-hiredis.js')], { encoding: 'utf8' }).stdout === '1';
        const src = fs.readdirSync(path.join(root, 'src', 'core')).filter((f) => f.endsWith('.c') && (redis || !f.startsWith('redis')))
          .map((f) => path.join(root, 'src', 'core', f));
        // Under `npm run test:asan` node runs with libasan preloaded; the
        // compiler and this binary (sanitized on its own, or plain) must not.
        const env = { ...process.env, ASAN_OPTIONS: 'detect_leaks=1' };
        delete env.LD_PRELOAD;
        delete env.LSAN_OPTIONS;
        delete env.UBSAN_OPTIONS;
        const cc = spawnSync('cc', ['-std=gnu11', '-O1', '-g', '-Wall', '-Wextra', '-Werror', ...extra,
          ...(redis ? ['-DUVA_TEST_REDIS'] : []), '-I', path.join(root, 'src', 'core'),
          path.join(root, 'test', 'core', program), ...src, ...flags, '-lcurl', '-lm', ...(redis ? ['-lhiredis'] : []),
          // The tests steer the core's clock (uv_hrtime), not libuv's.
          '-Wl,--wrap=uv_hrtime', '-o', bin], { encoding: 'utf8', env });
        assert.equal(cc.status, 0, `compile failed:\n${cc.stderr}`);
        const run = spawnSync(bin, [], { encoding: 'utf8', env });
        assert.equal(run.status, 0, `core tests failed:\n${run.stdout}\n${run.stderr}`);
        assert.match(run.stdout, /\w+: \d+ checks, 0 failed/);
      });
    }
  }
});
