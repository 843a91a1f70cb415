/**
 * Flags shared by the verifying commands. Names follow cosign so users' habits carry over.
 */
import type { ParseArgsConfig } from 'node:util';
import {
  CERTIFICATE_CLAIM_NAMES,
  parseReference,
  type CertificateClaimName,
  type ClaimMatchers,
  type RegistryClientOptions,
  type VerificationPolicy,
  type VerifierOptions,
} from '..';
import { TRUST_FLAGS, trustFromFlags } from './trust-flags';
import type { CommandIO } from './io';
import { usageError } from './usage-error';
import { MAX_PEM_FILE_BYTES, readBoundedFileSync } from '../util/bounded-file';
import { errorMessage } from '../util/describe';

/**
 * The flag of a certificate claim: cosign's `--certificate-github-workflow-*` for the GitHub
 * claims (githubWorkflowSha → certificate-github-workflow-sha), the claim's name in kebab case
 * for the others (sourceRepositoryIdentifier → source-repository-identifier). Each has a
 * `-regexp` variant (an imgverify addition for the GitHub ones; cosign has only exact values).
 */
function claimFlag(name: CertificateClaimName): string {
  const kebab = name.replace(/URI/g, 'Uri').replace(/[A-Z]/g, (c) => `-${c.toLowerCase()}`);
  return kebab.startsWith('github-') ? `certificate-${kebab}` : kebab;
}

const CLAIM_FLAGS: NonNullable<ParseArgsConfig['options']> = Object.fromEntries(
  CERTIFICATE_CLAIM_NAMES.flatMap((name) => [
    [claimFlag(name), { type: 'string' }],
    [`${claimFlag(name)}-regexp`, { type: 'string' }],
  ]),
);

/** The claim flags for --help, two per line. */
export const CLAIMS_HELP = `Certificate claims (keyless; each must match; exact, or -regexp for an RE2 regexp,
unanchored as cosign's: "^refs/tags/v" matches refs/tags/v1.2, "main" matches refs/heads/not-main;
write ^...$ to match the whole value):
${CERTIFICATE_CLAIM_NAMES.map((name) => `  --${claimFlag(name)}[-regexp]`.padEnd(58) + name).join('\n')}`;

export const POLICY_FLAGS = {
  ...CLAIM_FLAGS,
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
  'registry-client-cert': { type: 'string' },
  'registry-client-key': { type: 'string' },
  'registry-credentials-host': { type: 'string', multiple: true },
  timeout: { type: 'string' },
  output: { type: 'string', short: 'o' },
  help: { type: 'boolean', short: 'h' },
} as const satisfies NonNullable<ParseArgsConfig['options']>;

export type OutputFormat = 'json' | 'text';

type Values = Record<string, string | boolean | readonly string[] | undefined>;

function str(values: Values, name: string): string | undefined {
  const v = values[name];
  return typeof v === 'string' ? v : undefined;
}

export function outputFormat(values: Values): OutputFormat {
  const output = str(values, 'output') ?? 'text';
  if (output !== 'json' && output !== 'text') throw usageError(`--output must be "json" or "text", got "${output}"`);
  return output;
}

/** The longest duration a flag takes unless it says otherwise: an hour, the registry client's longest timeout. */
export const MAX_DURATION_MS = 3_600_000;

/**
 * Parses durations such as `30s`, `2m`, `1500ms`, or plain seconds, into whole milliseconds
 * (rounded up): more than 0 and at most `maxMs` (default MAX_DURATION_MS), so that no value
 * reaches a timer beyond what it can hold (a timer given more than 2^31-1 ms fires after 1 ms).
 * Every duration flag of every command is read here.
 */
export function parseDuration(text: string, flag: string, options: { maxMs?: number } = {}): number {
  const m = /^(\d+(?:\.\d+)?)(ms|s|m)?$/.exec(text.trim());
  if (!m) throw usageError(`${flag}: invalid duration "${text}" (use e.g. 30s, 2m, 1500ms)`);
  const n = Number(m[1]);
  const ms = Math.ceil(m[2] === 'ms' ? n : m[2] === 'm' ? n * 60_000 : n * 1000);
  if (!(ms > 0)) throw usageError(`${flag}: duration must be positive`);
  const maxMs = options.maxMs ?? MAX_DURATION_MS;
  if (!(ms <= maxMs)) throw usageError(`${flag}: ${text.trim()} is longer than the longest allowed, ${describeDuration(maxMs)}`);
  return ms;
}

function describeDuration(ms: number): string {
  if (ms % 60_000 === 0) return `${ms / 60_000}m`;
  if (ms % 1000 === 0) return `${ms / 1000}s`;
  return `${ms}ms`;
}

/** The claims given by the claim flags (exact and regexp), or undefined when none is given. */
function claimsFromFlags(values: Values): { claims?: ClaimMatchers; claimsRegExp?: ClaimMatchers } {
  const claims: ClaimMatchers = {};
  const claimsRegExp: ClaimMatchers = {};
  for (const name of CERTIFICATE_CLAIM_NAMES) {
    const exact = str(values, claimFlag(name));
    const pattern = str(values, `${claimFlag(name)}-regexp`);
    if (exact !== undefined && pattern !== undefined) throw usageError(`give only one of --${claimFlag(name)} and --${claimFlag(name)}-regexp`);
    if (exact !== undefined) claims[name] = exact;
    if (pattern !== undefined) claimsRegExp[name] = pattern;
  }
  return {
    ...(Object.keys(claims).length > 0 ? { claims } : {}),
    ...(Object.keys(claimsRegExp).length > 0 ? { claimsRegExp } : {}),
  };
}

/** Whether any identity, issuer, claim or key flag is given. */
export function hasPolicyFlags(values: Values): boolean {
  return ['certificate-identity', 'certificate-identity-regexp', 'certificate-oidc-issuer', 'certificate-oidc-issuer-regexp', 'key'].some(
    (f) => values[f] !== undefined,
  );
}

/**
 * The policy given by --certificate-identity[-regexp] + --certificate-oidc-issuer[-regexp] and
 * the claim flags, or --key.
 */
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
  const claims = claimsFromFlags(values);
  if (keyPath !== undefined) {
    if (identity ?? identityRe ?? issuer ?? issuerRe) {
      throw usageError('--key cannot be combined with --certificate-identity/--certificate-oidc-issuer flags');
    }
    if (Object.keys(claims).length > 0) throw usageError('--key cannot be combined with certificate claim flags: a key has no certificate');
    let pem: Buffer;
    try {
      pem = readBoundedFileSync(keyPath, MAX_PEM_FILE_BYTES);
    } catch (err) {
      throw usageError(`--key: cannot read ${keyPath}: ${errorMessage(err)}`);
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
    ...claims,
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
      registry.ca = readBoundedFileSync(cacert, MAX_PEM_FILE_BYTES).toString('utf8');
    } catch (err) {
      throw usageError(`--registry-cacert: cannot read ${cacert}: ${errorMessage(err)}`);
    }
  }
  return registry;
}

/**
 * The registries flag credentials (--registry-username/--registry-password,
 * --registry-client-cert/--registry-client-key) are for: those named with
 * --registry-credentials-host, else `named` (the registries of the IMAGE arguments, as
 * cosign does). Never a registry named only by untrusted input (an SBOM): a command without
 * IMAGE arguments passes `named` as undefined, and then --registry-credentials-host is
 * required when flag credentials are given.
 */
export function credentialHosts(values: Values, named: readonly string[] | undefined, command: string): string[] {
  const flag = values['registry-credentials-host'];
  const listed: readonly string[] = typeof flag === 'string' ? [flag] : Array.isArray(flag) ? flag.filter((h): h is string => typeof h === 'string') : [];
  const hosts = listed.map((h) => {
    const bad = () => usageError(`--registry-credentials-host: "${h}" is not a registry host (e.g. ghcr.io, registry.corp:5000)`);
    // A host: something the reference grammar reads as a registry, with nothing after it.
    if (h.includes('/') || (!/[.:]/.test(h) && h !== 'localhost')) throw bad();
    try {
      return parseReference(`${h}/x`).registry;
    } catch {
      throw bad();
    }
  });
  if (hosts.length > 0) return [...new Set(hosts)];
  const given = ['registry-username', 'registry-client-cert'].filter((f) => values[f] !== undefined);
  if (named === undefined && given.length > 0) {
    throw usageError(
      `${command}: --${given[0]} needs --registry-credentials-host HOST (repeatable): the registries come from ` +
        `${command === 'verify-release' ? 'the SBOM' : 'the images admitted'}, and flag credentials go only to registries you name`,
    );
  }
  return [...new Set(named ?? [])];
}

/**
 * --registry-client-cert/--registry-client-key (cosign's flags): the client certificate
 * presented to `hosts` (see credentialHosts) for registries that require mTLS. The files are
 * read once, here.
 */
export function clientCertificatesFromFlags(values: Values, hosts: readonly string[]): RegistryClientOptions['clientCertificates'] {
  const certFile = str(values, 'registry-client-cert');
  const keyFile = str(values, 'registry-client-key');
  if ((certFile === undefined) !== (keyFile === undefined)) {
    throw usageError('--registry-client-cert and --registry-client-key go together');
  }
  if (certFile === undefined || keyFile === undefined) return undefined;
  const read = (file: string, flag: string): string => {
    try {
      return readBoundedFileSync(file, MAX_PEM_FILE_BYTES).toString('utf8');
    } catch (err) {
      throw usageError(`${flag}: cannot read ${file}: ${errorMessage(err)}`);
    }
  };
  const certificate = { cert: read(certFile, '--registry-client-cert'), key: read(keyFile, '--registry-client-key') };
  return Object.fromEntries(hosts.map((host) => [host, certificate]));
}

/**
 * Verifier options from the flags. `hosts` are the registries flag credentials go to (see
 * credentialHosts). `io.env` supplies the proxy variables and where credential files are.
 * Trust: ./trust-flags.ts (files, the TUF cache, or the embedded root).
 */
export async function verifierOptionsFromFlags(values: Values, io: CommandIO, hosts: readonly string[] = []): Promise<VerifierOptions> {
  const env = io.env;
  const registry = registryTransportFromFlags(values);
  registry.env = env;
  const timeout = str(values, 'timeout');
  if (timeout !== undefined) registry.timeoutMs = parseDuration(timeout, '--timeout');
  const username = str(values, 'registry-username');
  const password = str(values, 'registry-password');
  if ((username === undefined) !== (password === undefined)) {
    throw usageError('--registry-username and --registry-password go together');
  }
  if (username !== undefined) {
    registry.credentials = Object.fromEntries(hosts.map((host) => [host, { username, password: password! }]));
  }
  const clientCertificates = clientCertificatesFromFlags(values, hosts);
  if (clientCertificates !== undefined) registry.clientCertificates = clientCertificates;
  const options: VerifierOptions = { registry };
  const trust = await trustFromFlags(values, io);
  if (trust.roots) options.trustedRoot = trust.roots;
  const sigRepo = env.COSIGN_REPOSITORY;
  if (sigRepo) options.signatureRepository = sigRepo;
  return options;
}
