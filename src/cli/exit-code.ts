/**
 * Exit status for a run over several images:
 *   0 every image verified; 1 at least one failed verification (unsigned, bad signature,
 *   policy); 4 otherwise, when imgverify hit a bug (INTERNAL_ERROR) on one; 3 otherwise, when
 *   at least one could not be checked (registry unreachable, timeout, not found); 2 for usage
 *   errors (raised before any image is checked, or an invalid image reference).
 * A definite verification failure outranks the rest: the gate says "no" with a reason rather
 * than "don't know"; a bug is never hidden behind "don't know".
 */
import { exitCodeFor, type ImageVerificationResult } from '..';

export function exitCodeForResults(results: readonly ImageVerificationResult[]): 0 | 1 | 2 | 3 | 4 {
  const codes = new Set(results.filter((r) => !r.verified).map((r) => (r.error ? exitCodeFor(r.error.category) : 1)));
  if (codes.has(2)) return 2;
  if (codes.has(1)) return 1;
  if (codes.has(4)) return 4;
  if (codes.has(3)) return 3;
  return 0;
}
