/** RegistryClientOptions checked and completed with defaults. */
import { rootCertificates } from 'node:tls';
import { ImgverifyError } from '../errors';
import { keysOf, rejectUnknownKeys } from '../util/options';
import type { CredentialProviders } from './auth/credential-provider';
import { defaultCredentialFiles, defaultDockerConfigPath, type CredentialFile } from './auth/credentials';
import { HttpStack, type ClientCertificate } from './transport/http-stack';
import { ProxyRules, proxySettingsFromEnv, type ProxySettings } from './transport/proxy';
import type { RetryPolicy } from './transport/retry';
import { httpAllowance, type HttpAllowance } from './transport/scheme';
import type { RegistryCredentials } from './auth/credential-types';
import type { RegistryClientOptions } from './types';

export const DEFAULTS = Object.freeze({
  timeoutMs: 30_000,
  retries: 3,
  retryBaseDelayMs: 250,
  maxRetryDelayMs: 10_000,
  maxManifestBytes: 4 * 1024 * 1024,
  maxBlobBytes: 8 * 1024 * 1024,
  // Enough for a batch at the default verify-release concurrency (16 images, each with one
  // request in flight at a time) not to queue behind connections.
  maxConnectionsPerHost: 32,
  userAgent: 'imgverify',
});

export interface ResolvedOptions {
  readonly credentials?: Readonly<Record<string, RegistryCredentials>>;
  readonly credentialProviders?: CredentialProviders;
  /** The credential files consulted, in order. */
  readonly credentialFiles: readonly CredentialFile[];
  readonly env: Readonly<Record<string, string | undefined>>;
  readonly proxy: ProxySettings | false;
  readonly clientCertificates?: Readonly<Record<string, ClientCertificate>>;
  readonly httpStack?: HttpStack;
  readonly allowance: HttpAllowance;
  /** Root CAs for TLS, when extra ones were given (Node's defaults plus those). */
  readonly ca?: string[];
  readonly timeoutMs: number;
  readonly retry: RetryPolicy;
  readonly maxManifestBytes: number;
  readonly maxBlobBytes: number;
  readonly maxConnectionsPerHost: number;
  readonly userAgent: string;
  readonly signal?: AbortSignal;
}

const OPTION_KEYS = keysOf<RegistryClientOptions>()(
  'credentials',
  'credentialProviders',
  'dockerConfigPath',
  'credentialFiles',
  'allowHttp',
  'ca',
  'clientCertificates',
  'proxy',
  'env',
  'httpStack',
  'timeoutMs',
  'retries',
  'retryBaseDelayMs',
  'maxRetryDelayMs',
  'maxManifestBytes',
  'maxBlobBytes',
  'maxConnectionsPerHost',
  'userAgent',
  'signal',
);

export function resolveOptions(options: RegistryClientOptions): ResolvedOptions {
  if (typeof options !== 'object' || options === null) throw invalid('options must be an object');
  rejectUnknownKeys(options, OPTION_KEYS, 'registry options');
  const int = (name: keyof typeof DEFAULTS, min: number, max: number): number => {
    const value = options[name as keyof RegistryClientOptions] ?? DEFAULTS[name];
    if (typeof value !== 'number' || !Number.isSafeInteger(value) || value < min || value > max) {
      throw invalid(`${name} must be an integer from ${min} to ${max}`);
    }
    return value;
  };
  const userAgent = options.userAgent ?? DEFAULTS.userAgent;
  if (typeof userAgent !== 'string' || !/^[\x20-\x7e]{1,256}$/.test(userAgent)) throw invalid('userAgent must be printable ASCII');
  const allowHttp = options.allowHttp;
  if (allowHttp !== undefined && typeof allowHttp !== 'boolean' && !(Array.isArray(allowHttp) && allowHttp.every((h) => typeof h === 'string'))) {
    throw invalid('allowHttp must be a boolean or a list of registry hosts');
  }
  if (options.signal !== undefined && !(options.signal instanceof AbortSignal)) throw invalid('signal must be an AbortSignal');
  const env = options.env ?? process.env;
  if (typeof env !== 'object' || env === null) throw invalid('env must be an object of environment variables');
  if (options.httpStack !== undefined) {
    if (!(options.httpStack instanceof HttpStack)) throw invalid('httpStack must be an HttpStack');
    const clash = (['ca', 'clientCertificates', 'proxy', 'maxConnectionsPerHost'] as const).filter((k) => options[k] !== undefined);
    if (clash.length > 0) throw invalid(`httpStack cannot be combined with ${clash.join(', ')} (they are the stack's own)`);
  }
  if (options.proxy !== undefined && options.proxy !== false && (typeof options.proxy !== 'object' || options.proxy === null)) {
    throw invalid('proxy must be {httpsProxy?, httpProxy?, noProxy?} or false');
  }
  const proxy = options.proxy ?? proxySettingsFromEnv(env);
  // Parsed now, so a malformed proxy URL is an options error at construction.
  if (proxy !== false) new ProxyRules(proxy);
  const credentialFiles = resolveCredentialFiles(options, env);
  const providers = options.credentialProviders as unknown;
  if (providers !== undefined && (typeof providers !== 'object' || providers === null || typeof (providers as CredentialProviders).lookup !== 'function')) {
    throw invalid('credentialProviders must come from loadCredentialProviders()');
  }
  const ca = resolveCa(options.ca);
  return {
    ...(options.credentials !== undefined ? { credentials: options.credentials } : {}),
    ...(options.credentialProviders !== undefined ? { credentialProviders: options.credentialProviders } : {}),
    credentialFiles,
    env,
    proxy,
    ...(options.clientCertificates !== undefined ? { clientCertificates: options.clientCertificates } : {}),
    ...(options.httpStack !== undefined ? { httpStack: options.httpStack } : {}),
    allowance: httpAllowance(allowHttp),
    ...(ca !== undefined ? { ca } : {}),
    timeoutMs: int('timeoutMs', 1, 3_600_000),
    retry: {
      retries: int('retries', 0, 10),
      baseDelayMs: int('retryBaseDelayMs', 0, 60_000),
      maxDelayMs: int('maxRetryDelayMs', 0, 600_000),
    },
    maxManifestBytes: int('maxManifestBytes', 1, 256 * 1024 * 1024),
    maxBlobBytes: int('maxBlobBytes', 1, Number.MAX_SAFE_INTEGER),
    maxConnectionsPerHost: int('maxConnectionsPerHost', 1, 1024),
    userAgent,
    ...(options.signal !== undefined ? { signal: options.signal } : {}),
  };
}

/**
 * Explicit `credentialFiles` (after an explicit `dockerConfigPath`), else the default chain
 * (./auth/credentials: REGISTRY_AUTH_FILE, docker config, containers auth files). `false`
 * for either (and `dockerConfigPath: false` without `credentialFiles`) reads none.
 */
function resolveCredentialFiles(options: RegistryClientOptions, env: Readonly<Record<string, string | undefined>>): CredentialFile[] {
  const { dockerConfigPath, credentialFiles } = options;
  if (dockerConfigPath !== undefined && dockerConfigPath !== false && typeof dockerConfigPath !== 'string') {
    throw invalid('dockerConfigPath must be a path or false');
  }
  if (
    credentialFiles !== undefined &&
    credentialFiles !== false &&
    !(Array.isArray(credentialFiles) && credentialFiles.every((f) => typeof f === 'string' && f !== ''))
  ) {
    throw invalid('credentialFiles must be a list of paths or false');
  }
  if (credentialFiles === false) return [];
  if (credentialFiles !== undefined) {
    const files: readonly string[] = credentialFiles;
    return [
      ...(typeof dockerConfigPath === 'string' ? [{ path: dockerConfigPath, format: 'docker' as const }] : []),
      // containers auth.json is a superset of docker's format (keys may name a namespace).
      ...files.map((path) => ({ path, format: 'containers' as const })),
    ];
  }
  if (dockerConfigPath === false) return [];
  return defaultCredentialFiles(env, dockerConfigPath ?? defaultDockerConfigPath(env));
}

export function checkMaxBytes(value: number | undefined, fallback: number): number {
  if (value === undefined) return fallback;
  if (typeof value !== 'number' || !Number.isSafeInteger(value) || value < 1) throw invalid('maxBytes must be a positive integer');
  return value;
}

function resolveCa(ca: RegistryClientOptions['ca']): string[] | undefined {
  if (ca === undefined) return undefined;
  const pems: string[] = [];
  // Checked at run time: JavaScript callers may pass anything.
  for (const entry of Array.isArray(ca) ? (ca as readonly unknown[]) : [ca]) {
    const pem = Buffer.isBuffer(entry) ? entry.toString('utf8') : entry;
    if (typeof pem !== 'string' || !pem.includes('-----BEGIN CERTIFICATE-----')) throw invalid('ca must be PEM certificates');
    pems.push(pem);
  }
  // Node's `ca` replaces the default roots; the option adds to them.
  return [...rootCertificates, ...pems];
}

function invalid(why: string): ImgverifyError {
  return new ImgverifyError('INVALID_OPTIONS', `registry client: ${why}`);
}

/**
 * Moves the network settings of client options (CAs, proxies, client certificates,
 * connections) into one HttpStack, so something else (an SBOM fetch) can share it: returns
 * the stack and the options to create the client with (they name the stack instead).
 */
export function shareHttpStack(options: RegistryClientOptions): { stack: HttpStack; options: RegistryClientOptions } {
  if (options.httpStack !== undefined) return { stack: options.httpStack, options };
  const resolved = resolveOptions(options);
  const stack = new HttpStack({
    maxConnectionsPerHost: resolved.maxConnectionsPerHost,
    connectTimeoutMs: resolved.timeoutMs,
    ...(resolved.ca ? { ca: resolved.ca } : {}),
    proxy: resolved.proxy,
    ...(resolved.clientCertificates ? { clientCertificates: resolved.clientCertificates } : {}),
  });
  const { ca: _ca, clientCertificates: _certs, proxy: _proxy, maxConnectionsPerHost: _connections, ...rest } = options;
  return { stack, options: { ...rest, httpStack: stack } };
}
