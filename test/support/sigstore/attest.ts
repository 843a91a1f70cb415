// What `cosign attest` (legacy `.att` tag) pushes: a DSSE envelope over an in-toto
// statement about the image, signed with an ephemeral key certified by Fulcio, logged in
// Rekor as intoto 0.0.2 or dsse 0.0.1, stored as one layer with cosign's annotations.
import crypto, { type KeyObject } from 'node:crypto';
import { COSIGN_ANNOTATIONS, DEFAULT_IDENTITY, DEFAULT_ISSUER, cosignBundleAnnotation } from './simple-signing';
import type { IssuedCertificate, Identity } from './fulcio';
import { goJson } from './json';
import { generateKeyPair, publicKeyPem, sign, type SigningHashName } from './keys';
import type { DsseEnvelopeJson, RekorEntry } from './rekor';
import type { TestSigstore } from './test-sigstore';

export const DSSE_MEDIA_TYPE = 'application/vnd.dsse.envelope.v1+json';
export const IN_TOTO_PAYLOAD_TYPE = 'application/vnd.in-toto+json';
const IN_TOTO_STATEMENT_V01 = 'https://in-toto.io/Statement/v0.1';

export type AttestationDefect =
  | 'tampered-payload' // envelope payload altered after signing
  | 'subject-other-digest' // correctly signed statement about another digest
  | 'set-unknown-key'; // SET signed by a key absent from the trusted root

export interface AttestImageOptions {
  digest: string;
  /** Subject name: the image repository, e.g. "registry.example.test/app". */
  repository?: string;
  predicateType: string;
  predicate: unknown;
  identity?: Identity;
  issuer?: string;
  signedAt?: Date;
  /** Rekor entry kind; default 'intoto' (0.0.2). */
  rekorKind?: 'intoto' | 'dsse';
  defect?: AttestationDefect;
}

export interface AttestationLayer {
  /** The DSSE envelope JSON, as the layer blob. */
  payload: NonSharedBuffer;
  mediaType: typeof DSSE_MEDIA_TYPE;
  annotations: Record<string, string>;
  details: {
    signedAt: Date;
    envelope: DsseEnvelopeJson;
    statement: NonSharedBuffer;
    certificate: IssuedCertificate;
    rekorEntry: RekorEntry;
  };
}

/** DSSE pre-authentication encoding: "DSSEv1 <len> <type> <len> <payload>". */
export function preAuthEncoding(payloadType: string, payload: Uint8Array): NonSharedBuffer {
  const type = Buffer.from(payloadType, 'utf8');
  return Buffer.concat([Buffer.from(`DSSEv1 ${type.length} `), type, Buffer.from(` ${payload.length} `), payload]);
}

/** An in-toto v0.1 statement about one image digest, in in-toto-golang's field order. */
export function inTotoStatement(opts: { repository: string; digest: string; predicateType: string; predicate: unknown }): NonSharedBuffer {
  const [algorithm, hex] = opts.digest.split(':') as [string, string];
  return Buffer.from(
    goJson({
      _type: IN_TOTO_STATEMENT_V01,
      predicateType: opts.predicateType,
      subject: [{ name: opts.repository, digest: { [algorithm]: hex } }],
      predicate: opts.predicate,
    }),
    'utf8',
  );
}

export function attestImage(sigstore: TestSigstore, opts: AttestImageOptions): AttestationLayer {
  const signedAt = opts.signedAt ?? sigstore.nextSigningTime();
  const statementFields = {
    repository: opts.repository ?? 'registry.example.test/app',
    digest: opts.defect === 'subject-other-digest' ? `sha256:${crypto.randomBytes(32).toString('hex')}` : opts.digest,
    predicateType: opts.predicateType,
    predicate: opts.predicate,
  };
  const statement = inTotoStatement(statementFields);
  const ephemeral = generateKeyPair('ecdsa-p256');
  const certificate = sigstore.fulcio.issue({
    publicKey: ephemeral.publicKey,
    identity: opts.identity ?? DEFAULT_IDENTITY,
    issuer: opts.issuer ?? DEFAULT_ISSUER,
    signedAt,
  });
  const signature = sign(preAuthEncoding(IN_TOTO_PAYLOAD_TYPE, statement), ephemeral.privateKey, 'sha256');
  const envelope: DsseEnvelopeJson = {
    payloadType: IN_TOTO_PAYLOAD_TYPE,
    payload: statement.toString('base64'),
    signatures: [{ keyid: '', sig: signature.toString('base64') }],
  };
  const logInput = {
    envelope,
    verifierPEM: certificate.pem,
    integratedTime: signedAt,
    setSigner: opts.defect === 'set-unknown-key' ? ('unknown-key' as const) : ('log' as const),
  };
  const rekorEntry = (opts.rekorKind ?? 'intoto') === 'intoto' ? sigstore.rekor.addIntoto(logInput) : sigstore.rekor.addDsse(logInput);

  const stored =
    opts.defect === 'tampered-payload'
      ? { ...envelope, payload: inTotoStatement({ ...statementFields, predicate: { tampered: true } }).toString('base64') }
      : envelope;
  return {
    payload: Buffer.from(goJson(stored), 'utf8'),
    mediaType: DSSE_MEDIA_TYPE,
    annotations: {
      predicateType: opts.predicateType,
      [COSIGN_ANNOTATIONS.certificate]: certificate.pem,
      [COSIGN_ANNOTATIONS.chain]: certificate.chainPem,
      [COSIGN_ANNOTATIONS.bundle]: cosignBundleAnnotation(rekorEntry),
    },
    details: { signedAt, envelope, statement, certificate, rekorEntry },
  };
}

export interface AttestImageWithKeyOptions {
  digest: string;
  repository?: string;
  predicateType: string;
  predicate: unknown;
  /** ECDSA, RSA or Ed25519 private key (node:crypto). */
  privateKey: KeyObject;
  /** Hash ECDSA/RSA sign the DSSE pre-authentication encoding with (default SHA-256); ignored for Ed25519. */
  hash?: SigningHashName;
  /** Log it in Rekor as a dsse entry naming the public key. Default false (`cosign attest --key --tlog-upload=false`). */
  tlog?: boolean;
  signedAt?: Date;
}

/** What `cosign attest --key` pushes: the same `.att` layer, signed with a long-lived key, no certificate. */
export function attestImageWithKey(sigstore: TestSigstore, opts: AttestImageWithKeyOptions): Omit<AttestationLayer, 'details'> {
  const signedAt = opts.signedAt ?? sigstore.nextSigningTime();
  const statement = inTotoStatement({
    repository: opts.repository ?? 'registry.example.test/app',
    digest: opts.digest,
    predicateType: opts.predicateType,
    predicate: opts.predicate,
  });
  const signature = sign(preAuthEncoding(IN_TOTO_PAYLOAD_TYPE, statement), opts.privateKey, opts.hash ?? 'sha256');
  const envelope: DsseEnvelopeJson = {
    payloadType: IN_TOTO_PAYLOAD_TYPE,
    payload: statement.toString('base64'),
    signatures: [{ keyid: '', sig: signature.toString('base64') }],
  };
  const annotations: Record<string, string> = { predicateType: opts.predicateType, [COSIGN_ANNOTATIONS.signature]: '' };
  if (opts.tlog) {
    const publicKey = crypto.createPublicKey(opts.privateKey);
    const entry = sigstore.rekor.addDsse({ envelope, verifierPEM: publicKeyPem(publicKey), integratedTime: signedAt, setSigner: 'log' });
    annotations[COSIGN_ANNOTATIONS.bundle] = cosignBundleAnnotation(entry);
  }
  return { payload: Buffer.from(goJson(envelope), 'utf8'), mediaType: DSSE_MEDIA_TYPE, annotations };
}
