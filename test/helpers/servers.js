'use strict';
// Real servers on 127.0.0.1 for the fetcher's tests. Each keeps its
// sockets, so stop() ends them all, and counts what it sees.
const http = require('node:http');
const http2 = require('node:http2');
const net = require('node:net');
const fs = require('node:fs');

function track(server) {
  const sockets = new Set();
  server.on('connection', (s) => {
    sockets.add(s);
    s.on('close', () => sockets.delete(s));
  });
  return sockets;
}

function listen(server, sockets, extra) {
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address();
      resolve({
        server,
        port,
        url: `http://127.0.0.1:${port}`,
        stop() {
          for (const s of sockets) s.destroy();
          return new Promise((r) => server.close(() => r()));
        },
        ...extra,
      });
    });
  });
}

/** An http server; `handler(req, res, stats)`. stats: requests, active, maxActive, connections. */
function startHttp(handler) {
  const stats = { requests: 0, active: 0, maxActive: 0, connections: 0 };
  const server = http.createServer((req, res) => {
    stats.requests++;
    stats.active++;
    if (stats.active > stats.maxActive) stats.maxActive = stats.active;
    let counted = true;
    const done = () => {
      if (counted) {
        counted = false;
        stats.active--;
      }
    };
    res.on('finish', done);
    res.on('close', done);
    handler(req, res, stats);
  });
  server.on('connection', () => { stats.connections++; });
  const sockets = track(server);
  return listen(server, sockets, { stats });
}

/** A cleartext HTTP/2 (h2c, prior knowledge) server; stats.sessions counts connections. */
function startH2c(handler) {
  const stats = { requests: 0, sessions: 0 };
  const server = http2.createServer();
  const sessions = new Set();
  server.on('session', (s) => {
    stats.sessions++;
    sessions.add(s);
    s.on('close', () => sessions.delete(s));
  });
  server.on('request', (req, res) => {
    stats.requests++;
    handler(req, res, stats);
  });
  const sockets = track(server);
  return listen(server, sockets, { stats }).then((s) => ({
    ...s,
    stop() {
      for (const x of sessions) x.destroy();
      for (const x of sockets) x.destroy();
      return new Promise((r) => server.close(() => r()));
    },
  }));
}

/** A raw TCP server: `onSocket(socket)` does as it likes. */
function startRaw(onSocket) {
  const server = net.createServer(onSocket);
  const sockets = track(server);
  return listen(server, sockets, {});
}

/** A port that refuses connections (was listening, now closed). */
async function closedPort() {
  const s = await startRaw(() => {});
  await s.stop();
  return s.port;
}

/** Open file descriptors of this process. */
function fdCount() {
  return fs.readdirSync('/proc/self/fd').length;
}

module.exports = { startHttp, startH2c, startRaw, closedPort, fdCount };
