'use strict';
// `uvasync fetch`: fetch a list of URLs through a Fetcher, with progress,
// optional JSON Lines results, and a summary.

const fs = require('node:fs');
const path = require('node:path');
const readline = require('node:readline');
const { Fetcher, RedisStore } = require('../../lib/index.js');
const { checkUrl } = require('../../lib/fetch.js');
const { Progress, Summary } = require('./summary');

/** A mistake in how the command was called: exit status 2, no stack trace. */
class UsageError extends Error {}

function int(name, value, min) {
  const n = Number(value);
  if (!Number.isInteger(n) || n < min) throw new RangeError(`${name} must be an integer ≥ ${min}, got ${JSON.stringify(value)}`);
  return n;
}

function rate(name, value) {
  if (value === 'Infinity' || value === 'inf' || value === '0') return Infinity;
  const n = Number(value);
  if (!(n > 0)) throw new RangeError(`${name} must be a number > 0 (0 or "inf": no limit), got ${JSON.stringify(value)}`);
  return n;
}

/**
 * URLs from the arguments, a file (-i FILE) or stdin (-i - or a lone "-"):
 * one per line, # comments.  A line that is not an http(s) URL is not
 * fetched: it goes to `invalid` ({ url, line, message }) and the list goes on.
 */
async function* urlSource(positionals, input, invalid) {
  const fromStdin = input === '-' || positionals.includes('-');
  for (const u of positionals) if (u !== '-') yield u;
  if (input === undefined && !fromStdin) return;
  const stream = fromStdin ? process.stdin : fs.createReadStream(input);
  let n = 0;
  for await (const line of readline.createInterface({ input: stream, crlfDelay: Infinity })) {
    n++;
    const u = line.trim();
    if (u === '' || u.startsWith('#')) continue;
    try {
      yield checkUrl(u);
    } catch (err) {
      invalid.push({ url: u, line: n, message: err.message });
    }
  }
}

/** Body bytes of a result: in memory, or in its --output-dir file. */
function bodyBytes(r) {
  if (r.file !== undefined) {
    try {
      return fs.statSync(r.file).size;
    } catch {
      return 0;
    }
  }
  return r.body ? r.body.length : 0;
}

function countLines(file) {
  let n = 0;
  for (const line of fs.readFileSync(file, 'utf8').split('\n')) {
    const u = line.trim();
    if (u !== '' && !u.startsWith('#')) n++;
  }
  return n;
}

function readFileArg(flag, file) {
  try {
    return fs.readFileSync(file);
  } catch (err) {
    throw new UsageError(`cannot read ${flag} ${JSON.stringify(file)}: ${err.code === 'ENOENT' ? 'no such file' : err.message}`);
  }
}

/**
 * What curl's -X, -H, -d/--data-binary and --cacert say, as request
 * options: { method, headers, body } for every request, and the CA.
 */
function requestFlags(opts) {
  const headers = [];
  for (const h of opts.header || []) {
    const colon = h.indexOf(':');
    if (colon <= 0) throw new UsageError(`--header ${JSON.stringify(h)}: expected "Name: value"`);
    // The value's bytes as the command line gave them (UTF-8), as curl
    // sends them: header values go out a byte a character (Latin-1).
    headers.push([h.slice(0, colon).trim(), Buffer.from(h.slice(colon + 1).trim(), 'utf8').toString('latin1')]);
  }
  let body;
  if (opts.data !== undefined && opts['data-binary'] !== undefined) throw new UsageError('give --data or --data-binary, not both');
  if (opts.data !== undefined) {
    // curl's -d: "@FILE" is the file without its CR and LF.
    body = opts.data.startsWith('@') ? readFileArg('--data', opts.data.slice(1)).toString('latin1').replace(/[\r\n]/g, '') : opts.data;
    body = Buffer.from(body, opts.data.startsWith('@') ? 'latin1' : 'utf8');
    if (!headers.some(([k]) => k.toLowerCase() === 'content-type')) headers.push(['Content-Type', 'application/x-www-form-urlencoded']);
  } else if (opts['data-binary'] !== undefined) {
    const d = opts['data-binary'];
    body = d.startsWith('@') ? readFileArg('--data-binary', d.slice(1)) : Buffer.from(d);
  }
  const method = opts.request !== undefined ? opts.request : (body !== undefined ? 'POST' : undefined);
  const ca = opts.cacert !== undefined ? readFileArg('--cacert', opts.cacert) : undefined;
  return { method, headers: headers.length > 0 ? headers : undefined, body, ca };
}

/**
 * The file a URL's body goes to under --output-dir: its last path segment,
 * decoded, as curl -O names it ("index.html" when there is none); a name
 * taken earlier in the run gets ".1", ".2", … so no body overwrites another.
 */
function outputNamer(dir) {
  const taken = new Set();
  return (url) => {
    const seg = new URL(url).pathname.split('/').pop();
    let name;
    try {
      name = decodeURIComponent(seg);
    } catch {
      name = seg;
    }
    name = name.replace(/[/\\\0]/g, '_');
    if (name === '' || name === '.' || name === '..') name = 'index.html';
    let file = name;
    for (let i = 1; taken.has(file); i++) file = `${name}.${i}`;
    taken.add(file);
    return path.join(dir, file);
  };
}

/**
 * Runs the fetch command. opts: the parsed flags (strings); positionals:
 * URLs. Returns the Summary.
 */
async function fetchCommand(opts, positionals, { title = 'uvasync fetch', out = process.stdout } = {}) {
  const { method, headers, body, ca } = requestFlags(opts);
  if ((opts.redis === undefined) !== (opts.key === undefined)) throw new UsageError('--redis and --key go together');
  let store;
  if (opts.redis !== undefined) {
    try {
      store = new RedisStore({ url: opts.redis });
    } catch (err) {
      throw new UsageError(`--redis ${JSON.stringify(opts.redis)}: ${err.message}`);
    }
  }
  const fetcher = new Fetcher({
    store,
    key: opts.key,
    concurrency: int('--concurrency', opts.concurrency, 1),
    perSecond: rate('--rate', opts.rate),
    timeout: int('--timeout', opts.timeout, 1),
    retries: int('--retries', opts.retries, 0),
    retryDelay: 200,
    http2: opts.http2 ? true : undefined,
    headers,
    ca,
  });
  let requestOptions = method !== undefined || body !== undefined ? { method, body } : undefined;
  const dir = opts['output-dir'];
  if (dir !== undefined) {
    try {
      fs.mkdirSync(dir, { recursive: true });
    } catch (err) {
      throw new UsageError(`cannot make --output-dir ${JSON.stringify(dir)}: ${err.message}`);
    }
    requestOptions = { ...requestOptions, output: outputNamer(path.resolve(dir)) };
  }
  // Arguments are checked before anything starts; lines of a list as they come.
  for (const u of positionals) if (u !== '-') checkUrl(u);
  let total;
  try {
    const fromStdin = opts.input === '-' || positionals.includes('-');
    total = fromStdin ? undefined : positionals.length + (opts.input !== undefined ? countLines(opts.input) : 0);
  } catch (err) {
    throw new UsageError(`cannot read --input ${JSON.stringify(opts.input)}: ${err.code === 'ENOENT' ? 'no such file' : err.message}`);
  }
  if (total === 0) throw new UsageError('no URLs: give them as arguments, with -i FILE, or on stdin with -i -');
  const results = opts.output !== undefined ? fs.createWriteStream(opts.output) : null;
  const summary = new Summary();
  const progress = new Progress(process.stderr, total);
  const invalid = [];
  const from = opts.input === undefined || opts.input === '-' ? 'stdin' : opts.input;
  const record = async (r) => {
    if (dir !== undefined && r.response !== undefined) {
      r.file = r.response.output;
      r.bytes = bodyBytes(r);
    }
    summary.add(r);
    progress.tick(summary.errorCount);
    if (results !== null) {
      const line = JSON.stringify({
        url: r.url, ok: r.ok, status: r.status, error: r.error ? r.error.code : undefined,
        durationMs: Math.round(r.durationMs * 1000) / 1000, attempts: r.attempts,
        bytes: r.bytes !== undefined ? r.bytes : (r.body ? r.body.length : 0), line: r.line, file: r.file,
      });
      if (!results.write(`${line}\n`)) await new Promise((resolve) => results.once('drain', resolve));
    }
  };
  const recordInvalid = async () => {
    while (invalid.length > 0) {
      const { url, line, message } = invalid.shift();
      progress.note(`uvasync: line ${line} of ${from} skipped: ${message}`);
      const error = Object.assign(new TypeError(message), { code: 'ERR_INVALID_URL' });
      await record({ url, ok: false, status: 0, error, durationMs: 0, attempts: 0, body: null, line });
    }
  };
  try {
    for await (const r of fetcher.stream(urlSource(positionals, opts.input, invalid), requestOptions)) {
      await record(r);
      await recordInvalid();
    }
    await recordInvalid();
  } finally {
    progress.stop();
    await fetcher.close();
    if (store !== undefined) await store.close();
    if (results !== null) await new Promise((resolve) => results.end(resolve));
  }
  out.write(`${summary.lines(`${title}: ${summary.count} URLs, concurrency ${opts.concurrency}, ${opts.rate === '0' ? 'no rate limit' : `${opts.rate}/s`}`).join('\n')}\n`);
  return summary;
}

module.exports = { fetchCommand, UsageError };
