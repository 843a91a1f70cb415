import { type ImgverifyError } from '../../../src/errors';
import { parseSpdxJson } from '../../../src/sbom/spdx-json';
import { thrown } from '../../support/errors';

const BASE = {
  spdxVersion: 'SPDX-2.3',
  dataLicense: 'CC0-1.0',
  SPDXID: 'SPDXRef-DOCUMENT',
  name: 'test',
  documentNamespace: 'https://example.com/test',
  creationInfo: { created: '2024-01-01T00:00:00Z', creators: ['Tool: test'] },
};

function json(extra: Record<string, unknown> = {}): string {
  return JSON.stringify({ ...BASE, ...extra }, null, 2);
}

const failure = (text: string): ImgverifyError => thrown(() => parseSpdxJson(text));

const IMAGE_PACKAGE = {
  SPDXID: 'SPDXRef-Package-img',
  name: 'registry.k8s.io/pause:3.10',
  versionInfo: '',
  downloadLocation: 'NOASSERTION',
  filesAnalyzed: false,
  primaryPackagePurpose: 'CONTAINER',
  checksums: [{ algorithm: 'SHA256', checksumValue: 'EE6521F290B2168B6E0935A181D4CFF9BE1AC3F505666EF0E3C98FAE8199917A' }],
  externalRefs: [
    { referenceCategory: 'PACKAGE-MANAGER', referenceType: 'purl', referenceLocator: 'pkg:oci/pause@sha256%3Aee65?repository_url=registry.k8s.io' },
  ],
  someFutureField: { ignored: true },
};

describe('parseSpdxJson', () => {
  test('reads a document into the common model', () => {
    const d = parseSpdxJson(
      json({
        comment: 'doc comment',
        packages: [IMAGE_PACKAGE],
        files: [{ SPDXID: 'SPDXRef-File-a', fileName: 'a', checksums: [], licenseConcluded: 'MIT' }],
        snippets: [{ SPDXID: 'SPDXRef-Snippet-a', snippetFromFile: 'SPDXRef-File-a', name: 's' }],
        hasExtractedLicensingInfos: [{ licenseId: 'LicenseRef-x', extractedText: 'text\nmore', name: 'X' }],
        externalDocumentRefs: [
          { externalDocumentId: 'DocumentRef-src', spdxDocument: 'https://example.com/src', checksum: { algorithm: 'SHA1', checksumValue: 'a'.repeat(40) } },
        ],
        relationships: [
          { spdxElementId: 'SPDXRef-Package-img', relationshipType: 'GENERATED_FROM', relatedSpdxElement: 'DocumentRef-src:SPDXRef-Package-k' },
          { spdxElementId: 'SPDXRef-DOCUMENT', relationshipType: 'DESCRIBES', relatedSpdxElement: 'SPDXRef-Package-img' },
        ],
        documentDescribes: ['SPDXRef-Package-img', 'SPDXRef-File-a'],
      }),
    );
    expect(d).toEqual({
      format: 'json',
      spdxVersion: 'SPDX-2.3',
      dataLicense: 'CC0-1.0',
      spdxId: 'SPDXRef-DOCUMENT',
      name: 'test',
      namespace: 'https://example.com/test',
      comment: 'doc comment',
      creators: ['Tool: test'],
      created: '2024-01-01T00:00:00Z',
      externalDocumentRefs: [{ id: 'DocumentRef-src', uri: 'https://example.com/src', checksum: { algorithm: 'SHA1', value: 'a'.repeat(40) } }],
      packages: [
        {
          spdxId: 'SPDXRef-Package-img',
          name: 'registry.k8s.io/pause:3.10',
          downloadLocation: 'NOASSERTION',
          filesAnalyzed: false,
          primaryPurpose: 'CONTAINER',
          checksums: [{ algorithm: 'SHA256', value: 'ee6521f290b2168b6e0935a181d4cff9be1ac3f505666ef0e3c98fae8199917a' }],
          externalRefs: [{ category: 'PACKAGE_MANAGER', type: 'purl', locator: 'pkg:oci/pause@sha256%3Aee65?repository_url=registry.k8s.io' }],
        },
      ],
      files: [{ spdxId: 'SPDXRef-File-a', name: 'a', checksums: [], licenseConcluded: 'MIT' }],
      snippets: [{ spdxId: 'SPDXRef-Snippet-a', fromFile: 'SPDXRef-File-a', name: 's' }],
      otherLicenses: [{ licenseId: 'LicenseRef-x', extractedText: 'text\nmore', name: 'X' }],
      relationships: [
        { element: 'SPDXRef-Package-img', type: 'GENERATED_FROM', related: 'DocumentRef-src:SPDXRef-Package-k' },
        { element: 'SPDXRef-DOCUMENT', type: 'DESCRIBES', related: 'SPDXRef-Package-img' },
        // documentDescribes adds what the relationships did not already say
        { element: 'SPDXRef-DOCUMENT', type: 'DESCRIBES', related: 'SPDXRef-File-a' },
      ],
    });
  });

  test('accepts a Buffer with a BOM, and empty optional strings as absent', () => {
    const d = parseSpdxJson(Buffer.concat([Buffer.from([0xef, 0xbb, 0xbf]), Buffer.from(json({ packages: [IMAGE_PACKAGE] }))]));
    expect(d.packages[0]).not.toHaveProperty('version');
  });

  const cases: Array<[string, string, string, RegExp]> = [
    ['not an object', '[]', '', /expected a JSON object, got an array/],
    ['CycloneDX', JSON.stringify({ bomFormat: 'CycloneDX', specVersion: '1.4' }), '', /CycloneDX document, not SPDX/],
    ['SPDX 3', JSON.stringify({ '@context': 'https://spdx.org/rdf/3.0.0/spdx-context.jsonld', '@graph': [] }), '', /SPDX 3 JSON-LD is not supported/],
    ['an empty spdxVersion', json({ spdxVersion: '' }), 'spdxVersion', /"": expected SPDX-2.0 to SPDX-2.3/],
    ['no spdxVersion', JSON.stringify({ ...BASE, spdxVersion: undefined }), 'spdxVersion', /missing/],
    ['another document SPDXID', json({ SPDXID: 'SPDXRef-X' }), 'SPDXID', /must be SPDXRef-DOCUMENT/],
    [
      'creators that are objects',
      json({ creationInfo: { creators: [{ Person: 'Nisha K' }] } }),
      'creationInfo.creators[0]',
      /expected a string, got an object/,
    ],
    ['no creators', json({ creationInfo: { creators: [] } }), 'creationInfo.creators', /at least one creator/],
    ['no creationInfo', JSON.stringify({ ...BASE, creationInfo: undefined }), 'creationInfo', /expected an object, got an undefined/],
    ['packages that is not an array', json({ packages: {} }), 'packages', /expected an array, got an object/],
    ['a package without name', json({ packages: [{ SPDXID: 'SPDXRef-a', packageName: 'a' }] }), 'packages[0].name', /missing/],
    [
      'a package with a bad SPDXID',
      json({ packages: [{ SPDXID: 'sha256-af1c', name: 'a' }] }),
      'packages[0].SPDXID',
      /"sha256-af1c" is not an SPDXRef- identifier/,
    ],
    [
      'filesAnalyzed as a string',
      json({ packages: [{ SPDXID: 'SPDXRef-a', name: 'a', filesAnalyzed: 'false' }] }),
      'packages[0].filesAnalyzed',
      /expected true or false, got a string/,
    ],
    [
      'a checksum of the wrong length',
      json({ packages: [{ ...IMAGE_PACKAGE, checksums: [{ algorithm: 'SHA256', checksumValue: 'ab' }] }] }),
      'packages[0].checksums[0]',
      /expected 64/,
    ],
    [
      'a locator with spaces',
      json({ packages: [{ ...IMAGE_PACKAGE, externalRefs: [{ referenceCategory: 'OTHER', referenceType: 'x', referenceLocator: 'a b' }] }] }),
      'packages[0].externalRefs[0].referenceLocator',
      /no white space/,
    ],
    [
      'an unknown category',
      json({ packages: [{ ...IMAGE_PACKAGE, externalRefs: [{ referenceCategory: 'X', referenceType: 'x', referenceLocator: 'a' }] }] }),
      'packages[0].externalRefs[0].referenceCategory',
      /unknown category "X"/,
    ],
    ['a name that is a number', json({ packages: [{ SPDXID: 'SPDXRef-a', name: 42 }] }), 'packages[0].name', /expected a string, got a number/],
    [
      'an unknown relationship type',
      json({ relationships: [{ spdxElementId: 'SPDXRef-DOCUMENT', relationshipType: 'OWNS', relatedSpdxElement: 'NONE' }] }),
      'relationships[0].relationshipType',
      /unknown relationship type "OWNS"/,
    ],
    [
      'a dangling relationship',
      json({ relationships: [{ spdxElementId: 'SPDXRef-DOCUMENT', relationshipType: 'DESCRIBES', relatedSpdxElement: 'SPDXRef-nope' }] }),
      'relationships[0]',
      /SPDXRef-nope is not defined/,
    ],
    ['a dangling documentDescribes', json({ documentDescribes: ['SPDXRef-nope'] }), 'documentDescribes[0]', /SPDXRef-nope is not defined/],
    [
      'an undeclared external document',
      json({ relationships: [{ spdxElementId: 'SPDXRef-DOCUMENT', relationshipType: 'DESCRIBES', relatedSpdxElement: 'DocumentRef-x:SPDXRef-y' }] }),
      'relationships[0]',
      /DocumentRef-x, which no ExternalDocumentRef declares/,
    ],
    [
      'a duplicate identifier',
      json({
        packages: [
          { SPDXID: 'SPDXRef-a', name: 'a' },
          { SPDXID: 'SPDXRef-a', name: 'b' },
        ],
      }),
      'packages[1]',
      /SPDXRef-a is defined twice/,
    ],
    [
      'an unknown purpose',
      json({ packages: [{ SPDXID: 'SPDXRef-a', name: 'a', primaryPackagePurpose: 'TOY' }] }),
      'packages[0].primaryPackagePurpose',
      /unknown purpose/,
    ],
  ];

  test.each(cases)('refuses %s, naming the path', (_name, text, path, message) => {
    const err = failure(text);
    expect(err.code).toBe('SBOM_INVALID');
    expect(err.details).toEqual({ path });
    expect(err.message).toMatch(message);
  });

  test('a syntax error names its line and column', () => {
    const err = failure('{\n  "spdxVersion": "SPDX-2.3",\n  "name": oops\n}');
    expect(err.code).toBe('SBOM_INVALID');
    expect(err.details).toEqual({ line: 3, column: 11 });
    expect(err.message).toMatch(/^SPDX JSON line 3 column 11: not valid JSON/);
  });

  test('deeply nested JSON is refused without a stack overflow', () => {
    const deep = '['.repeat(100_000) + ']'.repeat(100_000);
    expect(failure(deep).code).toBe('SBOM_INVALID');
  });

  test('the size limit applies', () => {
    expect(() => parseSpdxJson(json(), { maxBytes: 10 })).toThrow(expect.objectContaining({ code: 'SBOM_INVALID' }));
  });
});
