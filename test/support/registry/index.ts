/** Test support for the registry client: a real registry, a token server, a pusher, a fault-injecting proxy. */
export { startRegistry, registryBinary, WATCHDOG_SCRIPT, DEFAULT_USERS, type RunningRegistry, type StartRegistryOptions } from './registry';
export { startTokenServer, type TokenServer, type TokenServerOptions, type TokenRequestRecord, type TestUser } from './token-server';
export * from './push';
export * from './proxy';
export { createCa, issueClientCert, issueServerCert, type IssuedCert, type TestCa } from './certs';
export { startConnectProxy, type ConnectProxyOptions, type ProxiedExchange, type RunningConnectProxy } from './connect-proxy';
export { installCredentialHelper, type HelperBehaviour, type InstalledHelper } from './credential-helper';
export * from './zoo';
export { credentialProviderConfigYaml, installCredentialProviderPlugin, type InstalledPlugin, type PluginBehaviour, type PluginCall } from './credential-provider';
