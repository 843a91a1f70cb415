/**
 * in-toto statements (the payload of attestations and of cosign v3 signatures): the subject
 * digest must be the image digest; the predicate type is read from the signed statement,
 * never from an (unsigned) annotation.
 */
import { ImgverifyError } from '../errors';
import { isRecord } from '../util/shape';

export const STATEMENT_TYPES = new Set(['https://in-toto.io/Statement/v0.1', 'https://in-toto.io/Statement/v1']);
/** The predicate type of a cosign v3 image signature (an attestation of "signed"). */
export const COSIGN_SIGN_PREDICATE = 'https://sigstore.dev/cosign/sign/v1';

interface InTotoSubject {
  readonly name: string;
  readonly digest: Readonly<Record<string, string>>;
}

export interface InTotoStatement {
  readonly type: string;
  readonly subjects: readonly InTotoSubject[];
  readonly predicateType: string;
  readonly predicate: unknown;
  /** The statement as parsed JSON, for callers. */
  readonly json: Readonly<Record<string, unknown>>;
}

function invalid(why: string): ImgverifyError {
  return new ImgverifyError('PAYLOAD_INVALID', `signed payload is not an in-toto statement: ${why}`);
}

export function parseStatement(payload: Buffer): InTotoStatement {
  let json: unknown;
  try {
    json = JSON.parse(payload.toString('utf8'));
  } catch {
    throw invalid('not JSON');
  }
  if (!isRecord(json)) throw invalid('not a JSON object');
  if (typeof json._type !== 'string' || !STATEMENT_TYPES.has(json._type)) throw invalid(`unknown _type ${JSON.stringify(json._type)}`);
  if (typeof json.predicateType !== 'string' || json.predicateType.length === 0) throw invalid('missing predicateType');
  if (!Array.isArray(json.subject) || json.subject.length === 0) throw invalid('missing subject');
  const subjects = json.subject.map((s, i): InTotoSubject => {
    if (!isRecord(s) || !isRecord(s.digest)) throw invalid(`subject[${i}] has no digest`);
    const digest: Record<string, string> = {};
    for (const [alg, value] of Object.entries(s.digest)) if (typeof value === 'string') digest[alg] = value;
    return { name: typeof s.name === 'string' ? s.name : '', digest };
  });
  return { type: json._type, subjects, predicateType: json.predicateType, predicate: json.predicate, json };
}

/**
 * Throws PAYLOAD_DIGEST_MISMATCH unless a subject of the (verified) statement names `digest`
 * (`sha256:<hex>`), or one of several digests of the same artifact (`sha512:<hex>`, ...): the
 * statement must be about the image or artifact being verified.
 */
export function checkStatementBindsDigest(statement: InTotoStatement, digest: string | readonly string[]): void {
  const wanted = (typeof digest === 'string' ? [digest] : digest).map((d) => d.toLowerCase().split(':') as [string, string]);
  const names = (s: InTotoSubject, [algorithm, hex]: [string, string]): boolean =>
    typeof s.digest[algorithm] === 'string' && s.digest[algorithm].toLowerCase() === hex;
  if (statement.subjects.some((s) => wanted.some((w) => names(s, w)))) return;
  const [algorithm, hex] = wanted[0] ?? ['sha256', ''];
  const named = statement.subjects
    .map(
      (s) =>
        `${s.name ? `${s.name} ` : ''}${
          Object.entries(s.digest)
            .map(([a, h]) => `${a}:${h}`)
            .join(',') || '(no digest)'
        }`,
    )
    .join('; ');
  throw new ImgverifyError('PAYLOAD_DIGEST_MISMATCH', `the in-toto statement is not about ${algorithm}:${hex}: its subjects are ${named}`, {
    details: { expected: `${algorithm}:${hex}` },
  });
}
