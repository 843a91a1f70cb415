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

/** Who signs the release binaries and the SBOM (the Kubernetes docs' verify-blob identity). */
export const KUBERNETES_ARTIFACT_IDENTITY: Readonly<Required<Pick<IdentityMatcher, 'subject' | 'issuer'>>> = Object.freeze({
  subject: 'krel-staging@k8s-releng-prod.iam.gserviceaccount.com',
  issuer: 'https://accounts.google.com',
});

export const KUBERNETES_DL_BASE_URL = 'https://dl.k8s.io';

/**
 * The binaries a Kubernetes release publishes under `bin/<os>/<arch>/` (v1.2x–v1.3x): server
 * components for linux, the clients everywhere, the node components for windows.
 */
export const KUBERNETES_BINARIES: Readonly<Record<string, readonly string[]>> = Object.freeze({
  linux: Object.freeze([
    'apiextensions-apiserver',
    'kube-aggregator',
    'kube-apiserver',
    'kube-controller-manager',
    'kube-log-runner',
    'kube-proxy',
    'kube-scheduler',
    'kubeadm',
    'kubectl',
    'kubectl-convert',
    'kubelet',
    'mounter',
  ]),
  darwin: Object.freeze(['kubectl', 'kubectl-convert']),
  windows: Object.freeze(['kube-log-runner.exe', 'kube-proxy.exe', 'kubeadm.exe', 'kubectl.exe', 'kubectl-convert.exe', 'kubelet.exe']),
});

const VERSION_RE = /^v?(\d+)\.(\d+)\.(\d+)(-[0-9A-Za-z.-]+)?$/;

/** `https://sbom.k8s.io/v1.32.0/release` for `1.32.0` or `v1.32.0`. */
export function kubernetesSbomUrl(version: string, baseUrl: string = KUBERNETES_SBOM_BASE_URL): string {
  if (!VERSION_RE.test(version)) {
    throw new ImgverifyError('INVALID_OPTIONS', `invalid Kubernetes version "${version}" (expected e.g. v1.32.0)`);
  }
  const v = version.startsWith('v') ? version : `v${version}`;
  return `${baseUrl.replace(/\/+$/, '')}/${v}/release`;
}
