'use strict';
// The error classes. Every failure the package produces carries a stable
// `code`; messages may change, codes do not.

class UvasyncError extends Error {
  constructor(message, options) {
    super(message, options && options.cause !== undefined ? { cause: options.cause } : undefined);
    this.name = 'UvasyncError';
    this.code = (options && options.code) || 'EUVASYNC';
  }
}

/** A deadline passed. `timeout` is the limit in ms. */
class TimeoutError extends UvasyncError {
  constructor(message, timeout, options) {
    super(message, { code: 'ETIMEDOUT', cause: options && options.cause });
    this.name = 'TimeoutError';
    this.timeout = timeout;
  }
}

/** The operation was aborted through an AbortSignal; `cause` is the signal's reason. */
class AbortError extends UvasyncError {
  constructor(message = 'The operation was aborted', options) {
    super(message, { code: 'ABORT_ERR', cause: options && options.cause });
    this.name = 'AbortError';
    this.type = 'aborted'; // node-fetch's, which code written for it tests.
  }
}

// node-fetch's `type` of a FetchError (its v2 and v3 names), from the code:
// code written for node-fetch tests `err.type` ('aborted', 'max-size', ...).
// A failure of the connection or the transfer is node-fetch's 'system'.
const TYPES = new Map([
  ['ABORT_ERR', 'aborted'],
  ['EMAXREDIRECTS', 'max-redirect'],
  ['EBODYTOOLARGE', 'max-size'],
  ['ETIMEDOUT', 'request-timeout'],
]);

/**
 * A request that got no HTTP response (refused, timed out, reset, too many
 * redirects, body too large, aborted). `code` is stable; `url` is the
 * request's URL; `curlCode` libcurl's CURLcode (0 when not from libcurl).
 */
class FetchError extends UvasyncError {
  constructor(message, code, url, options) {
    super(message, { code, cause: options && options.cause });
    this.name = code === 'ABORT_ERR' ? 'AbortError' : 'FetchError';
    this.url = url;
    this.curlCode = (options && options.curlCode) || 0;
    if (options && options.attempts !== undefined) this.attempts = options.attempts;
    // options.type: where one code is two of node-fetch's (EREDIRECT is
    // redirect: 'error' or a stream body a redirect would send again).
    this.type = (options && options.type) || TYPES.get(code) || 'system';
  }
}

/**
 * libcurl's own error, the cause of a FetchError from a transfer: its
 * message, the FetchError's code, the system's errno (negative, as in
 * Node's system errors) when there was one, and the CURLcode.  Code written
 * for Node's global fetch, whose failures are a TypeError with the system
 * error as `cause`, reads `err.cause.code` here too.
 */
function curlError(message, code, curlCode, osErrno) {
  const e = new Error(message);
  e.code = code;
  if (osErrno > 0) e.errno = -osErrno;
  e.curlCode = curlCode;
  return e;
}

/** A body read past maxBodySize (0 is never passed here). */
function bodyTooLarge(url, max) {
  return new FetchError(`The body of ${url} is larger than maxBodySize (${max} bytes) (EBODYTOOLARGE)`, 'EBODYTOOLARGE', url);
}

/** The FetchError of a request (`url`) whose signal aborted: `cause` is the signal's reason. */
function abortFetchError(signal, url) {
  return new FetchError(`The request to ${url} was aborted`, 'ABORT_ERR', url, { cause: signal.reason });
}

function abortError(signal) {
  return new AbortError('The operation was aborted', { cause: signal.reason });
}

function isAbortError(err) {
  return err !== null && typeof err === 'object' && (err.name === 'AbortError' || err.code === 'ABORT_ERR');
}

module.exports = {
  UvasyncError, TimeoutError, AbortError, FetchError, curlError, bodyTooLarge, abortError, abortFetchError, isAbortError,
};
