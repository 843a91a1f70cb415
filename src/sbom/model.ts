/**
 * The document model both SPDX 2.x serialisations (tag-value and JSON) are parsed into.
 *
 * It keeps what image extraction needs (packages, their checksums, external references and
 * purpose, relationships) plus the identifying fields of files, snippets and extracted licenses,
 * so that cross-references can be checked. Fields the verifier never interprets (license
 * expressions, annotations, reviews, attribution texts...) are syntax-checked by the parsers and
 * then dropped: the model is not a general SPDX library.
 *
 * Normalisations (so that both serialisations give the same model):
 * - external reference categories and primary package purposes use `_` (`PACKAGE_MANAGER`,
 *   `OPERATING_SYSTEM`), the SPDX 2.3 JSON spelling; tag-value 2.2 writes `PACKAGE-MANAGER`;
 * - checksum values are lower-case hex;
 * - JSON `documentDescribes` entries become `SPDXRef-DOCUMENT DESCRIBES x` relationships;
 * - optional JSON strings that are empty (`"versionInfo": ""`, written by apko) are absent.
 */

export type SpdxFormat = 'tag-value' | 'json';

export interface SpdxChecksum {
  /** As SPDX spells it: `SHA256`, `SHA1`, `SHA3-256`, `BLAKE2b-256`, `MD5`... */
  algorithm: string;
  /** Lower-case hex. */
  value: string;
}

export interface SpdxExternalRef {
  /** `SECURITY`, `PACKAGE_MANAGER`, `PERSISTENT_ID` or `OTHER`. */
  category: string;
  /** `purl`, `cpe23Type`, `swh`... */
  type: string;
  locator: string;
  comment?: string;
}

export interface SpdxPackage {
  spdxId: string;
  name: string;
  version?: string;
  fileName?: string;
  supplier?: string;
  originator?: string;
  downloadLocation?: string;
  filesAnalyzed?: boolean;
  homepage?: string;
  sourceInfo?: string;
  licenseConcluded?: string;
  licenseDeclared?: string;
  copyrightText?: string;
  summary?: string;
  description?: string;
  comment?: string;
  /** `CONTAINER`, `LIBRARY`, `OPERATING_SYSTEM`... (SPDX 2.3). */
  primaryPurpose?: string;
  checksums: SpdxChecksum[];
  externalRefs: SpdxExternalRef[];
}

export interface SpdxFile {
  spdxId: string;
  name: string;
  checksums: SpdxChecksum[];
  licenseConcluded?: string;
  copyrightText?: string;
  comment?: string;
}

export interface SpdxSnippet {
  spdxId: string;
  fromFile?: string;
  name?: string;
}

export interface SpdxOtherLicense {
  licenseId: string;
  name?: string;
  extractedText?: string;
}

export interface SpdxRelationship {
  /** `SPDXRef-...` or `DocumentRef-x:SPDXRef-...`. */
  element: string;
  /** `DESCRIBES`, `CONTAINS`, `VARIANT_OF`... */
  type: string;
  /** As `element`, or `NONE` / `NOASSERTION`. */
  related: string;
  comment?: string;
}

export interface SpdxExternalDocumentRef {
  /** `DocumentRef-...` */
  id: string;
  uri: string;
  checksum: SpdxChecksum;
}

export interface SpdxDocument {
  /** Which serialisation it was read from (not part of SPDX). */
  format: SpdxFormat;
  /** `SPDX-2.2`, `SPDX-2.3`... */
  spdxVersion: string;
  dataLicense?: string;
  /** Always `SPDXRef-DOCUMENT`. */
  spdxId: string;
  name: string;
  namespace: string;
  /** `Tool: ...`, `Organization: ...`, `Person: ...` */
  creators: string[];
  created?: string;
  comment?: string;
  externalDocumentRefs: SpdxExternalDocumentRef[];
  packages: SpdxPackage[];
  files: SpdxFile[];
  snippets: SpdxSnippet[];
  otherLicenses: SpdxOtherLicense[];
  relationships: SpdxRelationship[];
}
