/**
 * OCI shapes as cosign's formats use them. The validation itself is the registry client's
 * (`registry/content.ts`: field-by-field shape checks, MALFORMED_CONTENT naming the field);
 * this module only names the types for the cosign code and adds cosign's tag scheme.
 */
import { ImgverifyError } from '../errors';
import { parseImageManifest as parseManifestContent } from '../registry/content';
import { isRecord } from '../util/shape';
import type { Descriptor, ImageManifestContent } from '../registry/types';

export type OciDescriptor = Descriptor;
export type OciManifest = ImageManifestContent;

/** An image manifest (a `.sig`/`.att` manifest, a referrer artifact) from untrusted JSON. */
export function parseImageManifest(json: unknown, where: string): OciManifest {
  if (!isRecord(json)) throw new ImgverifyError('MALFORMED_CONTENT', `${where}: manifest is not a JSON object`);
  return parseManifestContent(json, where);
}

/** cosign's tag for artifacts of a digest: `sha256:<hex>` → `sha256-<hex>.<suffix>`. */
export function digestTag(digest: string, suffix?: 'sig' | 'att' | 'sbom'): string {
  const tag = digest.replace(':', '-');
  return suffix ? `${tag}.${suffix}` : tag;
}
