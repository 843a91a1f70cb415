/**
 * Hand-written SBOMs in the Kubernetes release dialect (`https://sbom.k8s.io/<version>/release`),
 * as the `bom` tool writes them (kubernetes/release pkg/anago: GenerateVersionArtifactsBOM feeds
 * the release image archives to bom's PackageFromImageTarball; `bom generate --image` adds
 * pulled images with ImageRefToPackage):
 *
 * - fixtures/k8s-release-v1.32.0.bom-2022.spdx: bom 2021-2022 (release SBOMs up to v1.26). Each
 *   release image archive is a package named by its RepoTags (`registry.k8s.io/kube-apiserver-
 *   amd64:v1.32.0`), SPDXID `SPDXRef-Package-registry.k8s.io-kube-apiserver-amd64-v1.32.0`, the
 *   checksums of the .tar (not an image digest), layers as CONTAINS'ed `<hex>.tar.gz` packages,
 *   GENERATED_FROM the source SBOM via an ExternalDocumentRef. Pulled images (kube-apiserver,
 *   pause, etcd, coredns/coredns): an index package named by the reference with a pkg:oci purl
 *   whose `tag` qualifier is that reference, and per-platform packages `<ref> (<arch>/linux)`
 *   that the index CONTAINS and that are VARIANT_OF it.
 * - fixtures/k8s-release-v1.32.0.bom-2023.spdx: bom 2023+ (release SBOMs since v1.27, SPDX 2.3).
 *   Archives are named `kube-apiserver.tar`; the reference survives only in the SPDXID. Layers
 *   are `sha256:<hex>` packages. A pulled image (pause) is named `<repo>@<digest>`, its purl has
 *   no tag, its per-platform purls carry arch, os and mediaType.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { imagesFromSbom, parseSpdx } from '../../../src/sbom';

const fixture = (name: string): Buffer => readFileSync(join(__dirname, 'fixtures', name));
const IMAGES = ['kube-apiserver', 'kube-controller-manager', 'kube-scheduler', 'kube-proxy', 'conformance'];
const archives = IMAGES.flatMap((i) => ['amd64', 'arm64'].map((arch) => ({ image: i, arch })));

describe('Kubernetes release SBOM, bom 2022 dialect (packages named by reference)', () => {
  const text = fixture('k8s-release-v1.32.0.bom-2022.spdx');
  const extraction = imagesFromSbom(text);

  test('parses: 3 files, 56 packages (10 archives, 20 layers, 4 indexes, 8 platform images, 8 of their layers, a Go module)', () => {
    const doc = parseSpdx(text);
    expect(doc).toMatchObject({ spdxVersion: 'SPDX-2.2', name: 'Kubernetes Release v1.32.0', namespace: 'https://sbom.k8s.io/v1.32.0/release' });
    expect(doc.files).toHaveLength(3);
    expect(doc.packages).toHaveLength(10 + 20 + 4 + 8 + 8 + 1);
    expect(doc.externalDocumentRefs).toEqual([expect.objectContaining({ id: 'DocumentRef-kubernetes-v1.32.0', uri: 'https://sbom.k8s.io/v1.32.0/source' })]);
  });

  test('lists the archive images, then each pulled image and its platforms, pinned where the purl says', () => {
    expect(extraction.images.map((i) => i.reference)).toEqual([
      ...archives.map(({ image, arch }) => `registry.k8s.io/${image}-${arch}:v1.32.0`),
      'registry.k8s.io/kube-apiserver:v1.32.0@sha256:c3275e60fb36f4c32461a9ba9decc917c730035deffb5f839dc585035d85648a',
      'registry.k8s.io/kube-apiserver@sha256:6b58cc6ebb5caf8292ea9a5493298f62e230ec8cf90ddd7049f7c479e0975303',
      'registry.k8s.io/kube-apiserver@sha256:47b48dc553c21a15e0f07336d723919eeab96bf566e98a88e19b20ba82162de5',
      'registry.k8s.io/pause:3.10@sha256:ff654c327b725fd0a1cf7868c133362c36818fe9521155a12f77723ad7657056',
      'registry.k8s.io/pause@sha256:49fc29193e7020d24f983eb9557dbe72cffc8a813cfa447af7f373d2ab2c5c7f',
      'registry.k8s.io/pause@sha256:c470ffad01ffe71d67e82e19c22369fbed4fc1c19686265c883806e570658296',
      'registry.k8s.io/etcd:3.5.16-0@sha256:d624e151b3db80dca8f5fa4b5f8fef670609b62fd4b1615b7ff015ad15d069a5',
      'registry.k8s.io/etcd@sha256:28bd4a1e79f8a1c53f064ea4d51b2c542e8188000100436b1262c64cdb027af6',
      'registry.k8s.io/etcd@sha256:579229a5702f3f690a34af721547ce6abbf0574a7612675a07d99332d3fa1392',
      'registry.k8s.io/coredns/coredns:v1.11.3@sha256:1d7d688a94dc256f68f0678745578a8ed4b287301be4da8a448f4a6406181e9a',
      'registry.k8s.io/coredns/coredns@sha256:685661c7514366e6683424375a717058f87f7ee8e3ed06230a7015516a295550',
      'registry.k8s.io/coredns/coredns@sha256:04d1cd42029890dbd0797a3738b1a295a6d455573b77dbb473c695b8bbca32d0',
    ]);
    expect(extraction.skipped).toEqual([]);
    expect(extraction.warnings).toEqual([]);
  });

  test('an archive image: its name, its SPDXID, no digest (a .tar checksum is not a manifest digest)', () => {
    expect(extraction.images[0]).toEqual({
      reference: 'registry.k8s.io/kube-apiserver-amd64:v1.32.0',
      source: 'SPDXRef-Package-registry.k8s.io-kube-apiserver-amd64-v1.32.0',
      sources: ['SPDXRef-Package-registry.k8s.io-kube-apiserver-amd64-v1.32.0'],
      repository: 'registry.k8s.io/kube-apiserver-amd64',
      tag: 'v1.32.0',
      via: 'name',
    });
  });

  test('platform images say their platform and their index', () => {
    const amd64 = extraction.images.find((i) => i.reference.startsWith('registry.k8s.io/coredns/coredns@sha256:6856'));
    expect(amd64).toMatchObject({ architecture: 'amd64', os: 'linux', via: 'purl', variantOf: 'SPDXRef-Package-registry.k8s.io-coredns-coredns-v1.11.3' });
  });
});

describe('Kubernetes release SBOM, bom 2023+ dialect (archives named <image>.tar)', () => {
  const text = fixture('k8s-release-v1.32.0.bom-2023.spdx');
  const extraction = imagesFromSbom(text);

  test('parses: SPDX 2.3, 3 files, 33 packages', () => {
    const doc = parseSpdx(text);
    expect(doc.spdxVersion).toBe('SPDX-2.3');
    expect(doc.creators).toContain('Tool: bom-v0.6.0');
    expect(doc.packages).toHaveLength(10 + 20 + 3);
    expect(doc.packages[0]).toMatchObject({ name: 'kube-apiserver.tar', spdxId: 'SPDXRef-Package-registry.k8s.io-kube-apiserver-amd64-v1.32.0' });
  });

  test('reads the references back from the SPDXIDs, with the architecture', () => {
    expect(extraction.images.map((i) => [i.reference, i.via, i.architecture])).toEqual([
      ...archives.map(({ image, arch }) => [`registry.k8s.io/${image}-${arch}:v1.32.0`, 'spdx-id', arch]),
      ['registry.k8s.io/pause@sha256:ca3df50b1abd3f79799c01f7c8cb694af92a3ec881b6b065b57b0078a395b6eb', 'purl', undefined],
      ['registry.k8s.io/pause@sha256:988a696cd554f8860b14c2be455694d8509ba6b882b2e296fa0b6e52b6e10cff', 'purl', 'amd64'],
      ['registry.k8s.io/pause@sha256:507b65e853190d09d13c79cb0da6e9ed55e77729a80434131e9512c834a12540', 'purl', 'arm64'],
    ]);
    expect(extraction.skipped).toEqual([]);
  });

  test('layers (sha256:<hex> packages without purl) are not images', () => {
    expect(extraction.images.some((i) => /layer|\.tar/.test(i.reference))).toBe(false);
    expect(parseSpdx(text).packages.filter((p) => p.name.startsWith('sha256:'))).toHaveLength(20);
  });
});
