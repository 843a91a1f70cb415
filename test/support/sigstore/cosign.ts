// What `cosign sign` (keyless) does for a container image, in process: the simple-signing
// payload, an ephemeral-key signature, a Fulcio certificate, a hashedrekord Rekor entry, and
// the `.sig` OCI layer with cosign's annotations. `defect` options each break exactly one thing.
import crypto, { type KeyObject } from 'node:crypto';
import type { Identity, IssuedCertificate, LeafOptions } from './fulcio';
import { type GithubWorkflowClaims, githubWorkflowCertificate } from './github';
import { generateKeyPair, sign } from './keys';
import type { RekorEntry } from './rekor';
import {
  COSIGN_ANNOTATIONS,
  type CosignLayer,
  DEFAULT_DOCKER_REFERENCE,
  DEFAULT_IDENTITY,
  DEFAULT_ISSUER,
  SIMPLE_SIGNING_MEDIA_TYPE,
  anotherSignature,
  assertDigest,
  cosignBundleAnnotation,
  hashHex,
  otherDigest,
  simpleSigningPayload,
  tamperedPayload,
} from './simple-signing';
import type { TestSigstore } from './test-sigstore';
import { TestTimestampAuthority } from './tsa';
import type { Extension } from './x509';

/** Defects of a keyless signature; each produces exactly one problem. */
export type KeylessDefect =
  // payload / signature
  | 'tampered-payload' // the layer's payload was altered after signing (Rekor has the original hash)
  | 'payload-other-digest' // correctly signed and logged, but the payload binds another image digest
  | 'signature-other-key' // signature made by a key other than the certificate's (and logged as such)
  // Rekor
  | 'set-unknown-key' // SET signed by a key absent from the trusted root
  | 'rekor-body-other-cert' // Rekor body names another (valid, same identity) certificate
  | 'rekor-body-other-hash' // Rekor body has another payload hash
  | 'rekor-body-other-signature' // Rekor body has another, equally valid signature of the same payload
  // certificate
  | 'no-sct'
  | 'sct-unknown-log'
  | 'sct-invalid-signature'
  | 'untrusted-ca' // leaf from a look-alike CA absent from the trusted root (chain annotation: that CA)
  | 'wrong-intermediate' // leaf from an untrusted intermediate that the trusted root signed
  | 'cert-expired' // certificate expired before the signing (integrated) time
  | 'cert-not-yet-valid' // certificate starts after the signing time
  | 'no-issuer-extension'; // neither 1.3.6.1.4.1.57264.1.1 nor .1.8

export interface SignImageOptions {
  /** Image manifest digest the payload binds, "sha256:<hex>". */
  digest: string;
  /** `critical.identity.docker-reference` (repository, no tag). */
  dockerReference?: string;
  /** Certificate SAN; default { email: 'signer@example.test' }. */
  identity?: Identity;
  /** OIDC issuer; default DEFAULT_ISSUER. */
  issuer?: string;
  /** GitHub Actions workflow: sets identity, issuer and the workflow extensions. */
  github?: GithubWorkflowClaims;
  extensions?: Extension[];
  /** Signing time; default the instance's nextSigningTime() (about two hours ago). */
  signedAt?: Date;
  /** The payload's `optional` object (cosign -a annotations); default null. */
  optional?: Record<string, string> | null;
  /** Upload to Rekor (cosign's default); false leaves out the bundle annotation. */
  tlog?: boolean;
  /** Add an RFC 3161 timestamp of the signature (cosign --timestamp-server-url). */
  timestamp?: boolean;
  defect?: KeylessDefect;
  /** Lower-level certificate knobs, for combinations `defect` does not cover. */
  certificate?: Partial<Pick<LeafOptions, 'sct' | 'issuerExtensions' | 'validity' | 'issuingCa' | 'removeExtensions'>>;
}

export interface SigningDetails {
  signedAt: Date;
  /** The bytes that were signed (differs from the layer payload only for 'tampered-payload'). */
  signedPayload: NonSharedBuffer;
  signature: NonSharedBuffer;
  publicKey: KeyObject;
  rekorEntry?: RekorEntry | undefined;
  timestampResponse?: NonSharedBuffer | undefined;
}

export interface SignedLayer extends CosignLayer {
  details: SigningDetails & { certificate: IssuedCertificate; privateKey: KeyObject };
}

function certificateOptionsFor(defect: KeylessDefect | undefined): Partial<LeafOptions> {
  switch (defect) {
    case 'no-sct':
      return { sct: 'none' };
    case 'sct-unknown-log':
      return { sct: 'unknown-log' };
    case 'sct-invalid-signature':
      return { sct: 'invalid-signature' };
    case 'untrusted-ca':
      return { issuingCa: 'untrusted-ca' };
    case 'wrong-intermediate':
      return { issuingCa: 'wrong-intermediate' };
    case 'cert-expired':
      return { validity: 'expired' };
    case 'cert-not-yet-valid':
      return { validity: 'not-yet-valid' };
    case 'no-issuer-extension':
      return { issuerExtensions: 'none' };
    default:
      return {};
  }
}

export function signImage(sigstore: TestSigstore, opts: SignImageOptions): SignedLayer {
  assertDigest(opts.digest);
  const defect = opts.defect;
  const signedAt = opts.signedAt ?? sigstore.nextSigningTime();
  const github = opts.github ? githubWorkflowCertificate(opts.github) : undefined;
  const payloadFields = {
    digest: defect === 'payload-other-digest' ? otherDigest() : opts.digest,
    dockerReference: opts.dockerReference ?? DEFAULT_DOCKER_REFERENCE,
    optional: opts.optional ?? null,
  };
  const payload = simpleSigningPayload(payloadFields);

  // cosign: ephemeral P-256 key, certificate from Fulcio, ECDSA-SHA256 over the payload.
  const ephemeral = generateKeyPair('ecdsa-p256');
  const leafOptions: LeafOptions = {
    publicKey: ephemeral.publicKey,
    identity: opts.identity ?? github?.identity ?? DEFAULT_IDENTITY,
    issuer: opts.issuer ?? github?.issuer ?? DEFAULT_ISSUER,
    signedAt,
    extensions: [...(github?.extensions ?? []), ...(opts.extensions ?? [])],
    ...opts.certificate,
    ...certificateOptionsFor(defect),
  };
  const certificate = sigstore.fulcio.issue(leafOptions);
  const signingKey = defect === 'signature-other-key' ? generateKeyPair('ecdsa-p256').privateKey : ephemeral.privateKey;
  const signature = sign(payload, signingKey, 'sha256');

  const annotations: Record<string, string> = {
    [COSIGN_ANNOTATIONS.signature]: signature.toString('base64'),
    [COSIGN_ANNOTATIONS.certificate]: certificate.pem,
    [COSIGN_ANNOTATIONS.chain]: certificate.chainPem,
  };

  let rekorEntry: RekorEntry | undefined;
  if (opts.tlog ?? true) {
    const loggedCertificate =
      defect === 'rekor-body-other-cert' ? sigstore.fulcio.issue({ ...leafOptions, publicKey: generateKeyPair('ecdsa-p256').publicKey }) : certificate;
    const loggedSignature = defect === 'rekor-body-other-signature' ? anotherSignature(payload, signingKey, 'sha256', signature) : signature;
    rekorEntry = sigstore.rekor.addHashedRekord({
      payloadSha256Hex: defect === 'rekor-body-other-hash' ? hashHex(crypto.randomBytes(32), 'sha256') : hashHex(payload, 'sha256'),
      signatureB64: loggedSignature.toString('base64'),
      certificatePEM: loggedCertificate.pem,
      integratedTime: signedAt,
      setSigner: defect === 'set-unknown-key' ? 'unknown-key' : 'log',
    });
    annotations[COSIGN_ANNOTATIONS.bundle] = cosignBundleAnnotation(rekorEntry);
  }

  let timestampResponse: NonSharedBuffer | undefined;
  if (opts.timestamp) {
    timestampResponse = sigstore.tsa.timestamp(signature, signedAt); // cosign timestamps the raw signature
    annotations[COSIGN_ANNOTATIONS.rfc3161Timestamp] = TestTimestampAuthority.cosignAnnotation(timestampResponse);
  }

  return {
    payload: defect === 'tampered-payload' ? tamperedPayload(payloadFields) : payload,
    mediaType: SIMPLE_SIGNING_MEDIA_TYPE,
    annotations,
    details: {
      signedAt,
      signedPayload: payload,
      signature,
      publicKey: ephemeral.publicKey,
      privateKey: ephemeral.privateKey,
      certificate,
      rekorEntry,
      timestampResponse,
    },
  };
}
