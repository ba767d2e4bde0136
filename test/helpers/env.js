'use strict';
// Loaded before every test file (.mocharc.json).  The tests talk to servers
// on loopback; a proxy configured in the environment, which libcurl honours
// (see the README), must not catch them.
const loopback = '127.0.0.1,localhost,::1';
for (const key of ['no_proxy', 'NO_PROXY']) {
  process.env[key] = process.env[key] ? `${process.env[key]},${loopback}` : loopback;
}
