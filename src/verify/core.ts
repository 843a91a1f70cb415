/**
 * The verification of ONE signature, whatever format it was stored in: the one algorithm that
 * every path runs (legacy `.sig` and `.att` layers, cosign v3 bundles found as referrers,
 * `verify-bundle`). Pure: trust material and a compiled policy (`PolicyChecks`) and one decoded
 * signature (`SignatureInput`, built by an adapter in ./adapters/) in, a verdict out; no I/O.
 *
 *   1. decode     the adapter decoded the stored format (shape, encodings) into a bundle; here:
 *                 the material fits the policy (a certificate for identities, a key for --key),
 *                 the signature is for this artifact (the bundle's digest hint)
 *   2. trust      within ONE trust root (tried in order, ./policy-checks.ts): a transparency-log entry is
 *                 present unless the policy waives it or the root lists no log; `@sigstore/verify`
 *                 (./sigstore.ts): verified times (SET, RFC 3161), certificate chain to a trusted
 *                 CA at those times, SCT, log inclusion (SET, or proof and signed checkpoint), log
 *                 body ↔ signature and digest; then what it leaves out: the leaf is a code-signing
 *                 certificate, every log entry names this certificate or key. Rekor intoto 0.0.1
 *                 entries, which it does not know, are checked in ./intoto-v001.ts. The verdict
 *                 names the root; when none verifies, the failure of the root that got furthest
 *   3. signature  over the message, its digest, or the DSSE PAE (`@sigstore/verify`, in the same
 *                 call as step 2)
 *   4. binding    what was signed names the subject: a simple-signing payload's
 *                 `docker-manifest-digest`, an in-toto statement's subject, or the artifact digest
 *   5. signer     who signed: the certificate's SANs, OIDC issuer and Fulcio claims (workflow,
 *                 repository, ref, ...), or the policy's key
 *   6. policy     the signer is one the policy accepts (identity, issuer, claims)
 *
 * The first failing step ends it, named by its error code. Nothing in the input is trusted
 * before steps 2–3 pass; the facts established before a failure (log entry, signing time,
 * signer) are kept in the verdict.
 */
import { createHash, timingSafeEqual } from 'node:crypto';
import type { Bundle } from '@sigstore/bundle';
import { dsse } from '@sigstore/core';
import { HashAlgorithm } from '@sigstore/protobuf-specs';
import type { SignedEntity } from '@sigstore/verify';
import type { KeyObject } from 'node:crypto';
import { bundleToSignedEntity } from '../bundle/entity';
import type { DigestAlgorithm } from '../bundle/prehashed';
import { IN_TOTO_PAYLOAD_TYPE } from '../cosign/dsse';
import { checkStatementBindsDigest, parseStatement, type InTotoStatement } from '../cosign/in-toto';
import type { RekorBundle } from '../cosign/legacy-signature';
import { checkRekorBodyNamesSigner } from '../cosign/rekor-body';
import { checkPayloadBindsDigest, parseSimpleSigning } from '../cosign/simple-signing';
import { ImgverifyError, toImgverifyError, type ErrorCode } from '../errors';
import { certificateIdentity, type CertificateIdentity } from '../policy/certificate-identity';
import { matchIdentity } from '../policy/identity-policy';
import type { SignatureHashAlgorithm } from '../policy/policy';
import { defined } from '../util/object';
import { checkCodeSigningUsage } from './code-signing';
import { POLICY_KEY_HINT, type PolicyChecks, type RootChecks } from './policy-checks';
import { verifyIntotoV001Entry } from './intoto-v001';
import { HashedDsseContent, MessageContent, PrehashedMessageContent } from './signature-content';
import type { SignerInfo, TlogInfo } from './types';

/** One signature, decoded from its stored format by an adapter. */
export interface SignatureInput {
  /** The signature as a Sigstore bundle (cosign's legacy annotations become a v0.1 bundle). */
  readonly bundle: Bundle;
  /**
   * What a message signature is over (the message bytes, or only its digest); for an artifact
   * subject, also what a DSSE statement must name. A DSSE envelope carries its own payload.
   */
  readonly artifact?: Artifact;
  /** What the signed content must name (step 4). */
  readonly subject: Subject;
  /**
   * Under a key policy, a certificate in the material is ignored (cosign `verify --key` on a
   * legacy layer, whose certificate annotation is optional), or the signature is refused as
   * keyless (a bundle, whose material is exactly one of certificate and key).
   */
  readonly certificateUnderKeyPolicy: 'ignore' | 'reject';
  /**
   * A Rekor intoto 0.0.1 entry (older cosign `.att`), which `@sigstore/verify` does not know:
   * checked in step 2 against the envelope exactly as logged.
   */
  readonly intotoV001?: { readonly rekor: RekorBundle; readonly envelope: Buffer };
}

/** Bytes, or a digest of them. */
export type Artifact = { readonly bytes: Buffer } | { readonly digest: { readonly algorithm: DigestAlgorithm; readonly hex: string } };

type Subject =
  /** A container image: the payload is simple signing (message) or an in-toto statement (DSSE). */
  | { readonly kind: 'image'; readonly digest: string }
  /** The input's `artifact` (verify-bundle): the signature is over it, or an in-toto statement names it. */
  | { readonly kind: 'artifact' };

/** What one signature's verification established, and its failure if any. */
export interface SignatureVerdict {
  readonly verified: boolean;
  /** The first check that failed. */
  readonly failure?: ImgverifyError;
  /** The trust root the signature verified under (its `source`, step 2). */
  readonly trustRoot?: string;
  /** The first transparency-log entry (step 2; all of them were verified). */
  readonly tlog?: TlogInfo;
  /** The earliest verified timestamp (RFC 3161 or log integration time), ISO 8601 (step 2). */
  readonly signedAt?: string;
  /** Who signed (step 5): present when the trust checks and the signature passed. */
  readonly signer?: SignerInfo;
  /** The image digest a simple-signing payload binds (step 4). */
  readonly signedDigest?: string;
  /** `critical.identity.docker-reference` of a simple-signing payload (informational). */
  readonly dockerReference?: string;
  /** The verified in-toto statement of a DSSE signature (step 4). */
  readonly statement?: InTotoStatement;
  /** The verified DSSE payload type and bytes. */
  readonly dsse?: { readonly payloadType: string; readonly payload: Buffer };
  /** A message signature's signed digest, `alg:hex` (the artifact's, in the bundle's algorithm). */
  readonly messageDigest?: string;
}

/** Runs steps 1–6 on one signature. Never throws: a failure is in the verdict. */
export function verifySignature(input: SignatureInput, ctx: PolicyChecks): SignatureVerdict {
  const facts: Mutable<SignatureVerdict> = { verified: false };
  try {
    // 1. decode
    const { entity, messageDigest } = decode(input, ctx);
    // 2–3. trust checks and signature, within one trust root
    facts.trustRoot = verifyTrustAndSignature(input, entity, ctx).trust.source;
    Object.assign(facts, establishedTimes(input.bundle, entity), messageDigest ? { messageDigest } : {});
    // 4. binding
    Object.assign(facts, checkBinding(input));
    // 5. signer
    const signer = identifySigner(ctx, entity);
    facts.signer = signer.info;
    // 6. policy
    facts.signer = checkPolicy(ctx, signer);
    return { ...facts, verified: true };
  } catch (err) {
    return { ...facts, verified: false, failure: toImgverifyError(err) };
  }
}

type Mutable<T> = { -readonly [K in keyof T]: T[K] };

/** The failure of a verdict, with the signer it established (facts on failure: who did sign). */
export function verdictFailure(verdict: SignatureVerdict): ImgverifyError {
  const failure = toImgverifyError(verdict.failure);
  if (!verdict.signer || failure.category !== 'verification') return failure;
  return new ImgverifyError(failure.code, failure.message, { cause: failure, details: { ...failure.details, signer: verdict.signer } });
}

// ---------------------------------------------------------------------------------------------
// 1. decode

const HASHES: Partial<Record<HashAlgorithm, DigestAlgorithm>> = {
  // proto3 JSON omits the default value; @sigstore/verify reads it as SHA-256 too.
  [HashAlgorithm.HASH_ALGORITHM_UNSPECIFIED]: 'sha256',
  [HashAlgorithm.SHA2_256]: 'sha256',
  [HashAlgorithm.SHA2_384]: 'sha384',
  [HashAlgorithm.SHA2_512]: 'sha512',
};

/** The `@sigstore/verify` entity for this signature, after the checks that need no cryptography. */
function decode(input: SignatureInput, ctx: PolicyChecks): { entity: SignedEntity; messageDigest?: string } {
  const { bundle } = input;
  const { policy } = ctx;
  const material = bundle.verificationMaterial.content.$case;
  if (policy.kind === 'keyless' && material === 'publicKey') {
    throw new ImgverifyError('SIGNATURE_MALFORMED', 'the signature is key-based (signed with a key, not a certificate): verify it with its public key (--key)');
  }
  const useKey = policy.kind === 'key';
  if (useKey && material !== 'publicKey' && input.certificateUnderKeyPolicy === 'reject') {
    throw new ImgverifyError(
      'KEY_MISMATCH',
      'the signature is signed with a certificate (keyless), not a key: verify it with the certificate identity and issuer',
    );
  }
  // A key policy may name the hash its key signs with (cosign --signature-digest-algorithm).
  const signingHash = policy.kind === 'key' ? policy.hashAlgorithm : undefined;
  const signature = bundle.content.$case === 'messageSignature' ? messageContent(bundle, input.artifact, signingHash) : undefined;
  const entity = bundleToSignedEntity(bundle, { ...(signature ? { signature } : {}), publicKeyHint: POLICY_KEY_HINT });
  if (signingHash !== undefined && bundle.content.$case === 'dsseEnvelope') {
    const { payloadType, payload } = bundle.content.dsseEnvelope;
    entity.signature = new HashedDsseContent(entity.signature, dsse.preAuthEncoding(payloadType, Buffer.from(payload)), signingHash);
  }
  return {
    // With a key policy the key is the policy's, looked up under its hint (policy-checks.ts).
    entity: useKey ? { ...entity, key: { $case: 'public-key', hint: POLICY_KEY_HINT } } : entity,
    ...(signature ? { messageDigest: `${signature.algorithm}:${signature.digest.toString('hex')}` } : {}),
  };
}

/**
 * The signature content of a message signature for the artifact, after checking that the
 * bundle's `messageDigest` (an unauthenticated hint) names the artifact (DIGEST_MISMATCH).
 */
function messageContent(
  bundle: Bundle,
  artifact: Artifact | undefined,
  signingHash: SignatureHashAlgorithm | undefined,
): MessageContent | PrehashedMessageContent {
  if (bundle.content.$case !== 'messageSignature') throw new Error('not a message signature');
  const { messageDigest, signature } = bundle.content.messageSignature;
  if (!artifact) {
    throw new ImgverifyError('INVALID_OPTIONS', 'a message signature is verified for an artifact: give its bytes or its SHA-256 digest');
  }
  const algorithm = messageDigest ? HASHES[messageDigest.algorithm] : 'sha256';
  if (!algorithm) throw new ImgverifyError('SIGNATURE_MALFORMED', `bundle is malformed: unsupported messageDigest algorithm ${messageDigest.algorithm}`);
  let content: MessageContent | PrehashedMessageContent;
  if ('bytes' in artifact) {
    content = new MessageContent(artifact.bytes, Buffer.from(signature), algorithm, signingHash);
  } else {
    if (signingHash !== undefined && signingHash !== algorithm) {
      throw new ImgverifyError(
        'INVALID_OPTIONS',
        `the key signs ${signingHash.toUpperCase()} digests; a ${algorithm.toUpperCase()} digest cannot verify it: verify with the artifact file instead`,
      );
    }
    if (artifact.digest.algorithm !== algorithm) {
      const given = artifact.digest.algorithm.toUpperCase();
      throw new ImgverifyError(
        'INVALID_OPTIONS',
        `the bundle signs a ${algorithm.toUpperCase()} digest of the artifact; a ${given} digest cannot verify it: verify with the artifact file instead`,
      );
    }
    content = new PrehashedMessageContent(Buffer.from(signature), Buffer.from(artifact.digest.hex, 'hex'), algorithm);
  }
  if (messageDigest) {
    const claimed = Buffer.from(messageDigest.digest);
    if (claimed.length !== content.digest.length || !timingSafeEqual(claimed, content.digest)) {
      throw new ImgverifyError(
        'DIGEST_MISMATCH',
        `the artifact's ${algorithm} digest ${content.digest.toString('hex')} is not the one the bundle was made for (${claimed.toString('hex')})`,
      );
    }
  }
  return content;
}

// ---------------------------------------------------------------------------------------------
// 2–3. trust checks and signature

/** Steps 2–3 under each trust root in turn; the root that verified the signature. */
function verifyTrustAndSignature(input: SignatureInput, entity: SignedEntity, ctx: PolicyChecks): RootChecks {
  const failures: Array<{ readonly root: RootChecks; readonly error: ImgverifyError }> = [];
  for (const root of ctx.roots) {
    try {
      verifyWithinRoot(input, entity, root);
      return root;
    } catch (err) {
      const error = toImgverifyError(err);
      if (error.code === 'INTERNAL_ERROR') throw error; // a bug, not a verdict about this root
      failures.push({ root, error });
    }
  }
  throw mostInformative(failures);
}

function verifyWithinRoot(input: SignatureInput, entity: SignedEntity, root: RootChecks): void {
  if (input.bundle.verificationMaterial.tlogEntries.length === 0 && root.requiresTlog) {
    throw new ImgverifyError(
      'TLOG_ENTRY_MISSING',
      'the signature has no transparency-log entry; it cannot be trusted without one (cosign: --insecure-ignore-tlog)',
    );
  }
  let key: KeyObject;
  if (input.intotoV001) {
    // The SET and body of this entry kind are checked here; everything else by the library.
    const { rekor, envelope } = input.intotoV001;
    if (input.bundle.content.$case !== 'dsseEnvelope') throw new ImgverifyError('TLOG_BODY_MISMATCH', 'an intoto entry logs a DSSE envelope');
    verifyIntotoV001Entry(rekor, envelope, Buffer.from(input.bundle.content.dsseEnvelope.payload), root.trust.material);
    key = root.checksWithoutTlog.verify({ ...entity, tlogEntries: [] }).key;
  } else {
    key = root.checks.verify(entity).key;
  }
  // What @sigstore/verify leaves out: the extended key usage, and that each log entry names
  // this signer (it compares only signatures and digests).
  const leaf = entity.key.$case === 'certificate' ? entity.key.certificate : undefined;
  if (leaf) checkCodeSigningUsage(leaf);
  const certificate = leaf ? leafDer(input.bundle) : undefined;
  for (const entry of input.bundle.verificationMaterial.tlogEntries) {
    checkRekorBodyNamesSigner(Buffer.from(entry.canonicalizedBody), { certificate, publicKey: key });
  }
}

/**
 * How far a root's checks got before failing, in `@sigstore/verify`'s order (timestamps,
 * signing key and SCT, log entries, signature; then imgverify's own checks). A root that
 * does not know the signer fails early (chain, unknown log key); the root the signature was
 * made under fails late, and its failure is the one that tells what is wrong.
 */
const STAGE: Partial<Record<ErrorCode, number>> = {
  TIMESTAMP_INVALID: 1,
  CERTIFICATE_CHAIN_INVALID: 2,
  KEY_MISMATCH: 2,
  SCT_INVALID: 3,
  TLOG_ENTRY_MISSING: 4,
  TLOG_INCLUSION_PROMISE_INVALID: 4,
  TLOG_INCLUSION_PROOF_INVALID: 4,
  TLOG_BODY_MISMATCH: 5,
  SIGNATURE_INVALID: 6,
};

/** The failure when no trust root verified the signature: the one of the root that got furthest (first on a tie). */
function mostInformative(failures: ReadonlyArray<{ readonly root: RootChecks; readonly error: ImgverifyError }>): ImgverifyError {
  const [first] = failures;
  if (!first) throw new Error('no trust root was tried');
  if (failures.length === 1) return first.error;
  let best = first;
  for (const f of failures) if ((STAGE[f.error.code] ?? 0) > (STAGE[best.error.code] ?? 0)) best = f;
  const others = failures.filter((f) => f !== best).map((f) => `${f.root.trust.source}: ${f.error.code}`);
  return new ImgverifyError(best.error.code, `${best.error.message} (trust root ${best.root.trust.source}; no other root verified it: ${others.join(', ')})`, {
    cause: best.error,
    details: {
      ...best.error.details,
      trustRoots: failures.map((f) => ({ source: f.root.trust.source, code: f.error.code, message: f.error.message })),
    },
  });
}

function leafDer(bundle: Bundle): Buffer | undefined {
  const content = bundle.verificationMaterial.content;
  if (content.$case === 'certificate') return Buffer.from(content.certificate.rawBytes);
  if (content.$case === 'x509CertificateChain') return Buffer.from(content.x509CertificateChain.certificates[0]!.rawBytes);
  return undefined;
}

/** The log entry and earliest verified time, once step 2 has verified them. */
function establishedTimes(bundle: Bundle, entity: SignedEntity): Pick<SignatureVerdict, 'tlog' | 'signedAt'> {
  const facts: Mutable<Pick<SignatureVerdict, 'tlog' | 'signedAt'>> = {};
  const entry = bundle.verificationMaterial.tlogEntries[0];
  if (entry) {
    const integrated = Number(entry.integratedTime);
    facts.tlog = {
      logIndex: Number(entry.logIndex),
      logId: Buffer.from(entry.logId.keyId).toString('hex'),
      ...(integrated > 0 ? { integratedTime: new Date(integrated * 1000).toISOString() } : {}),
    };
  }
  const times: number[] = [];
  for (const ts of entity.timestamps) {
    if (ts.$case === 'timestamp-authority') times.push(ts.timestamp.signingTime.getTime());
    else if (ts.tlogEntry.inclusionPromise) times.push(Number(ts.tlogEntry.integratedTime) * 1000);
  }
  if (times.length > 0) facts.signedAt = new Date(Math.min(...times)).toISOString();
  return facts;
}

// ---------------------------------------------------------------------------------------------
// 4. binding

function checkBinding(input: SignatureInput): Pick<SignatureVerdict, 'signedDigest' | 'dockerReference' | 'statement' | 'dsse'> {
  const { bundle, subject } = input;
  if (bundle.content.$case === 'dsseEnvelope') {
    const { payloadType } = bundle.content.dsseEnvelope;
    const payload = Buffer.from(bundle.content.dsseEnvelope.payload);
    if (payloadType !== IN_TOTO_PAYLOAD_TYPE) {
      throw new ImgverifyError('PAYLOAD_INVALID', `DSSE payload type is ${JSON.stringify(payloadType)}, expected ${IN_TOTO_PAYLOAD_TYPE}`);
    }
    const statement = parseStatement(payload);
    checkStatementBindsDigest(statement, subject.kind === 'image' ? subject.digest : artifactDigests(input.artifact, statement));
    return { statement, dsse: { payloadType, payload }, ...(subject.kind === 'image' ? { signedDigest: subject.digest } : {}) };
  }
  if (subject.kind === 'artifact') {
    // Step 1 matched the signed digest with the artifact's; step 3 verified the signature over it.
    return {};
  }
  if (!input.artifact || !('bytes' in input.artifact)) {
    throw new ImgverifyError('PAYLOAD_INVALID', 'the bundle holds a message signature, not an in-toto statement about the image');
  }
  const simple = parseSimpleSigning(input.artifact.bytes);
  checkPayloadBindsDigest(simple, subject.digest);
  return { signedDigest: simple.dockerManifestDigest, dockerReference: simple.dockerReference };
}

/**
 * The artifact's digests a statement may name it by (`alg:hex`): the one given, or, from its
 * bytes, SHA-256 first and SHA-384/512 where a subject names those (npm provenance names SHA-512).
 */
function artifactDigests(artifact: Artifact | undefined, statement: InTotoStatement): string[] {
  if (!artifact) throw new ImgverifyError('INVALID_OPTIONS', 'a statement is verified for an artifact: give its bytes or its digest');
  if ('digest' in artifact) return [`${artifact.digest.algorithm}:${artifact.digest.hex}`];
  const named = new Set(statement.subjects.flatMap((s) => Object.keys(s.digest)));
  return (['sha256', 'sha384', 'sha512'] as const)
    .filter((algorithm) => algorithm === 'sha256' || named.has(algorithm))
    .map((algorithm) => `${algorithm}:${createHash(algorithm).update(artifact.bytes).digest('hex')}`);
}

// ---------------------------------------------------------------------------------------------
// 5. signer

interface Signer {
  readonly info: SignerInfo;
  /** The certificate's identity, for keyless signatures. */
  readonly identity?: CertificateIdentity;
}

function identifySigner(ctx: PolicyChecks, entity: SignedEntity): Signer {
  if (ctx.policy.kind === 'key') {
    // Step 3 verified the signature with the policy's key: it is the signer.
    return { info: { publicKeySha256: ctx.policy.keyId } };
  }
  if (entity.key.$case !== 'certificate') {
    throw new ImgverifyError('SIGNATURE_MALFORMED', 'the signature has no certificate: it is key-based, verify it with its public key');
  }
  const identity = certificateIdentity(entity.key.certificate);
  const first = identity.subjectAlternativeNames[0];
  // The claims are reported whatever the policy decides (facts on failure).
  const claims = Object.keys(identity.claims).length > 0 ? identity.claims : undefined;
  return {
    identity,
    info: { subjectAlternativeNames: identity.subjectAlternativeNames, ...defined({ subject: first?.value, issuer: identity.issuer, claims }) },
  };
}

// ---------------------------------------------------------------------------------------------
// 6. policy

/** The signer as the policy accepted it (`subject`: the SAN that matched; `verifiedClaims`: the claims it named). */
function checkPolicy(ctx: PolicyChecks, signer: Signer): SignerInfo {
  // A key policy was decided in step 3, which verified the signature with the policy's key.
  if (ctx.policy.kind === 'key' || !signer.identity) return signer.info;
  const match = matchIdentity(signer.identity, ctx.policy.identities);
  if (!match.ok) throw new ImgverifyError(match.code, match.message, match.details ? { details: { ...match.details } } : {});
  return { ...signer.info, subject: match.subject, issuer: match.issuer, ...defined({ verifiedClaims: match.checkedClaims }) };
}
