/** Test support for the registry client: a real registry, a token server, a pusher, a fault-injecting proxy. */
export { startRegistry, registryBinary, WATCHDOG_SCRIPT, type RunningRegistry } from './registry';
export { startTokenServer, type TokenServer } from './token-server';
export * from './push';
export * from './proxy';
export { createCa, issueClientCert, issueServerCert, type TestCa } from './certs';
export { startConnectProxy, type RunningConnectProxy } from './connect-proxy';
export { installCredentialHelper, type InstalledHelper } from './credential-helper';
export * from './zoo';
export { credentialProviderConfigYaml, installCredentialProviderPlugin } from './credential-provider';
