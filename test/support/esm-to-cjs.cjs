/**
 * A jest transform for the ES-module-only packages imgverify `require()`s (`@noble/curves` 2,
 * `@noble/hashes` 2): Node.js loads them with require(esm), jest's own module loader does so only
 * on Node 24.9+, so on Node 22 they are converted to CommonJS here (esbuild, a devDependency).
 */
'use strict';
const { createHash } = require('node:crypto');
const { transformSync } = require('esbuild');

module.exports = {
  getCacheKey(source, path) {
    return createHash('sha256').update('esm-to-cjs 1\0').update(path).update('\0').update(source).digest('hex');
  },
  process(source, path) {
    const { code, map } = transformSync(source, { format: 'cjs', loader: 'js', target: 'node22', sourcefile: path, sourcemap: 'external' });
    return { code, map };
  },
};
