/**
 * The images an SBOM names, as image extraction (./images.ts) finds them: each reference a
 * package yields (a `Candidate`), and the image it becomes once de-duplicated (./image-dedupe.ts).
 */
import type { ImageReference } from '../reference';

/** How the reference was found: a purl, the package name, or the SPDXID of an image archive. */
export type ImageSourceKind = 'purl' | 'name' | 'spdx-id';

export interface SbomImage {
  /** Normalised, as formatReference prints it: `registry.k8s.io/kube-apiserver:v1.32.0@sha256:...` */
  reference: string;
  /** SPDXID of the (first) package that lists it. */
  source: string;
  /** SPDXIDs of every package that lists it (or a less specific form of it). */
  sources: string[];
  /** `registry/repository` */
  repository: string;
  tag?: string;
  digest?: string;
  via: ImageSourceKind;
  /** Platform, when the SBOM says (purl `arch`/`os` qualifiers, a `name (arch/os)` suffix, an archive name). */
  architecture?: string;
  os?: string;
  /** SPDXID of the image (index) package this one is a VARIANT_OF, for per-platform images. */
  variantOf?: string;
}

/** One reference found in one package (internal to the sbom module). */
export interface Candidate {
  ref: ImageReference;
  via: ImageSourceKind;
  architecture?: string;
  os?: string;
}
