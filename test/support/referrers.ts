/**
 * cosign v3 signatures and attestations: Sigstore bundles v0.3 (DSSE + in-toto statement, a
 * Rekor dsse entry with inclusion proof + checkpoint and SET), pushed as OCI 1.1 referrers of
 * an image. docker-registry 2.8 has no referrers API, so — as cosign does for such registries —
 * the referrers tag schema is maintained too: an OCI index at tag `sha256-<hex>` listing them.
 */
import { pushArtifact, pushIndex, type PushedDescriptor, type PushTarget } from './registry';
import { legacyLayerToBundle, type AttestationDefect, type TestSigstore } from './sigstore';
import type { JsonObject } from './json';

export const BUNDLE_V03 = 'application/vnd.dev.sigstore.bundle.v0.3+json';
export const COSIGN_SIGN_V1 = 'https://sigstore.dev/cosign/sign/v1';

export interface V3Options {
  digest: string;
  repository?: string;
  identity?: { email: string } | { uri: string };
  issuer?: string;
  /** Default: the cosign v3 signature predicate. */
  predicateType?: string;
  predicate?: unknown;
  defect?: AttestationDefect;
  /** Keep the SET beside the inclusion proof (default true, as Rekor v1 entries have both). */
  inclusionPromise?: boolean;
}

/** A v0.3 bundle as `cosign sign` v3 (or `cosign attest` v3) writes it. */
export function signImageV3(sigstore: TestSigstore, opts: V3Options): JsonObject {
  const layer = sigstore.attestImage({
    digest: opts.digest,
    ...(opts.repository ? { repository: opts.repository } : {}),
    predicateType: opts.predicateType ?? COSIGN_SIGN_V1,
    predicate: opts.predicate ?? {},
    identity: opts.identity ?? { email: 'release@example.test' },
    issuer: opts.issuer ?? 'https://accounts.example.test',
    rekorKind: 'dsse',
    ...(opts.defect ? { defect: opts.defect } : {}),
  });
  const v02 = legacyLayerToBundle(layer, {
    inclusionProof: sigstore.rekor.inclusionProof(layer.details.rekorEntry),
    inclusionPromise: opts.inclusionPromise ?? true,
  }) as JsonObject;
  const { x509CertificateChain, ...material } = v02.verificationMaterial;
  return {
    ...v02,
    mediaType: BUNDLE_V03,
    verificationMaterial: { ...material, certificate: x509CertificateChain.certificates[0] },
  };
}

/**
 * Pushes bundles as referrers of `subject` and writes the referrers tag index listing them
 * (plus `extra` descriptors, e.g. one pointing at a manifest that does not exist).
 */
export async function pushBundleReferrers(
  target: PushTarget,
  repo: string,
  subject: PushedDescriptor,
  bundles: ReadonlyArray<Record<string, unknown>>,
  extra: readonly PushedDescriptor[] = [],
): Promise<PushedDescriptor[]> {
  return pushReferrers(target, repo, subject, bundles, { artifactType: BUNDLE_V03, extra });
}

/**
 * Pushes each bundle as an artifact manifest (one bundle layer) referring to `subject`, and the
 * referrers tag index listing their descriptors, as `listed` rewrites them, then `extra`.
 */
async function pushReferrers(
  target: PushTarget,
  repo: string,
  subject: PushedDescriptor,
  bundles: ReadonlyArray<Record<string, unknown>>,
  shape: { artifactType: string | undefined; listed?: (d: PushedDescriptor) => PushedDescriptor; extra?: readonly PushedDescriptor[] },
): Promise<PushedDescriptor[]> {
  const descriptors: PushedDescriptor[] = [];
  for (const bundle of bundles) {
    const pushed = await pushArtifact(target, repo, {
      artifactType: shape.artifactType,
      subject,
      payload: Buffer.from(JSON.stringify(bundle)),
      layerMediaType: BUNDLE_V03,
    });
    descriptors.push(shape.listed ? shape.listed(pushed.descriptor) : pushed.descriptor);
  }
  await pushIndex(target, repo, subject.digest.replace(':', '-'), [...descriptors, ...(shape.extra ?? [])]);
  return descriptors;
}

// --- Shapes real tools wrote (issue 9.1) -------------------------------------------------------

export const OCI_EMPTY_TYPE = 'application/vnd.oci.empty.v1+json';

/**
 * cosign 3.x on a registry without the referrers API (GHCR is one), writing the referrers tag
 * index through go-containerregistry < v0.22.1: the artifact manifests carry the bundle
 * `artifactType`, but the index descriptors say `application/vnd.oci.empty.v1+json`
 * (`descriptorType: 'empty'`) or nothing (`'absent'`), and lose the `dev.sigstore.bundle.*`
 * annotations. Sources: sigstore/cosign#4641, kyverno/kyverno PR #16754.
 */
export async function pushCosign3FallbackReferrers(
  target: PushTarget,
  repo: string,
  subject: PushedDescriptor,
  bundles: ReadonlyArray<Record<string, unknown>>,
  descriptorType: 'empty' | 'absent',
): Promise<PushedDescriptor[]> {
  return pushReferrers(target, repo, subject, bundles, {
    artifactType: BUNDLE_V03,
    listed: (descriptor) => {
      const { artifactType: _typed, annotations: _lost, ...plain } = descriptor;
      return descriptorType === 'empty' ? { ...plain, artifactType: OCI_EMPTY_TYPE } : plain;
    },
  });
}

/**
 * cosign 2.5/2.6 `--new-bundle-format`: the manifest has no `artifactType`, the empty config
 * and one bundle layer, so listings (the referrers API and the tag index alike) show it
 * under the config's media type, `application/vnd.oci.empty.v1+json`. Source:
 * sigstore/cosign#4422. `extra` descriptors are listed too.
 */
export async function pushNewBundleFormatReferrers(
  target: PushTarget,
  repo: string,
  subject: PushedDescriptor,
  bundles: ReadonlyArray<Record<string, unknown>>,
  extra: readonly PushedDescriptor[] = [],
): Promise<PushedDescriptor[]> {
  return pushReferrers(target, repo, subject, bundles, { artifactType: undefined, extra });
}

/**
 * cosign 3 through go-containerregistry >= v0.22.1 (or a registry with the referrers API):
 * typed descriptors carrying `dev.sigstore.bundle.content` and
 * `dev.sigstore.bundle.predicateType` annotations.
 */
export async function pushAnnotatedReferrers(
  target: PushTarget,
  repo: string,
  subject: PushedDescriptor,
  bundles: ReadonlyArray<{ readonly bundle: Record<string, unknown>; readonly predicateType: string }>,
): Promise<PushedDescriptor[]> {
  const descriptors: PushedDescriptor[] = [];
  for (const { bundle, predicateType } of bundles) {
    const annotations = { 'dev.sigstore.bundle.content': 'dsse-envelope', 'dev.sigstore.bundle.predicateType': predicateType };
    const pushed = await pushArtifact(target, repo, {
      artifactType: BUNDLE_V03,
      subject,
      payload: Buffer.from(JSON.stringify(bundle)),
      layerMediaType: BUNDLE_V03,
      annotations,
    });
    descriptors.push(pushed.descriptor);
  }
  await pushIndex(target, repo, subject.digest.replace(':', '-'), descriptors);
  return descriptors;
}
