'use strict';
// data: and blob: URLs, which the global fetch answers without a network:
// read here by Node's own fetch (its data: URL parser and its Blob store,
// rather than a second copy of either), and handed back as uvasync's
// Response, with the options fetch() takes for a transfer applied where
// they mean something (method, signal, maxBodySize, output).

const fsp = require('node:fs/promises');
const { FetchError, abortFetchError } = require('./errors');
const { Response } = require('./response');

/** Whether `url` (a string or a URL) is a data: or blob: URL. */
function isLocalUrl(url) {
  if (typeof url === 'string') return /^[\t\n\f\r ]*(data|blob):/i.test(url);
  return url instanceof URL && (url.protocol === 'data:' || url.protocol === 'blob:');
}

/**
 * fetch() of a data: or blob: URL; `o` is what readRequestOptions made of
 * the options.  As the global fetch: a data: URL answers any method, a
 * blob: URL only GET; a body given is not sent anywhere.
 */
async function localFetch(url, o) {
  const href = (url instanceof URL ? url : new URL(url)).href.replace(/#.*$/s, '');
  const blob = href.startsWith('blob:');
  const { signal } = o;
  if (signal !== undefined && signal.aborted) throw abortFetchError(signal, href);
  if (blob && o.method !== 'GET') {
    throw new FetchError(`A blob: URL is read with GET only, not ${o.method} (${href})`, 'ERR_INVALID_URL', href);
  }
  const t0 = performance.now();
  let bytes;
  let node;
  try {
    node = await globalThis.fetch(href, { signal });
    bytes = Buffer.from(await node.arrayBuffer());
  } catch (err) {
    if (signal !== undefined && signal.aborted) throw abortFetchError(signal, href);
    const why = blob ? 'names no Blob (never made, or revoked)' : 'is not a valid data: URL';
    throw new FetchError(`${href.length > 80 ? `${href.slice(0, 80)}…` : href} ${why}`, 'ERR_INVALID_URL', href, { cause: err });
  }
  let block = '';
  for (const [name, value] of node.headers) block += `${name}\0${value}\0`;
  const ms = performance.now() - t0;
  const res = Response._make(href, node.status, node.statusText, block, bytes, false, '', [0, 0, 0, 0, ms, ms], 1);
  res._head = o.method === 'HEAD';
  res._max = o.maxBodySize; // 0: none (Infinity, or with output).
  if (o.output !== undefined && !res._head) {
    try {
      await fsp.writeFile(o.output, bytes);
    } catch (err) {
      throw new FetchError(`cannot write ${o.output}: ${err.message}`, 'EOUTPUT', href, { cause: err });
    }
    res.output = o.output;
  }
  res._watchSignal(signal, href);
  return res;
}

module.exports = { isLocalUrl, localFetch };
