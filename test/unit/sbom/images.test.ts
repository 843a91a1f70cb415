import fc from 'fast-check';
import { formatReference, parseReference } from '../../../src/reference';
import { extractImageReferences, imagesFromSpdx } from '../../../src/sbom/images';
import type { SpdxDocument, SpdxPackage, SpdxRelationship } from '../../../src/sbom/model';

const D1 = `sha256:${'1'.repeat(64)}`;
const D2 = `sha256:${'2'.repeat(64)}`;
const D3 = `sha256:${'3'.repeat(64)}`;

let counter = 0;
function pkg(name: string, purls: string[] = [], extra: Partial<SpdxPackage> = {}): SpdxPackage {
  counter++;
  return {
    spdxId: `SPDXRef-Package-${counter}`,
    name,
    checksums: [],
    externalRefs: purls.map((locator) => ({ category: 'PACKAGE_MANAGER', type: 'purl', locator })),
    ...extra,
  };
}

function document(packages: SpdxPackage[], relationships: SpdxRelationship[] = [], creators = ['Tool: test']): SpdxDocument {
  return {
    format: 'tag-value',
    spdxVersion: 'SPDX-2.3',
    spdxId: 'SPDXRef-DOCUMENT',
    name: 'test',
    namespace: 'https://example.com/test',
    creators,
    externalDocumentRefs: [],
    packages,
    files: [],
    snippets: [],
    otherLicenses: [],
    relationships,
  };
}

const BOM = ['Tool: sigs.k8s.io/bom/pkg/spdx'];
const refs = (doc: SpdxDocument): string[] => extractImageReferences(doc).map((i) => i.reference);
const only = (p: SpdxPackage, creators?: string[]): string[] => refs(document([p], [], creators));
const skippedReason = (p: SpdxPackage, creators?: string[]): string | undefined =>
  imagesFromSpdx(document([p], [], creators)).skipped.find((s) => s.spdxId === p.spdxId)?.reason;

describe('pkg:oci purls', () => {
  test('the spec form: repository_url is the whole repository', () => {
    expect(only(pkg('debian', [`pkg:oci/debian@${D1}?repository_url=docker.io/library/debian&tag=bullseye&arch=amd64`]))).toEqual([
      `docker.io/library/debian:bullseye@${D1}`,
    ]);
    expect(only(pkg('static', [`pkg:oci/static@${D1.replace(':', '%3A')}?repository_url=gcr.io%2Fdistroless%2Fstatic`]))).toEqual([
      `gcr.io/distroless/static@${D1}`,
    ]);
  });

  test('the bom form: repository_url stops before the image name', () => {
    const purl = `pkg:oci/nginx@${D1}?repository_url=index.docker.io%2Flibrary&tag=nginx`;
    expect(only(pkg('nginx', [purl]), BOM)).toEqual([`docker.io/library/nginx:latest@${D1}`]);
    // without the bom creator the last segment differs from the name, so it is appended all the same
    expect(only(pkg('nginx', [purl]))).toEqual([`docker.io/library/nginx:latest@${D1}`]);
    // where the last segment equals the name, the producer decides
    const coredns = `pkg:oci/coredns@${D1}?repository_url=registry.k8s.io%2Fcoredns`;
    expect(only(pkg('x', [coredns]), BOM)).toEqual([`registry.k8s.io/coredns/coredns@${D1}`]);
    expect(only(pkg('x', [coredns]))).toEqual([`registry.k8s.io/coredns@${D1}`]);
    expect(only(pkg('x', [coredns]), ['Tool: bom-v0.6.0'])).toEqual([`registry.k8s.io/coredns/coredns@${D1}`]);
  });

  test('the apko form: a percent-encoded repository as the name', () => {
    const image = extractImageReferences(
      document([pkg('172.19.0.1:5000/apko-test@' + D1, [`pkg:oci/172.19.0.1:5000%2Fapko-test@${D1}?arch=amd64&tag=latest`])]),
    );
    expect(image).toEqual([
      expect.objectContaining({ reference: `172.19.0.1:5000/apko-test:latest@${D1}`, architecture: 'amd64', via: 'purl', tag: 'latest', digest: D1 }),
    ]);
  });

  test('the tag qualifier: a tag, or (old bom) the reference the image was pulled by', () => {
    const url = 'repository_url=registry.k8s.io';
    expect(only(pkg('x', [`pkg:oci/pause@${D1}?${url}&tag=registry.k8s.io%2Fpause%3A3.10`]))).toEqual([`registry.k8s.io/pause:3.10@${D1}`]);
    expect(only(pkg('x', [`pkg:oci/pause@${D1}?${url}&tag=3.10`]))).toEqual([`registry.k8s.io/pause:3.10@${D1}`]);
    const other = imagesFromSpdx(document([pkg('x', [`pkg:oci/pause@${D1}?${url}&tag=k8s.gcr.io%2Fpause%3A3.10`])]));
    expect(other.images.map((i) => i.reference)).toEqual([`registry.k8s.io/pause@${D1}`]);
    expect(other.warnings).toEqual([
      expect.stringMatching(/ignored tag qualifier "k8s.gcr.io\/pause:3.10": neither a tag nor a reference to registry.k8s.io\/pause/),
    ]);
    const bad = imagesFromSpdx(document([pkg('x', [`pkg:oci/pause@${D1}?${url}&tag=a%20b`])]));
    expect(bad.images.map((i) => i.reference)).toEqual([`registry.k8s.io/pause@${D1}`]);
    expect(bad.warnings).toHaveLength(1);
  });

  test.each([
    ['no repository_url and a bare name', `pkg:oci/app@${D1}`, /without repository_url names no registry/],
    ['a namespace', `pkg:oci/library/app@${D1}?repository_url=docker.io`, /namespace "library", which the purl spec prohibits/],
    ['no version', 'pkg:oci/app?repository_url=ghcr.io/x', /no version/],
    ['a tag as version', 'pkg:oci/app@v1?repository_url=ghcr.io/x', /"v1" is not a sha256\/sha512 digest/],
    ['an upper-case digest', `pkg:oci/app@sha256:${'AB'.repeat(32)}?repository_url=ghcr.io/x`, /not a sha256\/sha512 digest/],
    ['an md5 digest', `pkg:oci/app@md5:${'a'.repeat(32)}?repository_url=ghcr.io/x`, /not a sha256\/sha512 digest/],
    ['an upper-case name', `pkg:oci/App@${D1}?repository_url=ghcr.io/x`, /must be lower case/],
    ['a query in repository_url', `pkg:oci/app@${D1}?repository_url=ghcr.io%2Fx%3Fy`, /is not a registry location/],
    ['a malformed purl', 'pkg:oci/app@%zz', /malformed purl/],
  ])('skips a purl with %s, saying why', (_name, purl, reason) => {
    const p = pkg('whatever', [purl]);
    expect(only(p)).toEqual([]);
    expect(skippedReason(p)).toMatch(reason);
  });

  test('a layer purl of the SPDX examples (registry-neutral) is skipped', () => {
    const p = pkg(`sha256:${'2'.repeat(64)}`, [`pkg:oci/layer@${D2}`]);
    expect(skippedReason(p)).toMatch(/names no registry/);
  });
});

describe('pkg:docker purls', () => {
  test.each([
    ['pkg:docker/cassandra@latest', 'docker.io/library/cassandra:latest'],
    ['pkg:docker/cassandra@4.1?repository_url=https%3A%2F%2Fregistry.hub.docker.com%2F', 'docker.io/library/cassandra:4.1'],
    [`pkg:docker/customer/dockerimage@${D1.replace(':', '%3A')}?repository_url=gcr.io`, `gcr.io/customer/dockerimage@${D1}`],
    ['pkg:docker/gcr.io/distroless/static@nonroot', 'gcr.io/distroless/static:nonroot'],
    ['pkg:docker/gcr.io/distroless/static@nonroot?repository_url=gcr.io', 'gcr.io/distroless/static:nonroot'],
    [`pkg:docker/kube-proxy@${D1}?repository_url=registry.k8s.io&tag=v1.32.0`, `registry.k8s.io/kube-proxy:v1.32.0@${D1}`],
    ['pkg:docker/app?repository_url=quay.io/org&tag=v2', 'quay.io/org/app:v2'],
  ])('%s', (purl, expected) => {
    expect(only(pkg('x', [purl]))).toEqual([expected]);
  });

  test.each([
    ['pkg:docker/smartentry/debian@dc437cc87d10', /looks like an image ID/],
    ['pkg:docker/app', /neither a tag nor a digest/],
    ['pkg:docker/app@sha256:abc', /not a sha256\/sha512 digest/],
    ['pkg:docker/app@-bad', /neither a tag nor a digest/],
  ])('skips %s', (purl, reason) => {
    expect(skippedReason(pkg('x', [purl]))).toMatch(reason);
  });
});

describe('package names', () => {
  test('a name that is a reference with a registry and a tag or digest', () => {
    expect(only(pkg('registry.k8s.io/kube-apiserver-amd64:v1.26.0'))).toEqual(['registry.k8s.io/kube-apiserver-amd64:v1.26.0']);
    expect(only(pkg(`localhost:5000/app@${D1}`))).toEqual([`localhost:5000/app@${D1}`]);
    expect(only(pkg('index.docker.io/library/nginx:1.27'))).toEqual(['docker.io/library/nginx:1.27']);
  });

  test('a `<ref> (<arch>/<os>)` name gives the platform', () => {
    expect(extractImageReferences(document([pkg('registry.k8s.io/pause:3.10 (arm64/linux)')]))).toEqual([
      expect.objectContaining({ reference: 'registry.k8s.io/pause:3.10', architecture: 'arm64', os: 'linux', via: 'name' }),
    ]);
  });

  test.each([
    'nginx', // no registry: could be anything
    'nginx:1.21',
    'adduser-3.118',
    'github.com/google/go-containerregistry', // a Go module: no tag
    'sha256:2256f59767967e5bf0a404b7',
    'ae13dd57832654086618a81dbc128846aa092489260c326ee95429b63c3cf213.tar.gz',
    'nginx (amd64/linux)',
    '',
    ' (',
    ') (',
    'a (b) (c)',
    '💥/💥:💥',
  ])('ignores %j without a word', (name) => {
    const x = imagesFromSpdx(document([pkg(name)]));
    expect(x.images).toEqual([]);
    expect(x.skipped).toEqual([]);
  });

  test('an image-looking name that is not a valid reference is reported', () => {
    expect(skippedReason(pkg('github.com/foo/bar@v1.2.3'))).toMatch(/looks like an image reference but is not one/);
    expect(skippedReason(pkg('registry.k8s.io/Kube-Apiserver:v1'))).toMatch(/lower case/);
  });

  test('another purl type or a non-image purpose means it is not an image', () => {
    expect(only(pkg('registry.k8s.io/app:v1', ['pkg:golang/registry.k8s.io/app@v1']))).toEqual([]);
    expect(only(pkg('registry.k8s.io/app:v1', [], { primaryPurpose: 'LIBRARY' }))).toEqual([]);
    expect(only(pkg('registry.k8s.io/app:v1', [], { primaryPurpose: 'CONTAINER' }))).toEqual(['registry.k8s.io/app:v1']);
  });

  test('a name gives its tag to a digest-only purl of the same repository', () => {
    const purl = `pkg:oci/pause@${D1}?repository_url=registry.k8s.io`;
    expect(only(pkg('registry.k8s.io/pause:3.10', [purl]))).toEqual([`registry.k8s.io/pause:3.10@${D1}`]);
    expect(only(pkg(`registry.k8s.io/pause:3.10@${D2}`, [purl]))).toEqual([`registry.k8s.io/pause@${D1}`]);
    expect(only(pkg('k8s.gcr.io/pause:3.10', [purl]))).toEqual([`registry.k8s.io/pause@${D1}`]);
    // a platform image named after its index does not take the index's tag
    expect(only(pkg('registry.k8s.io/pause:3.10 (amd64/linux)', [purl]))).toEqual([`registry.k8s.io/pause@${D1}`]);
  });
});

describe('Kubernetes image archives (bom 2023+: name `<image>.tar`, reference in the SPDXID)', () => {
  const archive = (name: string, spdxId: string, fileName?: string): SpdxPackage => pkg(name, [], { spdxId, ...(fileName ? { fileName } : {}) });

  test.each([
    ['kube-apiserver.tar', 'SPDXRef-Package-registry.k8s.io-kube-apiserver-amd64-v1.32.0', 'registry.k8s.io/kube-apiserver-amd64:v1.32.0', 'amd64'],
    ['kube-proxy.tar', 'SPDXRef-Package-registry.k8s.io-kube-proxy-s390x-v1.33.0-rc.1', 'registry.k8s.io/kube-proxy-s390x:v1.33.0-rc.1', 's390x'],
    ['kube-scheduler.tar', 'SPDXRef-Package-k8s.gcr.io-kube-scheduler-arm-v1.24.0-alpha.2', 'k8s.gcr.io/kube-scheduler-arm:v1.24.0-alpha.2', 'arm'],
    ['conformance.tar', 'SPDXRef-Package-registry.k8s.io-conformance-v1.32.0', 'registry.k8s.io/conformance:v1.32.0', undefined],
  ])('%s %s', (name, spdxId, reference, architecture) => {
    expect(extractImageReferences(document([archive(name, spdxId)]))).toEqual([
      expect.objectContaining({ reference, via: 'spdx-id', source: spdxId, ...(architecture ? { architecture } : {}) }),
    ]);
  });

  test('the archive name may come from PackageFileName', () => {
    const p = archive(
      'Container image archive',
      'SPDXRef-Package-registry.k8s.io-kube-apiserver-arm64-v1.32.0',
      '/x/_output/release-images/arm64/kube-apiserver.tar',
    );
    expect(refs(document([p]))).toEqual(['registry.k8s.io/kube-apiserver-arm64:v1.32.0']);
  });

  test.each([
    ['coredns.tar', 'SPDXRef-Package-registry.k8s.io-coredns-coredns-v1.11.3'], // coredns/coredns or coredns-coredns?
    ['etcd.tar', 'SPDXRef-Package-registry.k8s.io-etcd-3.5.16-0'], // not a Kubernetes version
    ['kube-apiserver.tar', 'SPDXRef-Package-registry.k8s.io-kube-apiserver-amd64-v1.32.0-0001'], // made unique by bom
    ['kube-apiserver.tar', 'SPDXRef-Package-registry.k8s.io-kube-proxy-amd64-v1.32.0'], // another image
  ])('refuses to guess %s %s', (name, spdxId) => {
    expect(skippedReason(archive(name, spdxId))).toMatch(/cannot be derived/);
  });

  test('other archives are not images', () => {
    const x = imagesFromSpdx(document([archive('kubernetes.tar', 'SPDXRef-Package-kubernetes'), archive('layer.tar', 'SPDXRef-Package-quay.io-x-v1.0.0')]));
    expect(x).toEqual({ images: [], skipped: [], warnings: [] });
  });
});

describe('relationships: layers, base images, variants', () => {
  test('an image package that another image CONTAINS is a layer', () => {
    const image = pkg(`172.19.0.1:5000/app@${D1}`);
    const layer = pkg(`172.19.0.1:5000/app@${D2}`);
    const x = imagesFromSpdx(document([image, layer], [{ element: image.spdxId, type: 'CONTAINS', related: layer.spdxId }]));
    expect(x.images.map((i) => i.reference)).toEqual([`172.19.0.1:5000/app@${D1}`]);
    expect(x.skipped).toEqual([{ spdxId: layer.spdxId, name: layer.name, reason: `a layer: image ${image.spdxId} CONTAINS it` }]);
    // the same said the other way round
    const y = imagesFromSpdx(document([image, layer], [{ element: layer.spdxId, type: 'CONTAINED_BY', related: image.spdxId }]));
    expect(y.skipped).toHaveLength(1);
  });

  test('a platform image that is a VARIANT_OF its index is kept, even if the index CONTAINS it', () => {
    const index = pkg('registry.k8s.io/pause:3.10', [`pkg:oci/pause@${D1}?repository_url=registry.k8s.io`]);
    const amd64 = pkg('registry.k8s.io/pause:3.10 (amd64/linux)', [`pkg:oci/pause@${D2}?arch=amd64&repository_url=registry.k8s.io`]);
    const x = imagesFromSpdx(
      document(
        [index, amd64],
        [
          { element: index.spdxId, type: 'CONTAINS', related: amd64.spdxId },
          { element: amd64.spdxId, type: 'VARIANT_OF', related: index.spdxId },
        ],
      ),
    );
    expect(x.skipped).toEqual([]);
    expect(x.images).toEqual([
      expect.objectContaining({ reference: `registry.k8s.io/pause:3.10@${D1}`, source: index.spdxId }),
      expect.objectContaining({ reference: `registry.k8s.io/pause@${D2}`, architecture: 'amd64', os: 'linux', variantOf: index.spdxId }),
    ]);
    expect(x.images[0]).not.toHaveProperty('variantOf');
  });

  test('a base image (DESCENDANT_OF / ANCESTOR_OF) is skipped', () => {
    const app = pkg(`ghcr.io/org/app:v1@${D1}`);
    const base = pkg(`cgr.dev/chainguard/static:latest@${D2}`);
    for (const rel of [
      { element: app.spdxId, type: 'DESCENDANT_OF', related: base.spdxId },
      { element: base.spdxId, type: 'ANCESTOR_OF', related: app.spdxId },
    ]) {
      const x = imagesFromSpdx(document([app, base], [rel]));
      expect(x.images.map((i) => i.reference)).toEqual([`ghcr.io/org/app:v1@${D1}`]);
      expect(x.skipped).toEqual([{ spdxId: base.spdxId, name: base.name, reason: `a base image: image ${app.spdxId} DESCENDS from it` }]);
    }
  });

  test('CONTAINS from something that is not an image does not make a layer', () => {
    const source = pkg('kubernetes', ['pkg:github/kubernetes/kubernetes@v1.32.0']);
    const image = pkg('registry.k8s.io/kube-proxy:v1.32.0');
    expect(refs(document([source, image], [{ element: source.spdxId, type: 'CONTAINS', related: image.spdxId }]))).toEqual([
      'registry.k8s.io/kube-proxy:v1.32.0',
    ]);
  });
});

describe('de-duplication', () => {
  const named = (...names: string[]): SpdxPackage[] => names.map((n) => pkg(n));

  test('the same normalised reference once, with every source', () => {
    const ps = named('index.docker.io/library/nginx:1.27', 'docker.io/nginx:1.27', 'docker.io/library/nginx:1.27');
    const images = extractImageReferences(document(ps));
    expect(images).toEqual([expect.objectContaining({ reference: 'docker.io/library/nginx:1.27', source: ps[0]?.spdxId, sources: ps.map((p) => p.spdxId) })]);
  });

  test('a tag without digest goes when the same tag with a digest is listed', () => {
    const ps = named('ghcr.io/a/b:v1', `ghcr.io/a/b:v1@${D1}`);
    const images = extractImageReferences(document(ps));
    expect(images.map((i) => i.reference)).toEqual([`ghcr.io/a/b:v1@${D1}`]);
    expect(images[0]?.sources).toEqual([ps[1]?.spdxId, ps[0]?.spdxId]);
  });

  test('a digest without tag goes when the same digest with a tag is listed', () => {
    expect(refs(document(named(`ghcr.io/a/b@${D1}`, `ghcr.io/a/b:v1@${D1}`)))).toEqual([`ghcr.io/a/b:v1@${D1}`]);
  });

  test('a tag and an unrelated digest both stay: nothing says the tag meant that digest', () => {
    expect(refs(document(named('ghcr.io/a/b:v1', `ghcr.io/a/b@${D1}`)))).toEqual(['ghcr.io/a/b:v1', `ghcr.io/a/b@${D1}`]);
  });

  test('two digests under one tag both stay; the bare tag goes', () => {
    expect(refs(document(named('ghcr.io/a/b:v1', `ghcr.io/a/b:v1@${D1}`, `ghcr.io/a/b:v1@${D2}`)))).toEqual([`ghcr.io/a/b:v1@${D1}`, `ghcr.io/a/b:v1@${D2}`]);
  });

  test('one digest under two tags: both stay, the bare digest goes into both', () => {
    const ps = named(`ghcr.io/a/b:v1@${D1}`, `ghcr.io/a/b:latest@${D1}`, `ghcr.io/a/b@${D1}`);
    const images = extractImageReferences(document(ps));
    expect(images.map((i) => i.reference)).toEqual([`ghcr.io/a/b:v1@${D1}`, `ghcr.io/a/b:latest@${D1}`]);
    expect(images.map((i) => i.sources)).toEqual([
      [ps[0]?.spdxId, ps[2]?.spdxId],
      [ps[1]?.spdxId, ps[2]?.spdxId],
    ]);
  });

  test('other repositories are never merged', () => {
    expect(refs(document(named('ghcr.io/a/b:v1', `ghcr.io/a/c:v1@${D1}`, `quay.io/a/b:v1@${D1}`)))).toEqual([
      'ghcr.io/a/b:v1',
      `ghcr.io/a/c:v1@${D1}`,
      `quay.io/a/b:v1@${D1}`,
    ]);
  });

  test('properties: the result keeps only the most specific forms, and represents every input', () => {
    const part = fc.record({
      repo: fc.constantFrom('ghcr.io/a/b', 'quay.io/a/b'),
      tag: fc.constantFrom(undefined, 'v1', 'v2'),
      digest: fc.constantFrom(undefined, D1, D2, D3),
    });
    const subsumes = (s: { repository: string; tag?: string; digest?: string }, r: typeof s): boolean =>
      s.repository === r.repository && (r.tag === undefined || r.tag === s.tag) && (r.digest === undefined || r.digest === s.digest);
    fc.assert(
      fc.property(fc.array(part, { minLength: 1, maxLength: 12 }), (parts) => {
        const inputs = parts
          .filter((p) => p.tag !== undefined || p.digest !== undefined)
          .map((p) => `${p.repo}${p.tag ? `:${p.tag}` : ''}${p.digest ? `@${p.digest}` : ''}`);
        const images = extractImageReferences(document(inputs.map((n) => pkg(n))));
        const out = images.map((i) => i.reference);
        // no duplicates, nothing invented
        expect(new Set(out).size).toBe(out.length);
        for (const o of out) expect(inputs).toContain(o);
        // no kept reference is a less specific form of another kept one
        for (const a of images) for (const b of images) if (a !== b) expect(subsumes(b, a)).toBe(false);
        // every input is kept or has a more specific form kept
        for (const input of inputs) {
          const r = parseReference(input);
          const normalised = { repository: `${r.registry}/${r.repository}`, ...(r.tag ? { tag: r.tag } : {}), ...(r.digest ? { digest: r.digest } : {}) };
          expect(images.some((i) => subsumes(i, normalised))).toBe(true);
        }
        // sources: every package appears at least once
        const sources = new Set(images.flatMap((i) => i.sources));
        expect(sources.size).toBe(inputs.length);
      }),
    );
  });

  // No timed assertion: quadratic work on 20 000 packages would run past the test's timeout.
  test('linear in the number of packages that name one image', () => {
    const many = Array.from({ length: 20_000 }, () => pkg('ghcr.io/a/b:v1'));
    const images = extractImageReferences(document([...many, pkg(`ghcr.io/a/b:v1@${D1}`)]));
    expect(images).toHaveLength(1);
    expect(images[0]?.sources).toHaveLength(20_001);
  }, 30_000);
});

describe('robustness', () => {
  test('never throws on arbitrary names, identifiers and purls', () => {
    const purl = fc.oneof(
      fc.string(),
      fc.string().map((s) => `pkg:oci/${s}`),
      fc.string().map((s) => `pkg:docker/${s}`),
      fc
        .tuple(fc.string(), fc.string())
        .map(([a, b]) => `pkg:oci/${encodeURIComponent(a)}@${D1}?repository_url=${encodeURIComponent(b)}&tag=${encodeURIComponent(a)}`),
    );
    fc.assert(
      fc.property(
        fc.array(
          fc.record({
            name: fc.string({ unit: 'binary' }),
            id: fc.string(),
            purls: fc.array(purl, { maxLength: 2 }),
            file: fc.option(fc.string(), { nil: undefined }),
          }),
          {
            maxLength: 5,
          },
        ),
        (specs) => {
          const packages = specs.map((s, i) =>
            pkg(s.name, s.purls, { spdxId: `SPDXRef-Package-registry.k8s.io-${s.id}-${i}`, ...(s.file !== undefined ? { fileName: s.file } : {}) }),
          );
          const x = imagesFromSpdx(document(packages));
          for (const image of x.images) expect(formatReference(parseReference(image.reference))).toBe(image.reference);
        },
      ),
      { numRuns: 300 },
    );
  });
});
