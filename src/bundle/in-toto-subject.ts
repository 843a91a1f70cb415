/**
 * The artifact named by a verified in-toto statement: for a DSSE bundle the signature covers
 * the statement, and the statement's `subject` list names the artifacts it is about. The
 * artifact being verified must be one of them (by SHA-256), as sigstore-conformance and
 * every Sigstore client expect.
 */
import { ImgverifyError } from '../errors';
import type { InTotoStatement } from '../cosign/in-toto';

/** Throws PAYLOAD_DIGEST_MISMATCH unless a subject's `sha256` digest is `sha256Hex`. */
export function checkStatementNamesArtifact(statement: InTotoStatement, sha256Hex: string): void {
  const wanted = sha256Hex.toLowerCase();
  if (statement.subjects.some((s) => typeof s.digest.sha256 === 'string' && s.digest.sha256.toLowerCase() === wanted)) return;
  const named = statement.subjects
    .map((s) => `${s.name ? `${s.name} ` : ''}${Object.entries(s.digest).map(([a, h]) => `${a}:${h}`).join(',') || '(no digest)'}`)
    .join('; ');
  throw new ImgverifyError(
    'PAYLOAD_DIGEST_MISMATCH',
    `the in-toto statement is not about this artifact: its subjects (${named}) do not include sha256:${wanted}`,
    { details: { artifact: `sha256:${wanted}` } },
  );
}
