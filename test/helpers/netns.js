'use strict';
// A network namespace of the test's own: its loopback only, its own
// /etc/hosts and /etc/resolv.conf (ip netns exec binds /etc/netns/NAME/*
// over /etc/*), so name lookups are answered or refused inside it and no
// packet can leave the machine.  Needs root and iproute2.
const { spawnSync } = require('node:child_process');
const fs = require('node:fs');
const path = require('node:path');
const { runNode } = require('./index');

/** Why a namespace cannot be made here, or null when it can. */
function unavailable() {
  if (typeof process.getuid !== 'function' || process.getuid() !== 0) return 'needs root to make a network namespace (ip netns add)';
  if (spawnSync('sh', ['-c', 'command -v ip'], { stdio: 'ignore' }).status !== 0) return 'needs iproute2 (`sudo apt-get install -y iproute2`)';
  return null;
}

/**
 * Runs `code` with node inside a fresh namespace whose /etc/hosts is
 * `hosts` and whose only nameserver is 127.0.0.1 (nothing listens there:
 * every query is refused at once).  Resolves with { code, stdout, stderr }.
 */
async function runInNetns(code, { hosts = '', timeout = 30000 } = {}) {
  const name = `uvasync-test-${process.pid}-${Math.floor(Math.random() * 1e6)}`;
  const etc = path.join('/etc/netns', name);
  const run = (args) => spawnSync('ip', args, { encoding: 'utf8' });
  fs.mkdirSync(etc, { recursive: true });
  fs.writeFileSync(path.join(etc, 'hosts'), `127.0.0.1 localhost\n${hosts}`);
  fs.writeFileSync(path.join(etc, 'resolv.conf'), 'nameserver 127.0.0.1\noptions timeout:1 attempts:1\n');
  try {
    let r = run(['netns', 'add', name]);
    if (r.status !== 0) throw new Error(`ip netns add: ${r.stderr}`);
    r = run(['-n', name, 'link', 'set', 'lo', 'up']);
    if (r.status !== 0) throw new Error(`ip link set lo up: ${r.stderr}`);
    return await runNode(code, { prefix: ['ip', 'netns', 'exec', name], timeout });
  } finally {
    run(['netns', 'del', name]);
    fs.rmSync(etc, { recursive: true, force: true });
  }
}

module.exports = { unavailable, runInNetns };
