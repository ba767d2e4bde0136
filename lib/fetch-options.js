'use strict';
// fetch()'s options read into fixed fields, validated, with their defaults:
// the URL (WHATWG URL's one reading), headers as "Name: value" lines (the
// framing ones refused), bodies as the core takes them, output files, CAs.

const path = require('node:path');
const { types } = require('node:util');
const { fileURLToPath } = require('node:url');
const validate = require('./validate');
const { isLaterBody } = require('./body');

const DEFAULT_MAX_BODY = 64 * 1024 * 1024;
const USER_AGENT = `User-Agent: uvasync/${require('../package.json').version}`;
const TOKEN = /^[!#$%&'*+.^_`|~0-9A-Za-z-]+$/;
const NORMALIZED = new Set(['DELETE', 'GET', 'HEAD', 'OPTIONS', 'POST', 'PUT']);
const FORBIDDEN = new Set(['CONNECT', 'TRACE', 'TRACK']);
// Headers that describe the framing of the message: the client's own.
const FRAMING = new Set(['content-length', 'transfer-encoding', 'host', 'connection', 'expect']);
const CONTENT_TYPE = /(^|\n)content-type:/i;
// A header value with CR, LF or NUL, or a character past U+00FF (a value
// is a ByteString, as fetch's and Node's http's are: a character is sent as
// one byte, Latin-1).  One test on the way; the message says which.
const BAD_VALUE = /[\r\n\0\u0100-\uffff]/;
const CR_LF_NUL = /[\r\n\0]/;

/** Request options read into fixed fields, validated, with the defaults. */
class RequestOptions {
  constructor(defaults) {
    this.method = 'GET';
    this.headers = defaults === null ? undefined : defaults.headers;
    this.body = undefined;
    this.timeout = defaults === null ? 0 : defaults.timeout;
    this.connectTimeout = 0;
    this.signal = undefined;
    this.maxRedirects = 20; // As fetch.
    this.redirect = 'follow';
    this.maxBodySize = DEFAULT_MAX_BODY;
    this.decompress = 1;
    this.http2 = defaults === null ? 0 : defaults.http2;
    this.retries = -1;
    this.ca = defaults === null ? undefined : defaults.ca;
    this.output = undefined; // An absolute path: the core writes the body there.
    this.later = undefined; // A body object read in submit() or sent as it is read (lib/body.js).
    this.streamBody = false; // The body is a stream's: a redirect cannot send it again.
    this.laterLength = -1; // That body's length when known (a Blob's, a form-data package's), set by submit().
  }
}

// The last string read and what it read as: a client often asks for the
// same URL again (polling, an API), and parsing is ~1.5% of a small request.
let lastInput = null;
let lastHref = null;

/**
 * The URL as WHATWG URL reads it (as `new URL()`, Node and browsers do), and
 * its serialization is what libcurl is given: one reading only, so a check
 * of `new URL(input).host` is a check of the host fetched.
 */
function checkUrl(url, name = 'url') {
  if (typeof url === 'string' && url === lastInput) return lastHref;
  let parsed;
  if (url instanceof URL) {
    parsed = url;
  } else if (typeof url === 'string') {
    try {
      parsed = new URL(url);
    } catch {
      throw validate.typeError(name, 'an absolute http: or https: URL', url);
    }
  } else {
    throw validate.typeError(name, 'a string or a URL', url);
  }
  if (parsed.protocol !== 'http:' && parsed.protocol !== 'https:') {
    throw validate.typeError(name, 'an absolute http: or https: URL', url);
  }
  const href = withoutFragment(parsed.href);
  if (typeof url === 'string') {
    lastInput = url;
    lastHref = href;
  }
  return href;
}

/** A serialized URL without its fragment, which is never sent (fetch's res.url has none). */
function withoutFragment(href) {
  const hash = href.indexOf('#');
  return hash === -1 ? href : href.slice(0, hash);
}

/** Headers (an object, a Map, a Headers or [name, value] pairs) as "Name: value" lines. */
function headerLines(name, headers) {
  if (headers === undefined || headers === null) return undefined;
  let entries;
  if (typeof headers !== 'object') throw validate.typeError(name, 'an object of header names and values', headers);
  if (typeof headers[Symbol.iterator] === 'function') entries = headers;
  else entries = Object.entries(headers);
  let out = '';
  let hasAgent = false;
  for (const pair of entries) {
    if (!Array.isArray(pair) || pair.length !== 2) {
      throw validate.typeError(name, '[name, value] pairs', pair);
    }
    const [key, raw] = pair;
    if (raw === undefined) continue;
    if (typeof key !== 'string' || !TOKEN.test(key)) {
      throw validate.typeError(`${name} name`, 'an HTTP token (no spaces, CR, LF or colons)', key);
    }
    if (FRAMING.has(key.toLowerCase())) {
      // The client's own, as in fetch: a Content-Length beside a shorter
      // body left the request hanging for good.
      throw validate.typeError(`${name}['${key}']`, 'absent: the fetcher sets the headers that frame the message itself', raw);
    }
    const values = Array.isArray(raw) ? raw : [raw];
    for (const v of values) {
      const value = typeof v === 'number' ? String(v) : v;
      if (typeof value !== 'string') throw validate.typeError(`${name}['${key}']`, 'a string', v);
      if (BAD_VALUE.test(value)) {
        throw validate.typeError(`${name}['${key}']`, CR_LF_NUL.test(value) ? 'a value without CR, LF or NUL'
          : 'a value of characters U+0000-U+00FF, one byte each (encode other text first, as encodeURIComponent does)', value);
      }
      if (key.length === 10 && key.toLowerCase() === 'user-agent') hasAgent = true;
      out += out === '' ? `${key}: ${value}` : `\n${key}: ${value}`;
    }
  }
  return hasAgent ? out : (out === '' ? USER_AGENT : `${out}\n${USER_AGENT}`);
}

function readRequestOptions(options, defaults) {
  const o = new RequestOptions(defaults);
  if (options === undefined) {
    o.headers = defaults === null ? USER_AGENT : defaults.headerLines;
    return o;
  }
  validate.options('options', options);
  const { method, headers, body, timeout, connectTimeout, signal, maxRedirects, redirect, maxBodySize,
    decompress, http2, retries, ca, output, duplex } = options;
  if (method !== undefined) {
    if (typeof method !== 'string' || !TOKEN.test(method)) {
      throw validate.typeError('options.method', 'an HTTP method name', method);
    }
    // As fetch: the six methods it knows in any case, others as given
    // (methods are case-sensitive; 'patch' is sent as 'patch'), and none of
    // its forbidden ones.
    const upper = method.toUpperCase();
    if (FORBIDDEN.has(upper)) throw validate.typeError('options.method', 'a method other than CONNECT, TRACE and TRACK', method);
    o.method = NORMALIZED.has(upper) ? upper : method;
  }
  if (headers !== undefined) {
    if (defaults !== null && defaults.headers !== undefined) {
      const merged = new Map();
      for (const [k, v] of entriesOf(defaults.headers)) merged.set(k.toLowerCase(), [k, v]);
      for (const [k, v] of entriesOf(headers)) if (typeof k === 'string') merged.set(k.toLowerCase(), [k, v]);
      o.headers = headerLines('options.headers', [...merged.values()]);
    } else {
      o.headers = headerLines('options.headers', headers);
    }
  } else {
    o.headers = defaults === null ? USER_AGENT : defaults.headerLines;
  }
  if (duplex !== undefined && duplex !== 'half') throw validate.typeError('options.duplex', "'half'", duplex);
  if (body !== undefined && body !== null && (o.method === 'GET' || o.method === 'HEAD')) {
    // As fetch (a GET or HEAD with a body is a mistake more often than not).
    throw validate.typeError('options.body', `null or undefined for a ${o.method} request`, body);
  }
  if (body !== undefined && body !== null && isLaterBody(body)) {
    o.later = body;
  } else if (body !== undefined && body !== null) {
    o.body = readBody(body);
    // fetch's types for a body that has none of its caller's.
    const type = typeof body === 'string' ? 'text/plain;charset=UTF-8'
      : body instanceof URLSearchParams ? 'application/x-www-form-urlencoded;charset=UTF-8' : null;
    if (type !== null && !CONTENT_TYPE.test(o.headers)) o.headers = `${o.headers}\nContent-Type: ${type}`;
  }
  if (timeout !== undefined) { validate.ms('options.timeout', timeout, true); o.timeout = timeout === Infinity ? 0 : timeout; }
  if (connectTimeout !== undefined) { validate.ms('options.connectTimeout', connectTimeout); o.connectTimeout = connectTimeout; }
  // null is no signal, as in fetch's RequestInit.
  if (signal !== undefined && signal !== null) { validate.signal('options.signal', signal); o.signal = signal; }
  if (maxRedirects !== undefined) {
    validate.integer('options.maxRedirects', maxRedirects, 0);
    o.maxRedirects = Math.min(maxRedirects, 1000);
    if (maxRedirects === 0) o.redirect = 'manual'; // The 3xx itself is the response.
  }
  if (redirect !== undefined) {
    if (redirect !== 'follow' && redirect !== 'manual' && redirect !== 'error') {
      throw validate.typeError('options.redirect', "'follow', 'manual' or 'error'", redirect);
    }
    o.redirect = redirect;
  }
  if (maxBodySize !== undefined) {
    validate.integer('options.maxBodySize', maxBodySize, 1, true);
    o.maxBodySize = maxBodySize === Infinity ? 0 : maxBodySize;
  }
  if (decompress !== undefined) {
    if (typeof decompress !== 'boolean') throw validate.typeError('options.decompress', 'a boolean', decompress);
    o.decompress = decompress ? 1 : 0;
  }
  if (http2 !== undefined) o.http2 = readHttp2('options.http2', http2);
  if (retries !== undefined) { validate.integer('options.retries', retries, 0); o.retries = retries; }
  if (ca !== undefined) o.ca = readCa('options.ca', ca);
  if (output !== undefined) {
    // A function of the URL (for fetchAll and stream) is called per request.
    o.output = typeof output === 'function' ? output : readOutput('options.output', output);
    // As curl -o: the bytes as sent, unless decoding is asked for (then by
    // libcurl in the core, there being no JS in the path), and no bound.
    if (decompress === undefined) o.decompress = 0;
    if (maxBodySize === undefined) o.maxBodySize = 0;
  }
  return o;
}

/** A file to write a body to: a path or a file: URL, made absolute now. */
function readOutput(name, output) {
  let p = output;
  if (output instanceof URL) {
    if (output.protocol !== 'file:') throw validate.typeError(name, 'a path or a file: URL', output);
    p = fileURLToPath(output);
  }
  if (typeof p !== 'string' || p === '' || p.includes('\0')) {
    throw validate.typeError(name, 'a path (a non-empty string without NUL) or a file: URL', output);
  }
  return path.resolve(p);
}

/**
 * A body as the core takes it: a string, or a Buffer over the caller's
 * bytes.  Any ArrayBuffer view or ArrayBuffer, from any realm (a vm
 * context's Uint8Array is not `instanceof` this realm's), and
 * URLSearchParams, as fetch takes them.
 */
function readBody(body) {
  if (typeof body === 'string' || Buffer.isBuffer(body)) return body;
  if (ArrayBuffer.isView(body)) return Buffer.from(body.buffer, body.byteOffset, body.byteLength);
  if (types.isAnyArrayBuffer(body)) return Buffer.from(body);
  if (body instanceof URLSearchParams) return body.toString();
  throw validate.typeError('options.body', 'a string, an ArrayBuffer or a view of one, URLSearchParams, a Blob, FormData, a ReadableStream, a Readable or an async iterable', body);
}

/** PEM certificates to trust, as one string (a string, a Buffer, or an array of either). */
function readCa(name, ca) {
  const parts = Array.isArray(ca) ? ca : [ca];
  const out = [];
  for (const p of parts) {
    const pem = Buffer.isBuffer(p) ? p.toString('latin1') : p;
    if (typeof pem !== 'string' || !pem.includes('-----BEGIN CERTIFICATE-----')) {
      throw validate.typeError(name, 'PEM certificates (a string, a Buffer or an array of them)', p);
    }
    out.push(pem);
  }
  return out.join('\n');
}

function entriesOf(headers) {
  if (headers === null || typeof headers !== 'object') return [];
  return typeof headers[Symbol.iterator] === 'function' ? headers : Object.entries(headers);
}

function readHttp2(name, v) {
  if (typeof v !== 'boolean') throw validate.typeError(name, 'a boolean', v);
  return v ? 1 : -1;
}

module.exports = {
  RequestOptions, checkUrl, withoutFragment, headerLines, readRequestOptions, readOutput, readCa, readHttp2, CONTENT_TYPE,
};
