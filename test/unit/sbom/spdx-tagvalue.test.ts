import { type ImgverifyError } from '../../../src/errors';
import { parseSpdxTagValue } from '../../../src/sbom/spdx-tagvalue';
import { thrown } from '../../support/errors';

const HEADER = [
  'SPDXVersion: SPDX-2.3',
  'DataLicense: CC0-1.0',
  'SPDXID: SPDXRef-DOCUMENT',
  'DocumentName: test',
  'DocumentNamespace: https://example.com/test',
  'Creator: Tool: test',
  'Created: 2024-01-01T00:00:00Z',
];
const PACKAGE = ['PackageName: app', 'SPDXID: SPDXRef-Package-app', 'PackageDownloadLocation: NONE'];

function doc(...lines: string[]): string {
  return [...HEADER, ...lines].join('\n') + '\n';
}

/** The ImgverifyError thrown by parsing `text`. */
const failure = (text: string | Buffer, opts?: { maxBytes?: number }): ImgverifyError => thrown(() => parseSpdxTagValue(text, opts));

describe('parseSpdxTagValue: documents', () => {
  test('reads the document creation section', () => {
    const d = parseSpdxTagValue(doc('ExternalDocumentRef:DocumentRef-src https://sbom.k8s.io/v1.32.0/source SHA1: D6A770BA38583ED4BB4525BD96E50461655D2759'));
    expect(d).toMatchObject({
      format: 'tag-value',
      spdxVersion: 'SPDX-2.3',
      dataLicense: 'CC0-1.0',
      spdxId: 'SPDXRef-DOCUMENT',
      name: 'test',
      namespace: 'https://example.com/test',
      creators: ['Tool: test'],
      created: '2024-01-01T00:00:00Z',
      externalDocumentRefs: [
        {
          id: 'DocumentRef-src',
          uri: 'https://sbom.k8s.io/v1.32.0/source',
          checksum: { algorithm: 'SHA1', value: 'd6a770ba38583ed4bb4525bd96e50461655d2759' },
        },
      ],
      packages: [],
    });
  });

  test('reads packages with repeated tags, purls and checksums', () => {
    const d = parseSpdxTagValue(
      doc(
        '##### Package: nginx',
        '',
        'PackageName: nginx',
        'SPDXID: SPDXRef-Package-nginx',
        'PackageVersion: 1.21',
        'PackageChecksum: SHA1: c0967e7d92032b31edc2c4bfe8a14999d02d2bc0',
        'PackageChecksum: SHA256: ae13dd57832654086618a81dbc128846aa092489260c326ee95429b63c3cf213',
        'PackageDownloadLocation: NONE',
        'FilesAnalyzed: false',
        'PrimaryPackagePurpose: OPERATING-SYSTEM',
        'ExternalRef: PACKAGE-MANAGER purl pkg:oci/nginx@sha256:4ed64c2e0857ad21c38b98345ebb5edb01791a0a10b0e9e3d9ddde185cdbd31a?repository_url=index.docker.io%2Flibrary&tag=nginx',
        'ExternalRefComment: the index',
        'ExternalRef: SECURITY cpe23Type cpe:2.3:a:nginx:nginx:1.21:*:*:*:*:*:*:*',
        'PackageLicenseInfoFromFiles: MIT',
        'PackageLicenseInfoFromFiles: BSD-2-Clause',
      ),
    );
    expect(d.packages).toEqual([
      {
        spdxId: 'SPDXRef-Package-nginx',
        name: 'nginx',
        version: '1.21',
        downloadLocation: 'NONE',
        filesAnalyzed: false,
        primaryPurpose: 'OPERATING_SYSTEM',
        checksums: [
          { algorithm: 'SHA1', value: 'c0967e7d92032b31edc2c4bfe8a14999d02d2bc0' },
          { algorithm: 'SHA256', value: 'ae13dd57832654086618a81dbc128846aa092489260c326ee95429b63c3cf213' },
        ],
        externalRefs: [
          {
            category: 'PACKAGE_MANAGER',
            type: 'purl',
            locator: 'pkg:oci/nginx@sha256:4ed64c2e0857ad21c38b98345ebb5edb01791a0a10b0e9e3d9ddde185cdbd31a?repository_url=index.docker.io%2Flibrary&tag=nginx',
            comment: 'the index',
          },
          { category: 'SECURITY', type: 'cpe23Type', locator: 'cpe:2.3:a:nginx:nginx:1.21:*:*:*:*:*:*:*' },
        ],
      },
    ]);
  });

  test('sections start with their leading tag; relationships may appear anywhere', () => {
    const d = parseSpdxTagValue(
      doc(
        ...PACKAGE,
        'Relationship: SPDXRef-DOCUMENT DESCRIBES SPDXRef-Package-app',
        'PackageVersion: 2', // still the package: a relationship does not end its section
        'FileName: ./bin/app',
        'SPDXID: SPDXRef-File-app',
        'FileChecksum: SHA1: 20291a81ef065ff891b537b64d4fdccaf6f5ac02',
        'FileType: BINARY',
        'FileType: APPLICATION',
        'LicenseConcluded: MIT',
        'Relationship: SPDXRef-File-app GENERATED_FROM DocumentRef-src:SPDXRef-Package-src',
        'RelationshipComment: built from the source',
        'SnippetSPDXID: SPDXRef-Snippet-1',
        'SnippetFromFileSPDXID: SPDXRef-File-app',
        'SnippetByteRange: 1:20',
        'SnippetName: main',
        'LicenseID: LicenseRef-custom',
        'LicenseName: Custom',
        'ExtractedText: <text>Permission is granted:',
        '',
        '# not a comment inside text',
        'to everyone.</text>',
        'LicenseCrossReference: https://example.com/a',
        'LicenseCrossReference: https://example.com/b',
        'Annotator: Person: Jane',
        'AnnotationDate: 2024-01-01T00:00:00Z',
        'AnnotationType: REVIEW',
        'SPDXREF: SPDXRef-Package-app',
        'AnnotationComment: <text>fine</text>',
      ).replace('Created:', 'ExternalDocumentRef: DocumentRef-src https://example.com/src SHA256: ' + 'a'.repeat(64) + '\nCreated:'),
    );
    expect(d.packages).toMatchObject([{ spdxId: 'SPDXRef-Package-app', version: '2' }]);
    expect(d.files).toEqual([
      {
        spdxId: 'SPDXRef-File-app',
        name: './bin/app',
        checksums: [{ algorithm: 'SHA1', value: '20291a81ef065ff891b537b64d4fdccaf6f5ac02' }],
        licenseConcluded: 'MIT',
      },
    ]);
    expect(d.snippets).toEqual([{ spdxId: 'SPDXRef-Snippet-1', fromFile: 'SPDXRef-File-app', name: 'main' }]);
    expect(d.otherLicenses).toEqual([
      { licenseId: 'LicenseRef-custom', name: 'Custom', extractedText: 'Permission is granted:\n\n# not a comment inside text\nto everyone.' },
    ]);
    expect(d.relationships).toEqual([
      { element: 'SPDXRef-DOCUMENT', type: 'DESCRIBES', related: 'SPDXRef-Package-app' },
      {
        element: 'SPDXRef-File-app',
        type: 'GENERATED_FROM',
        related: 'DocumentRef-src:SPDXRef-Package-src',
        comment: 'built from the source',
      },
    ]);
  });

  test('multi-line <text> keeps colons, blank lines, leading white space and a trailing newline', () => {
    const d = parseSpdxTagValue(
      doc(...PACKAGE, 'PackageCopyrightText: <text>  Copyright: 2024 A', '', '   Tag: value', '</text>', 'PackageComment: <text>one line</text>  '),
    );
    expect(d.packages[0]?.copyrightText).toBe('  Copyright: 2024 A\n\n   Tag: value\n');
    expect(d.packages[0]?.comment).toBe('one line');
  });

  test('CRLF line endings, a BOM, comments, indented and blank lines', () => {
    const text = '\ufeff' + doc('# comment', '   ', '  # indented comment', ...PACKAGE, 'PackageComment: <text>a', 'b</text>').replace(/\n/g, '\r\n');
    const d = parseSpdxTagValue(text);
    expect(d.packages[0]?.comment).toBe('a\nb');
    expect(d.packages[0]?.downloadLocation).toBe('NONE');
    expect(parseSpdxTagValue(Buffer.from(text, 'utf8')).packages[0]?.comment).toBe('a\nb');
  });

  test('values keep their colons; tags and values are trimmed', () => {
    const d = parseSpdxTagValue(doc('  PackageName :  a: b  ', 'SPDXID: SPDXRef-Package-a', 'PackageSupplier: Person: Jane (jane@example.com)'));
    expect(d.packages[0]).toMatchObject({ name: 'a: b', supplier: 'Person: Jane (jane@example.com)' });
  });

  test('a document without packages', () => {
    expect(parseSpdxTagValue(doc()).packages).toEqual([]);
  });
});

describe('parseSpdxTagValue: malformed documents name the line', () => {
  const cases: Array<[string, string, number, RegExp]> = [
    ['a line without a colon', doc(...PACKAGE, 'Relationship SPDXRef-DOCUMENT DESCRIBES SPDXRef-Package-app'), 11, /expected "Tag: value"/],
    ['an unknown tag', doc(...PACKAGE, 'PackageColour: blue'), 11, /unknown tag "PackageColour"/],
    ['a malformed tag', doc('Package Name: x'), 8, /malformed tag "Package Name"/],
    ['a package field before any PackageName', doc('PackageVersion: 1'), 8, /PackageVersion before any PackageName/],
    ['a file field before any FileName', doc('FileChecksum: SHA1: ' + 'a'.repeat(40)), 8, /FileChecksum before any FileName/],
    ['a package field in a file section', doc('FileName: f', 'SPDXID: SPDXRef-f', 'PackageVersion: 1'), 10, /not valid in the file "f" that starts on line 8/],
    [
      'a document field after the creation section',
      doc(...PACKAGE, 'Creator: Tool: late'),
      11,
      /belongs to the document creation section, which ended on line 7/,
    ],
    ['a repeated single-valued tag', doc(...PACKAGE, 'PackageDownloadLocation: NOASSERTION'), 11, /PackageDownloadLocation appears twice .*first on line 10/],
    ['a second SPDXID', doc(...PACKAGE, 'SPDXID: SPDXRef-Package-other'), 11, /SPDXID appears twice/],
    ['an empty value', doc('PackageName:'), 8, /PackageName has an empty value/],
    ['a package without SPDXID', doc('PackageName: a', 'PackageVersion: 1', 'PackageName: b', 'SPDXID: SPDXRef-b'), 8, /package "a" has no SPDXID/],
    ['a malformed SPDXID', doc('PackageName: a', 'SPDXID: Package-a'), 9, /SPDXID "Package-a" is not an SPDXRef- identifier/],
    ['a document SPDXID other than SPDXRef-DOCUMENT', HEADER.join('\n').replace('SPDXRef-DOCUMENT', 'SPDXRef-DOC'), 3, /must be SPDXRef-DOCUMENT/],
    ['an unsupported version', HEADER.join('\n').replace('SPDX-2.3', 'SPDX-3.0'), 1, /unsupported SPDXVersion "SPDX-3.0"/],
    ['a relationship with two tokens', doc('Relationship: SPDXRef-DOCUMENT DESCRIBES'), 8, /Relationship must be/],
    ['an unknown relationship type', doc(...PACKAGE, 'Relationship: SPDXRef-DOCUMENT OWNS SPDXRef-Package-app'), 11, /unknown relationship type "OWNS"/],
    [
      'a relationship to an undefined element',
      doc(...PACKAGE, '', 'Relationship: SPDXRef-DOCUMENT DESCRIBES SPDXRef-Package-nope'),
      12,
      /SPDXRef-Package-nope is not defined/,
    ],
    [
      'a relationship to an undeclared document',
      doc('Relationship: SPDXRef-DOCUMENT DESCRIBES DocumentRef-x:SPDXRef-y'),
      8,
      /DocumentRef-x, which no ExternalDocumentRef declares/,
    ],
    ['an ExternalRef with two tokens', doc(...PACKAGE, 'ExternalRef: PACKAGE-MANAGER purl'), 11, /ExternalRef must be/],
    ['an unknown ExternalRef category', doc(...PACKAGE, 'ExternalRef: PACKAGE purl pkg:oci/a@sha256:x'), 11, /unknown ExternalRef category "PACKAGE"/],
    ['a checksum without algorithm', doc(...PACKAGE, 'PackageChecksum: ' + 'a'.repeat(64)), 11, /PackageChecksum must be "<ALGORITHM>: <hex>"/],
    ['a checksum of the wrong length', doc(...PACKAGE, 'PackageChecksum: SHA256: abcd'), 11, /SHA256 checksum has 4 hex digits, expected 64/],
    ['a checksum that is not hex', doc(...PACKAGE, 'PackageChecksum: SHA1: ' + 'z'.repeat(40)), 11, /is not hex/],
    ['an unknown checksum algorithm', doc(...PACKAGE, 'PackageChecksum: CRC32: abcd'), 11, /unknown checksum algorithm "CRC32"/],
    ['FilesAnalyzed that is not a boolean', doc(...PACKAGE, 'FilesAnalyzed: no'), 11, /FilesAnalyzed must be true or false/],
    ['an unknown purpose', doc(...PACKAGE, 'PrimaryPackagePurpose: TOY'), 11, /unknown PrimaryPackagePurpose "TOY"/],
    ['an ExternalRefComment without ExternalRef', doc(...PACKAGE, 'ExternalRefComment: x'), 11, /without a preceding ExternalRef/],
    ['a RelationshipComment without Relationship', doc('RelationshipComment: x'), 8, /without a preceding Relationship/],
    ['an AnnotationDate without Annotator', doc('AnnotationDate: 2024-01-01T00:00:00Z'), 8, /without a preceding Annotator/],
    ['a Creator that is not a person, organization or tool', HEADER.join('\n').replace('Tool: test', 'Robot: r2'), 6, /must start with "Person:"/],
    ['content after </text>', doc(...PACKAGE, 'PackageComment: <text>a', 'b</text> trailing'), 12, /unexpected "trailing" after <\/text>/],
    ['a duplicate SPDX identifier', doc(...PACKAGE, 'FileName: f', 'SPDXID: SPDXRef-Package-app'), 11, /SPDXRef-Package-app is defined twice/],
    ['an SPDXID in a snippet', doc('SnippetSPDXID: SPDXRef-s', 'SPDXID: SPDXRef-t'), 9, /SPDXID is not valid in the snippet/],
    ['a LicenseID that is not a LicenseRef', doc('LicenseID: MIT'), 8, /not a LicenseRef- identifier/],
  ];

  test.each(cases)('%s', (_name, text, line, message) => {
    const err = failure(text);
    expect(err.code).toBe('SBOM_INVALID');
    expect(err.details?.['line']).toBe(line);
    expect(err.message).toContain(`line ${line}:`);
    expect(err.message).toMatch(message);
  });

  test('an unterminated <text> names the line it started on', () => {
    const err = failure(doc(...PACKAGE, 'PackageComment: <text>never', 'closed', '', 'PackageVersion: 1'));
    expect(err.details).toEqual({ line: 11, column: 17 });
    expect(err.message).toMatch(/line 11: <text> value of PackageComment is never closed/);
  });

  test('missing document fields', () => {
    expect(failure(HEADER.filter((l) => !l.startsWith('DocumentNamespace')).join('\n')).message).toMatch(/has no DocumentNamespace/);
    expect(failure(HEADER.filter((l) => !l.startsWith('Creator')).join('\n')).message).toMatch(/has no Creator/);
    expect(failure([...HEADER.slice(1), ...PACKAGE].join('\n')).message).toMatch(/lines 1-6\) has no SPDXVersion/);
    expect(failure('').message).toMatch(/has no SPDXVersion/);
  });

  test('columns point at the tag or the value', () => {
    expect(failure(doc('   Bogus: x')).details).toEqual({ line: 8, column: 4 });
    expect(failure(doc(...PACKAGE, 'FilesAnalyzed:   maybe')).details).toEqual({ line: 11, column: 18 });
  });

  test('invalid UTF-8 names its line', () => {
    const bytes = Buffer.concat([Buffer.from(doc(...PACKAGE)), Buffer.from([0x50, 0x61, 0xff, 0x0a])]);
    const err = failure(bytes);
    expect(err.code).toBe('SBOM_INVALID');
    expect(err.details).toEqual({ line: 11 });
  });

  test('the size limit is checked before parsing', () => {
    const err = failure(doc(...PACKAGE), { maxBytes: 100 });
    expect(err.code).toBe('SBOM_INVALID');
    expect(err.details).toMatchObject({ limit: 100 });
    expect(failure(Buffer.alloc(101, 0x41), { maxBytes: 100 }).code).toBe('SBOM_INVALID');
    // a string is measured in UTF-8 bytes: 40 euro signs are 120 bytes
    expect(failure('€'.repeat(40), { maxBytes: 100 }).code).toBe('SBOM_INVALID');
    expect(failure(doc(), { maxBytes: 0 }).code).toBe('INVALID_OPTIONS');
  });
});

describe('parseSpdxTagValue: linear time', () => {
  test('a 20 MB document of 50k packages parses in seconds, not minutes', () => {
    const pkgs: string[] = [];
    for (let i = 0; i < 50_000; i++) {
      pkgs.push(
        `##### Package: p${i}`,
        '',
        `PackageName: registry.example.com/p${i}:v1`,
        `SPDXID: SPDXRef-Package-${i}`,
        'PackageDownloadLocation: NONE',
        `PackageChecksum: SHA256: ${'ab'.repeat(32)}`,
        `ExternalRef: PACKAGE-MANAGER purl pkg:oci/p${i}@sha256:${'cd'.repeat(32)}?repository_url=registry.example.com`,
        `Relationship: SPDXRef-DOCUMENT DESCRIBES SPDXRef-Package-${i}`,
      );
    }
    const text = doc() + pkgs.join('\n');
    // No timed assertion: super-linear parsing of 20 MB would run past the test's timeout.
    const d = parseSpdxTagValue(text);
    expect(text.length).toBeGreaterThan(20_000_000);
    expect(d.packages).toHaveLength(50_000);
    expect(d.relationships).toHaveLength(50_000);
  });

  // No timed assertion: backtracking on these lines would run past the test's timeout.
  test('pathological lines do not backtrack', () => {
    const long = 'x'.repeat(2_000_000);
    expect(failure(doc(`${long}`)).message).toMatch(/expected "Tag: value"/);
    expect(failure(doc(...PACKAGE, `ExternalRef: ${' '.repeat(500_000)}a`)).message).toMatch(/ExternalRef must be/);
    expect(failure(doc(`ExternalDocumentRef: DocumentRef-a b ${'C'.repeat(1_000_000)}`)).message).toMatch(/ExternalDocumentRef must be/);
  }, 30_000);
});
