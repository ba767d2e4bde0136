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

/**
 * The contenders named by `--contenders A,B` (all of `all` without it), in
 * `all`'s order, with those of `always` whatever was named; an unknown name
 * ends the process with the known ones.
 */
export function contenders(all, always) {
  const picked = argv.includes('--contenders') ? argv[argv.indexOf('--contenders') + 1].split(',') : all;
  for (const n of picked) {
    if (!all.includes(n)) {
      console.error(`bench: no contender ${JSON.stringify(n)} (${all.join(', ')})`);
      process.exit(1);
    }
  }
  return all.filter((n) => always.includes(n) || picked.includes(n));
}

export { argv };
