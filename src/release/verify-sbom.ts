/**
 * Verifies every container image an SPDX SBOM lists, with one shared verifier (connections,
 * tokens and trust material reused) and bounded concurrency, yielding results as they
 * complete.
 */
import { imagesFromSbom, type ParseSpdxOptions, type SbomImage, type SkippedPackage } from '../sbom';
import type { ImageVerifier, PreparedPolicy } from '../verify/verifier';
import type { VerificationPolicy } from '../policy/policy';
import type { ImageVerificationResult } from '../verify/types';

export interface SbomVerification {
  /** The images the SBOM lists, de-duplicated, in document order. */
  readonly images: readonly SbomImage[];
  /** Packages that look like images but could not be turned into a reference (not verified). */
  readonly skipped: readonly SkippedPackage[];
  readonly warnings: readonly string[];
  /** One result per image, in completion order. */
  readonly results: AsyncGenerator<ImageVerificationResult>;
}

/**
 * Verifies every image an SPDX SBOM lists, with bounded concurrency, results as they complete.
 * Parses the SBOM first (SBOM_INVALID naming the line or path); the images are verified as the
 * results are read.
 */
export function verifySbomImages(
  verifier: ImageVerifier,
  sbom: string | Uint8Array,
  policy: VerificationPolicy | PreparedPolicy,
  options: { concurrency?: number | undefined; parse?: ParseSpdxOptions | undefined } = {},
): SbomVerification {
  const extraction = imagesFromSbom(sbom, options.parse);
  return {
    images: extraction.images,
    skipped: extraction.skipped,
    warnings: extraction.warnings,
    results: verifier.verifyMany(
      extraction.images.map((i) => i.reference),
      policy,
      options.concurrency !== undefined ? { concurrency: options.concurrency } : {},
    ),
  };
}
