// bench/node-fetch/adapter.mjs: node-fetch's names on uvasync, renames only,
// to run node-fetch's own test suite (test/main.js) against uvasync's fetch.
//
// That suite is not in this repository. With a checkout of node-fetch at
// 8b3320d (v3.1.1 + fixes) in DIR and its devDependencies installed:
//
//   cp bench/node-fetch/adapter.mjs DIR/src/uvasync-adapter.mjs
//   sed "0,/} from '..\/src\/index.js';/s//} from '..\/src\/uvasync-adapter.mjs';/" \
//     DIR/test/main.js > DIR/test/main-uva.js
//   (cd DIR && UVASYNC=$PWD/../uvasync npx mocha --exit test/main-uva.js)
//
// with UVASYNC the path of this package. The renames: the exports, and
// node-fetch's options follow, compress and size (maxRedirects, decompress,
// maxBodySize here). Results: bench/RESULTS.md.
import { createRequire } from 'node:module';
import path from 'node:path';

const require = createRequire(import.meta.url);
const uva = require(path.resolve(process.env.UVASYNC || '.', 'lib', 'index.js'));
const RENAMES = { follow: 'maxRedirects', compress: 'decompress', size: 'maxBodySize' };

export default function fetch(input, options) {
  if (options === null || typeof options !== 'object') return uva.fetch(input, options);
  const o = {};
  for (const [k, v] of Object.entries(options)) o[RENAMES[k] ?? k] = v;
  return uva.fetch(input, o);
}
export const { Headers, Request, Response, FetchError, AbortError } = uva;
export const { Blob, FormData, File } = globalThis;
export { fileFromSync, fileFrom, blobFrom, blobFromSync } from 'fetch-blob/from.js';
export const isRedirect = (code) => [301, 302, 303, 307, 308].includes(code);
