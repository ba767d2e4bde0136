'use strict';
// Content-Encoding: the fetcher asks for what Node's zlib decodes and gets
// the body as sent; it is decoded here.  libcurl's own decoders take a gzip
// stream cut short for a complete one (a truncated body resolved 200);
// zlib's say "unexpected end of file", as undici's do.

const zlib = require('node:zlib');
const { FetchError } = require('./errors');

const HAS_ZSTD = typeof zlib.zstdDecompressSync === 'function';
/** What the fetcher sends as Accept-Encoding when `decompress` is on. */
const ACCEPT_ENCODING = HAS_ZSTD ? 'gzip, deflate, br, zstd' : 'gzip, deflate, br';

// A zlib stream (RFC 1950) starts with a CMF/FLG pair whose 16 bits are a
// multiple of 31 and whose method is 8; anything else sent as "deflate" is
// taken for raw deflate, as browsers and undici do.
function isZlibWrapped(buf) {
  return buf.length >= 2 && (buf[0] & 0x0f) === 8 && ((buf[0] << 8) | buf[1]) % 31 === 0;
}

function decodeOne(coding, buf, opts) {
  switch (coding) {
    case 'gzip':
    case 'x-gzip':
      return zlib.gunzipSync(buf, opts);
    case 'deflate':
      return isZlibWrapped(buf) ? zlib.inflateSync(buf, opts) : zlib.inflateRawSync(buf, opts);
    case 'br':
      return zlib.brotliDecompressSync(buf, opts);
    case 'zstd':
      return HAS_ZSTD ? zlib.zstdDecompressSync(buf, opts) : undefined;
    default:
      return undefined;
  }
}

/**
 * The body decoded as `encoding` (a Content-Encoding value: codings applied
 * in order, undone last first).  A coding this cannot undo leaves the body
 * as it stands from there on.  Throws a FetchError: EPROTO for a bad or
 * truncated stream, EBODYTOOLARGE past `maxBody` (0: no limit) decoded.
 */
function decodeBody(body, encoding, maxBody, url) {
  if (body.length === 0) return body;
  const codings = encoding.toLowerCase().split(',');
  const opts = maxBody > 0 ? { maxOutputLength: Math.min(maxBody, require('node:buffer').constants.MAX_LENGTH) } : undefined;
  let out = body;
  for (let i = codings.length - 1; i >= 0; i--) {
    const coding = codings[i].trim();
    if (coding === '' || coding === 'identity') continue;
    let next;
    try {
      next = decodeOne(coding, out, opts);
    } catch (err) {
      if (err && err.code === 'ERR_BUFFER_TOO_LARGE') {
        throw new FetchError(`The ${coding} body of ${url} decodes to more than maxBodySize (${maxBody} bytes) (EBODYTOOLARGE)`,
          'EBODYTOOLARGE', url, { cause: err });
      }
      throw new FetchError(`Bad ${coding} body: ${err && err.message} (EPROTO) fetching ${url}`, 'EPROTO', url, { cause: err });
    }
    if (next === undefined) break;
    out = next;
  }
  return out;
}

module.exports = { ACCEPT_ENCODING, decodeBody, isZlibWrapped };
