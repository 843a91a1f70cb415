/**
 * A real SPDX 2.2 JSON document written by the Kubernetes `bom` tool for an apko image
 * (fixtures/sbom/bom-images.spdx.json, from kubernetes-sigs/bom's test data): the image is
 * listed once, and its single "operating system layer", which also carries an image purl and a
 * `host/repo@digest` name, is told apart as a layer because the image CONTAINS it.
 * The whole SBOM corpus is checked by test/interop/sbom/spdx-files.test.ts.
 */
import { imagesFromSbom, parseSpdx } from '../../../src/sbom';
import { readFixture } from '../../support/fixtures';

const APKO_IMAGE = 'sha256:f44417ca5eae5c4832baf4f977a12d8492bca835cdf07d44c9db210409b1ba38';
const sbom = () => readFixture('sbom', 'bom-images.spdx.json');

test('parses: 23 packages, 23 relationships, SPDX 2.2 JSON', () => {
  const doc = parseSpdx(sbom());
  expect([doc.format, doc.spdxVersion]).toEqual(['json', 'SPDX-2.2']);
  expect([doc.packages.length, doc.files.length, doc.relationships.length]).toEqual([23, 0, 23]);
});

test('lists the one image, and skips the apko layer as a layer', () => {
  const { images, skipped } = imagesFromSbom(sbom());
  expect(images.map((i) => i.reference)).toEqual([`172.19.0.1:5000/apko-test:latest@${APKO_IMAGE}`]);
  expect(images[0]).toMatchObject({ architecture: 'amd64', via: 'purl' });
  expect(skipped).toEqual([
    {
      spdxId: 'SPDXRef-Package-172.19.0.1C585000C47apko-testC64sha256C5838692af7edf0ffdb93792734e74b16d7711b4d6a91c0ecae1b390ea0b5a80c6e',
      name: '172.19.0.1:5000/apko-test@sha256:38692af7edf0ffdb93792734e74b16d7711b4d6a91c0ecae1b390ea0b5a80c6e',
      reason: 'a layer: image SPDXRef-Package-sha256C58f44417ca5eae5c4832baf4f977a12d8492bca835cdf07d44c9db210409b1ba38 CONTAINS it',
    },
  ]);
});
