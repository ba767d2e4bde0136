#!/usr/bin/env node
'use strict';
// The uvasync command: fetch a list of URLs through the native fetcher, or
// watch it work against an embedded server (demo).

const { parseArgs } = require('node:util');

const usage = `Usage:
  uvasync fetch [URL...] [-i FILE | -] [options]   fetch URLs, print a summary
  uvasync demo [--count N] [options]               fetch N URLs from an embedded server
  uvasync combinators [-n JOBS]                    the promise combinators on simulated jobs

Fetch options:
  -i, --input FILE     read URLs from FILE, one per line ("-": stdin)
  -c, --concurrency N  requests in flight at once (default 10; demo 64)
  -r, --rate N         requests started per second (default 5; demo 1000; 0: no limit)
  -t, --timeout MS     per-attempt timeout (default 10000; demo 1000)
      --retries N      retries on network errors and 408/429/5xx (default 0; demo 2)
      --http2          HTTP/2 over cleartext too (prior knowledge)
  -X, --request M      the method (default GET; POST with -d)
  -H, --header H       a request header "Name: value" (repeatable)
  -d, --data DATA      a body, as curl's -d: "@FILE" reads FILE without its
                       newlines; form-urlencoded unless -H gives a type
      --data-binary D  a body as given ("@FILE": FILE as it is)
      --cacert FILE    PEM certificates to trust instead of the system's
      --redis URL      share --rate and --concurrency through Redis
                       (redis://host:port/db) with every process that
                       gives the same --key
      --key NAME       the shared limits' name (with --redis)
  -o, --output FILE    write one JSON line per result to FILE
      --output-dir DIR write each body to a file in DIR (made if missing),
                       named after the URL's last path segment as curl -O
                       does ("index.html" for none; ".1", ".2" for a name
                       taken earlier in the run), by the core, not in JS
  -h, --help           this text
  -V, --version        the version of uvasync, libcurl and Node

Progress goes to stderr (a bar on a terminal, a line a second otherwise);
the summary to stdout: counts by status class and error code, latency
p50/p90/p99/max, throughput and bytes.  A line of a list that is not an
http(s) URL is reported and counted as ERR_INVALID_URL; the rest go on.
Exit status: 0 when the run completed (whatever the responses), 2 for
bad usage, 1 for anything else.`;

const FETCH_DEFAULTS = { concurrency: '10', rate: '5', timeout: '10000', retries: '0' };
const DEMO_DEFAULTS = { concurrency: '64', rate: '1000', timeout: '1000', retries: '2', count: '3000' };

async function main(argv) {
  let parsed;
  try {
    parsed = parseArgs({
      args: argv,
      allowPositionals: true,
      options: {
        input: { type: 'string', short: 'i' },
        concurrency: { type: 'string', short: 'c' },
        rate: { type: 'string', short: 'r' },
        timeout: { type: 'string', short: 't' },
        retries: { type: 'string' },
        http2: { type: 'boolean' },
        request: { type: 'string', short: 'X' },
        header: { type: 'string', short: 'H', multiple: true },
        data: { type: 'string', short: 'd' },
        'data-binary': { type: 'string' },
        cacert: { type: 'string' },
        redis: { type: 'string' },
        key: { type: 'string' },
        output: { type: 'string', short: 'o' },
        'output-dir': { type: 'string' },
        count: { type: 'string' },
        jobs: { type: 'string', short: 'n' },
        help: { type: 'boolean', short: 'h' },
        version: { type: 'boolean', short: 'V' },
      },
    });
  } catch (err) {
    process.stderr.write(`uvasync: ${err.message}\n\n${usage}\n`);
    return 2;
  }
  const { values, positionals } = parsed;
  const [cmd, ...rest] = positionals;
  if (values.version) {
    const { curlVersion } = require('../lib/native').binding;
    process.stdout.write(`uvasync ${require('../package.json').version} (libcurl ${curlVersion}; Node ${process.version})\n`);
    return 0;
  }
  if (values.help || cmd === undefined) {
    process.stdout.write(`${usage}\n`);
    return 0;
  }
  const set = (defaults) => {
    const out = { ...defaults };
    for (const [k, v] of Object.entries(values)) if (v !== undefined) out[k] = v;
    return out;
  };
  try {
    if (cmd === 'fetch') {
      const { fetchCommand } = require('./commands/fetch');
      await fetchCommand(set(FETCH_DEFAULTS), rest);
    } else if (cmd === 'demo') {
      const { demo } = require('./commands/demo');
      await demo(set(DEMO_DEFAULTS));
    } else if (cmd === 'combinators') {
      const { combinators } = require('./commands/combinators');
      await combinators(set({ jobs: '2000', concurrency: '64', timeout: '50' }));
    } else {
      process.stderr.write(`uvasync: unknown command ${JSON.stringify(cmd)}\n\n${usage}\n`);
      return 2;
    }
  } catch (err) {
    const { UsageError } = require('./commands/fetch');
    const usage = err instanceof TypeError || err instanceof RangeError || err instanceof UsageError;
    process.stderr.write(`uvasync: ${usage || !err.stack ? err.message : err.stack}\n`);
    return usage ? 2 : 1;
  }
  return process.exitCode || 0;
}

main(process.argv.slice(2)).then((code) => { process.exitCode = code; });
