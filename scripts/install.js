#!/usr/bin/env node
'use strict';
// The package's install step: checks the prerequisites, then builds the
// addon with node-gyp against the headers that ship with this Node, offline.
// A missing prerequisite stops the install with the exact command to run.

const { spawnSync } = require('node:child_process');
const fs = require('node:fs');
const path = require('node:path');

const root = path.join(__dirname, '..');

function fail(lines) {
  process.stderr.write(`\nuvasync: cannot build the native addon.\n${lines.map((l) => `  ${l}`).join('\n')}\n\n`);
  process.exit(1);
}

function has(cmd) {
  return spawnSync('sh', ['-c', `command -v ${cmd}`], { stdio: 'ignore' }).status === 0;
}

const INCLUDE_DIRS = ['/usr/include', '/usr/local/include', '/usr/include/x86_64-linux-gnu',
  '/usr/include/aarch64-linux-gnu', '/opt/homebrew/include'];

function hasHeader(file, pkgConfigName) {
  if (INCLUDE_DIRS.some((d) => fs.existsSync(path.join(d, file)))) return true;
  return spawnSync('sh', ['-c', `pkg-config --exists ${pkgConfigName}`], { stdio: 'ignore' }).status === 0;
}

// Build-time header packages.  libcurl's are needed to build the addon;
// libuv's only let the test suite build the C core's own tests against the
// system libuv (the addon always uses Node's own libuv, never links one);
// hiredis's build Redis support (limits shared across processes), which the
// addon goes without where they are missing.
const HEADERS = [
  { pkg: 'libcurl4-openssl-dev', file: 'curl/curl.h', pc: 'libcurl', required: true },
  { pkg: 'libuv1-dev', file: 'uv.h', pc: 'libuv', required: false, without: "the C core's own tests will be skipped" },
  { pkg: 'libhiredis-dev', file: 'hiredis/async.h', pc: 'hiredis', required: false, without: 'the addon is built without Redis support (RedisStore)' },
];

function aptInstall(pkgs) {
  process.stderr.write(`uvasync: installing ${pkgs.join(' ')} with apt-get\n`);
  const env = { ...process.env, DEBIAN_FRONTEND: 'noninteractive' };
  let r = spawnSync('apt-get', ['install', '-y', '-qq', ...pkgs], { stdio: 'inherit', env });
  if (r.status !== 0) {
    spawnSync('apt-get', ['update', '-qq'], { stdio: 'inherit', env });
    r = spawnSync('apt-get', ['install', '-y', '-qq', ...pkgs], { stdio: 'inherit', env });
  }
  return r.status === 0;
}

function ensureHeaders() {
  const missing = HEADERS.filter((h) => !hasHeader(h.file, h.pc));
  if (missing.length === 0) return;
  const isRoot = typeof process.getuid === 'function' && process.getuid() === 0;
  if (isRoot && has('apt-get')) aptInstall(missing.map((h) => h.pkg));
  const still = missing.filter((h) => !hasHeader(h.file, h.pc));
  for (const h of still.filter((x) => !x.required)) {
    process.stderr.write(`uvasync: ${h.pkg} is not installed; ${h.without} ` +
      `(\`sudo apt-get install -y ${h.pkg}\` enables them)\n`);
  }
  const needed = still.filter((h) => h.required);
  if (needed.length === 0) return;
  fail(['libcurl\'s development headers (curl/curl.h) are missing. Install them with:',
    '',
    `    sudo apt-get update && sudo apt-get install -y ${needed.map((h) => h.pkg).join(' ')}`,
    '',
    'then run `npm install` again.']);
}

function nodeDir() {
  const candidates = [process.env.npm_config_nodedir, path.dirname(path.dirname(process.execPath))];
  for (const dir of candidates) {
    if (dir && fs.existsSync(path.join(dir, 'include', 'node', 'node_api.h'))) return dir;
  }
  return fail([`Node's headers were not found beside ${process.execPath} (include/node/node_api.h).`,
    'Install a Node.js build that ships its headers, or set `npm_config_nodedir` to a folder that holds include/node.']);
}

function nodeGyp() {
  const candidates = [
    process.env.npm_config_node_gyp,
    path.join(path.dirname(process.execPath), '..', 'lib', 'node_modules', 'npm', 'node_modules', 'node-gyp', 'bin', 'node-gyp.js'),
  ];
  try { candidates.push(require.resolve('node-gyp/bin/node-gyp.js')); } catch { /* not installed locally */ }
  for (const c of candidates) if (c && fs.existsSync(c)) return c;
  return fail(['node-gyp was not found (it ships with npm).', 'Install it with:', '', '    npm install -g node-gyp']);
}

function main() {
  if (!has('python3')) fail(['python3 is needed by node-gyp. Install it with:', '', '    sudo apt-get install -y python3']);
  if (!has('make') || !(has('c++') || has('g++') || has('clang++'))) {
    fail(['A C/C++ toolchain is needed. Install it with:', '', '    sudo apt-get install -y build-essential']);
  }
  ensureHeaders();
  const args = [nodeGyp(), 'rebuild', `--nodedir=${nodeDir()}`, '--jobs=max'];
  if (process.env.UVASYNC_DEBUG_BUILD) args.push('--debug');
  const env = { ...process.env };
  if (process.env.UVASYNC_SANITIZE) {
    // The addon and its core built with AddressSanitizer and UBSan, for
    // `npm run test:asan` (node then runs with libasan preloaded).
    const flags = '-fsanitize=address,undefined -fno-omit-frame-pointer -fno-sanitize-recover=undefined -g';
    env.CFLAGS = `${env.CFLAGS || ''} ${flags}`;
    env.CXXFLAGS = `${env.CXXFLAGS || ''} ${flags}`;
    env.LDFLAGS = `${env.LDFLAGS || ''} -fsanitize=address,undefined`;
  }
  const r = spawnSync(process.execPath, args, { cwd: root, encoding: 'utf8', env });
  if (r.status !== 0) {
    const out = `${r.stdout}\n${r.stderr}`.split('\n').filter((l) => /error|Error/.test(l)).slice(0, 20);
    fail(['node-gyp failed. The first errors:', '', ...out, '', `Re-run \`node ${path.relative(process.cwd(), __filename)}\` with VERBOSE=1 for the full output.`]);
  }
  if (process.env.VERBOSE) process.stdout.write(r.stdout + r.stderr);
}

main();
