// bench/common.mjs: what the benches that run contenders in child processes share.
import fs from 'node:fs';

// Loopback servers, never a proxy from the environment (libcurl honours it).
process.env.no_proxy = process.env.no_proxy ? `${process.env.no_proxy},127.0.0.1` : '127.0.0.1';

const argv = process.argv.slice(2);

/** The number after `--name` on the command line, or `def`. */
export function arg(name, def) {
  const i = argv.indexOf(name);
  return i >= 0 ? Number(argv[i + 1]) : def;
}

/** A field of /proc/self/status in KiB (VmRSS, VmHWM). */
export function rssKiB(field) {
  return Number(fs.readFileSync('/proc/self/status', 'utf8').match(new RegExp(`${field}:\\s+(\\d+)`))[1]);
}

export { argv };
