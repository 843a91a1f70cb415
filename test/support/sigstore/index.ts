// A private, in-process Sigstore for tests: Fulcio, CT log, Rekor and a timestamp authority
// that mint signatures the way cosign + the public-good instance do, with runtime keys only.
// See README.md in this folder for usage.
export * from './attest';
export * from './cosign';
export * from './cosignKey';
export * from './simpleSigning';
export * from './signBlob';
export * from './ctlog';
export * from './fulcio';
export * from './github';
export * from './json';
export * from './keys';
export * from './legacyBundle';
export * from './merkle';
export * from './ociManifest';
export * from './rekor';
export * from './testSigstore';
export * from './trustedRoot';
export * from './tsa';
export type { Extension, SubjectAlternativeName } from './x509';
