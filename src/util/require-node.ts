/**
 * Imported first by the public entry points: refuses to load on a Node.js version imgverify
 * does not run on, with a message naming the versions it needs (./node-version.ts).
 */
import { unsupportedNode } from './node-version';

const problem = unsupportedNode();
if (problem !== undefined) throw new Error(problem);
