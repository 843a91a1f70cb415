/**
 * Verifies one Sigstore bundle (v0.1–v0.3: message signature or DSSE envelope) for an
 * artifact, in order — the first failing step throws an ImgverifyError with its code:
 *   1. parse: shape, encodings, media type, per-version rules (../bundle/parse.ts);
 *      SIGNATURE_MALFORMED;
 *   2. the material fits the policy: a certificate for identities, a key hint for --key;
 *      message signatures: the bundle's `messageDigest` (an unauthenticated hint) equals the
 *      artifact's digest (DIGEST_MISMATCH);
 *   3. `@sigstore/verify` (./sigstore.ts): timestamps (SET / RFC 3161), certificate chain at
 *      those times, SCT, log inclusion (SET or proof + checkpoint), log body ↔ signature and
 *      digest, signature over the artifact (or its digest) or the DSSE PAE;
 *   4. the leaf is a code-signing certificate; every log entry names this signer;
 *   5. DSSE: payload type in-toto, and the statement names the artifact as a subject;
 *   6. the policy: identity and issuer, or the key.
 *
 * Contract of `verifyBundle(bundle, artifact, checks)`:
 *   - `bundle`: the bundle's parsed JSON, or its text / bytes.
 *   - `artifact`: `{ bytes }` (the file) or `{ sha256 }` (hex digest, 64 characters).
 *     * Message signature: required. With bytes, the signature is verified over them (any
 *       supported key type, Ed25519 included); with a digest, over the digest (ECDSA,
 *       RSA PKCS#1 v1.5; Ed25519 cannot be verified from a digest: INVALID_OPTIONS).
 *     * DSSE: the statement must name the artifact's SHA-256 as a subject.
 *     * `undefined` with a DSSE bundle: the subject check is SKIPPED and the verified
 *       payload is returned (`content.payload`); the caller MUST check what the statement is
 *       about (cosign v3 image signatures: the subject must equal the image digest).
 *       `undefined` with a message signature: INVALID_OPTIONS.
 *   - `checks`: `policyChecks(trust, compilePolicy(policy))`.
 * Returns the signer, the first log entry, the earliest verified timestamp and what was
 * signed. Nothing in the bundle is trusted before step 3 passes.
 */
import { createHash, timingSafeEqual } from 'node:crypto';
import type { Bundle, MessageSignature } from '@sigstore/bundle';
import type { X509Certificate } from '@sigstore/core';
import { HashAlgorithm } from '@sigstore/protobuf-specs';
import type { SignedEntity } from '@sigstore/verify';
import { bundleToSignedEntity } from '../bundle/entity';
import { parseBundle } from '../bundle/parse';
import { PrehashedMessageSignatureContent } from '../bundle/prehashed-content';
import type { DigestAlgorithm } from '../bundle/prehashed';
import { IN_TOTO_PAYLOAD_TYPE } from '../cosign/dsse';
import { checkStatementBindsDigest, parseStatement } from '../cosign/in-toto';
import { checkRekorBodyNamesSigner } from '../cosign/rekor-body';
import { ImgverifyError } from '../errors';
import { checkCodeSigningUsage } from './code-signing';
import { POLICY_KEY_HINT, type PolicyChecks } from './context';
import { KeyMessageSignatureContent } from './key-message-content';
import { signerForPolicy } from './signer';
import type { SignerInfo, TlogInfo } from './types';

/** The artifact a bundle is verified for: its bytes, or its SHA-256 digest (hex). */
export type BundleArtifact = { readonly bytes: Buffer } | { readonly sha256: string };

export type VerifiedContent =
  /** `sha256`: hex SHA-256 of the artifact the signature was verified for. */
  | { readonly kind: 'message-signature'; readonly sha256: string }
  /** The verified DSSE payload (an in-toto statement) and its type. */
  | { readonly kind: 'dsse'; readonly payloadType: string; readonly payload: Buffer };

export interface VerifiedBundle {
  readonly signer: SignerInfo;
  /** The first transparency-log entry (all of them were verified). */
  readonly tlog?: TlogInfo;
  /** The earliest verified timestamp (RFC 3161 or Rekor integration time), ISO 8601. */
  readonly signedAt?: string;
  readonly content: VerifiedContent;
}

type SignatureContent = SignedEntity['signature'];

const HASHES: Partial<Record<HashAlgorithm, DigestAlgorithm>> = {
  // proto3 JSON omits the default value; @sigstore/verify reads it as SHA-256 too.
  [HashAlgorithm.HASH_ALGORITHM_UNSPECIFIED]: 'sha256',
  [HashAlgorithm.SHA2_256]: 'sha256',
  [HashAlgorithm.SHA2_384]: 'sha384',
  [HashAlgorithm.SHA2_512]: 'sha512',
};

const SHA256_HEX = /^[0-9a-fA-F]{64}$/;

function artifactSha256(artifact: BundleArtifact): string {
  if ('bytes' in artifact) return createHash('sha256').update(artifact.bytes).digest('hex');
  if (typeof artifact.sha256 !== 'string' || !SHA256_HEX.test(artifact.sha256)) {
    throw new ImgverifyError('INVALID_OPTIONS', `artifact digest must be 64 hex characters (SHA-256), got ${JSON.stringify(artifact.sha256)}`);
  }
  return artifact.sha256.toLowerCase();
}

function checkMaterialFitsPolicy(bundle: Bundle, ctx: PolicyChecks): void {
  const material = bundle.verificationMaterial.content!.$case;
  if (ctx.policy.kind === 'keyless' && material === 'publicKey') {
    throw new ImgverifyError('SIGNATURE_MALFORMED', 'bundle is signed with a key, not a certificate: verify it with its public key (--key)');
  }
  if (ctx.policy.kind === 'key' && material !== 'publicKey') {
    throw new ImgverifyError(
      'KEY_MISMATCH',
      'bundle is signed with a certificate (keyless), not a key: verify it with the certificate identity and issuer',
    );
  }
}

/** Step 2 for message signatures: the signature content for the artifact, after the digest consistency check. */
function messageSignatureContent(message: MessageSignature, artifact: BundleArtifact | undefined): SignatureContent {
  const { messageDigest, signature } = message;
  if (!artifact) {
    throw new ImgverifyError('INVALID_OPTIONS', 'a message-signature bundle is verified for an artifact: give its bytes or its SHA-256 digest');
  }
  const algorithm = HASHES[messageDigest!.algorithm];
  if (!algorithm) throw new ImgverifyError('SIGNATURE_MALFORMED', `bundle is malformed: unsupported messageDigest algorithm ${messageDigest!.algorithm}`);
  let digest: Buffer;
  let content: SignatureContent;
  if ('bytes' in artifact) {
    digest = createHash(algorithm).update(artifact.bytes).digest();
    content = new KeyMessageSignatureContent(artifact.bytes, Buffer.from(signature), algorithm);
  } else {
    const hex = artifactSha256(artifact);
    if (algorithm !== 'sha256') {
      throw new ImgverifyError(
        'INVALID_OPTIONS',
        `the bundle signs a ${algorithm.toUpperCase()} digest of the artifact; a SHA-256 digest cannot verify it: verify with the artifact file instead`,
      );
    }
    digest = Buffer.from(hex, 'hex');
    content = new PrehashedMessageSignatureContent(Buffer.from(signature), digest, 'sha256');
  }
  const claimed = Buffer.from(messageDigest!.digest);
  if (claimed.length !== digest.length || !timingSafeEqual(claimed, digest)) {
    throw new ImgverifyError(
      'DIGEST_MISMATCH',
      `the artifact's ${algorithm} digest ${digest.toString('hex')} is not the one the bundle was made for (${claimed.toString('hex')})`,
    );
  }
  return content;
}

function leafDer(bundle: Bundle): Buffer | undefined {
  const content = bundle.verificationMaterial.content!;
  if (content.$case === 'certificate') return Buffer.from(content.certificate.rawBytes);
  if (content.$case === 'x509CertificateChain') return Buffer.from(content.x509CertificateChain.certificates[0]!.rawBytes);
  return undefined;
}

function tlogInfo(bundle: Bundle): TlogInfo | undefined {
  const entry = bundle.verificationMaterial.tlogEntries[0];
  if (!entry) return undefined;
  const integrated = Number(entry.integratedTime);
  return {
    logIndex: Number(entry.logIndex),
    logId: Buffer.from(entry.logId!.keyId).toString('hex'),
    ...(integrated > 0 ? { integratedTime: new Date(integrated * 1000).toISOString() } : {}),
  };
}

/** The earliest timestamp `@sigstore/verify` verified: RFC 3161 tokens, and integration times backed by a SET. */
function earliestTimestamp(entity: SignedEntity): string | undefined {
  const times: number[] = [];
  for (const ts of entity.timestamps) {
    if (ts.$case === 'timestamp-authority') times.push(ts.timestamp.signingTime.getTime());
    else if (ts.tlogEntry.inclusionPromise) times.push(Number(ts.tlogEntry.integratedTime) * 1000);
  }
  return times.length > 0 ? new Date(Math.min(...times)).toISOString() : undefined;
}

export function verifyBundle(input: unknown, artifact: BundleArtifact | undefined, ctx: PolicyChecks): VerifiedBundle {
  // 1–2
  const bundle = parseBundle(input);
  checkMaterialFitsPolicy(bundle, ctx);
  const signature = bundle.content.$case === 'messageSignature' ? messageSignatureContent(bundle.content.messageSignature, artifact) : undefined;
  // Validate a given digest before any cryptography (DSSE: used in step 5).
  const sha256 = artifact ? artifactSha256(artifact) : undefined;

  // 3
  const entity = bundleToSignedEntity(bundle, { ...(signature ? { signature } : {}), publicKeyHint: POLICY_KEY_HINT });
  const signer = ctx.checks.verify(entity);

  // 4
  const leaf: X509Certificate | undefined = entity.key.$case === 'certificate' ? entity.key.certificate : undefined;
  if (leaf) checkCodeSigningUsage(leaf);
  const certificate = leafDer(bundle);
  for (const entry of bundle.verificationMaterial.tlogEntries) {
    checkRekorBodyNamesSigner(Buffer.from(entry.canonicalizedBody), { certificate, publicKey: signer.key });
  }

  // 5
  let content: VerifiedContent;
  if (bundle.content.$case === 'dsseEnvelope') {
    const { payloadType, payload } = bundle.content.dsseEnvelope;
    if (payloadType !== IN_TOTO_PAYLOAD_TYPE) {
      throw new ImgverifyError('PAYLOAD_INVALID', `DSSE payload type is ${JSON.stringify(payloadType)}, expected ${IN_TOTO_PAYLOAD_TYPE}`);
    }
    if (sha256 !== undefined) checkStatementBindsDigest(parseStatement(Buffer.from(payload)), `sha256:${sha256}`);
    content = { kind: 'dsse', payloadType, payload: Buffer.from(payload) };
  } else {
    content = { kind: 'message-signature', sha256: sha256! };
  }

  // 6
  const signerInfo = signerForPolicy(ctx.policy, leaf);
  const tlog = tlogInfo(bundle);
  const signedAt = earliestTimestamp(entity);
  return { signer: signerInfo, ...(tlog ? { tlog } : {}), ...(signedAt ? { signedAt } : {}), content };
}
