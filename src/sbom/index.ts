/**
 * SPDX SBOMs: parse a document (tag-value or JSON, detected from its first character) and list
 * the container images it names. See docs/sbom.md.
 */
import { ImgverifyError } from '../errors';
import { decodeSbomInput, resolveMaxBytes, type SbomInputOptions } from './input';
import { imagesFromSpdx, type ImageExtraction } from './images';
import type { SpdxDocument, SpdxFormat } from './model';
import { parseSpdxJson } from './spdx-json';
import { parseSpdxTagValue } from './spdx-tagvalue';

export type {
  SpdxChecksum,
  SpdxDocument,
  SpdxExternalDocumentRef,
  SpdxExternalRef,
  SpdxFile,
  SpdxFormat,
  SpdxOtherLicense,
  SpdxPackage,
  SpdxRelationship,
  SpdxSnippet,
} from './model';
export type { ImageExtraction, SkippedPackage } from './images';
export type { ImageSourceKind, SbomImage } from './image-model';
export { imagesFromSpdx } from './images';
export { DEFAULT_MAX_SBOM_BYTES } from './input';

export interface ParseSpdxOptions extends SbomInputOptions {
  /** `auto` (default): JSON when the first non-blank character is `{`, tag-value otherwise. */
  format?: SpdxFormat | 'auto' | undefined;
}

/** Parses an SPDX 2.x document (tag-value or JSON). Throws SBOM_INVALID naming the line or path. */
export function parseSpdx(input: string | Uint8Array, opts: ParseSpdxOptions = {}): SpdxDocument {
  const format = opts.format ?? 'auto';
  if (format !== 'auto' && format !== 'json' && format !== 'tag-value') {
    throw new ImgverifyError('INVALID_OPTIONS', `unknown SBOM format ${JSON.stringify(format)}`, { details: { format } });
  }
  // Decode once (size limit, UTF-8, BOM), then hand the text to the parser.
  const text = decodeSbomInput(input, resolveMaxBytes(opts));
  const detected = format === 'auto' ? detectFormat(text) : format;
  return detected === 'json' ? parseSpdxJson(text, opts) : parseSpdxTagValue(text, opts);
}

function detectFormat(text: string): SpdxFormat {
  const first = /\S/.exec(text)?.[0];
  if (first === '{') return 'json';
  if (first === '<') {
    throw new ImgverifyError('SBOM_INVALID', 'SBOM looks like XML (SPDX RDF?); only SPDX tag-value and JSON are supported', {
      details: { line: 1 },
    });
  }
  return 'tag-value';
}

/** The container images an SPDX document lists (parseSpdx, then imagesFromSpdx). */
export function imagesFromSbom(input: string | Uint8Array, opts?: ParseSpdxOptions): ImageExtraction {
  return imagesFromSpdx(parseSpdx(input, opts));
}
