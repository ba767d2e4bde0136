'use strict';
// An nginx of the test's own on a loopback port: its own prefix directory,
// configuration and document root, run in the foreground as a child of the
// test process, so that stop() (or the test process's death) ends it.
// .ci/run installs nginx; elsewhere `nginxPath()` is null and the tests that
// need it say they are skipped and why.
const { spawn, execFileSync } = require('node:child_process');
const fs = require('node:fs');
const net = require('node:net');
const os = require('node:os');
const path = require('node:path');

const CANDIDATES = ['/usr/sbin/nginx', '/usr/local/sbin/nginx', '/usr/local/nginx/sbin/nginx'];

/** The nginx binary, or null when there is none. */
function nginxPath() {
  for (const p of CANDIDATES) if (fs.existsSync(p)) return p;
  try {
    return execFileSync('sh', ['-c', 'command -v nginx'], { encoding: 'utf8' }).trim() || null;
  } catch {
    return null;
  }
}

const MISSING = 'nginx is not installed (.ci/run installs it; by hand: apt-get install nginx)';

/**
 * The environment for a tool of the machine's own (nginx, curl): without
 * the sanitizer runtime npm run test:asan preloads into node and its
 * children (curl hung under it), and without a proxy.
 */
function toolEnv() {
  const env = { ...process.env };
  for (const k of ['LD_PRELOAD', 'ASAN_OPTIONS', 'UBSAN_OPTIONS', 'LSAN_OPTIONS']) delete env[k];
  return env;
}

/** A port nothing listens on now (nginx takes a number, not 0). */
function freePort() {
  return new Promise((resolve, reject) => {
    const s = net.createServer();
    s.once('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const { port } = s.address();
      s.close(() => resolve(port));
    });
  });
}

function connectable(port) {
  return new Promise((resolve) => {
    const s = net.connect(port, '127.0.0.1');
    s.once('connect', () => { s.destroy(); resolve(true); });
    s.once('error', () => resolve(false));
  });
}

/**
 * Starts nginx.  `files`: { 'name': Buffer | string } written under its
 * root (names may hold '/').  `http`: extra directives for the http block,
 * or a function of { root, dir, extra } giving them (`extra`: `extraPorts`
 * more free ports, for servers of the caller's own); `server`: extra
 * directives for the main server block (locations).  Resolves with
 * { port, url, extra, root, dir, stop() }.
 */
async function startNginx({ files = {}, http = '', server = '', extraPorts = 0 } = {}) {
  const bin = nginxPath();
  if (bin === null) throw new Error(MISSING);
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'uvasync-nginx-'));
  const root = path.join(dir, 'www');
  fs.mkdirSync(root);
  for (const [name, data] of Object.entries(files)) {
    const file = path.join(root, name);
    fs.mkdirSync(path.dirname(file), { recursive: true });
    fs.writeFileSync(file, data);
  }
  // As root, nginx's workers would switch to 'nobody', who cannot read a
  // directory mkdtemp made (0700): they stay the test's own user.
  const user = process.getuid && process.getuid() === 0 ? 'user root;' : '';
  for (let attempt = 0; ; attempt++) {
    const port = await freePort();
    const extra = [];
    while (extra.length < extraPorts) {
      const p = await freePort();
      if (p !== port && !extra.includes(p)) extra.push(p);
    }
    const httpText = typeof http === 'function' ? http({ root, dir, extra }) : http;
    const conf = path.join(dir, 'nginx.conf');
    fs.writeFileSync(conf, `${user}
worker_processes 1;
daemon off;
master_process on;
pid ${dir}/nginx.pid;
error_log ${dir}/error.log warn;
events { worker_connections 1024; }
http {
  access_log off;
  client_body_temp_path ${dir}/cb; proxy_temp_path ${dir}/p; fastcgi_temp_path ${dir}/f;
  uwsgi_temp_path ${dir}/u; scgi_temp_path ${dir}/s;
  default_type application/octet-stream;
  types { text/html html; text/plain txt; application/json json; }
  sendfile on;
  ${httpText}
  server {
    listen 127.0.0.1:${port};
    root ${root};
    ${server}
  }
}
`);
    const child = spawn(bin, ['-p', dir, '-c', conf], { stdio: ['ignore', 'ignore', 'pipe'], env: toolEnv() });
    let stderr = '';
    child.stderr.on('data', (d) => { stderr += d; });
    let exited = false;
    child.once('exit', () => { exited = true; });
    for (let i = 0; i < 200 && !exited; i++) {
      if (await connectable(port)) {
        const stop = () => new Promise((resolve) => {
          const done = () => {
            fs.rmSync(dir, { recursive: true, force: true });
            resolve();
          };
          if (exited) return done();
          child.once('exit', done);
          child.kill('SIGTERM');
        });
        return { port, url: `http://127.0.0.1:${port}`, extra, root, dir, stop };
      }
      await new Promise((r) => setTimeout(r, 25));
    }
    child.kill('SIGKILL');
    // Another process may have taken the port between freePort() and
    // nginx's bind: a new port, a few times.
    if (attempt < 4 && /Address already in use/.test(stderr)) continue;
    fs.rmSync(dir, { recursive: true, force: true });
    throw new Error(`nginx did not start: ${stderr}`);
  }
}

module.exports = { nginxPath, startNginx, MISSING, toolEnv };
