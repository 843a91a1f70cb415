/** RegistryClientOptions checked and completed with defaults. */
import { rootCertificates } from 'node:tls';
import { ImgverifyError } from '../errors';
import { defaultDockerConfigPath } from './auth/credentials';
import type { RetryPolicy } from './transport/retry';
import { httpAllowance, type HttpAllowance } from './transport/scheme';
import type { RegistryClientOptions, RegistryCredentials } from './types';

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
  readonly dockerConfigPath?: string;
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

export function resolveOptions(options: RegistryClientOptions): ResolvedOptions {
  if (typeof options !== 'object' || options === null) throw invalid('options must be an object');
  const int = (name: keyof typeof DEFAULTS, min: number, max: number): number => {
    const value = options[name as keyof RegistryClientOptions] ?? DEFAULTS[name];
    if (typeof value !== 'number' || !Number.isSafeInteger(value) || value < min || value > max) {
      throw invalid(`${name} must be an integer from ${min} to ${max}`);
    }
    return value;
  };
  const userAgent = options.userAgent ?? DEFAULTS.userAgent;
  if (typeof userAgent !== 'string' || !/^[\x20-\x7e]{1,256}$/.test(userAgent)) throw invalid('userAgent must be printable ASCII');
  if (options.dockerConfigPath !== undefined && options.dockerConfigPath !== false && typeof options.dockerConfigPath !== 'string') {
    throw invalid('dockerConfigPath must be a path or false');
  }
  const allowHttp = options.allowHttp;
  if (allowHttp !== undefined && typeof allowHttp !== 'boolean' && !(Array.isArray(allowHttp) && allowHttp.every((h) => typeof h === 'string'))) {
    throw invalid('allowHttp must be a boolean or a list of registry hosts');
  }
  if (options.signal !== undefined && !(options.signal instanceof AbortSignal)) throw invalid('signal must be an AbortSignal');
  const dockerConfigPath = options.dockerConfigPath === false ? undefined : (options.dockerConfigPath ?? defaultDockerConfigPath());
  const ca = resolveCa(options.ca);
  return {
    ...(options.credentials !== undefined ? { credentials: options.credentials } : {}),
    ...(dockerConfigPath !== undefined ? { dockerConfigPath } : {}),
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
