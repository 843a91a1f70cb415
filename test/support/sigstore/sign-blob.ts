// What `cosign sign-blob` does for a file, in process: an ECDSA-SHA256 signature over the file's
// bytes with an ephemeral key certified by the test Fulcio (or with a given key), a hashedrekord
// Rekor entry over the file's SHA-256, and the files cosign and the Kubernetes release publish:
// `<name>.sig` (base64 signature), `<name>.cert` (base64 of the PEM certificate), cosign's
// `--bundle` JSON ({base64Signature, cert, rekorBundle}) and a Sigstore bundle.
import crypto, { type KeyObject } from 'node:crypto';
import type { SerializedBundle } from '@sigstore/bundle';
import type { Identity, IssuedCertificate } from './fulcio';
import { type GithubWorkflowClaims, githubWorkflowCertificate } from './github';
import { goJson } from './json';
import { generateKeyPair, publicKeyPem, sign } from './keys';
import { legacyLayerToBundle } from './legacy-bundle';
import type { RekorEntry } from './rekor';
import { COSIGN_ANNOTATIONS, DEFAULT_IDENTITY, DEFAULT_ISSUER, cosignBundleAnnotation, hashHex } from './simple-signing';
import type { TestSigstore } from './test-sigstore';

export interface SignBlobOptions {
  identity?: Identity;
  issuer?: string;
  github?: GithubWorkflowClaims;
  /** Sign with this key instead of a Fulcio certificate (cosign sign-blob --key). */
  privateKey?: KeyObject;
  /** Log the signature in Rekor (default true). */
  tlog?: boolean;
  signedAt?: Date;
}

export interface SignedBlob {
  artifact: Buffer;
  signature: NonSharedBuffer;
  /** `<name>.sig` as the Kubernetes release publishes it: base64, no newline. */
  sigFile: string;
  /** `<name>.cert`: base64 of the PEM certificate (keyless only). */
  certFile?: string;
  certificate?: IssuedCertificate;
  publicKey: KeyObject;
  rekorEntry?: RekorEntry;
  /** cosign sign-blob --bundle output (the pre-Sigstore-bundle format). */
  cosignBundle: string;
  /** The same as a Sigstore bundle v0.1 (SET). */
  sigstoreBundle: SerializedBundle;
}

export function signBlob(sigstore: TestSigstore, artifact: Buffer, opts: SignBlobOptions = {}): SignedBlob {
  const signedAt = opts.signedAt ?? sigstore.nextSigningTime();
  const github = opts.github ? githubWorkflowCertificate(opts.github) : undefined;
  let privateKey: KeyObject;
  let publicKey: KeyObject;
  let certificate: IssuedCertificate | undefined;
  if (opts.privateKey) {
    privateKey = opts.privateKey;
    publicKey = crypto.createPublicKey(privateKey);
  } else {
    ({ privateKey, publicKey } = generateKeyPair('ecdsa-p256'));
    certificate = sigstore.fulcio.issue({
      publicKey,
      identity: opts.identity ?? github?.identity ?? DEFAULT_IDENTITY,
      issuer: opts.issuer ?? github?.issuer ?? DEFAULT_ISSUER,
      signedAt,
      extensions: github?.extensions ?? [],
    });
  }
  const signature = sign(artifact, privateKey, 'sha256');
  let rekorEntry: RekorEntry | undefined;
  if (opts.tlog ?? true) {
    rekorEntry = sigstore.rekor.addHashedRekord({
      payloadSha256Hex: hashHex(artifact, 'sha256'),
      signatureB64: signature.toString('base64'),
      ...(certificate ? { certificatePEM: certificate.pem } : { publicKeyPEM: publicKeyPem(publicKey) }),
      integratedTime: signedAt,
    });
  }
  const certFile = certificate ? Buffer.from(certificate.pem, 'utf8').toString('base64') : undefined;
  const cosignBundle = goJson({
    base64Signature: signature.toString('base64'),
    ...(certFile ? { cert: certFile } : {}),
    ...(rekorEntry ? { rekorBundle: JSON.parse(cosignBundleAnnotation(rekorEntry)) } : {}),
  });
  const annotations: Record<string, string> = { [COSIGN_ANNOTATIONS.signature]: signature.toString('base64') };
  if (certificate) annotations[COSIGN_ANNOTATIONS.certificate] = certificate.pem;
  if (rekorEntry) annotations[COSIGN_ANNOTATIONS.bundle] = cosignBundleAnnotation(rekorEntry);
  const sigstoreBundle = legacyLayerToBundle(
    { payload: artifact as NonSharedBuffer, mediaType: 'application/octet-stream', annotations },
    certificate ? {} : { publicKeyHint: 'key' },
  );
  return {
    artifact,
    signature,
    sigFile: signature.toString('base64'),
    ...(certFile && certificate ? { certFile, certificate } : {}),
    publicKey,
    ...(rekorEntry ? { rekorEntry } : {}),
    cosignBundle,
    sigstoreBundle,
  };
}
