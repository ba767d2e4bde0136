#!/usr/bin/env node
'use strict';
// npm run test:asan: the whole mocha suite against the addon built with
// AddressSanitizer and UBSan, node run with libasan preloaded, then the plain
// build put back.
//
// Every process the suite starts (workers, child processes) writes its
// sanitizer reports to its own file.  The run fails on any AddressSanitizer
// or UBSan error, and on any leak whose allocation passes through uvasync's
// own code; Node and V8 do not free everything at exit, and their leaks are
// not ours to judge.
const { spawnSync } = require('node:child_process');
const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');

const root = path.join(__dirname, '..');
const OURS = /\/src\/(core|binding)\/|uvasync\.node|\buva_[a-z_]+|\buvasync::/;

function sh(cmd, args, env) {
  const r = spawnSync(cmd, args, { cwd: root, stdio: 'inherit', env });
  if (r.error) throw r.error;
  return r.status;
}

function libasan() {
  const r = spawnSync('cc', ['-print-file-name=libasan.so'], { encoding: 'utf8' });
  const lib = r.status === 0 ? r.stdout.trim() : '';
  if (!lib.startsWith('/') || !fs.existsSync(lib)) {
    process.stderr.write('test:asan: libasan.so was not found (gcc ships it; `sudo apt-get install -y gcc`)\n');
    process.exit(1);
  }
  return lib;
}

/** Splits one report file into its reports and keeps what counts. */
function findings(file) {
  const text = fs.readFileSync(file, 'utf8');
  const out = [];
  for (const m of text.matchAll(/^.*(ERROR: AddressSanitizer|runtime error).*$/gm)) out.push(`${path.basename(file)}: ${m[0]}`);
  const blocks = text.split(/\n(?=(?:Direct|Indirect) leak of )/);
  for (const b of blocks.slice(1)) {
    if (leakIsOurs(b)) out.push(`${path.basename(file)}: ${b.split('\n').slice(0, 12).join('\n')}`);
  }
  return out;
}

// Shared libraries node itself loads (it links the rest statically), and the
// sanitizers'.  Any other library in a process is there for our addon:
// libcurl and what it links (OpenSSL, nghttp2, zlib...), hiredis.
const NODES_LIBS = new Set(['libc', 'libm', 'libdl', 'libpthread', 'libstdc++', 'libgcc_s', 'ld-linux-x86-64', 'libasan', 'libubsan']);
const LIB_FRAME = /\/([^/ (]+)\.so[.\d]*\+0x/; // "(/lib/x86_64-linux-gnu/libcurl.so.4+0x1234)": libcurl

// A leak is ours when the allocation was made by our code, or by a library
// that our code called: before the first frame in node itself, one frame is
// ours or in a library only our addon loads (its stack may be cut before our
// frame: see malloc_context_size below).  Allocations V8 makes for its own
// heap while running anything (our class definitions included) are not.
function leakIsOurs(block) {
  const frames = block.split('\n').filter((l) => /^\s+#\d+ /.test(l)).slice(1);
  for (const f of frames) {
    if (f.includes(`(${process.execPath}+`) || / \(\/usr\/bin\/node\+/.test(f)) return false;
    if (OURS.test(f)) return true;
    const lib = LIB_FRAME.exec(f);
    if (lib !== null && !NODES_LIBS.has(lib[1])) return true;
  }
  return false;
}

function main() {
  const lib = libasan();
  const logs = fs.mkdtempSync(path.join(os.tmpdir(), 'uvasync-asan-'));
  let status = 1;
  try {
    if (sh(process.execPath, ['scripts/install.js'], { ...process.env, UVASYNC_SANITIZE: '1' }) !== 0) return 1;
    const env = {
      ...process.env,
      LD_PRELOAD: lib,
      // Stacks of 16 frames, not 30: a child that ends with process.exit()
      // leaves V8's heap to LeakSanitizer, ~600 leaks of node's own, and with
      // 30 frames each their report took 7 s here (3 s with 16), which ran
      // tests into their timeouts on a busy machine.
      ASAN_OPTIONS: `detect_leaks=1:malloc_context_size=16:log_path=${path.join(logs, 'asan')}:abort_on_error=0`,
      LSAN_OPTIONS: 'exitcode=0', // Leaks are judged below, by whose they are.
      UBSAN_OPTIONS: `print_stacktrace=1:log_path=${path.join(logs, 'ubsan')}`,
      UVASYNC_ASAN: '1',
    };
    const mocha = require.resolve('mocha/bin/mocha.js');
    status = sh(process.execPath, [mocha], env);
    const found = fs.readdirSync(logs).flatMap((f) => findings(path.join(logs, f)));
    process.stdout.write(`test:asan: ${fs.readdirSync(logs).length} report files, ${found.length} findings of ours\n`);
    for (const f of found) process.stdout.write(`${f}\n\n`);
    if (found.length > 0) status = status || 1;
  } finally {
    // The plain build back, so that what runs next is what users run.
    sh(process.execPath, ['scripts/install.js'], process.env);
    fs.rmSync(logs, { recursive: true, force: true });
  }
  return status;
}

if (require.main === module) process.exit(main());
module.exports = { findings };
