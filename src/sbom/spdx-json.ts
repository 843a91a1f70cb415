/**
 * A strict reader of SPDX 2.x JSON documents (developed against 2.2 and 2.3), into the same
 * model as the tag-value parser. Hand-written (no maintained npm package parses SPDX).
 *
 * JSON.parse does the syntax; this checks the shape of every field the model keeps: a field of
 * the wrong type is an error naming its path (`packages[3].externalRefs[0].referenceLocator`),
 * unknown fields are ignored (SPDX JSON has many the verifier does not use). Errors are
 * ImgverifyError(MALFORMED_CONTENT) with details.path, or details.line/column for a syntax error.
 */
import { ImgverifyError } from '../errors';
import { crossCheck, type Where } from './crosscheck';
import { decodeSbomInput, resolveMaxBytes, type SbomInputOptions } from './input';
import { jsonErrorOffset } from './json-position';
import type {
  SpdxChecksum,
  SpdxDocument,
  SpdxExternalDocumentRef,
  SpdxExternalRef,
  SpdxFile,
  SpdxOtherLicense,
  SpdxPackage,
  SpdxRelationship,
  SpdxSnippet,
} from './model';
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
import { errorMessage } from '../util/describe';
import { isRecord, own } from '../util/shape';

export type JsonOptions = SbomInputOptions;

type Json = Record<string, unknown>;

function fail(path: string, message: string): never {
  throw new ImgverifyError('SBOM_INVALID', `SPDX JSON ${path === '' ? 'document' : path}: ${message}`, {
    details: { path },
  });
}

/** Parses an SPDX 2.x JSON document. Throws ImgverifyError (MALFORMED_CONTENT, SIZE_LIMIT_EXCEEDED). */
export function parseSpdxJson(input: string | Uint8Array, opts?: JsonOptions): SpdxDocument {
  const text = decodeSbomInput(input, resolveMaxBytes(opts));
  let root: unknown;
  try {
    root = JSON.parse(text);
  } catch (err) {
    throw syntaxError(text, err);
  }
  return readDocument(root);
}

/** Names the line and column where the text stops being JSON. */
function syntaxError(text: string, err: unknown): ImgverifyError {
  const reason = errorMessage(err);
  const position = jsonErrorOffset(text);
  if (position === -1) return new ImgverifyError('SBOM_INVALID', `SPDX JSON is not valid JSON: ${reason}`, { details: {} });
  let line = 1;
  let lineStart = 0;
  for (let i = text.indexOf('\n'); i !== -1 && i < position; i = text.indexOf('\n', i + 1)) {
    line++;
    lineStart = i + 1;
  }
  const column = position - lineStart + 1;
  return new ImgverifyError('SBOM_INVALID', `SPDX JSON line ${line} column ${column}: not valid JSON: ${reason}`, {
    details: { line, column },
  });
}

function object(value: unknown, path: string): Json {
  if (!isRecord(value)) fail(path, `expected an object, got ${typeName(value)}`);
  return value;
}

function typeName(value: unknown): string {
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'an array';
  return typeof value === 'object' || typeof value === 'undefined' ? `an ${typeof value}` : `a ${typeof value}`;
}

/** An optional string; "" counts as absent (apko writes `"versionInfo": ""`). */
function optString(o: Json, key: string, path: string): string | undefined {
  const v = own(o, key);
  if (v === undefined || v === '') return undefined;
  if (typeof v !== 'string') fail(`${path}.${key}`.replace(/^\./, ''), `expected a string, got ${typeName(v)}`);
  return v;
}

function string(o: Json, key: string, path: string): string {
  const v = optString(o, key, path);
  if (v === undefined) fail(`${path}.${key}`.replace(/^\./, ''), 'missing (a non-empty string is required)');
  return v;
}

function array(o: Json, key: string, path: string): unknown[] {
  const v = own(o, key);
  if (v === undefined) return [];
  if (!Array.isArray(v)) fail(`${path}.${key}`.replace(/^\./, ''), `expected an array, got ${typeName(v)}`);
  return v;
}

function spdxId(o: Json, path: string): string {
  const id = string(o, 'SPDXID', path);
  if (!SPDX_ID_RE.test(id)) fail(`${path}.SPDXID`, `${quote(id)} is not an SPDXRef- identifier`);
  return id;
}

function readDocument(root: unknown): SpdxDocument {
  if (!isRecord(root)) fail('', `expected a JSON object, got ${typeName(root)}`);
  if (own(root, 'bomFormat') !== undefined) fail('', 'this is a CycloneDX document, not SPDX');
  if (own(root, '@context') !== undefined) fail('', 'SPDX 3 JSON-LD is not supported (SPDX 2.x only)');
  const version = own(root, 'spdxVersion');
  if (typeof version !== 'string' || !SPDX_VERSION_RE.test(version)) {
    fail(
      'spdxVersion',
      `${version === undefined ? 'missing' : quote(typeof version === 'string' ? version : JSON.stringify(version))}: expected SPDX-2.0 to SPDX-2.3`,
    );
  }
  const id = string(root, 'SPDXID', '');
  if (id !== DOCUMENT_SPDX_ID) fail('SPDXID', `the document's SPDXID must be ${DOCUMENT_SPDX_ID}, got ${quote(id)}`);
  const creationInfo = object(own(root, 'creationInfo'), 'creationInfo');
  const creators = array(creationInfo, 'creators', 'creationInfo').map((c, i) => {
    const path = `creationInfo.creators[${i}]`;
    if (typeof c !== 'string') fail(path, `expected a string, got ${typeName(c)}`);
    if (!CREATOR_RE.test(c)) fail(path, `${quote(c)} must start with "Person:", "Organization:" or "Tool:"`);
    return c;
  });
  if (creators.length === 0) fail('creationInfo.creators', 'at least one creator is required');

  const doc: SpdxDocument = {
    format: 'json',
    spdxVersion: version,
    spdxId: id,
    name: string(root, 'name', ''),
    namespace: string(root, 'documentNamespace', ''),
    creators,
    externalDocumentRefs: array(root, 'externalDocumentRefs', '').map((r, i) => readExternalDocRef(r, `externalDocumentRefs[${i}]`)),
    packages: array(root, 'packages', '').map((p, i) => readPackage(p, `packages[${i}]`)),
    files: array(root, 'files', '').map((f, i) => readFile(f, `files[${i}]`)),
    snippets: array(root, 'snippets', '').map((s, i) => readSnippet(s, `snippets[${i}]`)),
    otherLicenses: array(root, 'hasExtractedLicensingInfos', '').map((l, i) => readLicense(l, `hasExtractedLicensingInfos[${i}]`)),
    relationships: [],
  };
  const dataLicense = optString(root, 'dataLicense', '');
  if (dataLicense !== undefined) doc.dataLicense = dataLicense;
  const created = optString(creationInfo, 'created', 'creationInfo');
  if (created !== undefined) doc.created = created;
  const comment = optString(root, 'comment', '');
  if (comment !== undefined) doc.comment = comment;

  // Relationships, then documentDescribes as DESCRIBES relationships (once each).
  const relPaths: string[] = [];
  const seen = new Set<string>();
  array(root, 'relationships', '').forEach((r, i) => {
    const rel = readRelationship(r, `relationships[${i}]`);
    doc.relationships.push(rel);
    relPaths.push(`relationships[${i}]`);
    seen.add(`${rel.element} ${rel.type} ${rel.related}`);
  });
  array(root, 'documentDescribes', '').forEach((d, i) => {
    const path = `documentDescribes[${i}]`;
    if (typeof d !== 'string') fail(path, `expected a string, got ${typeName(d)}`);
    if (seen.has(`${DOCUMENT_SPDX_ID} DESCRIBES ${d}`)) return;
    seen.add(`${DOCUMENT_SPDX_ID} DESCRIBES ${d}`);
    doc.relationships.push({ element: DOCUMENT_SPDX_ID, type: 'DESCRIBES', related: d });
    relPaths.push(path);
  });

  const pathOf = (where: Where): string => {
    switch (where.kind) {
      case 'document':
        return '';
      case 'relationship':
        return relPaths[where.index] ?? 'relationships';
      case 'package':
        return `packages[${where.index}]`;
      case 'file':
        return `files[${where.index}]`;
      case 'snippet':
        return `snippets[${where.index}]`;
    }
  };
  crossCheck(doc, (where, message) => fail(pathOf(where), message));
  return doc;
}

function readChecksum(value: unknown, path: string): SpdxChecksum {
  const o = object(value, path);
  const checksum = checkChecksum(string(o, 'algorithm', path), string(o, 'checksumValue', path));
  if (typeof checksum === 'string') fail(path, checksum);
  return checksum;
}

function readExternalDocRef(value: unknown, path: string): SpdxExternalDocumentRef {
  const o = object(value, path);
  const id = string(o, 'externalDocumentId', path);
  if (!DOCUMENT_REF_RE.test(id)) fail(`${path}.externalDocumentId`, `${quote(id)} is not a DocumentRef- identifier`);
  return { id, uri: string(o, 'spdxDocument', path), checksum: readChecksum(own(o, 'checksum'), `${path}.checksum`) };
}

/** JSON key → model field, for the optional strings a package keeps. */
const PACKAGE_STRINGS = [
  ['versionInfo', 'version'],
  ['packageFileName', 'fileName'],
  ['supplier', 'supplier'],
  ['originator', 'originator'],
  ['downloadLocation', 'downloadLocation'],
  ['homepage', 'homepage'],
  ['sourceInfo', 'sourceInfo'],
  ['licenseConcluded', 'licenseConcluded'],
  ['licenseDeclared', 'licenseDeclared'],
  ['copyrightText', 'copyrightText'],
  ['summary', 'summary'],
  ['description', 'description'],
  ['comment', 'comment'],
] as const satisfies ReadonlyArray<readonly [string, keyof SpdxPackage]>;

function readPackage(value: unknown, path: string): SpdxPackage {
  const o = object(value, path);
  const pkg: SpdxPackage = {
    spdxId: spdxId(o, path),
    name: string(o, 'name', path),
    checksums: array(o, 'checksums', path).map((c, i) => readChecksum(c, `${path}.checksums[${i}]`)),
    externalRefs: array(o, 'externalRefs', path).map((r, i) => readExternalRef(r, `${path}.externalRefs[${i}]`)),
  };
  for (const [key, field] of PACKAGE_STRINGS) {
    const v = optString(o, key, path);
    if (v !== undefined) pkg[field] = v;
  }
  const filesAnalyzed = own(o, 'filesAnalyzed');
  if (filesAnalyzed !== undefined) {
    if (typeof filesAnalyzed !== 'boolean') fail(`${path}.filesAnalyzed`, `expected true or false, got ${typeName(filesAnalyzed)}`);
    pkg.filesAnalyzed = filesAnalyzed;
  }
  const purpose = optString(o, 'primaryPackagePurpose', path);
  if (purpose !== undefined) {
    const normalised = underscored(purpose);
    if (!PACKAGE_PURPOSES.has(normalised)) fail(`${path}.primaryPackagePurpose`, `unknown purpose ${quote(purpose)}`);
    pkg.primaryPurpose = normalised;
  }
  return pkg;
}

function readExternalRef(value: unknown, path: string): SpdxExternalRef {
  const o = object(value, path);
  const rawCategory = string(o, 'referenceCategory', path);
  const category = underscored(rawCategory);
  if (!EXTERNAL_REF_CATEGORIES.has(category)) fail(`${path}.referenceCategory`, `unknown category ${quote(rawCategory)}`);
  const locator = string(o, 'referenceLocator', path);
  if (/\s/.test(locator)) fail(`${path}.referenceLocator`, `a locator has no white space, got ${quote(locator)}`);
  const ref: SpdxExternalRef = { category, type: string(o, 'referenceType', path), locator };
  const comment = optString(o, 'comment', path);
  if (comment !== undefined) ref.comment = comment;
  return ref;
}

function readFile(value: unknown, path: string): SpdxFile {
  const o = object(value, path);
  const file: SpdxFile = {
    spdxId: spdxId(o, path),
    name: string(o, 'fileName', path),
    checksums: array(o, 'checksums', path).map((c, i) => readChecksum(c, `${path}.checksums[${i}]`)),
  };
  const licenseConcluded = optString(o, 'licenseConcluded', path);
  if (licenseConcluded !== undefined) file.licenseConcluded = licenseConcluded;
  const copyrightText = optString(o, 'copyrightText', path);
  if (copyrightText !== undefined) file.copyrightText = copyrightText;
  const comment = optString(o, 'comment', path);
  if (comment !== undefined) file.comment = comment;
  return file;
}

function readSnippet(value: unknown, path: string): SpdxSnippet {
  const o = object(value, path);
  const snippet: SpdxSnippet = { spdxId: spdxId(o, path) };
  const fromFile = optString(o, 'snippetFromFile', path);
  if (fromFile !== undefined) {
    if (!ELEMENT_REF_RE.test(fromFile)) fail(`${path}.snippetFromFile`, `${quote(fromFile)} is not an SPDX element reference`);
    snippet.fromFile = fromFile;
  }
  const name = optString(o, 'name', path);
  if (name !== undefined) snippet.name = name;
  return snippet;
}

function readLicense(value: unknown, path: string): SpdxOtherLicense {
  const o = object(value, path);
  const licenseId = string(o, 'licenseId', path);
  if (!LICENSE_REF_RE.test(licenseId)) fail(`${path}.licenseId`, `${quote(licenseId)} is not a LicenseRef- identifier`);
  const license: SpdxOtherLicense = { licenseId };
  const name = optString(o, 'name', path);
  if (name !== undefined) license.name = name;
  const extractedText = optString(o, 'extractedText', path);
  if (extractedText !== undefined) license.extractedText = extractedText;
  return license;
}

function readRelationship(value: unknown, path: string): SpdxRelationship {
  const o = object(value, path);
  const element = string(o, 'spdxElementId', path);
  const type = string(o, 'relationshipType', path);
  const related = string(o, 'relatedSpdxElement', path);
  if (!RELATIONSHIP_TYPES.has(type)) fail(`${path}.relationshipType`, `unknown relationship type ${quote(type)}`);
  if (!ELEMENT_REF_RE.test(element)) fail(`${path}.spdxElementId`, `${quote(element)} is not an SPDX element reference`);
  if (related !== 'NONE' && related !== 'NOASSERTION' && !ELEMENT_REF_RE.test(related)) {
    fail(`${path}.relatedSpdxElement`, `${quote(related)} is not an SPDX element reference`);
  }
  const rel: SpdxRelationship = { element, type, related };
  const comment = optString(o, 'comment', path);
  if (comment !== undefined) rel.comment = comment;
  return rel;
}
