'use strict';
// A redis-server of the tests' own: a free loopback port, a private
// directory, no persistence.  Installed with apt as root where it is
// missing; otherwise the tests that need it are skipped with the command.
const { spawn, spawnSync, execFileSync } = require('node:child_process');
const fs = require('node:fs');
const net = require('node:net');
const os = require('node:os');
const path = require('node:path');

const INSTALL = 'sudo apt-get install -y redis-server';

function has() {
  return spawnSync('sh', ['-c', 'command -v redis-server && command -v redis-cli'], { stdio: 'ignore' }).status === 0;
}

/** Whether redis-server is there (installing it as root if need be), or why not. */
function ensureRedis() {
  if (has()) return null;
  if (process.getuid && process.getuid() === 0 && spawnSync('sh', ['-c', 'command -v apt-get'], { stdio: 'ignore' }).status === 0) {
    const env = { ...process.env, DEBIAN_FRONTEND: 'noninteractive' };
    spawnSync('apt-get', ['install', '-y', '-qq', 'redis-server'], { stdio: 'ignore', env });
    if (has()) return null;
  }
  return `redis-server is not installed; \`${INSTALL}\` enables these tests`;
}

function freePort() {
  return new Promise((resolve, reject) => {
    const s = net.createServer().listen(0, '127.0.0.1', () => {
      const { port } = s.address();
      s.close(() => resolve(port));
    });
    s.on('error', reject);
  });
}

function waitReady(port, ms = 5000) {
  const end = Date.now() + ms;
  return new Promise((resolve, reject) => {
    const attempt = () => {
      const sock = net.connect(port, '127.0.0.1');
      sock.once('connect', () => {
        sock.end('PING\r\n');
        sock.once('data', () => { sock.destroy(); resolve(); });
      });
      sock.once('error', () => {
        sock.destroy();
        if (Date.now() > end) reject(new Error(`redis-server on ${port} did not start`));
        else setTimeout(attempt, 20);
      });
    };
    attempt();
  });
}

class RedisServer {
  constructor(port, dir) {
    this.port = port;
    this.dir = dir;
    this.child = null;
  }

  static async start() {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'uvasync-redis-'));
    const s = new RedisServer(await freePort(), dir);
    await s.up();
    return s;
  }

  async up() {
    this.child = spawn('redis-server', ['--port', String(this.port), '--bind', '127.0.0.1', '--dir', this.dir,
      '--save', '', '--appendonly', 'no', '--daemonize', 'no', '--loglevel', 'warning'], { stdio: 'ignore' });
    const child = this.child;
    this.exited = new Promise((resolve) => child.once('exit', resolve));
    await waitReady(this.port);
  }

  async down() {
    if (this.child === null) return;
    this.child.kill('SIGKILL');
    await this.exited;
    this.child = null;
  }

  pause() { this.child.kill('SIGSTOP'); }
  resume() { this.child.kill('SIGCONT'); }

  /** A redis-cli command's output. */
  cli(...args) {
    return execFileSync('redis-cli', ['-p', String(this.port), ...args], { encoding: 'utf8' }).trim();
  }

  /** calls of a command so far (INFO commandstats). */
  calls(cmd) {
    const m = new RegExp(`cmdstat_${cmd}:calls=(\\d+)`).exec(this.cli('INFO', 'commandstats'));
    return m === null ? 0 : Number(m[1]);
  }

  async stop() {
    if (this.child !== null) {
      this.resume();
      await this.down();
    }
    fs.rmSync(this.dir, { recursive: true, force: true });
  }
}

module.exports = { ensureRedis, RedisServer, INSTALL };
