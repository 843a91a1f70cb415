/**
 * Exit status for a run over several images:
 *   0 every image verified; 1 at least one failed verification (unsigned, bad signature,
 *   policy); 3 otherwise, when at least one could not be checked (registry unreachable,
 *   timeout, not found); 2 for usage errors (raised before any image is checked, or an
 *   invalid image reference).
 * A definite verification failure outranks an operational error: the gate says "no" with
 * a reason rather than "don't know".
 */
import { exitCodeFor } from '../errors';
import type { ImageVerificationResult } from '../verify/types';

export function exitCodeForResults(results: readonly ImageVerificationResult[]): 0 | 1 | 2 | 3 {
  const codes = new Set(results.filter((r) => !r.verified).map((r) => (r.error ? exitCodeFor(r.error.category) : 1)));
  if (codes.has(2)) return 2;
  if (codes.has(1)) return 1;
  if (codes.has(3)) return 3;
  return 0;
}
