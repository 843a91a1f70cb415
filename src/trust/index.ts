export { publicGoodTrustRoot } from './embedded';
export { trustRootFromFile, trustRootFromJSON, trustRootFromText, type LoadedTrustRoot } from './trusted-root';
