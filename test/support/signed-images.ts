/**
 * Scenario helpers: push images and their cosign signatures (minted by the test Sigstore)
 * into a real registry, the way `cosign sign` would.
 */
import { pushBlob, pushImage, pushIndex, pushManifest, type PushedImage, type PushedManifest, type PushTarget } from './registry';
import type { KeyObject } from 'node:crypto';
import { buildSignatureManifest, signatureTag, type CosignLayer, type TestSigstore } from './sigstore';

/** Pushes `.sig` manifest (and its blobs) for `imageDigest` into `repo`; `tagPrefix`: cosign's --attachment-tag-prefix. */
export async function pushSignatures(target: PushTarget, repo: string, imageDigest: string, layers: CosignLayer[], tagPrefix = ''): Promise<string> {
  const sig = buildSignatureManifest(layers);
  for (const blob of sig.blobs) await pushBlob(target, repo, blob.bytes);
  return pushManifest(target, repo, `${tagPrefix}${signatureTag(imageDigest)}`, sig.manifest, sig.mediaType);
}

/** An image at `repo:tag`, returning what was pushed. */
export function pushTestImage(target: PushTarget, repo: string, tag: string, format: 'oci' | 'docker' = 'oci'): Promise<PushedImage> {
  return pushImage(target, repo, tag, { format });
}

/** A two-platform index at `repo:tag` over two freshly pushed images. */
export async function pushMultiArch(target: PushTarget, repo: string, tag: string): Promise<{ index: PushedManifest; children: PushedImage[] }> {
  const children = await Promise.all([
    pushImage(target, repo, undefined, { platform: { os: 'linux', architecture: 'amd64' } }),
    pushImage(target, repo, undefined, { platform: { os: 'linux', architecture: 'arm64', variant: 'v8' } }),
  ]);
  const index = await pushIndex(
    target,
    repo,
    tag,
    children.map((c) => c.descriptor),
  );
  return { index, children };
}

/** Pushes a `.att` manifest (DSSE layers) for `imageDigest` into `repo`, as `cosign attest` does. */
export async function pushAttestations(target: PushTarget, repo: string, imageDigest: string, layers: CosignLayer[]): Promise<string> {
  const att = buildSignatureManifest(layers);
  for (const blob of att.blobs) await pushBlob(target, repo, blob.bytes);
  return pushManifest(target, repo, signatureTag(imageDigest).replace(/\.sig$/, '.att'), att.manifest, att.mediaType);
}

export interface SignedTestImage {
  /** `host/repo:tag`. */
  readonly ref: string;
  readonly repo: string;
  readonly digest: string;
  /** `host/repo@digest`, as a container runtime reports what runs. */
  readonly at: string;
  /** The digest of its `.sig` manifest, when signed (to delete it). */
  readonly signature?: string;
}

/**
 * An image at `repo:tag`, signed as asked: keyless by `keyless` (one `.sig` layer), with `key`
 * (`cosign sign --key --tlog-upload=false`), both in one `.sig` manifest, or not at all.
 */
export async function pushSignedImage(
  target: PushTarget & { readonly host: string },
  sigstore: TestSigstore,
  repo: string,
  tag: string,
  sign: { readonly keyless?: { readonly email: string; readonly issuer: string }; readonly key?: KeyObject },
): Promise<SignedTestImage> {
  const pushed = await pushTestImage(target, repo, tag);
  const layers: CosignLayer[] = [];
  if (sign.keyless) layers.push(sigstore.signImage({ digest: pushed.digest, identity: { email: sign.keyless.email }, issuer: sign.keyless.issuer }));
  if (sign.key) layers.push(sigstore.signImageWithKey({ digest: pushed.digest, privateKey: sign.key, tlog: false }));
  const signature = layers.length > 0 ? await pushSignatures(target, repo, pushed.digest, layers) : undefined;
  return {
    ref: `${target.host}/${repo}:${tag}`,
    repo,
    digest: pushed.digest,
    at: `${target.host}/${repo}@${pushed.digest}`,
    ...(signature ? { signature } : {}),
  };
}
