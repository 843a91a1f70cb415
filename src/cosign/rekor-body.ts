/**
 * Binding between a Rekor entry and the signer's key.
 *
 * `@sigstore/verify` checks that a Rekor body carries the bundle's signature and digest,
 * but not that it names the same certificate or public key. Without that check, an entry
 * logged by someone else for the same signature bytes would vouch for a different signer,
 * so it is done here for every entry kind we accept (cosign checks it too, in
 * `comparePublicKey`; sigstore-conformance's `incorrect-public-key_fail` case covers it).
 */
import { createPublicKey, type KeyObject } from 'node:crypto';
import { ImgverifyError } from '../errors';
import { decodeBase64, decodePem } from '../util/encoding';
import { isRecord } from '../util/shape';
import { describeValue } from '../util/describe';

/** The signer's key material as the signature is verified with it. */
export interface SignerKeyMaterial {
  /** DER of the leaf certificate, for keyless signatures. */
  readonly certificate?: Buffer | undefined;
  /** The public key that verified the signature (leaf key or the user's key). */
  readonly publicKey: KeyObject;
}

function mismatch(why: string): ImgverifyError {
  return new ImgverifyError('TLOG_BODY_MISMATCH', `Rekor entry does not name the signer: ${why}`);
}

function spkiOf(key: KeyObject): Buffer {
  return key.export({ type: 'spki', format: 'der' });
}

/** Compares one key or certificate from a Rekor body (DER or PEM, as given) with the signer. */
function sameSigner(candidate: { der: Buffer; type: 'CERTIFICATE' | 'PUBLIC KEY' }, signer: SignerKeyMaterial): boolean {
  if (candidate.type === 'CERTIFICATE') {
    return signer.certificate !== undefined && candidate.der.equals(signer.certificate);
  }
  // A public key in the body binds a key-based signature; for a certificate signer it
  // must be the certificate's own key (cosign accepts this shape too).
  try {
    const key = createPublicKey({ key: candidate.der, format: 'der', type: 'spki' });
    return spkiOf(key).equals(spkiOf(signer.publicKey));
  } catch {
    return false;
  }
}

function fromPemBase64(value: unknown, where: string): { der: Buffer; type: 'CERTIFICATE' | 'PUBLIC KEY' } {
  const pemBytes = decodeBase64(value);
  if (!pemBytes) throw mismatch(`${where} is not base64`);
  const blocks = decodePem(pemBytes.toString('utf8'));
  if (!blocks || blocks.length !== 1) throw mismatch(`${where} is not a single PEM block`);
  const block = blocks[0]!;
  if (block.type !== 'CERTIFICATE' && block.type !== 'PUBLIC KEY') throw mismatch(`${where} holds a ${block.type}`);
  return { der: block.der, type: block.type };
}

function parseBody(body: Buffer): Record<string, unknown> {
  let json: unknown;
  try {
    json = JSON.parse(body.toString('utf8'));
  } catch {
    throw mismatch('body is not JSON');
  }
  if (!isRecord(json)) throw mismatch('body is not a JSON object');
  return json;
}

function get(obj: unknown, ...path: Array<string | number>): unknown {
  let cur: unknown = obj;
  for (const key of path) {
    if (typeof key === 'number') cur = Array.isArray(cur) ? cur[key] : undefined;
    else cur = isRecord(cur) ? cur[key] : undefined;
  }
  return cur;
}

/** The keys/certificates a Rekor body names as verifiers, per entry kind. */
function bodyVerifiers(json: Record<string, unknown>): Array<{ der: Buffer; type: 'CERTIFICATE' | 'PUBLIC KEY' }> {
  const kind = json.kind;
  const version = json.apiVersion;
  if (kind === 'hashedrekord' && version === '0.0.1') {
    return [fromPemBase64(get(json, 'spec', 'signature', 'publicKey', 'content'), 'spec.signature.publicKey.content')];
  }
  if (kind === 'dsse' && version === '0.0.1') {
    const sigs = get(json, 'spec', 'signatures');
    if (!Array.isArray(sigs)) throw mismatch('spec.signatures is missing');
    return sigs.map((_, i) => fromPemBase64(get(sigs, i, 'verifier'), `spec.signatures[${i}].verifier`));
  }
  if (kind === 'intoto' && (version === '0.0.2' || version === '0.0.1')) {
    if (version === '0.0.1') return [fromPemBase64(get(json, 'spec', 'publicKey'), 'spec.publicKey')];
    const sigs = get(json, 'spec', 'content', 'envelope', 'signatures');
    if (!Array.isArray(sigs)) throw mismatch('spec.content.envelope.signatures is missing');
    return sigs.map((_, i) => fromPemBase64(get(sigs, i, 'publicKey'), `spec.content.envelope.signatures[${i}].publicKey`));
  }
  // Rekor v2 entries carry DER bytes (protobuf JSON: base64) instead of PEM.
  if ((kind === 'hashedrekord' || kind === 'dsse') && version === '0.0.2') {
    const spec = get(json, 'spec', kind === 'hashedrekord' ? 'hashedRekordV002' : 'dsseV002');
    const verifiers =
      kind === 'hashedrekord'
        ? [get(spec, 'signature', 'verifier')]
        : ((get(spec, 'signatures') as unknown[] | undefined) ?? []).map((s) => get(s, 'verifier'));
    if (verifiers.length === 0) throw mismatch('no verifier in the entry');
    return verifiers.map((verifier, i) => {
      const cert = decodeBase64(get(verifier, 'x509Certificate', 'rawBytes'));
      if (cert) return { der: cert, type: 'CERTIFICATE' as const };
      const key = decodeBase64(get(verifier, 'publicKey', 'rawBytes'));
      if (key) return { der: key, type: 'PUBLIC KEY' as const };
      throw mismatch(`verifier ${i} has neither a certificate nor a public key`);
    });
  }
  const shown = (v: unknown): string => (typeof v === 'string' ? JSON.stringify(v.slice(0, 64)).slice(1, -1) : describeValue(v));
  throw mismatch(`unsupported entry kind ${shown(kind)} ${shown(version)}`);
}

/** Throws TLOG_BODY_MISMATCH unless every verifier the Rekor body names is the signer. */
export function checkRekorBodyNamesSigner(body: Buffer, signer: SignerKeyMaterial): void {
  const verifiers = bodyVerifiers(parseBody(body));
  if (verifiers.length === 0) throw mismatch('the entry names no verifier');
  for (const v of verifiers) {
    if (!sameSigner(v, signer)) {
      throw mismatch(v.type === 'CERTIFICATE' ? 'the logged certificate is not the signing certificate' : 'the logged public key is not the signing key');
    }
  }
}
