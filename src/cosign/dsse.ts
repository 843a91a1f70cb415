/**
 * DSSE envelopes as cosign stores them (the `.att` layer blob, and the content of v0.3
 * bundles): `{"payloadType", "payload" (base64), "signatures":[{"keyid","sig"}]}`.
 */
import { ImgverifyError } from '../errors';
import { decodeBase64, type Bytes } from '../util/encoding';
import { isRecord } from '../util/shape';

export const IN_TOTO_PAYLOAD_TYPE = 'application/vnd.in-toto+json';

export interface DsseEnvelope {
  readonly payloadType: string;
  readonly payload: Bytes;
  readonly signatures: ReadonlyArray<{ readonly keyid: string; readonly sig: Bytes }>;
}

function malformed(why: string): ImgverifyError {
  return new ImgverifyError('SIGNATURE_MALFORMED', `DSSE envelope: ${why}`);
}

export function parseDsseEnvelope(bytes: Buffer): DsseEnvelope {
  let json: unknown;
  try {
    json = JSON.parse(bytes.toString('utf8'));
  } catch {
    throw malformed('not JSON');
  }
  if (!isRecord(json)) throw malformed('not a JSON object');
  if (typeof json.payloadType !== 'string' || json.payloadType.length === 0) throw malformed('missing payloadType');
  const payload = decodeBase64(json.payload);
  if (!payload) throw malformed('payload is not base64');
  if (!Array.isArray(json.signatures) || json.signatures.length === 0) throw malformed('no signatures');
  const signatures = json.signatures.map((s, i) => {
    const sig = isRecord(s) ? decodeBase64(s.sig) : undefined;
    if (!sig || sig.length === 0) throw malformed(`signatures[${i}].sig is not base64`);
    const keyid = isRecord(s) && typeof s.keyid === 'string' ? s.keyid : '';
    return { keyid, sig };
  });
  return { payloadType: json.payloadType, payload, signatures };
}
