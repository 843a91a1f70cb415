export { KUBERNETES_RELEASE_IDENTITY, KUBERNETES_SBOM_BASE_URL, kubernetesSbomUrl } from './kubernetes';
export { readSbom, type FetchSbomOptions } from './fetch-sbom';
export { verifySbomImages, type SbomVerification } from './verify-sbom';
export {
  KUBERNETES_ARTIFACT_IDENTITY,
  KUBERNETES_BINARIES,
  KUBERNETES_DL_BASE_URL,
  kubernetesBinaryUrl,
  verifyKubernetesBinaries,
  verifySbomSignature,
  type ArtifactOptions,
  type ArtifactVerification,
} from './kubernetes-artifacts';
