// A private, in-process Sigstore for tests: Fulcio, CT log, Rekor and a timestamp authority
// that mint signatures the way cosign + the public-good instance do, with runtime keys only.
// See README.md in this folder for usage.
export * from './attest';
export * from './cosign';
export * from './cosign-key';
export * from './simple-signing';
export * from './sign-blob';
export * from './ctlog';
export * from './fulcio';
export * from './github';
export * from './json';
export * from './keys';
export * from './legacy-bundle';
export * from './merkle';
export * from './oci-manifest';
export * from './rekor';
export * from './test-sigstore';
export * from './trusted-root';
export * from './tsa';
export type { Extension } from './x509';
