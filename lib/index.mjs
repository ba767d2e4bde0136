// ESM entry: a thin re-export of the CommonJS build (Node reads its named
// exports from the `module.exports = { … }` literal in index.js).
export * from './index.js';
export { default } from './index.js';
