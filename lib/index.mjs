// ESM entry: a thin re-export of the CommonJS build (Node reads its named
// exports from the `module.exports = { … }` literal in index.js).
export * from './index.js';
// Read from the global classes here (index.js defines them as getters, which
// Node does not see in its exports): an import pays for Node's undici.
export const { Request, Headers } = globalThis;
export { default } from './index.js';
