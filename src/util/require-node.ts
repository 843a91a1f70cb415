/**
 * Imported first by the public entry points: on Node.js, refuses to load on a version
 * imgverify cannot run on, with a message naming the version it needs, and warns (once) on one
 * it is not tested on (./node-version.ts).
 */
import { isNode, unsupportedNode, untestedNode } from './node-version';
import { warnOnce } from './warn-once';

if (isNode()) {
  const problem = unsupportedNode();
  if (problem !== undefined) throw new Error(problem);
  const untested = untestedNode();
  if (untested !== undefined) warnOnce('IMGVERIFY_UNTESTED_NODE', untested);
}
