/**
 * Properties of the two SPDX parsers: documents generated from the model round-trip through
 * both serialisations; `<text>` values with arbitrary content round-trip; and no input, however
 * broken, makes a parser throw anything but ImgverifyError.
 */
import fc from 'fast-check';
import { ImgverifyError } from '../../../src/errors';
import { imagesFromSbom, parseSpdx } from '../../../src/sbom';
import { parseSpdxJson } from '../../../src/sbom/spdx-json';
import { parseSpdxTagValue } from '../../../src/sbom/spdx-tagvalue';
import { arbDocument, arbText, toJson, toTagValue } from './support';

const RUNS = { numRuns: 200 };

describe('round trips', () => {
  test('a document generated from the model reads back as the same model (tag-value)', () => {
    fc.assert(
      fc.property(
        arbDocument,
        fc.record({ eol: fc.constantFrom('\n' as const, '\r\n' as const), dashedCategories: fc.boolean(), comments: fc.boolean() }),
        (doc, style) => {
          expect(parseSpdxTagValue(toTagValue(doc, style))).toEqual(doc);
        },
      ),
      RUNS,
    );
  });

  test('a document generated from the model reads back as the same model (JSON)', () => {
    fc.assert(
      fc.property(arbDocument, (doc) => {
        expect(parseSpdxJson(toJson(doc))).toEqual({ ...doc, format: 'json' });
        // and parseSpdx tells the formats apart by itself
        expect(parseSpdx(Buffer.from(toJson(doc))).format).toBe('json');
        expect(parseSpdx(toTagValue(doc)).format).toBe('tag-value');
      }),
      RUNS,
    );
  });

  test('multi-line <text> with arbitrary content round-trips, in every field that keeps text', () => {
    fc.assert(
      fc.property(arbText, fc.constantFrom('\n', '\r\n'), (text, eol) => {
        const lines = [
          'SPDXVersion: SPDX-2.3',
          'SPDXID: SPDXRef-DOCUMENT',
          'DocumentName: t',
          'DocumentNamespace: https://example.com/t',
          'Creator: Tool: t',
          `DocumentComment: <text>${text}</text>`,
          'PackageName: p',
          'SPDXID: SPDXRef-p',
          `PackageCopyrightText: <text>${text}</text>`,
          `PackageDescription: <text>${text}</text>   `,
          'LicenseID: LicenseRef-x',
          `ExtractedText: <text>${text}</text>`,
          'Relationship: SPDXRef-DOCUMENT DESCRIBES SPDXRef-p',
          `RelationshipComment: <text>${text}</text>`,
        ];
        const doc = parseSpdxTagValue(
          lines
            .join(eol)
            .split('\n')
            .join(eol === '\r\n' ? '\r\n' : '\n'),
        );
        expect(doc.comment).toBe(text);
        expect(doc.packages[0]?.copyrightText).toBe(text);
        expect(doc.packages[0]?.description).toBe(text);
        expect(doc.otherLicenses[0]?.extractedText).toBe(text);
        expect(doc.relationships[0]?.comment).toBe(text);
      }),
      { numRuns: 300 },
    );
  });
});

/** Runs `parse` and accepts only success or an ImgverifyError. */
function onlyImgverifyErrors(parse: () => unknown): void {
  try {
    parse();
  } catch (err) {
    if (!(err instanceof ImgverifyError)) throw err;
    expect(['SBOM_INVALID', 'SBOM_INVALID']).toContain(err.code);
  }
}

const TAGS = [
  'SPDXVersion',
  'SPDXID',
  'DocumentName',
  'PackageName',
  'FileName',
  'SnippetSPDXID',
  'LicenseID',
  'ExternalRef',
  'Relationship',
  'PackageChecksum',
  'Creator',
  'ExternalDocumentRef',
  'ExtractedText',
  'Annotator',
  'SPDXREF',
  'RelationshipComment',
  'ExternalRefComment',
];
const arbLine = fc.oneof(
  fc.string({ unit: 'binary' }),
  fc
    .tuple(fc.constantFrom(...TAGS), fc.oneof(fc.string(), fc.constantFrom('<text>', '</text>', 'SPDXRef-DOCUMENT', 'PACKAGE-MANAGER purl pkg:oci/x@sha256:1')))
    .map(([t, v]) => `${t}: ${v}`),
  fc.constantFrom('', '#', '</text>', '<text>', ':', 'Relationship: SPDXRef-DOCUMENT DESCRIBES SPDXRef-DOCUMENT'),
);

/** A valid document, then broken: lines dropped, repeated, swapped, replaced, or cut. */
const arbBrokenTagValue = fc
  .tuple(
    arbDocument,
    fc.array(fc.tuple(fc.nat(), fc.nat(), fc.constantFrom('drop', 'repeat', 'swap', 'replace', 'cut'), arbLine), { minLength: 1, maxLength: 4 }),
  )
  .map(([doc, edits]) => {
    let lines = toTagValue(doc, { comments: true }).split('\n');
    for (const [a, b, op, line] of edits) {
      const i = a % lines.length;
      const j = b % lines.length;
      if (op === 'drop') lines.splice(i, 1);
      else if (op === 'repeat') lines.splice(i, 0, lines[i] ?? '');
      else if (op === 'swap') [lines[i], lines[j]] = [lines[j] ?? '', lines[i] ?? ''];
      else if (op === 'replace') lines[i] = line;
      else lines = lines.slice(0, i);
    }
    return lines.join('\n');
  });

describe('nothing but ImgverifyError, whatever the input', () => {
  test('tag-value: arbitrary text and bytes', () => {
    fc.assert(
      fc.property(
        fc.oneof(
          fc.string({ unit: 'binary' }),
          fc.array(arbLine).map((l) => l.join('\n')),
        ),
        (text) => {
          onlyImgverifyErrors(() => parseSpdxTagValue(text));
        },
      ),
      { numRuns: 500 },
    );
    fc.assert(
      fc.property(fc.uint8Array(), (bytes) => onlyImgverifyErrors(() => parseSpdxTagValue(Buffer.from(bytes)))),
      { numRuns: 300 },
    );
  });

  test('tag-value: valid documents with broken lines (and their images)', () => {
    fc.assert(
      fc.property(arbBrokenTagValue, (text) => {
        onlyImgverifyErrors(() => imagesFromSbom(text));
      }),
      { numRuns: 500 },
    );
  });

  test('JSON: arbitrary JSON values, broken JSON, documents with fields of the wrong type', () => {
    const wrongTypes = fc.tuple(arbDocument, fc.jsonValue(), fc.nat()).map(([doc, junk, n]) => {
      const o = JSON.parse(toJson(doc)) as Record<string, unknown>;
      const paths: Array<(v: unknown) => void> = [
        (v) => (o['packages'] = v),
        (v) => (o['creationInfo'] = v),
        (v) => (o['relationships'] = [v]),
        (v) => (o['packages'] as unknown[]).push(v),
        (v) => (o['documentDescribes'] = v),
        (v) => (o['externalDocumentRefs'] = [v]),
        (v) => (o['files'] = [{ SPDXID: 'SPDXRef-f', fileName: 'f', checksums: v }]),
      ];
      paths[n % paths.length]?.(junk);
      return JSON.stringify(o);
    });
    fc.assert(
      fc.property(
        fc.oneof(
          fc.json(),
          fc.json().map((j) => j.slice(0, -1)),
          wrongTypes,
        ),
        (text) => {
          onlyImgverifyErrors(() => parseSpdx(text));
          onlyImgverifyErrors(() => imagesFromSbom(text));
        },
      ),
      { numRuns: 500 },
    );
  });
});
