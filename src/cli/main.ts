#!/usr/bin/env node
/**
 * The `imgverify` executable: refuses an unsupported Node.js version with a one-line message
 * (exit 2) before anything else loads, then runs the command line (./run.ts).
 */
import { isNode, unsupportedNode } from '../util/node-version';

const problem = isNode() ? unsupportedNode() : undefined;
if (problem !== undefined) {
  process.stderr.write(`${problem}\n`);
  process.exitCode = 2;
} else {
  // eslint-disable-next-line @typescript-eslint/no-require-imports -- loaded only on a supported Node.js
  (require('./run') as typeof import('./run')).main();
}
