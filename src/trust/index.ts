export { publicGoodTrustRoot } from './embedded';
export { trustRootFromFile, trustRootFromJSON, trustRootFromText, type LoadedTrustRoot } from './trusted-root';
export { isTrustRootProvider, type TrustRootInput, type TrustRootProvider } from './source';
export {
  DEFAULT_TUF_MAX_AGE_MS,
  defaultTufCacheDir,
  hasTufCache,
  initializeTuf,
  loadTufTrustRoot,
  PUBLIC_GOOD_TUF_MIRROR,
  trustRootFromTufRepository,
  TufTrustRoot,
  type TufOptions,
  type TufRefreshResult,
  type TufRoleStatus,
  type TufStatus,
} from './tuf';
export { describeTrustRoot, type AuthoritySummary, type LogSummary, type TrustRootSummary, type ValidityWindow } from './describe';
export { trustRootFromKeys, type KeysAuthority, type KeysLog, type TrustKeys } from './from-keys';
export { ComposedTrustRoot, composeTrustRoot, type TrustParts } from './compose';
export type { TrustEntry } from './source';
