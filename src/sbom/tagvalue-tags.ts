/**
 * The tags of SPDX 2.3 tag-value (spec §6-§13), each with the section it belongs to and whether
 * it may repeat. The parser refuses any other tag, and a tag outside its section.
 */

export type Section = 'document' | 'package' | 'file' | 'snippet' | 'license';
/** Tags that may appear anywhere: they do not change the current section. */
type Floating = 'relationship' | 'annotation' | 'review';

export interface TagSpec {
  readonly in: Section | Floating;
  /** May repeat within one section (or one relationship / annotation). */
  readonly multi?: true;
}

const single = (section: Section | Floating): TagSpec => ({ in: section });
const multi = (section: Section | Floating): TagSpec => ({ in: section, multi: true });

/** Every tag of SPDX 2.3 tag-value (§6-§13), with its section. */
export const TAGS: ReadonlyMap<string, TagSpec> = new Map<string, TagSpec>([
  // the element identifier of the current section (document, package or file)
  ['SPDXID', single('document')],
  // document creation information
  ['SPDXVersion', single('document')],
  ['DataLicense', single('document')],
  ['DocumentName', single('document')],
  ['DocumentNamespace', single('document')],
  ['ExternalDocumentRef', multi('document')],
  ['LicenseListVersion', single('document')],
  ['Creator', multi('document')],
  ['Created', single('document')],
  ['CreatorComment', single('document')],
  ['DocumentComment', single('document')],
  // package information
  ['PackageName', single('package')],
  ['PackageVersion', single('package')],
  ['PackageFileName', single('package')],
  ['PackageSupplier', single('package')],
  ['PackageOriginator', single('package')],
  ['PackageDownloadLocation', single('package')],
  ['FilesAnalyzed', single('package')],
  ['PackageVerificationCode', single('package')],
  ['PackageChecksum', multi('package')],
  ['PackageHomePage', single('package')],
  ['PackageSourceInfo', single('package')],
  ['PackageLicenseConcluded', single('package')],
  ['PackageLicenseInfoFromFiles', multi('package')],
  ['PackageLicenseDeclared', single('package')],
  ['PackageLicenseComments', single('package')],
  ['PackageCopyrightText', single('package')],
  ['PackageSummary', single('package')],
  ['PackageDescription', single('package')],
  ['PackageComment', single('package')],
  ['ExternalRef', multi('package')],
  ['ExternalRefComment', multi('package')],
  ['PackageAttributionText', multi('package')],
  ['PrimaryPackagePurpose', single('package')],
  ['ReleaseDate', single('package')],
  ['BuiltDate', single('package')],
  ['ValidUntilDate', single('package')],
  // file information
  ['FileName', single('file')],
  ['FileType', multi('file')],
  ['FileChecksum', multi('file')],
  ['LicenseConcluded', single('file')],
  ['LicenseInfoInFile', multi('file')],
  ['LicenseComments', single('file')],
  ['FileCopyrightText', single('file')],
  ['ArtifactOfProjectName', multi('file')],
  ['ArtifactOfProjectHomePage', multi('file')],
  ['ArtifactOfProjectURI', multi('file')],
  ['FileComment', single('file')],
  ['FileNotice', single('file')],
  ['FileContributor', multi('file')],
  ['FileAttributionText', multi('file')],
  ['FileDependency', multi('file')],
  // snippet information
  ['SnippetSPDXID', single('snippet')],
  ['SnippetFromFileSPDXID', single('snippet')],
  ['SnippetByteRange', single('snippet')],
  ['SnippetLineRange', single('snippet')],
  ['SnippetLicenseConcluded', single('snippet')],
  ['LicenseInfoInSnippet', multi('snippet')],
  ['SnippetLicenseComments', single('snippet')],
  ['SnippetCopyrightText', single('snippet')],
  ['SnippetComment', single('snippet')],
  ['SnippetName', single('snippet')],
  ['SnippetAttributionText', multi('snippet')],
  // other licensing information detected
  ['LicenseID', single('license')],
  ['ExtractedText', single('license')],
  ['LicenseName', single('license')],
  ['LicenseCrossReference', multi('license')],
  ['LicenseComment', single('license')],
  // relationships, annotations, reviews (SPDX 2.0, deprecated): allowed in any section
  ['Relationship', single('relationship')],
  ['RelationshipComment', single('relationship')],
  ['Annotator', single('annotation')],
  ['AnnotationDate', single('annotation')],
  ['AnnotationType', single('annotation')],
  ['SPDXREF', single('annotation')],
  ['AnnotationComment', single('annotation')],
  ['Reviewer', single('review')],
  ['ReviewDate', single('review')],
  ['ReviewComment', single('review')],
]);

/** The tag that opens each section. */
export const SECTION_START: Readonly<Record<Exclude<Section, 'document'>, string>> = {
  package: 'PackageName',
  file: 'FileName',
  snippet: 'SnippetSPDXID',
  license: 'LicenseID',
};
