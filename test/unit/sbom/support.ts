/**
 * Test support: small serializers from the document model to SPDX tag-value and JSON, and
 * fast-check arbitraries of documents, so that properties can say "a generated document
 * round-trips". The serializers write only what the model keeps; they are not product code
 * (the verifier reads SBOMs, it never writes them).
 */
import fc from 'fast-check';
import type { SpdxChecksum, SpdxDocument, SpdxExternalRef, SpdxPackage } from '../../../src/sbom/model';
import { RELATIONSHIP_TYPES } from '../../../src/sbom/vocabulary';

export interface TagValueStyle {
  /** Line ending (default "\n"). */
  eol?: '\n' | '\r\n';
  /** Write `PACKAGE-MANAGER` (tag-value 2.2) instead of `PACKAGE_MANAGER`. */
  dashedCategories?: boolean;
  /** Put `#` comments and blank lines between sections, as bom does. */
  comments?: boolean;
}

/** A value as tag-value can carry it: plain when it survives trimming on one line, else `<text>`. */
function tagValue(value: string): string {
  const plain = value !== '' && value === value.trim() && !/[\r\n]/.test(value) && !value.startsWith('<text>');
  return plain ? value : `<text>${value}</text>`;
}

export function toTagValue(doc: SpdxDocument, style: TagValueStyle = {}): string {
  const out: string[] = [];
  const put = (tag: string, value: string | undefined): void => {
    if (value !== undefined) out.push(`${tag}: ${tagValue(value)}`);
  };
  const checksum = (tag: string, c: SpdxChecksum): void => {
    out.push(`${tag}: ${c.algorithm}: ${c.value}`);
  };
  const category = (ref: SpdxExternalRef): string => (style.dashedCategories ? ref.category.replace(/_/g, '-') : ref.category);

  put('SPDXVersion', doc.spdxVersion);
  put('DataLicense', doc.dataLicense);
  put('SPDXID', doc.spdxId);
  put('DocumentName', doc.name);
  put('DocumentNamespace', doc.namespace);
  for (const r of doc.externalDocumentRefs) out.push(`ExternalDocumentRef: ${r.id} ${r.uri} ${r.checksum.algorithm}: ${r.checksum.value}`);
  for (const c of doc.creators) put('Creator', c);
  put('Created', doc.created);
  put('DocumentComment', doc.comment);

  for (const p of doc.packages) {
    if (style.comments) out.push('', `##### Package: ${p.name.split('\n')[0]}`, '');
    writePackage(p, put, checksum, category, out);
  }
  for (const f of doc.files) {
    if (style.comments) out.push('');
    put('FileName', f.name);
    put('SPDXID', f.spdxId);
    for (const c of f.checksums) checksum('FileChecksum', c);
    put('LicenseConcluded', f.licenseConcluded);
    put('FileCopyrightText', f.copyrightText);
    put('FileComment', f.comment);
  }
  for (const s of doc.snippets) {
    put('SnippetSPDXID', s.spdxId);
    put('SnippetFromFileSPDXID', s.fromFile);
    put('SnippetName', s.name);
  }
  for (const l of doc.otherLicenses) {
    put('LicenseID', l.licenseId);
    put('LicenseName', l.name);
    put('ExtractedText', l.extractedText);
  }
  for (const r of doc.relationships) {
    out.push(`Relationship: ${r.element} ${r.type} ${r.related}`);
    put('RelationshipComment', r.comment);
  }
  const eol = style.eol ?? '\n';
  return out.join(eol) + eol;
}

function writePackage(
  p: SpdxPackage,
  put: (tag: string, value: string | undefined) => void,
  checksum: (tag: string, c: SpdxChecksum) => void,
  category: (ref: SpdxExternalRef) => string,
  out: string[],
): void {
  put('PackageName', p.name);
  put('SPDXID', p.spdxId);
  put('PackageVersion', p.version);
  put('PackageFileName', p.fileName);
  put('PackageSupplier', p.supplier);
  put('PackageOriginator', p.originator);
  put('PackageDownloadLocation', p.downloadLocation);
  if (p.filesAnalyzed !== undefined) put('FilesAnalyzed', String(p.filesAnalyzed));
  for (const c of p.checksums) checksum('PackageChecksum', c);
  put('PackageHomePage', p.homepage);
  put('PackageSourceInfo', p.sourceInfo);
  put('PackageLicenseConcluded', p.licenseConcluded);
  put('PackageLicenseDeclared', p.licenseDeclared);
  put('PackageCopyrightText', p.copyrightText);
  put('PackageSummary', p.summary);
  put('PackageDescription', p.description);
  put('PackageComment', p.comment);
  put('PrimaryPackagePurpose', p.primaryPurpose);
  for (const r of p.externalRefs) {
    out.push(`ExternalRef: ${category(r)} ${r.type} ${r.locator}`);
    put('ExternalRefComment', r.comment);
  }
}

/** The same model as SPDX 2.3 JSON. */
export function toJson(doc: SpdxDocument): string {
  const opt = (key: string, value: unknown): Record<string, unknown> => (value === undefined ? {} : { [key]: value });
  const checksums = (cs: SpdxChecksum[]): unknown[] => cs.map((c) => ({ algorithm: c.algorithm, checksumValue: c.value }));
  return JSON.stringify({
    spdxVersion: doc.spdxVersion,
    ...opt('dataLicense', doc.dataLicense),
    SPDXID: doc.spdxId,
    name: doc.name,
    documentNamespace: doc.namespace,
    ...opt('comment', doc.comment),
    creationInfo: { creators: doc.creators, ...opt('created', doc.created) },
    externalDocumentRefs: doc.externalDocumentRefs.map((r) => ({
      externalDocumentId: r.id,
      spdxDocument: r.uri,
      checksum: { algorithm: r.checksum.algorithm, checksumValue: r.checksum.value },
    })),
    packages: doc.packages.map((p) => ({
      SPDXID: p.spdxId,
      name: p.name,
      ...opt('versionInfo', p.version),
      ...opt('packageFileName', p.fileName),
      ...opt('supplier', p.supplier),
      ...opt('originator', p.originator),
      ...opt('downloadLocation', p.downloadLocation),
      ...opt('filesAnalyzed', p.filesAnalyzed),
      ...opt('homepage', p.homepage),
      ...opt('sourceInfo', p.sourceInfo),
      ...opt('licenseConcluded', p.licenseConcluded),
      ...opt('licenseDeclared', p.licenseDeclared),
      ...opt('copyrightText', p.copyrightText),
      ...opt('summary', p.summary),
      ...opt('description', p.description),
      ...opt('comment', p.comment),
      ...opt('primaryPackagePurpose', p.primaryPurpose),
      checksums: checksums(p.checksums),
      externalRefs: p.externalRefs.map((r) => ({
        referenceCategory: r.category,
        referenceType: r.type,
        referenceLocator: r.locator,
        ...opt('comment', r.comment),
      })),
    })),
    files: doc.files.map((f) => ({
      SPDXID: f.spdxId,
      fileName: f.name,
      checksums: checksums(f.checksums),
      ...opt('licenseConcluded', f.licenseConcluded),
      ...opt('copyrightText', f.copyrightText),
      ...opt('comment', f.comment),
    })),
    snippets: doc.snippets.map((s) => ({ SPDXID: s.spdxId, ...opt('snippetFromFile', s.fromFile), ...opt('name', s.name) })),
    hasExtractedLicensingInfos: doc.otherLicenses.map((l) => ({
      licenseId: l.licenseId,
      ...opt('name', l.name),
      ...opt('extractedText', l.extractedText),
    })),
    relationships: doc.relationships.map((r) => ({
      spdxElementId: r.element,
      relationshipType: r.type,
      relatedSpdxElement: r.related,
      ...opt('comment', r.comment),
    })),
  });
}

// ----- arbitraries --------------------------------------------------------------------------

/** Any text a `<text>` value can hold: colons, `#`, blank lines, tags, unicode; no `</text>`, no CR. */
export const arbText: fc.Arbitrary<string> = fc
  .array(
    fc.oneof(
      fc.string({ unit: 'binary', maxLength: 12 }),
      fc.constantFrom('\n', '\n\n', ':', ' : ', '#', '# comment', 'PackageName: x', '<text>', '</tex', 'text>', '\t', '  '),
    ),
    { maxLength: 8 },
  )
  .map((parts) => parts.join(''))
  .filter((s) => !s.includes('</text>') && !s.includes('\r'));

/** A free-text field value: plain or multi-line. */
const arbValue: fc.Arbitrary<string> = fc.oneof(
  fc.string({ unit: 'grapheme', minLength: 1, maxLength: 20 }).filter((s) => s === s.trim() && s !== '' && !/[\r\n]/.test(s)),
  arbText.filter((s) => s !== ''),
);
/** A one-line value (names, namespaces): non-empty after trimming. */
const arbLine: fc.Arbitrary<string> = fc
  .string({ unit: 'grapheme', minLength: 1, maxLength: 24 })
  .filter((s) => s === s.trim() && s !== '' && !/[\r\n]/.test(s) && !s.startsWith('<text>'));
const arbToken: fc.Arbitrary<string> = fc.stringMatching(/^[!-~]{1,30}$/);
const arbIdTail: fc.Arbitrary<string> = fc.stringMatching(/^[A-Za-z0-9.-]{1,12}$/);
const hex = (length: number): fc.Arbitrary<string> => fc.stringMatching(new RegExp(`^[0-9a-f]{${length}}$`));
const arbChecksum: fc.Arbitrary<SpdxChecksum> = fc.oneof(
  hex(40).map((value) => ({ algorithm: 'SHA1', value })),
  hex(64).map((value) => ({ algorithm: 'SHA256', value })),
  hex(32).map((value) => ({ algorithm: 'MD5', value })),
  hex(128).map((value) => ({ algorithm: 'SHA512', value })),
);
const opt = <T>(arb: fc.Arbitrary<T>): fc.Arbitrary<T | undefined> => fc.option(arb, { nil: undefined });

/** Drops undefined fields, so that generated models compare equal to parsed ones. */
function compact<T extends object>(o: T): { [K in keyof T]: Exclude<T[K], undefined> } {
  return Object.fromEntries(Object.entries(o).filter(([, v]) => v !== undefined)) as { [K in keyof T]: Exclude<T[K], undefined> };
}

const arbExternalRef: fc.Arbitrary<SpdxExternalRef> = fc
  .record({
    category: fc.constantFrom('SECURITY', 'PACKAGE_MANAGER', 'PERSISTENT_ID', 'OTHER'),
    type: fc.stringMatching(/^[A-Za-z0-9-]{1,10}$/),
    locator: arbToken,
    comment: opt(arbValue),
  })
  .map(compact);

const arbPackage = (index: number): fc.Arbitrary<SpdxPackage> =>
  fc
    .record({
      spdxId: arbIdTail.map((t) => `SPDXRef-Package-${index}-${t}`),
      name: arbLine,
      version: opt(arbLine),
      fileName: opt(arbLine),
      supplier: opt(arbLine),
      originator: opt(arbLine),
      downloadLocation: opt(arbLine),
      filesAnalyzed: opt(fc.boolean()),
      homepage: opt(arbLine),
      sourceInfo: opt(arbValue),
      licenseConcluded: opt(arbLine),
      licenseDeclared: opt(arbLine),
      copyrightText: opt(arbValue),
      summary: opt(arbValue),
      description: opt(arbValue),
      comment: opt(arbValue),
      primaryPurpose: opt(fc.constantFrom('CONTAINER', 'LIBRARY', 'OPERATING_SYSTEM', 'APPLICATION')),
      checksums: fc.array(arbChecksum, { maxLength: 3 }),
      externalRefs: fc.array(arbExternalRef, { maxLength: 3 }),
    })
    .map(compact);

/** Documents whose cross-references hold (unique ids, relationships to defined elements). */
export const arbDocument: fc.Arbitrary<SpdxDocument> = fc
  .record({
    packageCount: fc.nat({ max: 4 }),
    fileCount: fc.nat({ max: 2 }),
    snippetCount: fc.nat({ max: 1 }),
    licenseCount: fc.nat({ max: 1 }),
    externalDocs: fc.nat({ max: 1 }),
  })
  .chain(({ packageCount, fileCount, snippetCount, licenseCount, externalDocs }) => {
    const fileIds = Array.from({ length: fileCount }, (_, i) => `SPDXRef-File-${i}`);
    const docRefs = Array.from({ length: externalDocs }, (_, i) => `DocumentRef-ext-${i}`);
    return fc
      .record({
        spdxVersion: fc.constantFrom('SPDX-2.2', 'SPDX-2.3'),
        dataLicense: opt(fc.constant('CC0-1.0')),
        name: arbLine,
        namespace: arbLine,
        creators: fc.array(
          arbLine.map((s) => `Tool: ${s}`),
          { minLength: 1, maxLength: 3 },
        ),
        created: opt(fc.constant('2024-12-11T18:13:58Z')),
        comment: opt(arbValue),
        externalDocumentRefs: fc.tuple(
          ...docRefs.map((id) => hex(40).map((h) => ({ id, uri: `https://example.com/${id}`, checksum: { algorithm: 'SHA1', value: h } }))),
        ),
        packages: fc.tuple(...Array.from({ length: packageCount }, (_, i) => arbPackage(i))),
        files: fc.tuple(
          ...fileIds.map((spdxId) =>
            fc
              .record({
                spdxId: fc.constant(spdxId),
                name: arbLine,
                checksums: fc.array(arbChecksum, { maxLength: 2 }),
                licenseConcluded: opt(arbLine),
                copyrightText: opt(arbValue),
                comment: opt(arbValue),
              })
              .map(compact),
          ),
        ),
        snippets: fc.tuple(
          ...Array.from({ length: snippetCount }, (_, i) =>
            fc
              .record({ spdxId: fc.constant(`SPDXRef-Snippet-${i}`), fromFile: opt(fc.constantFrom(...fileIds, 'SPDXRef-elsewhere')), name: opt(arbLine) })
              .map(compact),
          ),
        ),
        otherLicenses: fc.tuple(
          ...Array.from({ length: licenseCount }, (_, i) =>
            fc.record({ licenseId: fc.constant(`LicenseRef-${i}`), name: opt(arbLine), extractedText: opt(arbValue) }).map(compact),
          ),
        ),
      })
      .chain((partial) => {
        const ids = ['SPDXRef-DOCUMENT', ...partial.packages.map((p) => p.spdxId), ...fileIds, ...partial.snippets.map((s) => s.spdxId)];
        const refs = [...ids, ...docRefs.map((d) => `${d}:SPDXRef-Package-remote`)];
        const relationship = fc
          .record({
            element: fc.constantFrom(...ids),
            type: fc.constantFrom(...RELATIONSHIP_TYPES),
            related: fc.constantFrom(...refs, 'NONE', 'NOASSERTION'),
            comment: opt(arbValue),
          })
          .map(compact);
        return fc
          .array(relationship, { maxLength: 5 })
          .map((relationships): SpdxDocument => compact({ format: 'tag-value' as const, spdxId: 'SPDXRef-DOCUMENT', ...partial, relationships }));
      });
  });
