import { ImgverifyError } from '../../../src/errors';
import { DEFAULT_MAX_SBOM_BYTES, imagesFromSbom, parseSpdx } from '../../../src/sbom';

const TAG_VALUE = [
  'SPDXVersion: SPDX-2.3',
  'SPDXID: SPDXRef-DOCUMENT',
  'DocumentName: t',
  'DocumentNamespace: https://example.com/t',
  'Creator: Tool: t',
  'PackageName: registry.k8s.io/pause:3.10',
  'SPDXID: SPDXRef-Package-pause',
].join('\n');
const JSON_DOC = JSON.stringify({
  spdxVersion: 'SPDX-2.3',
  SPDXID: 'SPDXRef-DOCUMENT',
  name: 't',
  documentNamespace: 'https://example.com/t',
  creationInfo: { creators: ['Tool: t'] },
  packages: [{ SPDXID: 'SPDXRef-Package-pause', name: 'registry.k8s.io/pause:3.10' }],
});

function error(fn: () => unknown): ImgverifyError {
  try {
    fn();
  } catch (err) {
    expect(err).toBeInstanceOf(ImgverifyError);
    return err as ImgverifyError;
  }
  throw new Error('expected an error');
}

describe('parseSpdx', () => {
  test('tells JSON from tag-value by the first non-blank character', () => {
    expect(parseSpdx(TAG_VALUE).format).toBe('tag-value');
    expect(parseSpdx(`\n  ${JSON_DOC}`).format).toBe('json');
    expect(parseSpdx(Buffer.from(`\ufeff${JSON_DOC}`)).format).toBe('json');
  });

  test('the format can be forced', () => {
    expect(error(() => parseSpdx(JSON_DOC, { format: 'tag-value' })).message).toMatch(/line 1: /);
    expect(error(() => parseSpdx(TAG_VALUE, { format: 'json' })).details).toEqual({ line: 1, column: 1 });
    expect(error(() => parseSpdx(TAG_VALUE, { format: 'yaml' as never })).code).toBe('INVALID_OPTIONS');
  });

  test('XML (SPDX RDF) and YAML are refused with a clear message', () => {
    expect(error(() => parseSpdx('<?xml version="1.0"?><rdf:RDF/>')).message).toMatch(/looks like XML/);
    expect(error(() => parseSpdx('spdxVersion: SPDX-2.3\n')).message).toMatch(/line 1: unknown tag "spdxVersion"/);
  });

  test('the size limit defaults to 64 MiB and applies to both formats', () => {
    expect(DEFAULT_MAX_SBOM_BYTES).toBe(64 * 1024 * 1024);
    expect(error(() => parseSpdx(JSON_DOC, { maxBytes: 16 })).code).toBe('SBOM_INVALID');
    expect(error(() => parseSpdx(TAG_VALUE, { maxBytes: 16 })).code).toBe('SBOM_INVALID');
    expect(error(() => parseSpdx(TAG_VALUE, { maxBytes: -1 })).code).toBe('INVALID_OPTIONS');
    expect(error(() => parseSpdx(42 as never)).code).toBe('INVALID_OPTIONS');
  });
});

describe('imagesFromSbom', () => {
  test('gives the same images from either format', () => {
    const a = imagesFromSbom(TAG_VALUE);
    const b = imagesFromSbom(JSON_DOC);
    expect(a).toEqual(b);
    expect(a.images.map((i) => i.reference)).toEqual(['registry.k8s.io/pause:3.10']);
  });
});
