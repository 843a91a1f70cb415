/**
 * Flags shared by the verifying commands. Names follow cosign so users' habits carry over.
 */
import { readFileSync } from 'node:fs';
import type { ParseArgsConfig } from 'node:util';
import type { RegistryClientOptions, VerificationPolicy, VerifierOptions } from '..';
import { TRUST_FLAGS, trustFromFlags } from './trust-flags';
import type { CommandIO } from './io';
import { usageError } from './usage-error';

export const POLICY_FLAGS = {
  'certificate-identity': { type: 'string' },
  'certificate-identity-regexp': { type: 'string' },
  'certificate-oidc-issuer': { type: 'string' },
  'certificate-oidc-issuer-regexp': { type: 'string' },
  key: { type: 'string' },
  'insecure-ignore-tlog': { type: 'boolean' },
  'insecure-ignore-sct': { type: 'boolean' },
} as const satisfies NonNullable<ParseArgsConfig['options']>;

export const TRUST_AND_REGISTRY_FLAGS = {
  ...TRUST_FLAGS,
  'allow-http-registry': { type: 'boolean' },
  'registry-cacert': { type: 'string' },
  'registry-username': { type: 'string' },
  'registry-password': { type: 'string' },
  timeout: { type: 'string' },
  output: { type: 'string', short: 'o' },
  help: { type: 'boolean', short: 'h' },
} as const satisfies NonNullable<ParseArgsConfig['options']>;

export type OutputFormat = 'json' | 'text';

type Values = Record<string, string | boolean | string[] | undefined>;

function str(values: Values, name: string): string | undefined {
  const v = values[name];
  return typeof v === 'string' ? v : undefined;
}

export function outputFormat(values: Values): OutputFormat {
  const output = str(values, 'output') ?? 'text';
  if (output !== 'json' && output !== 'text') throw usageError(`--output must be "json" or "text", got "${output}"`);
  return output;
}

/** Parses durations such as `30s`, `2m`, `1500ms`, or plain seconds. */
export function parseDuration(text: string, flag: string): number {
  const m = /^(\d+(?:\.\d+)?)(ms|s|m)?$/.exec(text.trim());
  if (!m) throw usageError(`${flag}: invalid duration "${text}" (use e.g. 30s, 2m, 1500ms)`);
  const n = Number(m[1]);
  const ms = m[2] === 'ms' ? n : m[2] === 'm' ? n * 60_000 : n * 1000;
  if (!(ms > 0)) throw usageError(`${flag}: duration must be positive`);
  return ms;
}

/** The policy given by --certificate-identity[-regexp] + --certificate-oidc-issuer[-regexp], or --key. */
export function policyFromFlags(values: Values): VerificationPolicy {
  const identity = str(values, 'certificate-identity');
  const identityRe = str(values, 'certificate-identity-regexp');
  const issuer = str(values, 'certificate-oidc-issuer');
  const issuerRe = str(values, 'certificate-oidc-issuer-regexp');
  const keyPath = str(values, 'key');
  const options = {
    ...(values['insecure-ignore-tlog'] === true ? { insecureIgnoreTlog: true } : {}),
    ...(values['insecure-ignore-sct'] === true ? { insecureIgnoreSct: true } : {}),
  };
  if (keyPath !== undefined) {
    if (identity ?? identityRe ?? issuer ?? issuerRe) {
      throw usageError('--key cannot be combined with --certificate-identity/--certificate-oidc-issuer flags');
    }
    let pem: Buffer;
    try {
      pem = readFileSync(keyPath);
    } catch (err) {
      throw usageError(`--key: cannot read ${keyPath}: ${(err as Error).message}`);
    }
    return { publicKey: pem, ...options };
  }
  if (identity !== undefined && identityRe !== undefined) {
    throw usageError('give only one of --certificate-identity and --certificate-identity-regexp');
  }
  if (issuer !== undefined && issuerRe !== undefined) {
    throw usageError('give only one of --certificate-oidc-issuer and --certificate-oidc-issuer-regexp');
  }
  if (identity === undefined && identityRe === undefined) {
    throw usageError('--certificate-identity or --certificate-identity-regexp is required for keyless verification (or use --key)');
  }
  if (issuer === undefined && issuerRe === undefined) {
    throw usageError('--certificate-oidc-issuer or --certificate-oidc-issuer-regexp is required for keyless verification (or use --key)');
  }
  return {
    ...(identity !== undefined ? { subject: identity } : { subjectRegExp: identityRe! }),
    ...(issuer !== undefined ? { issuer } : { issuerRegExp: issuerRe! }),
    ...options,
  };
}

/** --allow-http-registry and --registry-cacert, shared by every command that reads registries. */
export function registryTransportFromFlags(values: Values): RegistryClientOptions {
  const registry: RegistryClientOptions = {};
  if (values['allow-http-registry'] === true) registry.allowHttp = true;
  const cacert = str(values, 'registry-cacert');
  if (cacert !== undefined) {
    try {
      registry.ca = readFileSync(cacert, 'utf8');
    } catch (err) {
      throw usageError(`--registry-cacert: cannot read ${cacert}: ${(err as Error).message}`);
    }
  }
  return registry;
}

/**
 * Verifier options from the flags. `registries` are the registry hosts of the images on the
 * command line: --registry-username/--registry-password apply to those (as cosign's do).
 * Trust: ./trust-flags.ts (files, the TUF cache, or the embedded root).
 */
export async function verifierOptionsFromFlags(values: Values, io: CommandIO, registries: readonly string[] = []): Promise<VerifierOptions> {
  const env = io.env;
  const registry = registryTransportFromFlags(values);
  const timeout = str(values, 'timeout');
  if (timeout !== undefined) registry.timeoutMs = parseDuration(timeout, '--timeout');
  const username = str(values, 'registry-username');
  const password = str(values, 'registry-password');
  if ((username === undefined) !== (password === undefined)) {
    throw usageError('--registry-username and --registry-password go together');
  }
  if (username !== undefined) {
    registry.credentials = Object.fromEntries(registries.map((host) => [host, { username, password: password! }]));
  }
  const options: VerifierOptions = { registry };
  const trust = await trustFromFlags(values, io);
  if (trust.roots) options.trustedRoot = trust.roots;
  const sigRepo = env.COSIGN_REPOSITORY;
  if (sigRepo) options.signatureRepository = sigRepo;
  return options;
}
