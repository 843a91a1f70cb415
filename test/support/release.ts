/**
 * A Kubernetes-release-shaped registry and its SBOM, for verify-release tests and benchmarks.
 *
 * Images (signed by the test Sigstore unless said otherwise): per-architecture images
 * `<name>-<arch>:<version>` for the control-plane components and a multi-arch index
 * `<name>:<version>` over them, plus pause, etcd and coredns indexes. The SBOM is SPDX
 * tag-value in the dialect of the Kubernetes `bom` tool (package name = image reference,
 * SPDXID `SPDXRef-Package-<sanitised reference>`, layer packages CONTAINed by the image).
 */
import { createHash, randomBytes } from 'node:crypto';
import { pushBlob, pushImage, pushIndex, pushManifest, type PushTarget } from './registry';
import { pushSignatures } from './signed-images';
import type { CosignLayer, KeylessDefect, TestSigstore } from './sigstore';

export const RELEASE_SIGNER = 'krel-trust@k8s-releng-prod.iam.gserviceaccount.com';
export const RELEASE_ISSUER = 'https://accounts.google.com';

type Signing = 'signed' | 'unsigned' | 'other-identity' | KeylessDefect;

export interface ReleaseImage {
  /** `host/repo:tag` */
  readonly reference: string;
  readonly repository: string;
  readonly tag: string;
  readonly digest: string;
  readonly signing: Signing;
  readonly architecture?: string;
}

async function sign(target: PushTarget, sigstore: TestSigstore, repo: string, digest: string, signing: Signing, host: string): Promise<void> {
  if (signing === 'unsigned') return;
  const layer: CosignLayer = sigstore.signImage({
    digest,
    dockerReference: `${host}/${repo}`,
    identity: { email: signing === 'other-identity' ? 'someone@example.test' : RELEASE_SIGNER },
    issuer: RELEASE_ISSUER,
    ...(signing !== 'signed' && signing !== 'other-identity' ? { defect: signing } : {}),
  });
  await pushSignatures(target, repo, digest, [layer]);
}

export interface ReleaseSpec {
  readonly version: string;
  readonly components: readonly string[];
  readonly architectures: readonly string[];
  /** Extra multi-arch images: [repository, tag]. */
  readonly extras: ReadonlyArray<readonly [string, string]>;
  /** How a given `repo:tag` is signed (default: signed). */
  readonly signing?: Readonly<Record<string, Signing>>;
}

export const KUBERNETES_RELEASE: ReleaseSpec = {
  version: 'v1.32.0',
  components: ['kube-apiserver', 'kube-controller-manager', 'kube-scheduler', 'kube-proxy', 'conformance'],
  architectures: ['amd64', 'arm64', 's390x'],
  extras: [
    ['pause', '3.10'],
    ['etcd', '3.5.16-0'],
    ['coredns/coredns', 'v1.11.3'],
  ],
};

/** Pushes the release's images (per-arch + indexes) into the registry and signs them. */
export async function pushRelease(
  target: PushTarget & { host: string },
  sigstore: TestSigstore,
  spec: ReleaseSpec = KUBERNETES_RELEASE,
): Promise<ReleaseImage[]> {
  const images: ReleaseImage[] = [];
  const signingOf = (repo: string, tag: string): Signing => spec.signing?.[`${repo}:${tag}`] ?? 'signed';
  const multiArch = async (repo: string, tag: string, perArchRepo: (arch: string) => string | undefined) => {
    const children = [];
    for (const arch of spec.architectures) {
      const archRepo = perArchRepo(arch);
      const child = await pushImage(target, archRepo ?? repo, archRepo ? tag : undefined, { platform: { os: 'linux', architecture: arch } });
      if (archRepo) {
        const signing = signingOf(archRepo, tag);
        await sign(target, sigstore, archRepo, child.digest, signing, target.host);
        images.push({ reference: `${target.host}/${archRepo}:${tag}`, repository: archRepo, tag, digest: child.digest, signing, architecture: arch });
        // As on registry.k8s.io, the index's repository holds the same per-arch manifests.
        for (const blob of [child.config, ...child.layers]) await pushBlob(target, repo, blob.bytes);
        await pushManifest(target, repo, child.digest, child.bytes, child.mediaType);
      }
      children.push(child.descriptor);
    }
    const index = await pushIndex(target, repo, tag, children);
    const signing = signingOf(repo, tag);
    await sign(target, sigstore, repo, index.digest, signing, target.host);
    images.push({ reference: `${target.host}/${repo}:${tag}`, repository: repo, tag, digest: index.digest, signing });
  };
  for (const component of spec.components) await multiArch(component, spec.version, (arch) => `${component}-${arch}`);
  for (const [repo, tag] of spec.extras) await multiArch(repo, tag, () => undefined);
  return images;
}

/** N single-architecture images `bench/img-<i>:v1`, all signed: a batch of arbitrary size. */
export async function pushSignedBatch(target: PushTarget & { host: string }, sigstore: TestSigstore, n: number, concurrency = 8): Promise<ReleaseImage[]> {
  const out: ReleaseImage[] = new Array(n);
  let next = 0;
  await Promise.all(
    Array.from({ length: Math.min(concurrency, n) }, async () => {
      while (next < n) {
        const i = next++;
        const repo = `batch/img-${i}`;
        const image = await pushImage(target, repo, 'v1');
        await sign(target, sigstore, repo, image.digest, 'signed', target.host);
        out[i] = { reference: `${target.host}/${repo}:v1`, repository: repo, tag: 'v1', digest: image.digest, signing: 'signed' };
      }
    }),
  );
  return out;
}

const sha = (alg: string, data: Buffer) => createHash(alg).update(data).digest('hex');
const spdxId = (s: string) => `SPDXRef-Package-${s.replace(/[^A-Za-z0-9.-]/g, '-')}`;

/** The SBOM the `bom` tool would write for these images (tag-value, SPDX 2.2). */
export function releaseSbom(version: string, references: readonly string[]): string {
  const out: string[] = [
    'SPDXVersion: SPDX-2.2',
    'DataLicense: CC0-1.0',
    'SPDXID: SPDXRef-DOCUMENT',
    `DocumentName: Kubernetes Release ${version}`,
    `DocumentNamespace: https://sbom.k8s.io/${version}/release`,
    `ExternalDocumentRef:DocumentRef-kubernetes-${version} https://sbom.k8s.io/${version}/source SHA1: ${sha('sha1', Buffer.from(version))}`,
    'Creator: Person: Kubernetes Release Managers (release-managers@kubernetes.io)',
    'Creator: Organization: Kubernetes Release Engineering',
    'Creator: Tool: sigs.k8s.io/bom/pkg/spdx',
    'LicenseListVersion: 3.24',
    'Created: 2024-12-11T18:13:58Z',
    '',
  ];
  for (const ref of references) {
    const id = spdxId(ref);
    const tarball = Buffer.from(`${ref}.tar`);
    const layer = randomBytes(32);
    const layerName = `${sha('sha256', layer)}.tar.gz`;
    const layerId = `${id}-${layerName}`;
    const name = ref.slice(ref.lastIndexOf('/') + 1).replace(/:.*/, '');
    out.push(
      '',
      `##### Package: ${ref}`,
      '',
      `PackageName: ${ref}`,
      `SPDXID: ${id}`,
      `PackageChecksum: SHA1: ${sha('sha1', tarball)}`,
      `PackageChecksum: SHA256: ${sha('sha256', tarball)}`,
      `PackageChecksum: SHA512: ${sha('sha512', tarball)}`,
      'PackageDownloadLocation: NONE',
      'FilesAnalyzed: false',
      'PackageLicenseConcluded: Apache-2.0',
      `PackageFileName: ${name}.tar`,
      'PackageLicenseDeclared: NOASSERTION',
      'PackageCopyrightText: NOASSERTION',
      '',
      `##### Package: ${layerName}`,
      '',
      `PackageName: ${layerName}`,
      `SPDXID: ${layerId}`,
      `PackageChecksum: SHA256: ${sha('sha256', layer)}`,
      'PackageDownloadLocation: NONE',
      'FilesAnalyzed: false',
      'PackageLicenseConcluded: NOASSERTION',
      `PackageFileName: ${layerName}`,
      'PackageLicenseDeclared: NOASSERTION',
      'PackageCopyrightText: NOASSERTION',
      '',
      '',
      `Relationship: ${id} CONTAINS ${layerId}`,
      `Relationship: ${id} GENERATED_FROM DocumentRef-kubernetes-${version}:SPDXRef-Package-kubernetes`,
      '',
      `Relationship: SPDXRef-DOCUMENT DESCRIBES ${id}`,
    );
  }
  return `${out.join('\n')}\n`;
}
