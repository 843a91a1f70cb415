/**
 * Every SPDX document in ../shared/interop/sbom, parsed for real: what each one contains, which
 * images it lists, and which ones a strict parser must refuse (and why). A file added to the
 * folder without an expectation here fails the suite, so that it gets looked at.
 */
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { ImgverifyError } from '../../../src/errors';
import { imagesFromSbom, parseSpdx, type SpdxDocument } from '../../../src/sbom';
import { INTEROP_DIR } from '../../support/interop';

const SBOM_DIR = join(INTEROP_DIR, 'sbom');
const present = existsSync(SBOM_DIR);
/** Where the data is absent (a clone without ../shared; CI has it), say so and skip visibly. */
const describeIfPresent = (name: string, fn: () => void): void => {
  if (present) return describe(name, fn);
  describe(name, () => {
    // eslint-disable-next-line no-console -- a skip must be visible in the run's output
    console.warn(`SKIPPED "${name}": ${SBOM_DIR} not found`);
    test.skip(`needs ${SBOM_DIR}`, () => undefined);
  });
};

const read = (name: string): Buffer => readFileSync(join(SBOM_DIR, name));

interface Accepted {
  packages: number;
  files: number;
  relationships: number;
  images: string[];
  check?: (doc: SpdxDocument) => void;
}
interface Refused {
  refused: RegExp;
  details: Record<string, unknown>;
}

const NGINX_INDEX = 'sha256:4ed64c2e0857ad21c38b98345ebb5edb01791a0a10b0e9e3d9ddde185cdbd31a';
const NGINX_PLATFORMS: Array<[string, string]> = [
  ['amd64', 'sha256:1a763cbd30ef4dbc7f8e3fa2e6670fd726f4bddb0ef58868a243c0cb8b35cde1'],
  ['arm', 'sha256:bcba09dc6c6348bd02b48a0b7db7789442fba2d85d2ee2027883905a83e4617e'],
  ['arm', 'sha256:b9b77ddc2088f5c308acc954196281784a907ec9be68eb548ef4cbf012ddc69e'],
  ['arm64', 'sha256:e62e73dd7f24578c82f40f15b3e6c40b49e33ccb86188f56472fd27b0621ec37'],
  ['386', 'sha256:526e1b9eb30aa78b3069d6c53952120388650d35f4d13f53035348e465fc0e78'],
  ['mips64le', 'sha256:6716ae6fd89e7701869f78bb91ef18e469d1b4e76999a36414adca80d154fc45'],
  ['ppc64le', 'sha256:96e3b1302b0cd1e31416a878b5cbf96f11eedbb06b6402bc708a028f841af55f'],
  ['s390x', 'sha256:ca52df4856ccafd1f1fbaad4b2883c11bc428c0a6f1e968cda975a4efcc428e7'],
];
const APKO_IMAGE = 'sha256:f44417ca5eae5c4832baf4f977a12d8492bca835cdf07d44c9db210409b1ba38';

const EXPECTED: Record<string, Accepted | Refused> = {
  // bom 2022, `bom generate --image nginx`: an index, 8 platform images (VARIANT_OF the index, which
  // CONTAINS them), 48 layers named <hex>.tar.gz (no purl), 1128 Debian packages (pkg:deb purls)
  'bom-nginx.spdx': {
    packages: 1185,
    files: 0,
    relationships: 1193,
    images: [`docker.io/library/nginx:latest@${NGINX_INDEX}`, ...NGINX_PLATFORMS.map(([, d]) => `docker.io/library/nginx@${d}`)],
    check: (doc) => {
      expect(doc).toMatchObject({
        format: 'tag-value',
        spdxVersion: 'SPDX-2.2',
        name: 'SBOM-SPDX-c6d8b3cc-b41b-4ce9-9e5f-ce24616b7fbe',
        namespace: 'https://spdx.org/spdxdocs/k8s-releng-bom-c0fe5783-a728-4e48-b881-9b8d63dec369',
        creators: ['Organization: Kubernetes Release Engineering', 'Tool: sigs.k8s.io/bom/pkg/spdx'],
        created: '2022-03-26T02:34:59Z',
      });
      const count = (type: string): number => doc.relationships.filter((r) => r.type === type).length;
      expect([count('CONTAINS'), count('VARIANT_OF'), count('DESCRIBES')]).toEqual([1184, 8, 1]);
      const purlTypes = doc.packages.flatMap((p) => p.externalRefs.map((r) => r.locator.split('/')[0]));
      expect(purlTypes.filter((t) => t === 'pkg:deb')).toHaveLength(1128);
      expect(purlTypes.filter((t) => t === 'pkg:oci')).toHaveLength(9);
      const layers = doc.packages.filter((p) => p.name.endsWith('.tar.gz'));
      expect(layers).toHaveLength(48);
      expect(layers.every((p) => p.externalRefs.length === 0 && p.checksums.length === 3)).toBe(true);
    },
  },
  // apko: the image and its single "operating system layer" both carry an image purl and a
  // `host/repo@digest` name; the image CONTAINS the layer, which is how the layer is told apart
  'bom-images.spdx.json': {
    packages: 23,
    files: 0,
    relationships: 23,
    images: [`172.19.0.1:5000/apko-test:latest@${APKO_IMAGE}`],
  },
  'bom-external-references.spdx.json': { refused: /spdxVersion: "": expected SPDX-2.0 to SPDX-2.3/, details: { path: 'spdxVersion' } },
  // spdx-sbom-generator 0.0.1 wrote `Relationship SPDXRef-... DESCRIBES ...` without the colon
  'cosign-bom-go-mod.spdx': {
    refused: /^SPDX tag-value line 25: expected "Tag: value", got "Relationship SPDXRef-DOCUMENT DESCRIBES/,
    details: { line: 25, column: 1 },
  },
  'cosign-bom-go-mod.spdx.json': { packages: 0, files: 0, relationships: 0, images: [] },
  'cosign-bom-go-mod.cyclonedx.json': { refused: /CycloneDX document, not SPDX/, details: { path: '' } },
  // its creators are objects and its packages use packageName/packageVersion: not SPDX 2.x JSON
  'policy-controller-example.spdx.json': {
    refused: /creationInfo\.creators\[0\]: expected a string, got an object/,
    details: { path: 'creationInfo.creators[0]' },
  },
  // "alpine" (versionInfo "latest", no purl, no registry) is not taken for an image
  'spdx-examples-presentations_SBOMS-SPDX-Now-and-Future_ACME-v2.3.spdx.json': { packages: 4, files: 0, relationships: 4, images: [] },
  'spdx-examples-software_example11_spdx2.3_sbom.spdx.json': { packages: 4, files: 1, relationships: 6, images: [] },
  'spdx-examples-software_example1_spdx2.2_example1.spdx': { packages: 1, files: 3, relationships: 4, images: [] },
};

describeIfPresent('SPDX documents in ../shared/interop/sbom', () => {
  const files = readdirSync(SBOM_DIR)
    .filter((f) => !f.endsWith('.md'))
    .sort();

  test('every document there has an expectation here', () => {
    expect(files).toEqual(Object.keys(EXPECTED).sort());
  });

  describe.each(files)('%s', (file) => {
    const expected = EXPECTED[file];
    if (expected === undefined) return;
    if ('refused' in expected) {
      test('is refused, saying where and why', () => {
        let error: unknown;
        try {
          parseSpdx(read(file));
        } catch (err) {
          error = err;
        }
        expect(error).toBeInstanceOf(ImgverifyError);
        expect((error as ImgverifyError).code).toBe('SBOM_INVALID');
        expect((error as ImgverifyError).message).toMatch(expected.refused);
        expect((error as ImgverifyError).details).toEqual(expected.details);
      });
      return;
    }
    test(`parses: ${expected.packages} packages, ${expected.files} files, ${expected.relationships} relationships`, () => {
      const doc = parseSpdx(read(file));
      expect([doc.packages.length, doc.files.length, doc.relationships.length]).toEqual([expected.packages, expected.files, expected.relationships]);
      expected.check?.(doc);
    });
    test(`lists ${expected.images.length} images`, () => {
      expect(imagesFromSbom(read(file)).images.map((i) => i.reference)).toEqual(expected.images);
    });
  });

  test('bom-nginx.spdx: the platform images say their platform and their index; nothing is skipped', () => {
    const { images, skipped, warnings } = imagesFromSbom(read('bom-nginx.spdx'));
    expect(images[0]).toEqual({
      reference: `docker.io/library/nginx:latest@${NGINX_INDEX}`,
      source: 'SPDXRef-Package-nginx',
      sources: ['SPDXRef-Package-nginx'],
      repository: 'docker.io/library/nginx',
      tag: 'latest', // the purl says tag=nginx: bom wrote the reference it pulled, `nginx`, i.e. nginx:latest
      digest: NGINX_INDEX,
      via: 'purl',
    });
    expect(images.slice(1).map((i) => [i.architecture, i.os, i.variantOf, i.digest])).toEqual(
      NGINX_PLATFORMS.map(([arch, digest]) => [arch, 'linux', 'SPDXRef-Package-nginx', digest]),
    );
    expect(skipped).toEqual([]);
    expect(warnings).toEqual([]);
  });

  // bom-images.spdx.json's layer handling: test/unit/sbom/images.bom.test.ts (its copy in fixtures/).

  // Its parse time is measured by bench/, never asserted here (a loaded machine is not a failure).
  test('bom-nginx.spdx (1.4 MB) parses', () => {
    const doc = parseSpdx(read('bom-nginx.spdx'));
    expect(doc.packages.length).toBeGreaterThan(100);
  });
});
