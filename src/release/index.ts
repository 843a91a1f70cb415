export { KUBERNETES_RELEASE_IDENTITY, KUBERNETES_SBOM_BASE_URL, kubernetesSbomUrl } from './kubernetes';
export { readSbom, type FetchSbomOptions } from './fetch-sbom';
export { verifySbomImages, type SbomVerification } from './verify-sbom';
