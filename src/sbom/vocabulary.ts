/**
 * SPDX 2.x value grammar shared by the tag-value and JSON parsers: identifiers, enumerations,
 * checksums. Each check returns an error sentence (or undefined) so that each parser can say
 * where (a line number, a JSON path) in its own words.
 */
import type { SpdxChecksum } from './model';

/** `SPDXRef-` followed by letters, digits, `.` and `-` (SPDX 2.3 §3.2). */
export const SPDX_ID_RE = /^SPDXRef-[A-Za-z0-9.-]+$/;
export const DOCUMENT_REF_RE = /^DocumentRef-[A-Za-z0-9.-]+$/;
/** An element reference in a relationship: local, or in an external document. */
export const ELEMENT_REF_RE = /^(?:(DocumentRef-[A-Za-z0-9.-]+):)?(SPDXRef-[A-Za-z0-9.-]+)$/;
export const LICENSE_REF_RE = /^LicenseRef-[A-Za-z0-9.-]+$/;
export const DOCUMENT_SPDX_ID = 'SPDXRef-DOCUMENT';
/** The versions whose structure this parser knows (developed against 2.2 and 2.3). */
export const SPDX_VERSION_RE = /^SPDX-2\.[0-3]$/;
export const CREATOR_RE = /^(?:Person|Organization|Tool):\s*\S/;

export const RELATIONSHIP_TYPES: ReadonlySet<string> = new Set([
  'DESCRIBES',
  'DESCRIBED_BY',
  'CONTAINS',
  'CONTAINED_BY',
  'DEPENDS_ON',
  'DEPENDENCY_OF',
  'DEPENDENCY_MANIFEST_OF',
  'BUILD_DEPENDENCY_OF',
  'DEV_DEPENDENCY_OF',
  'OPTIONAL_DEPENDENCY_OF',
  'PROVIDED_DEPENDENCY_OF',
  'TEST_DEPENDENCY_OF',
  'RUNTIME_DEPENDENCY_OF',
  'EXAMPLE_OF',
  'GENERATES',
  'GENERATED_FROM',
  'ANCESTOR_OF',
  'DESCENDANT_OF',
  'VARIANT_OF',
  'DISTRIBUTION_ARTIFACT',
  'PATCH_FOR',
  'PATCH_APPLIED',
  'COPY_OF',
  'FILE_ADDED',
  'FILE_DELETED',
  'FILE_MODIFIED',
  'EXPANDED_FROM_ARCHIVE',
  'DYNAMIC_LINK',
  'STATIC_LINK',
  'DATA_FILE_OF',
  'TEST_CASE_OF',
  'BUILD_TOOL_OF',
  'DEV_TOOL_OF',
  'TEST_OF',
  'TEST_TOOL_OF',
  'DOCUMENTATION_OF',
  'OPTIONAL_COMPONENT_OF',
  'METAFILE_OF',
  'PACKAGE_OF',
  'AMENDS',
  'PREREQUISITE_FOR',
  'HAS_PREREQUISITE',
  'REQUIREMENT_DESCRIPTION_FOR',
  'SPECIFICATION_FOR',
  'OTHER',
]);

/** External reference categories, in the `_` spelling (tag-value 2.2 writes `-`). */
export const EXTERNAL_REF_CATEGORIES: ReadonlySet<string> = new Set(['SECURITY', 'PACKAGE_MANAGER', 'PERSISTENT_ID', 'OTHER']);

export const PACKAGE_PURPOSES: ReadonlySet<string> = new Set([
  'APPLICATION',
  'FRAMEWORK',
  'LIBRARY',
  'CONTAINER',
  'OPERATING_SYSTEM',
  'DEVICE',
  'FIRMWARE',
  'SOURCE',
  'ARCHIVE',
  'FILE',
  'INSTALL',
  'OTHER',
]);

/** Checksum algorithms of SPDX 2.3 with their hex length (undefined: variable). */
const CHECKSUM_HEX_LENGTH: Readonly<Record<string, number | undefined>> = {
  SHA1: 40,
  SHA224: 56,
  SHA256: 64,
  SHA384: 96,
  SHA512: 128,
  'SHA3-256': 64,
  'SHA3-384': 96,
  'SHA3-512': 128,
  'BLAKE2b-256': 64,
  'BLAKE2b-384': 96,
  'BLAKE2b-512': 128,
  BLAKE3: undefined,
  MD2: 32,
  MD4: 32,
  MD5: 32,
  MD6: undefined,
  ADLER32: 8,
};

/** `PACKAGE-MANAGER` → `PACKAGE_MANAGER`; both spellings occur in the wild. */
export function underscored(value: string): string {
  return value.replace(/-/g, '_');
}

/** Validates an algorithm and hex value; returns the normalised checksum or an error sentence. */
export function checkChecksum(algorithm: string, value: string): SpdxChecksum | string {
  if (!Object.prototype.hasOwnProperty.call(CHECKSUM_HEX_LENGTH, algorithm)) {
    return `unknown checksum algorithm ${quote(algorithm)}`;
  }
  if (!/^[0-9a-fA-F]+$/.test(value)) return `${algorithm} checksum ${quote(value)} is not hex`;
  const length = CHECKSUM_HEX_LENGTH[algorithm];
  if (length !== undefined && value.length !== length) {
    return `${algorithm} checksum has ${value.length} hex digits, expected ${length}`;
  }
  return { algorithm, value: value.toLowerCase() };
}

/** A short, printable rendering of untrusted text for error messages. */
export function quote(value: string, max = 80): string {
  return JSON.stringify(value.length > max ? `${value.slice(0, max)}…` : value);
}

/** `value` without trailing `char`s (a loop: `/x+$/` backtracks quadratically on long runs). */
export function trimEnd(value: string, char: string): string {
  let end = value.length;
  while (end > 0 && value[end - 1] === char) end--;
  return value.slice(0, end);
}
