/**
 * A strict parser of SPDX 2.x tag-value documents (developed against 2.2 and 2.3, and against
 * what the Kubernetes `bom` tool writes: see docs/sbom.md).
 *
 * Hand-written on purpose: no maintained npm package parses SPDX documents (tag-value or JSON),
 * and the grammar is small. It follows the reference reader (spdx/tools-golang) where SPDX is
 * silent, and is stricter where leniency would let a document be misread:
 *
 * - every non-blank, non-comment line is `Tag: value`; `Tag` is a known SPDX 2.3 tag;
 * - a value starting with `<text>` runs to the next `</text>`, across lines, keeping colons,
 *   `#` and blank lines; nothing but white space may follow `</text>`; CRLF reads as LF;
 * - sections start with their leading tag (PackageName, FileName, SnippetSPDXID, LicenseID);
 *   a tag of another section is an error, and so is a second value of a single-valued tag;
 * - values the verifier interprets (identifiers, relationships, external references,
 *   checksums, versions) are validated; other values are kept or dropped as opaque text.
 *
 * Every error is ImgverifyError(MALFORMED_CONTENT) naming the line (details.line, .column).
 * One pass over the text, no backtracking: linear in the input, which is bounded (maxBytes).
 */
import { ImgverifyError } from '../errors';
import { crossCheck, type Where } from './crosscheck';
import { decodeSbomInput, resolveMaxBytes, type SbomInputOptions } from './input';
import { SECTION_START, TAGS, type Section, type TagSpec } from './tagvalue-tags';
import type { SpdxChecksum, SpdxDocument, SpdxExternalRef, SpdxFile, SpdxOtherLicense, SpdxPackage, SpdxSnippet } from './model';
import {
  checkChecksum,
  CREATOR_RE,
  DOCUMENT_REF_RE,
  DOCUMENT_SPDX_ID,
  ELEMENT_REF_RE,
  EXTERNAL_REF_CATEGORIES,
  LICENSE_REF_RE,
  PACKAGE_PURPOSES,
  quote,
  RELATIONSHIP_TYPES,
  SPDX_ID_RE,
  SPDX_VERSION_RE,
  underscored,
} from './vocabulary';

export type TagValueOptions = SbomInputOptions;

const TAG_RE = /^[A-Za-z][A-Za-z0-9]*$/;
const TEXT_OPEN = '<text>';
const TEXT_CLOSE = '</text>';

/** The element being filled, with the lines its single-valued tags were seen on. */
interface Open<T> {
  readonly value: T;
  readonly line: number;
  readonly seen: Map<string, number>;
}

interface PendingText {
  readonly tag: string;
  readonly line: number;
  readonly column: number;
  readonly parts: string[];
}

/** Parses an SPDX 2.x tag-value document. Throws ImgverifyError (MALFORMED_CONTENT, SIZE_LIMIT_EXCEEDED). */
export function parseSpdxTagValue(input: string | Uint8Array, opts?: TagValueOptions): SpdxDocument {
  const text = decodeSbomInput(input, resolveMaxBytes(opts));
  const parser = new TagValueParser();
  let line = 0;
  for (let pos = 0; ;) {
    const nl = text.indexOf('\n', pos);
    const end = nl === -1 ? text.length : nl;
    const raw = text.charCodeAt(end - 1) === 0x0d && end > pos ? text.slice(pos, end - 1) : text.slice(pos, end);
    parser.line(raw, ++line);
    if (nl === -1) break;
    pos = nl + 1;
  }
  return parser.finish(line);
}

function fail(line: number, message: string, column?: number): never {
  throw new ImgverifyError('SBOM_INVALID', `SPDX tag-value line ${line}: ${message}`, {
    details: column === undefined ? { line } : { line, column },
  });
}

class TagValueParser {
  private readonly doc: SpdxDocument = {
    format: 'tag-value',
    spdxVersion: '',
    spdxId: '',
    name: '',
    namespace: '',
    creators: [],
    externalDocumentRefs: [],
    packages: [],
    files: [],
    snippets: [],
    otherLicenses: [],
    relationships: [],
  };
  private readonly header = new Map<string, number>();
  private section: Section = 'document';
  /** The line the current section started on (1 for the document creation section). */
  private sectionLine = 1;
  private headerEnd: number | undefined;
  private pkg: Open<SpdxPackage> | undefined;
  private file: Open<SpdxFile> | undefined;
  private snippet: Open<SpdxSnippet> | undefined;
  private license: Open<SpdxOtherLicense> | undefined;
  private relationship: Open<null> | undefined;
  private annotation: Open<null> | undefined;
  private review: Open<null> | undefined;
  private text: PendingText | undefined;
  /** Source lines, for the cross-reference checks done once the whole document is read. */
  private readonly lines = { package: [] as number[], file: [] as number[], snippet: [] as number[], relationship: [] as number[] };

  line(raw: string, n: number): void {
    if (this.text) return this.textLine(raw, n);
    const start = raw.length - raw.trimStart().length;
    if (start === raw.length || raw[start] === '#') return; // blank line or comment
    const colon = raw.indexOf(':');
    if (colon === -1) fail(n, `expected "Tag: value", got ${quote(raw.trim())}`, start + 1);
    const tag = raw.slice(start, colon).trim();
    if (!TAG_RE.test(tag)) fail(n, `malformed tag ${quote(tag)}`, start + 1);
    if (!TAGS.has(tag)) fail(n, `unknown tag ${quote(tag)}`, start + 1);
    const after = raw.slice(colon + 1);
    const column = colon + 2 + (after.length - after.trimStart().length);
    const value = after.trim();
    if (!value.startsWith(TEXT_OPEN)) return this.field(tag, value, n, column, false);
    const body = after.slice(after.indexOf(TEXT_OPEN) + TEXT_OPEN.length);
    const close = body.indexOf(TEXT_CLOSE);
    if (close === -1) {
      this.text = { tag, line: n, column, parts: [body] };
      return;
    }
    this.afterClose(body.slice(close + TEXT_CLOSE.length), n);
    this.field(tag, body.slice(0, close), n, column, true);
  }

  private textLine(raw: string, n: number): void {
    const pending = this.text as PendingText;
    const close = raw.indexOf(TEXT_CLOSE);
    if (close === -1) {
      pending.parts.push(raw);
      return;
    }
    this.afterClose(raw.slice(close + TEXT_CLOSE.length), n, close + TEXT_CLOSE.length + 1);
    pending.parts.push(raw.slice(0, close));
    this.text = undefined;
    this.field(pending.tag, pending.parts.join('\n'), pending.line, pending.column, true);
  }

  private afterClose(rest: string, n: number, column?: number): void {
    if (rest.trim() !== '') fail(n, `unexpected ${quote(rest.trim())} after </text>`, column);
  }

  finish(lastLine: number): SpdxDocument {
    if (this.text) fail(this.text.line, `<text> value of ${this.text.tag} is never closed by </text>`, this.text.column);
    this.closeSection();
    const doc = this.doc;
    const end = this.headerEnd ?? lastLine;
    const missing = (what: string): never => fail(end, `the document creation section (lines 1-${end}) has no ${what}`);
    if (!doc.spdxVersion) missing('SPDXVersion');
    if (!doc.spdxId) missing('SPDXID');
    if (!doc.name) missing('DocumentName');
    if (!doc.namespace) missing('DocumentNamespace');
    if (doc.creators.length === 0) missing('Creator');
    crossCheck(doc, (where, message) => fail(this.lineOf(where), message));
    return doc;
  }

  private lineOf(where: Where): number {
    return where.kind === 'document' ? 1 : (this.lines[where.kind][where.index] ?? 1);
  }

  private field(tag: string, value: string, n: number, column: number, isText: boolean): void {
    if (value === '' && !isText) fail(n, `${tag} has an empty value`, column);
    const spec = TAGS.get(tag) as TagSpec;
    switch (spec.in) {
      case 'relationship':
        return this.relationshipField(tag, value, n, column);
      case 'annotation':
      case 'review':
        return this.annotationField(spec.in, tag, value, n, column);
      default:
        break;
    }
    if (spec.in !== 'document' && tag === SECTION_START[spec.in]) return this.startSection(spec.in, value, n, column);
    if (tag === 'SPDXID') return this.spdxId(value, n, column);
    if (spec.in !== this.section) this.wrongSection(tag, spec.in, n);
    const seen = this.currentSeen();
    if (!spec.multi) {
      const first = seen.get(tag);
      if (first !== undefined) fail(n, `${tag} appears twice in this ${this.sectionName()} (first on line ${first})`);
      seen.set(tag, n);
    }
    switch (this.section) {
      case 'document':
        return this.documentField(tag, value, n, column);
      case 'package':
        return this.packageField(tag, value, n, column);
      case 'file':
        return this.fileField(tag, value, n, column);
      case 'snippet':
        return this.snippetField(tag, value, n, column);
      case 'license':
        return this.licenseField(tag, value);
    }
  }

  private wrongSection(tag: string, belongs: Section, n: number): never {
    if (belongs === 'document') {
      fail(n, `${tag} belongs to the document creation section, which ended on line ${this.headerEnd ?? n}`);
    }
    const starter = SECTION_START[belongs];
    if (this.section === 'document') fail(n, `${tag} before any ${starter}`);
    fail(n, `${tag} is not valid in the ${this.sectionName()} that starts on line ${this.sectionLine}; it belongs after a ${starter}`);
  }

  private sectionName(): string {
    switch (this.section) {
      case 'document':
        return 'document creation section';
      case 'package':
        return `package ${quote(this.pkg?.value.name ?? '')}`;
      case 'file':
        return `file ${quote(this.file?.value.name ?? '')}`;
      case 'snippet':
        return `snippet ${this.snippet?.value.spdxId ?? ''}`;
      case 'license':
        return `license ${this.license?.value.licenseId ?? ''}`;
    }
  }

  private currentSeen(): Map<string, number> {
    switch (this.section) {
      case 'document':
        return this.header;
      case 'package':
        return (this.pkg as Open<SpdxPackage>).seen;
      case 'file':
        return (this.file as Open<SpdxFile>).seen;
      case 'snippet':
        return (this.snippet as Open<SpdxSnippet>).seen;
      case 'license':
        return (this.license as Open<SpdxOtherLicense>).seen;
    }
  }

  private startSection(section: Exclude<Section, 'document'>, value: string, n: number, column: number): void {
    this.closeSection();
    this.headerEnd ??= n - 1;
    this.section = section;
    this.sectionLine = n;
    const seen = new Map([[SECTION_START[section], n]]);
    switch (section) {
      case 'package':
        this.pkg = { value: { spdxId: '', name: value, checksums: [], externalRefs: [] }, line: n, seen };
        return;
      case 'file':
        this.file = { value: { spdxId: '', name: value, checksums: [] }, line: n, seen };
        return;
      case 'snippet':
        if (!SPDX_ID_RE.test(value)) fail(n, `SnippetSPDXID ${quote(value)} is not an SPDXRef- identifier`, column);
        this.snippet = { value: { spdxId: value }, line: n, seen };
        return;
      case 'license':
        if (!LICENSE_REF_RE.test(value)) fail(n, `LicenseID ${quote(value)} is not a LicenseRef- identifier`, column);
        this.license = { value: { licenseId: value }, line: n, seen };
        return;
    }
  }

  /** Files the finished section into the document, checking what it must have. */
  private closeSection(): void {
    if (this.pkg) {
      const { value, line } = this.pkg;
      if (!value.spdxId) fail(line, `package ${quote(value.name)} has no SPDXID`);
      this.doc.packages.push(value);
      this.lines.package.push(line);
      this.pkg = undefined;
    }
    if (this.file) {
      const { value, line } = this.file;
      if (!value.spdxId) fail(line, `file ${quote(value.name)} has no SPDXID`);
      this.doc.files.push(value);
      this.lines.file.push(line);
      this.file = undefined;
    }
    if (this.snippet) {
      this.doc.snippets.push(this.snippet.value);
      this.lines.snippet.push(this.snippet.line);
      this.snippet = undefined;
    }
    if (this.license) {
      this.doc.otherLicenses.push(this.license.value);
      this.license = undefined;
    }
  }

  private spdxId(value: string, n: number, column: number): void {
    if (this.section === 'snippet' || this.section === 'license') {
      fail(n, `SPDXID is not valid in the ${this.sectionName()} (a snippet's identifier is its SnippetSPDXID)`);
    }
    const seen = this.currentSeen();
    const first = seen.get('SPDXID');
    if (first !== undefined) fail(n, `SPDXID appears twice in this ${this.sectionName()} (first on line ${first})`);
    seen.set('SPDXID', n);
    if (this.section === 'document') {
      if (value !== DOCUMENT_SPDX_ID) fail(n, `the document's SPDXID must be ${DOCUMENT_SPDX_ID}, got ${quote(value)}`, column);
      this.doc.spdxId = value;
      return;
    }
    if (!SPDX_ID_RE.test(value)) fail(n, `SPDXID ${quote(value)} is not an SPDXRef- identifier`, column);
    if (this.section === 'package') (this.pkg as Open<SpdxPackage>).value.spdxId = value;
    else (this.file as Open<SpdxFile>).value.spdxId = value;
  }

  private documentField(tag: string, value: string, n: number, column: number): void {
    const doc = this.doc;
    switch (tag) {
      case 'SPDXVersion':
        if (!SPDX_VERSION_RE.test(value)) fail(n, `unsupported SPDXVersion ${quote(value)} (expected SPDX-2.0 to SPDX-2.3)`, column);
        doc.spdxVersion = value;
        return;
      case 'DataLicense':
        doc.dataLicense = value;
        return;
      case 'DocumentName':
        doc.name = value;
        return;
      case 'DocumentNamespace':
        doc.namespace = value;
        return;
      case 'Creator':
        if (!CREATOR_RE.test(value)) fail(n, `Creator ${quote(value)} must start with "Person:", "Organization:" or "Tool:"`, column);
        doc.creators.push(value);
        return;
      case 'Created':
        doc.created = value;
        return;
      case 'DocumentComment':
        doc.comment = value;
        return;
      case 'ExternalDocumentRef': {
        // DocumentRef-<id> <uri> <ALGORITHM>: <hex>
        const m = /^(\S+)\s+(\S+)\s+([A-Za-z0-9-]+):\s*(\S+)$/.exec(value);
        if (!m) fail(n, `ExternalDocumentRef must be "DocumentRef-<id> <uri> <ALGORITHM>: <hex>", got ${quote(value)}`, column);
        const [, id, uri, algorithm, hex] = m as unknown as [string, string, string, string, string];
        if (!DOCUMENT_REF_RE.test(id)) fail(n, `${quote(id)} is not a DocumentRef- identifier`, column);
        const checksum = checkChecksum(algorithm, hex);
        if (typeof checksum === 'string') fail(n, `ExternalDocumentRef ${id}: ${checksum}`, column);
        doc.externalDocumentRefs.push({ id, uri, checksum });
        return;
      }
      default:
        return; // LicenseListVersion, CreatorComment: not used
    }
  }

  private packageField(tag: string, value: string, n: number, column: number): void {
    const pkg = (this.pkg as Open<SpdxPackage>).value;
    switch (tag) {
      case 'PackageVersion':
        pkg.version = value;
        return;
      case 'PackageFileName':
        pkg.fileName = value;
        return;
      case 'PackageSupplier':
        pkg.supplier = value;
        return;
      case 'PackageOriginator':
        pkg.originator = value;
        return;
      case 'PackageDownloadLocation':
        pkg.downloadLocation = value;
        return;
      case 'PackageHomePage':
        pkg.homepage = value;
        return;
      case 'PackageSourceInfo':
        pkg.sourceInfo = value;
        return;
      case 'PackageLicenseConcluded':
        pkg.licenseConcluded = value;
        return;
      case 'PackageLicenseDeclared':
        pkg.licenseDeclared = value;
        return;
      case 'PackageCopyrightText':
        pkg.copyrightText = value;
        return;
      case 'PackageSummary':
        pkg.summary = value;
        return;
      case 'PackageDescription':
        pkg.description = value;
        return;
      case 'PackageComment':
        pkg.comment = value;
        return;
      case 'FilesAnalyzed':
        if (value !== 'true' && value !== 'false') fail(n, `FilesAnalyzed must be true or false, got ${quote(value)}`, column);
        pkg.filesAnalyzed = value === 'true';
        return;
      case 'PrimaryPackagePurpose': {
        const purpose = underscored(value);
        if (!PACKAGE_PURPOSES.has(purpose)) fail(n, `unknown PrimaryPackagePurpose ${quote(value)}`, column);
        pkg.primaryPurpose = purpose;
        return;
      }
      case 'PackageChecksum':
        pkg.checksums.push(parseChecksum(tag, value, n, column));
        return;
      case 'ExternalRef':
        pkg.externalRefs.push(parseExternalRef(value, n, column));
        return;
      case 'ExternalRefComment': {
        const last = pkg.externalRefs[pkg.externalRefs.length - 1];
        if (!last) fail(n, 'ExternalRefComment without a preceding ExternalRef');
        if (last.comment !== undefined) fail(n, 'a second ExternalRefComment for the same ExternalRef');
        last.comment = value;
        return;
      }
      default:
        return; // license info, verification code, attribution, dates: not used
    }
  }

  private fileField(tag: string, value: string, n: number, column: number): void {
    const file = (this.file as Open<SpdxFile>).value;
    switch (tag) {
      case 'FileChecksum':
        file.checksums.push(parseChecksum(tag, value, n, column));
        return;
      case 'LicenseConcluded':
        file.licenseConcluded = value;
        return;
      case 'FileCopyrightText':
        file.copyrightText = value;
        return;
      case 'FileComment':
        file.comment = value;
        return;
      default:
        return;
    }
  }

  private snippetField(tag: string, value: string, n: number, column: number): void {
    const snippet = (this.snippet as Open<SpdxSnippet>).value;
    if (tag === 'SnippetFromFileSPDXID') {
      if (!ELEMENT_REF_RE.test(value)) fail(n, `SnippetFromFileSPDXID ${quote(value)} is not an SPDX element reference`, column);
      snippet.fromFile = value;
    } else if (tag === 'SnippetName') {
      snippet.name = value;
    }
  }

  private licenseField(tag: string, value: string): void {
    const license = (this.license as Open<SpdxOtherLicense>).value;
    if (tag === 'ExtractedText') license.extractedText = value;
    else if (tag === 'LicenseName') license.name = value;
  }

  private relationshipField(tag: string, value: string, n: number, column: number): void {
    if (tag === 'RelationshipComment') {
      const last = this.doc.relationships[this.doc.relationships.length - 1];
      if (!last || !this.relationship) fail(n, 'RelationshipComment without a preceding Relationship');
      if (this.relationship.seen.has(tag)) fail(n, 'a second RelationshipComment for the same Relationship');
      this.relationship.seen.set(tag, n);
      last.comment = value;
      return;
    }
    const parts = value.split(/\s+/);
    if (parts.length !== 3) fail(n, `Relationship must be "<element> <TYPE> <element>", got ${quote(value)}`, column);
    const [element, type, related] = parts as [string, string, string];
    if (!RELATIONSHIP_TYPES.has(type)) fail(n, `unknown relationship type ${quote(type)}`, column);
    if (!ELEMENT_REF_RE.test(element)) fail(n, `relationship element ${quote(element)} is not an SPDX element reference`, column);
    if (related !== 'NONE' && related !== 'NOASSERTION' && !ELEMENT_REF_RE.test(related)) {
      fail(n, `relationship target ${quote(related)} is not an SPDX element reference`, column);
    }
    this.doc.relationships.push({ element, type, related });
    this.lines.relationship.push(n);
    this.relationship = { value: null, line: n, seen: new Map() };
  }

  /** Annotations and reviews are checked for shape and then dropped (not used by the verifier). */
  private annotationField(kind: 'annotation' | 'review', tag: string, value: string, n: number, column: number): void {
    const starter = kind === 'annotation' ? 'Annotator' : 'Reviewer';
    if (tag === starter) {
      if (!CREATOR_RE.test(value)) fail(n, `${tag} ${quote(value)} must start with "Person:", "Organization:" or "Tool:"`, column);
      this[kind] = { value: null, line: n, seen: new Map([[tag, n]]) };
      return;
    }
    const open = this[kind];
    if (!open) fail(n, `${tag} without a preceding ${starter}`);
    const first = open.seen.get(tag);
    if (first !== undefined) fail(n, `${tag} appears twice for the ${starter} on line ${open.line} (first on line ${first})`);
    open.seen.set(tag, n);
    if (tag === 'AnnotationType' && value !== 'REVIEW' && value !== 'OTHER') {
      fail(n, `AnnotationType must be REVIEW or OTHER, got ${quote(value)}`, column);
    }
    if (tag === 'SPDXREF' && value !== DOCUMENT_SPDX_ID && !ELEMENT_REF_RE.test(value)) {
      fail(n, `SPDXREF ${quote(value)} is not an SPDX element reference`, column);
    }
  }
}

function parseChecksum(tag: string, value: string, n: number, column: number): SpdxChecksum {
  const m = /^([A-Za-z0-9-]+):\s*(\S+)$/.exec(value);
  if (!m) fail(n, `${tag} must be "<ALGORITHM>: <hex>", got ${quote(value)}`, column);
  const checksum = checkChecksum(m[1] as string, m[2] as string);
  if (typeof checksum === 'string') fail(n, `${tag}: ${checksum}`, column);
  return checksum;
}

function parseExternalRef(value: string, n: number, column: number): SpdxExternalRef {
  const parts = value.split(/\s+/);
  if (parts.length !== 3) fail(n, `ExternalRef must be "<CATEGORY> <type> <locator>", got ${quote(value)}`, column);
  const [rawCategory, type, locator] = parts as [string, string, string];
  const category = underscored(rawCategory);
  if (!EXTERNAL_REF_CATEGORIES.has(category)) fail(n, `unknown ExternalRef category ${quote(rawCategory)}`, column);
  return { category, type, locator };
}
