/**
 * cosign's simple-signing payload: what a legacy image signature signs.
 *   {"critical":{"identity":{"docker-reference":"..."},
 *                "image":{"docker-manifest-digest":"sha256:..."},
 *                "type":"cosign container image signature"},
 *    "optional":{...}|null}
 * cosign checks only `docker-manifest-digest` against the image (and `optional` against
 * `-a` annotations). `docker-reference` is reported, never required to match: real
 * Kubernetes signatures name the mirror the image was promoted from.
 */
import { ImgverifyError } from '../errors';
import { isRecord } from '../util/shape';

const COSIGN_SIGNATURE_TYPE = 'cosign container image signature';

export interface SimpleSigningPayload {
  readonly dockerReference: string;
  readonly dockerManifestDigest: string;
  readonly type: string;
  readonly optional: Readonly<Record<string, unknown>> | null;
}

function invalid(why: string): ImgverifyError {
  return new ImgverifyError('PAYLOAD_INVALID', `signed payload is not a cosign simple-signing document: ${why}`);
}

export function parseSimpleSigning(payload: Buffer): SimpleSigningPayload {
  let json: unknown;
  try {
    json = JSON.parse(payload.toString('utf8'));
  } catch {
    throw invalid('not JSON');
  }
  if (!isRecord(json) || !isRecord(json.critical)) throw invalid('missing "critical"');
  const { critical } = json;
  if (!isRecord(critical.image) || typeof critical.image['docker-manifest-digest'] !== 'string') {
    throw invalid('missing critical.image.docker-manifest-digest');
  }
  if (critical.type !== COSIGN_SIGNATURE_TYPE) {
    throw invalid(`critical.type is ${JSON.stringify(critical.type)}, expected ${JSON.stringify(COSIGN_SIGNATURE_TYPE)}`);
  }
  const identity = critical.identity;
  const dockerReference = isRecord(identity) && typeof identity['docker-reference'] === 'string' ? identity['docker-reference'] : '';
  const optional = json.optional === undefined || json.optional === null ? null : json.optional;
  if (optional !== null && !isRecord(optional)) throw invalid('"optional" is not an object');
  return {
    dockerReference,
    dockerManifestDigest: critical.image['docker-manifest-digest'],
    type: critical.type,
    optional,
  };
}

/** Throws PAYLOAD_DIGEST_MISMATCH unless the payload binds exactly `digest`. */
export function checkPayloadBindsDigest(payload: SimpleSigningPayload, digest: string): void {
  if (payload.dockerManifestDigest !== digest) {
    throw new ImgverifyError('PAYLOAD_DIGEST_MISMATCH', `signed payload binds ${payload.dockerManifestDigest}, not the image digest ${digest}`, {
      details: { signed: payload.dockerManifestDigest, image: digest },
    });
  }
}
