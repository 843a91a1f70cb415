/**
 * The Kubernetes release preset: where a release's SBOM lives and who signs its images
 * (the identity the Kubernetes docs give in "Verify Signed Container Images").
 */
import { ImgverifyError } from '../errors';
import type { IdentityMatcher } from '../policy/identity-policy';

export const KUBERNETES_RELEASE_IDENTITY: Readonly<Required<Pick<IdentityMatcher, 'subject' | 'issuer'>>> = Object.freeze({
  subject: 'krel-trust@k8s-releng-prod.iam.gserviceaccount.com',
  issuer: 'https://accounts.google.com',
});

export const KUBERNETES_SBOM_BASE_URL = 'https://sbom.k8s.io';

const VERSION_RE = /^v?(\d+)\.(\d+)\.(\d+)(-[0-9A-Za-z.-]+)?$/;

/** `https://sbom.k8s.io/v1.32.0/release` for `1.32.0` or `v1.32.0`. */
export function kubernetesSbomUrl(version: string, baseUrl: string = KUBERNETES_SBOM_BASE_URL): string {
  if (!VERSION_RE.test(version)) {
    throw new ImgverifyError('INVALID_OPTIONS', `invalid Kubernetes version "${version}" (expected e.g. v1.32.0)`);
  }
  const v = version.startsWith('v') ? version : `v${version}`;
  return `${baseUrl.replace(/\/+$/, '')}/${v}/release`;
}
