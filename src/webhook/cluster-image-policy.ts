/**
 * policy-controller's `ClusterImagePolicy` (policy.sigstore.dev/v1beta1, and v1alpha1,
 * whose shape is the same), read from YAML or JSON into a typed, validated model.
 *
 * Validation follows policy-controller's `clusterimagepolicy_validation.go` and defaults
 * (`clusterimagepolicy_defaults.go`), plus one rule of our own: nothing is silently
 * ignored. A field we do not know is an error naming file, document and path; a field
 * policy-controller has but imgverify does not implement is an error when ignoring it could
 * admit an image the policy author meant to reject (or otherwise change which images are
 * admitted), and a warning when it cannot. docs/webhook.md has the decision table.
 */
import { createPublicKey } from 'node:crypto';
import { RE2JS } from 're2js';
import { parseAllDocuments } from 'yaml';
import {
  CERTIFICATE_CLAIM_NAMES,
  compileAttestationCondition,
  ImgverifyError,
  pemCertificates,
  predicateTypeURI,
  type AttestationCondition,
  type CertificateClaimName,
  type ClaimMatchers,
  type ImageReference,
} from '../index';
import { compileGlob, globGovernsImage, imageNames, type ImageGlob } from './glob';
import { duplicateTrustRootNames, isTrustRoot, parseTrustRoot, type TrustRootDocument } from './trust-root';
import { describeValue } from '../util/describe';

// --- The model -------------------------------------------------------------------------

export type PolicyMode = 'enforce' | 'warn';
export type StaticAction = 'pass' | 'fail';
export type HashAlgorithm = 'sha224' | 'sha256' | 'sha384' | 'sha512';
export type SignatureFormat = 'legacy' | 'bundle';

/** Where a policy came from: file name, 0-based document index in the YAML stream, and the 1-based line it starts on. */
export interface PolicyLocation {
  readonly file: string;
  readonly document: number;
  readonly line?: number;
}

/**
 * One acceptable keyless signer: exactly one of issuer/issuerRegExp and of subject/subjectRegExp.
 * `claims` and `claimsRegExp` are an imgverify extension (policy-controller does not have them):
 * Fulcio certificate claims the signer must carry, by name (docs/webhook.md).
 */
export interface KeylessIdentity {
  readonly issuer?: string;
  readonly subject?: string;
  /** RE2 expression, matched as a search (unanchored), as policy-controller and cosign do. */
  readonly issuerRegExp?: string;
  readonly subjectRegExp?: string;
  /** imgverify extension: exact values of certificate claims, e.g. `sourceRepositoryIdentifier: "495574555"`. */
  readonly claims?: Readonly<ClaimMatchers>;
  /** imgverify extension: RE2 regexps on certificate claims, e.g. `sourceRepositoryRef: ^refs/tags/v`. */
  readonly claimsRegExp?: Readonly<ClaimMatchers>;
}

export interface KeylessAuthority {
  /** Fulcio URL (default https://fulcio.sigstore.dev). Informational: certificates are checked against the trusted root. */
  readonly url: string;
  /** Non-empty; any one identity suffices. */
  readonly identities: readonly KeylessIdentity[];
  /** `ca-cert.data`: the Fulcio CA chain (PEM) certificates must chain to, instead of the trust root's CAs. */
  readonly caCert?: string;
}

/** The TrustRoot documents an authority names, per part of the trust (see docs/webhook.md). */
export interface TrustRootRefs {
  /** `keyless.trustRootRef`: certificate authorities and CT logs. */
  readonly keyless?: string;
  /** `ctlog.trustRootRef`: transparency logs. */
  readonly ctlog?: string;
  /** `rfc3161timestamp.trustRootRef`: timestamp authorities. */
  readonly rfc3161timestamp?: string;
}

export interface KeyAuthority {
  /** PEM public key (checked to parse at load time). */
  readonly data: string;
  /** Digest the signature was made over; default sha256. */
  readonly hashAlgorithm: HashAlgorithm;
}

export interface StaticAuthority {
  readonly action: StaticAction;
  /** Shown in the denial for `fail`. */
  readonly message?: string;
}

export interface AttestationRequirement {
  /** Unique within the authority. */
  readonly name: string;
  /** As written: a cosign short name (`slsaprovenance1`, `custom`, ...) or a URI. */
  readonly predicateType: string;
  /** The in-toto predicateType an attestation must have (short names resolved with cosign's table). */
  readonly predicateTypeURI: string;
  /** `policy: {type: cel, data}`: a CEL condition the attestation must satisfy, compiled at load. */
  readonly policy?: { readonly type: 'cel'; readonly data: string; readonly condition: AttestationCondition };
}

/** An authority: exactly one of `keyless`, `key`, `static` is set. */
export interface Authority {
  /** As written, or `authority-<index>` (policy-controller's default). Unique within the policy. */
  readonly name: string;
  readonly keyless?: KeylessAuthority;
  readonly key?: KeyAuthority;
  readonly static?: StaticAuthority;
  /** When non-empty, the authority is satisfied by verified attestations of every listed type, not by signatures. */
  readonly attestations: readonly AttestationRequirement[];
  /** The transparency log: the public-good Rekor, or any log of a TrustRoot named by `ctlog.trustRootRef`. */
  readonly ctlog?: { readonly url?: string };
  /** TrustRoot documents this authority's verification uses instead of the webhook's default trust. */
  readonly trustRootRefs?: TrustRootRefs;
  /** policy-controller's `signatureFormat`; absent means legacy (cosign's default). */
  readonly signatureFormat?: SignatureFormat;
}

export interface ClusterImagePolicy {
  /** metadata.name, unique across the loaded set. */
  readonly name: string;
  readonly apiVersion: 'policy.sigstore.dev/v1beta1' | 'policy.sigstore.dev/v1alpha1';
  /** Non-empty. An image is subject to the policy when any glob matches it. */
  readonly images: readonly { readonly glob: string }[];
  /** Non-empty; any one authority suffices (policies that match the same image are ANDed). */
  readonly authorities: readonly Authority[];
  /** `enforce` (default) denies on failure; `warn` admits with a warning. */
  readonly mode: PolicyMode;
  readonly source: PolicyLocation;
}

/** A problem that does not stop a policy from loading. */
export interface PolicyWarning extends PolicyLocation {
  /** Field path inside the document, e.g. `spec.images[0].glob`. */
  readonly path: string;
  readonly message: string;
}

export interface PolicyParseResult {
  readonly policies: ClusterImagePolicy[];
  /** TrustRoot documents (policy.sigstore.dev/v1alpha1) in the same files. */
  readonly trustRoots: TrustRootDocument[];
  /** ImgverifyError(INVALID_POLICY), details `{file, document, path}`. */
  readonly errors: ImgverifyError[];
  readonly warnings: PolicyWarning[];
}

export const API_VERSIONS = Object.freeze(['policy.sigstore.dev/v1beta1', 'policy.sigstore.dev/v1alpha1'] as const);
export const DEFAULT_FULCIO_URL = 'https://fulcio.sigstore.dev';
export const PUBLIC_REKOR_URL = 'https://rekor.sigstore.dev';
const HASH_ALGORITHMS: readonly HashAlgorithm[] = ['sha224', 'sha256', 'sha384', 'sha512'];
const MAX_ALIAS_COUNT = 100;

// --- Field decisions -------------------------------------------------------------------

/**
 * Fields policy-controller defines that imgverify does not implement, with why. All are
 * errors: each one, ignored, would change which images are admitted.
 */
const UNSUPPORTED = {
  'spec.policy': 'CUE/Rego policies are not evaluated by imgverify; ignoring one would admit images it rejects',
  'spec.match': 'resource-based matching (match) is not implemented; ignoring it would apply the policy to resources it does not select',
  'authority.source': 'signatures stored in another repository (source, signaturePullSecrets) are not supported',
  'authority.rfc3161timestamp': 'rfc3161timestamp needs a trustRootRef naming a TrustRoot document with timestamp authorities',
  'key.kms': 'KMS keys are not supported; put the PEM public key in key.data',
  'key.secretRef': 'keys in Kubernetes Secrets are not supported; put the PEM public key in key.data',
  'keyless.ca-cert': 'ca-cert takes the PEM chain in ca-cert.data; Secrets and KMS are not read',
  'keyless.insecureIgnoreSCT': 'insecureIgnoreSCT: true is not supported; embedded SCTs are always verified',
  'ctlog.url': `without a trustRootRef only the public-good Rekor (${PUBLIC_REKOR_URL}) is known; a private Rekor needs ctlog.trustRootRef naming a TrustRoot`,
  'ctlog.empty': 'ctlog without url disables transparency-log verification in policy-controller, which imgverify does not do',
  'attestation.policy': 'CUE/Rego attestation policies are not evaluated (use type: cel); ignoring one would accept any attestation of the type',
  'attestation.policy.field': 'only policy.type and policy.data (inline CEL) are supported; a remote, ConfigMap or spec-including policy would evaluate other input than the one given',
} as const;

/** Standard Kubernetes ObjectMeta fields: accepted and ignored (they do not affect admission). */
export const OBJECT_META_FIELDS = [
  'name',
  'generateName',
  'namespace',
  'selfLink',
  'uid',
  'resourceVersion',
  'generation',
  'creationTimestamp',
  'deletionTimestamp',
  'deletionGracePeriodSeconds',
  'labels',
  'annotations',
  'ownerReferences',
  'finalizers',
  'managedFields',
];

// --- Parsing ---------------------------------------------------------------------------

export type Json = Record<string, unknown>;

/** @internal Collects problems for one document; every check records and continues, so a file reports all of them. */
export class Checker {
  readonly errors: ImgverifyError[] = [];
  readonly warnings: PolicyWarning[] = [];
  constructor(readonly location: PolicyLocation) {}

  error(path: string, message: string): void {
    this.errors.push(policyError(this.location, path, message));
  }

  warn(path: string, message: string): void {
    this.warnings.push({ ...this.location, path, message });
  }

  /** A mapping, or undefined (after recording an error) when the value is another type. */
  object(value: unknown, path: string): Json | undefined {
    if (typeof value === 'object' && value !== null && !Array.isArray(value) && !(value instanceof Date)) return value as Json;
    this.error(path, `expected a mapping, got ${describe(value)}`);
    return undefined;
  }

  array(value: unknown, path: string): unknown[] | undefined {
    if (Array.isArray(value)) return value as unknown[];
    this.error(path, `expected a list, got ${describe(value)}`);
    return undefined;
  }

  /** A string field; null and absent are undefined, and so is "" (Go's omitempty zero value). */
  string(obj: Json, key: string, path: string): string | undefined {
    const value = obj[key];
    if (value === undefined || value === null) return undefined;
    if (typeof value !== 'string') {
      this.error(`${path}.${key}`, `expected a string, got ${describe(value)}`);
      return undefined;
    }
    return value === '' ? undefined : value;
  }

  /** Records an error for every key not in `known`. */
  onlyKnown(obj: Json, path: string, known: readonly string[]): void {
    for (const key of Object.keys(obj)) {
      if (!known.includes(key)) this.error(join(path, key), 'unknown field');
    }
  }

  /** Records an "unsupported" error when the field is present (and not null). */
  unsupported(obj: Json, key: string, path: string, why: string): boolean {
    if (obj[key] === undefined || obj[key] === null) return false;
    this.error(join(path, key), `unsupported field: ${why}`);
    return true;
  }
}

export function describeLocation({ file, document, line }: PolicyLocation): string {
  return `${file}: document ${document}${line !== undefined ? ` (line ${line})` : ''}`;
}

export function policyError(location: PolicyLocation, path: string, message: string, cause?: unknown): ImgverifyError {
  const { file, document, line } = location;
  return new ImgverifyError('INVALID_POLICY', `${describeLocation(location)}${path ? `: ${path}` : ''}: ${message}`, {
    ...(cause !== undefined ? { cause } : {}),
    details: { file, document, ...(line !== undefined ? { line } : {}), path },
  });
}

export function join(path: string, key: string): string {
  return path === '' ? key : `${path}.${key}`;
}

/** A YAML value's kind in YAML's words; scalars as src/util/describe.ts shows them. */
export function describe(value: unknown): string {
  if (Array.isArray(value)) return 'a list';
  if (value instanceof Date) return 'a timestamp';
  return typeof value === 'object' && value !== null ? 'a mapping' : describeValue(value);
}

export function present(obj: Json, key: string): boolean {
  return obj[key] !== undefined && obj[key] !== null;
}

export const DNS_SUBDOMAIN = /^[a-z0-9](?:[-a-z0-9]*[a-z0-9])?(?:\.[a-z0-9](?:[-a-z0-9]*[a-z0-9])?)*$/;

function checkRegExp(c: Checker, pattern: string, path: string): void {
  try {
    RE2JS.compile(pattern);
  } catch (err) {
    c.error(path, `not a valid RE2 regular expression ${JSON.stringify(pattern)}: ${(err as Error).message}`);
  }
}

/** `claims` / `claimsRegExp` of an identity: a mapping of known claim names to non-empty strings. */
function parseClaims(c: Checker, obj: Json, key: 'claims' | 'claimsRegExp', path: string): ClaimMatchers | undefined {
  if (!present(obj, key)) return undefined;
  const where = `${path}.${key}`;
  const map = c.object(obj[key], where);
  if (!map) return undefined;
  const out: ClaimMatchers = {};
  for (const [name, value] of Object.entries(map)) {
    if (!(CERTIFICATE_CLAIM_NAMES as readonly string[]).includes(name)) {
      c.error(`${where}.${name}`, `unknown certificate claim (known: ${CERTIFICATE_CLAIM_NAMES.join(', ')})`);
      continue;
    }
    if (typeof value !== 'string' || value === '') {
      c.error(`${where}.${name}`, `expected a non-empty string, got ${describe(value)}`);
      continue;
    }
    if (key === 'claimsRegExp') checkRegExp(c, value, `${where}.${name}`);
    out[name as CertificateClaimName] = value;
  }
  return Object.freeze(out);
}

function parseIdentity(c: Checker, value: unknown, path: string): KeylessIdentity | undefined {
  const obj = c.object(value, path);
  if (!obj) return undefined;
  c.onlyKnown(obj, path, ['issuer', 'subject', 'issuerRegExp', 'subjectRegExp', 'claims', 'claimsRegExp']);
  const claims = parseClaims(c, obj, 'claims', path);
  const claimsRegExp = parseClaims(c, obj, 'claimsRegExp', path);
  for (const name of Object.keys(claims ?? {})) {
    if (claimsRegExp && name in claimsRegExp) c.error(`${path}.claimsRegExp.${name}`, `expected exactly one of claims.${name}, claimsRegExp.${name}, got both`);
  }
  const issuer = c.string(obj, 'issuer', path);
  const subject = c.string(obj, 'subject', path);
  const issuerRegExp = c.string(obj, 'issuerRegExp', path);
  const subjectRegExp = c.string(obj, 'subjectRegExp', path);
  let ok = true;
  const exactlyOne = (exact: string | undefined, re: string | undefined, field: string): void => {
    if (exact !== undefined && re !== undefined) {
      c.error(path, `expected exactly one of ${field}, ${field}RegExp, got both`);
      ok = false;
    } else if (exact === undefined && re === undefined) {
      c.error(path, `missing field: one of ${field}, ${field}RegExp is required`);
      ok = false;
    }
  };
  exactlyOne(issuer, issuerRegExp, 'issuer');
  exactlyOne(subject, subjectRegExp, 'subject');
  if (issuerRegExp !== undefined) checkRegExp(c, issuerRegExp, `${path}.issuerRegExp`);
  if (subjectRegExp !== undefined) checkRegExp(c, subjectRegExp, `${path}.subjectRegExp`);
  if (!ok) return undefined;
  return Object.freeze({
    ...(issuer !== undefined ? { issuer } : {}),
    ...(issuerRegExp !== undefined ? { issuerRegExp } : {}),
    ...(subject !== undefined ? { subject } : {}),
    ...(subjectRegExp !== undefined ? { subjectRegExp } : {}),
    ...(claims !== undefined && Object.keys(claims).length > 0 ? { claims } : {}),
    ...(claimsRegExp !== undefined && Object.keys(claimsRegExp).length > 0 ? { claimsRegExp } : {}),
  });
}

function parseKeyless(c: Checker, value: unknown, path: string): (KeylessAuthority & { trustRootRef?: string }) | undefined {
  const obj = c.object(value, path);
  if (!obj) return undefined;
  c.onlyKnown(obj, path, ['url', 'identities', 'ca-cert', 'trustRootRef', 'insecureIgnoreSCT']);
  const trustRootRef = c.string(obj, 'trustRootRef', path);
  let caCert: string | undefined;
  if (present(obj, 'ca-cert')) {
    const ref = c.object(obj['ca-cert'], `${path}.ca-cert`);
    if (ref) {
      c.onlyKnown(ref, `${path}.ca-cert`, ['data', 'kms', 'secretRef']);
      c.unsupported(ref, 'kms', `${path}.ca-cert`, UNSUPPORTED['keyless.ca-cert']);
      c.unsupported(ref, 'secretRef', `${path}.ca-cert`, UNSUPPORTED['keyless.ca-cert']);
      caCert = c.string(ref, 'data', `${path}.ca-cert`);
      if (caCert === undefined) c.error(`${path}.ca-cert.data`, 'missing field: the PEM certificate chain of the CA is required');
      else {
        try {
          pemCertificates(caCert, `${path}.ca-cert.data`, 'ca-cert');
        } catch (err) {
          c.error(`${path}.ca-cert.data`, (err as Error).message);
          caCert = undefined;
        }
      }
    }
  }
  const ignoreSct = obj['insecureIgnoreSCT'];
  if (ignoreSct === true) c.error(`${path}.insecureIgnoreSCT`, `unsupported value: ${UNSUPPORTED['keyless.insecureIgnoreSCT']}`);
  else if (ignoreSct !== undefined && ignoreSct !== null && ignoreSct !== false) {
    c.error(`${path}.insecureIgnoreSCT`, `expected a boolean, got ${describe(ignoreSct)}`);
  }

  const url = c.string(obj, 'url', path) ?? DEFAULT_FULCIO_URL;
  if (!isAbsoluteURL(url)) c.error(`${path}.url`, `not an absolute URL: ${JSON.stringify(url)}`);
  else if (stripSlash(url) !== DEFAULT_FULCIO_URL && trustRootRef === undefined && caCert === undefined) {
    c.warn(`${path}.url`, `Fulcio URL ${url} is informational: certificates are verified against the Sigstore trusted root`);
  }

  const identities: KeylessIdentity[] = [];
  if (!present(obj, 'identities')) c.error(`${path}.identities`, 'missing field: at least one identity is required');
  else {
    const list = c.array(obj['identities'], `${path}.identities`);
    if (list && list.length === 0) c.error(`${path}.identities`, 'missing field: at least one identity is required');
    list?.forEach((item, i) => {
      const identity = parseIdentity(c, item, `${path}.identities[${i}]`);
      if (identity) identities.push(identity);
    });
  }
  return Object.freeze({ url, identities: Object.freeze(identities), ...(caCert !== undefined ? { caCert } : {}), ...(trustRootRef !== undefined ? { trustRootRef } : {}) });
}

function parseKey(c: Checker, value: unknown, path: string): KeyAuthority | undefined {
  const obj = c.object(value, path);
  if (!obj) return undefined;
  c.onlyKnown(obj, path, ['data', 'kms', 'secretRef', 'hashAlgorithm']);
  const kms = c.unsupported(obj, 'kms', path, UNSUPPORTED['key.kms']);
  const secret = c.unsupported(obj, 'secretRef', path, UNSUPPORTED['key.secretRef']);
  const data = c.string(obj, 'data', path);
  if (data === undefined && !kms && !secret) c.error(`${path}.data`, 'missing field: a PEM public key is required');
  if (data !== undefined) {
    if (kms || secret) c.error(path, 'expected exactly one of data, kms, secretRef, got several');
    try {
      // policy-controller (cryptoutils.UnmarshalPEMToPublicKey) takes only these two PEM
      // types; createPublicKey alone would also derive a public key from a private one.
      if (!/^-----BEGIN (?:RSA )?PUBLIC KEY-----/.test(data.trim())) throw new Error('expected a PUBLIC KEY PEM block');
      const key = createPublicKey(data);
      const type = key.asymmetricKeyType ?? 'unknown';
      if (!['ec', 'rsa', 'ed25519'].includes(type)) throw new Error(`unsupported key type ${type}`);
    } catch (err) {
      c.error(`${path}.data`, `not a PEM public key: ${(err as Error).message}`);
    }
  }
  const rawHash = c.string(obj, 'hashAlgorithm', path);
  // policy-controller's signaturealgo.HashAlgorithm: case-insensitive, trimmed, default sha256.
  const hash = (rawHash ?? 'sha256').trim().toLowerCase() || 'sha256';
  if (!HASH_ALGORITHMS.includes(hash as HashAlgorithm)) {
    c.error(`${path}.hashAlgorithm`, `unsupported hash algorithm ${JSON.stringify(rawHash)}: expected one of ${HASH_ALGORITHMS.join(', ')}`);
  }
  if (data === undefined) return undefined;
  return Object.freeze({ data, hashAlgorithm: hash as HashAlgorithm });
}

function parseStatic(c: Checker, value: unknown, path: string): StaticAuthority | undefined {
  const obj = c.object(value, path);
  if (!obj) return undefined;
  c.onlyKnown(obj, path, ['action', 'message']);
  const action = c.string(obj, 'action', path);
  const message = c.string(obj, 'message', path);
  if (action === undefined) {
    c.error(`${path}.action`, 'missing field: action is required (pass or fail)');
    return undefined;
  }
  if (action !== 'pass' && action !== 'fail') {
    c.error(`${path}.action`, `unsupported action ${JSON.stringify(action)}: expected pass or fail`);
    return undefined;
  }
  return Object.freeze({ action, ...(message !== undefined ? { message } : {}) });
}

/**
 * `attestations[].policy`: `{type: cel, data: <expression>}` is evaluated (compiled here, at
 * load; a compile error names the file, the path and the line/column in the expression). CUE and
 * Rego, and the fields that fetch a policy or add the workload's spec to the input, are errors.
 */
function parseAttestationPolicy(c: Checker, value: unknown, path: string): AttestationRequirement['policy'] | undefined {
  const obj = c.object(value, path);
  if (!obj) return undefined;
  c.onlyKnown(obj, path, ['type', 'data', 'remote', 'configMapRef', 'fetchConfigFile', 'includeSpec', 'includeObjectMeta', 'includeTypeMeta']);
  for (const key of ['remote', 'configMapRef', 'fetchConfigFile', 'includeSpec', 'includeObjectMeta', 'includeTypeMeta']) {
    c.unsupported(obj, key, path, UNSUPPORTED['attestation.policy.field']);
  }
  const type = c.string(obj, 'type', path);
  if (type === undefined) {
    c.error(`${path}.type`, 'missing field: type is required (cel)');
    return undefined;
  }
  if (type !== 'cel') {
    c.error(`${path}.type`, `unsupported policy type ${JSON.stringify(type)}: ${UNSUPPORTED['attestation.policy']}`);
    return undefined;
  }
  const data = c.string(obj, 'data', path);
  if (data === undefined) {
    c.error(`${path}.data`, 'missing field: data (the CEL expression) is required');
    return undefined;
  }
  try {
    const condition = compileAttestationCondition(data, { origin: `${c.location.file}: ${path}.data` });
    return Object.freeze({ type: 'cel' as const, data, condition });
  } catch (err) {
    // The message already names the file, the path and the position in the expression.
    const details = (err as ImgverifyError).details ?? {};
    c.errors.push(
      new ImgverifyError('INVALID_POLICY', `${describeLocation(c.location)}: ${(err as Error).message.replace(`${c.location.file}: `, '')}`, {
        cause: err,
        details: { ...details, file: c.location.file, document: c.location.document, path: `${path}.data` },
      }),
    );
    return undefined;
  }
}

function parseAttestation(c: Checker, value: unknown, path: string): AttestationRequirement | undefined {
  const obj = c.object(value, path);
  if (!obj) return undefined;
  c.onlyKnown(obj, path, ['name', 'predicateType', 'policy']);
  const policy = present(obj, 'policy') ? parseAttestationPolicy(c, obj['policy'], `${path}.policy`) : undefined;
  const name = c.string(obj, 'name', path);
  const predicateType = c.string(obj, 'predicateType', path);
  if (name === undefined) c.error(`${path}.name`, 'missing field: name is required');
  if (predicateType === undefined) {
    c.error(`${path}.predicateType`, 'missing field: predicateType is required');
    return undefined;
  }
  const uri = predicateTypeURI(predicateType);
  if (uri === undefined) {
    c.error(
      `${path}.predicateType`,
      `unsupported predicate type ${JSON.stringify(predicateType)}: expected a cosign short name (slsaprovenance, slsaprovenance02, slsaprovenance1, link, spdx, spdxjson, cyclonedx, vuln, openvex, custom) or a URI`,
    );
    return undefined;
  }
  if (name === undefined) return undefined;
  return Object.freeze({ name, predicateType, predicateTypeURI: uri, ...(policy ? { policy } : {}) });
}

function parseCtlog(c: Checker, value: unknown, path: string): { url?: string; trustRootRef?: string } | undefined {
  const obj = c.object(value, path);
  if (!obj) return undefined;
  c.onlyKnown(obj, path, ['url', 'trustRootRef']);
  const url = c.string(obj, 'url', path);
  const trustRootRef = c.string(obj, 'trustRootRef', path);
  if (trustRootRef !== undefined) {
    // The TrustRoot's logs are the ones checked; the URL is informational.
    if (url !== undefined && !isAbsoluteURL(url)) c.error(`${path}.url`, `not an absolute URL: ${JSON.stringify(url)}`);
    return Object.freeze({ ...(url !== undefined ? { url } : {}), trustRootRef });
  }
  if (url === undefined) {
    c.error(path, `unsupported value: ${UNSUPPORTED['ctlog.empty']}`);
    return undefined;
  }
  if (stripSlash(url) !== PUBLIC_REKOR_URL) {
    c.error(`${path}.url`, `unsupported value ${JSON.stringify(url)}: ${UNSUPPORTED['ctlog.url']}`);
    return undefined;
  }
  return Object.freeze({ url: PUBLIC_REKOR_URL });
}

function parseAuthority(c: Checker, value: unknown, path: string, index: number): Authority | undefined {
  const obj = c.object(value, path);
  if (!obj) return undefined;
  c.onlyKnown(obj, path, ['name', 'key', 'keyless', 'static', 'source', 'ctlog', 'attestations', 'rfc3161timestamp', 'signatureFormat']);
  c.unsupported(obj, 'source', path, UNSUPPORTED['authority.source']);
  let tsaRef: string | undefined;
  if (present(obj, 'rfc3161timestamp')) {
    const tsa = c.object(obj['rfc3161timestamp'], `${path}.rfc3161timestamp`);
    if (tsa) {
      c.onlyKnown(tsa, `${path}.rfc3161timestamp`, ['trustRootRef']);
      tsaRef = c.string(tsa, 'trustRootRef', `${path}.rfc3161timestamp`);
      if (tsaRef === undefined) c.error(`${path}.rfc3161timestamp.trustRootRef`, `missing field: ${UNSUPPORTED['authority.rfc3161timestamp']}`);
    }
  }

  const name = c.string(obj, 'name', path) ?? `authority-${index}`;
  const kinds = (['key', 'keyless', 'static', 'rfc3161timestamp'] as const).filter((k) => present(obj, k));
  if (kinds.length === 0 || (kinds.length === 1 && kinds[0] === 'rfc3161timestamp')) {
    c.error(path, 'expected exactly one of key, keyless, static, got neither');
    return undefined;
  }
  // rfc3161timestamp is an addition to key or keyless, so only static conflicts with it.
  const authorityKinds = kinds.filter((k) => k !== 'rfc3161timestamp');
  if (authorityKinds.length > 1 || (kinds.includes('static') && kinds.includes('rfc3161timestamp'))) {
    c.error(path, `expected exactly one of key, keyless, static, got ${kinds.join(', ')}`);
    return undefined;
  }

  const keyless = present(obj, 'keyless') ? parseKeyless(c, obj['keyless'], `${path}.keyless`) : undefined;
  const key = present(obj, 'key') ? parseKey(c, obj['key'], `${path}.key`) : undefined;
  const staticRef = present(obj, 'static') ? parseStatic(c, obj['static'], `${path}.static`) : undefined;
  if (staticRef !== undefined || present(obj, 'static')) {
    // Attestations, sources or a transparency log mean nothing for a static authority.
    for (const other of ['attestations', 'source', 'ctlog'] as const) {
      if (present(obj, other)) c.error(path, `expected exactly one of static, ${other}, got both`);
    }
  }

  const attestations: AttestationRequirement[] = [];
  if (present(obj, 'attestations')) {
    const list = c.array(obj['attestations'], `${path}.attestations`);
    list?.forEach((item, i) => {
      const attestation = parseAttestation(c, item, `${path}.attestations[${i}]`);
      if (!attestation) return;
      if (attestations.some((a) => a.name === attestation.name)) {
        c.error(`${path}.attestations[${i}].name`, `duplicate attestation name ${JSON.stringify(attestation.name)}`);
      }
      attestations.push(attestation);
    });
  }

  const ctlog = present(obj, 'ctlog') && !present(obj, 'static') ? parseCtlog(c, obj['ctlog'], `${path}.ctlog`) : undefined;

  const format = c.string(obj, 'signatureFormat', path);
  if (format !== undefined && format !== 'legacy' && format !== 'bundle') {
    c.error(`${path}.signatureFormat`, `unsupported signature format ${JSON.stringify(format)}: expected legacy or bundle`);
  }

  if (!keyless && !key && !staticRef) return undefined;
  const refs: TrustRootRefs = Object.freeze({
    ...(keyless?.trustRootRef !== undefined ? { keyless: keyless.trustRootRef } : {}),
    ...(ctlog?.trustRootRef !== undefined ? { ctlog: ctlog.trustRootRef } : {}),
    ...(tsaRef !== undefined ? { rfc3161timestamp: tsaRef } : {}),
  });
  const { trustRootRef: _ref, ...keylessModel } = keyless ?? { trustRootRef: undefined };
  return Object.freeze({
    name,
    ...(keyless ? { keyless: Object.freeze(keylessModel) as KeylessAuthority } : {}),
    ...(key ? { key } : {}),
    ...(staticRef ? { static: staticRef } : {}),
    attestations: Object.freeze(attestations),
    ...(ctlog ? { ctlog: Object.freeze(ctlog.url !== undefined ? { url: ctlog.url } : {}) } : {}),
    ...(Object.keys(refs).length > 0 ? { trustRootRefs: refs } : {}),
    ...(format === 'legacy' || format === 'bundle' ? { signatureFormat: format } : {}),
  });
}

function parseSpec(c: Checker, value: unknown): Pick<ClusterImagePolicy, 'images' | 'authorities' | 'mode'> | undefined {
  const spec = c.object(value, 'spec');
  if (!spec) return undefined;
  c.onlyKnown(spec, 'spec', ['images', 'authorities', 'policy', 'mode', 'match']);
  c.unsupported(spec, 'policy', 'spec', UNSUPPORTED['spec.policy']);
  c.unsupported(spec, 'match', 'spec', UNSUPPORTED['spec.match']);

  const images: { glob: string }[] = [];
  const imageList = present(spec, 'images') ? c.array(spec['images'], 'spec.images') : undefined;
  if (!imageList || imageList.length === 0) {
    if (!present(spec, 'images') || imageList) c.error('spec.images', 'missing field: at least one image glob is required');
  }
  imageList?.forEach((item, i) => {
    const path = `spec.images[${i}]`;
    const obj = c.object(item, path);
    if (!obj) return;
    c.onlyKnown(obj, path, ['glob']);
    const glob = c.string(obj, 'glob', path);
    if (glob === undefined) {
      c.error(`${path}.glob`, 'missing field: glob is required');
      return;
    }
    try {
      compileGlob(glob);
    } catch (err) {
      c.error(`${path}.glob`, (err as Error).message);
      return;
    }
    if (glob === '*' || glob === '*/*') {
      c.warn(`${path}.glob`, `glob ${JSON.stringify(glob)} is shorthand for ${JSON.stringify(glob === '*' ? 'index.docker.io/library/*' : 'index.docker.io/*/*')}; write that instead`);
    }
    images.push(Object.freeze({ glob }));
  });

  const authorities: Authority[] = [];
  const authorityList = present(spec, 'authorities') ? c.array(spec['authorities'], 'spec.authorities') : undefined;
  if (!authorityList || authorityList.length === 0) {
    // policy-controller's default (fail-on-empty-authorities: true).
    if (!present(spec, 'authorities') || authorityList) c.error('spec.authorities', 'missing field: at least one authority is required');
  }
  authorityList?.forEach((item, i) => {
    const authority = parseAuthority(c, item, `spec.authorities[${i}]`, i);
    if (!authority) return;
    if (authorities.some((a) => a.name === authority.name)) {
      c.error(`spec.authorities[${i}].name`, `duplicate authority name ${JSON.stringify(authority.name)}`);
    }
    authorities.push(authority);
  });

  const mode = c.string(spec, 'mode', 'spec') ?? 'enforce';
  if (mode !== 'enforce' && mode !== 'warn') {
    c.error('spec.mode', `unsupported mode ${JSON.stringify(mode)}: expected enforce or warn`);
  }
  return { images: Object.freeze(images), authorities: Object.freeze(authorities), mode: mode === 'warn' ? 'warn' : 'enforce' };
}

function parseDocument(c: Checker, value: unknown): ClusterImagePolicy | TrustRootDocument | undefined {
  const doc = c.object(value, '');
  if (!doc) return undefined;
  const apiVersion = c.string(doc, 'apiVersion', '');
  const kind = c.string(doc, 'kind', '');
  if (kind === 'TrustRoot') return parseTrustRoot(c, doc);
  if (kind !== 'ClusterImagePolicy') {
    c.error('kind', `unsupported kind ${JSON.stringify(kind ?? null)}: only ClusterImagePolicy and TrustRoot documents are accepted`);
    return undefined;
  }
  if (apiVersion !== API_VERSIONS[0] && apiVersion !== API_VERSIONS[1]) {
    c.error('apiVersion', `unsupported apiVersion ${JSON.stringify(apiVersion ?? null)}: expected ${API_VERSIONS.join(' or ')}`);
    return undefined;
  }
  c.onlyKnown(doc, '', ['apiVersion', 'kind', 'metadata', 'spec', 'status']);

  let name: string | undefined;
  const metadata = present(doc, 'metadata') ? c.object(doc['metadata'], 'metadata') : undefined;
  if (metadata) {
    c.onlyKnown(metadata, 'metadata', OBJECT_META_FIELDS);
    name = c.string(metadata, 'name', 'metadata');
  }
  if (name === undefined) c.error('metadata.name', 'missing field: metadata.name is required');
  else if (name.length > 253 || !DNS_SUBDOMAIN.test(name)) {
    c.error('metadata.name', `invalid name ${JSON.stringify(name)}: must be a lower-case RFC 1123 subdomain`);
  }

  if (!present(doc, 'spec')) {
    c.error('spec', 'missing field: spec is required');
    return undefined;
  }
  const spec = parseSpec(c, doc['spec']);
  if (!spec || name === undefined || c.errors.length > 0) return undefined;
  return Object.freeze({ name, apiVersion, ...spec, source: c.location });
}

/**
 * Validates one decoded document (a plain object from YAML or JSON) at `location`.
 * Returns the policy only when the document has no error.
 */
export function parseClusterImagePolicy(value: unknown, location: PolicyLocation): PolicyParseResult {
  const c = new Checker(
    Object.freeze({ file: location.file, document: location.document, ...(location.line !== undefined ? { line: location.line } : {}) }),
  );
  const parsed = parseDocument(c, value);
  const policies = parsed && !isTrustRoot(parsed) ? [parsed] : [];
  const trustRoots = parsed && isTrustRoot(parsed) ? [parsed] : [];
  return { policies, trustRoots, errors: c.errors, warnings: c.warnings };
}

/**
 * Parses the text of a policy file: YAML with one or more `---`-separated documents, or
 * JSON (one document) when `file` ends in `.json`. Empty documents are skipped. Names must
 * be unique within the text. Policies are returned only when the whole text is valid.
 */
export function parseClusterImagePolicies(text: string, file: string): PolicyParseResult {
  const errors: ImgverifyError[] = [];
  const warnings: PolicyWarning[] = [];
  const policies: ClusterImagePolicy[] = [];
  const trustRoots: TrustRootDocument[] = [];
  const fail = (location: PolicyLocation, message: string, cause?: unknown): void => {
    errors.push(policyError(location, '', message, cause));
  };

  const values: Array<{ location: PolicyLocation; value: unknown }> = [];
  if (file.toLowerCase().endsWith('.json')) {
    try {
      values.push({ location: { file, document: 0 }, value: JSON.parse(text) as unknown });
    } catch (err) {
      fail({ file, document: 0 }, `not valid JSON: ${(err as Error).message}`, err);
    }
  } else {
    // YAML 1.1, as Kubernetes' own YAML decoder reads it; duplicate keys are errors.
    const docs = parseAllDocuments(text, { version: '1.1', uniqueKeys: true, prettyErrors: true });
    const list = Array.isArray(docs) ? docs : [];
    const lineStarts = lineOffsets(text);
    list.forEach((doc, document) => {
      const offset = doc.contents?.range?.[0] ?? doc.range?.[0] ?? 0;
      const location: PolicyLocation = { file, document, line: lineOf(lineStarts, offset) };
      if (doc.errors.length > 0) {
        fail(location, `not valid YAML: ${doc.errors.map((e) => e.message).join('; ')}`, doc.errors[0]);
        return;
      }
      for (const w of doc.warnings) warnings.push({ ...location, path: '', message: `YAML: ${w.message}` });
      let value: unknown;
      try {
        value = doc.toJS({ maxAliasCount: MAX_ALIAS_COUNT });
      } catch (err) {
        fail(location, `not valid YAML: ${(err as Error).message}`, err);
        return;
      }
      if (value === null || value === undefined) return; // an empty document (comments, trailing ---)
      values.push({ location, value });
    });
  }

  for (const { location, value } of values) {
    const result = parseClusterImagePolicy(value, location);
    errors.push(...result.errors);
    warnings.push(...result.warnings);
    policies.push(...result.policies);
    trustRoots.push(...result.trustRoots);
  }
  errors.push(...duplicateNames(policies), ...duplicateTrustRootNames(trustRoots));
  return errors.length > 0 ? { policies: [], trustRoots: [], errors, warnings } : { policies, trustRoots, errors, warnings };
}

/**
 * Errors for authorities that name a TrustRoot the set does not hold (`names`: the TrustRoot
 * documents of the whole folder).
 */
export function unknownTrustRootRefs(policies: readonly ClusterImagePolicy[], names: ReadonlySet<string>): ImgverifyError[] {
  const errors: ImgverifyError[] = [];
  for (const policy of policies) {
    policy.authorities.forEach((authority, i) => {
      const refs: TrustRootRefs = authority.trustRootRefs ?? {};
      for (const [part, name] of Object.entries(refs) as Array<[keyof TrustRootRefs, string | undefined]>) {
        if (name !== undefined && !names.has(name)) {
          const field = part === 'keyless' ? 'keyless.trustRootRef' : part === 'ctlog' ? 'ctlog.trustRootRef' : 'rfc3161timestamp.trustRootRef';
          errors.push(policyError(policy.source, `spec.authorities[${i}].${field}`, `no TrustRoot named ${JSON.stringify(name)} in the policy folder`));
        }
      }
    });
  }
  return errors;
}

/** Errors for policies that share a name (names are cluster-unique in Kubernetes). */
export function duplicateNames(policies: readonly ClusterImagePolicy[]): ImgverifyError[] {
  const seen = new Map<string, PolicyLocation>();
  const errors: ImgverifyError[] = [];
  for (const policy of policies) {
    const first = seen.get(policy.name);
    if (first === undefined) {
      seen.set(policy.name, policy.source);
      continue;
    }
    errors.push(
      policyError(policy.source, 'metadata.name', `duplicate ClusterImagePolicy name ${JSON.stringify(policy.name)} (first in ${describeLocation(first)})`),
    );
  }
  return errors;
}

// --- Matching --------------------------------------------------------------------------

const compiledGlobs = new WeakMap<ClusterImagePolicy, readonly ImageGlob[]>();

function globsOf(policy: ClusterImagePolicy): readonly ImageGlob[] {
  let globs = compiledGlobs.get(policy);
  if (!globs) {
    globs = policy.images.map((image) => compileGlob(image.glob));
    compiledGlobs.set(policy, globs);
  }
  return globs;
}

/**
 * The policies that apply to an image: those with at least one glob matching its fully
 * qualified name (see ./glob). Every returned policy must be satisfied (AND); within a
 * policy any one authority suffices (OR). Order is the input order.
 */
export function matchPolicies(policies: readonly ClusterImagePolicy[], image: ImageReference): ClusterImagePolicy[] {
  // Every name of the image (tag, digest, registry spellings): a policy cannot be escaped by
  // naming the image another way (./glob, issue 9.6).
  const names = imageNames(image);
  return policies.filter((policy) => globsOf(policy).some((glob) => globGovernsImage(glob, names)));
}

// --- helpers ---------------------------------------------------------------------------

function lineOffsets(text: string): number[] {
  const starts = [0];
  for (let i = text.indexOf('\n'); i !== -1; i = text.indexOf('\n', i + 1)) starts.push(i + 1);
  return starts;
}

/** 1-based line of a character offset. */
function lineOf(starts: readonly number[], offset: number): number {
  let lo = 0;
  let hi = starts.length - 1;
  while (lo < hi) {
    const mid = (lo + hi + 1) >> 1;
    if (starts[mid]! <= offset) lo = mid;
    else hi = mid - 1;
  }
  return lo + 1;
}

function stripSlash(url: string): string {
  return url.replace(/\/+$/, '');
}

export function isAbsoluteURL(value: string): boolean {
  try {
    const url = new URL(value);
    return url.protocol === 'https:' || url.protocol === 'http:';
  } catch {
    return false;
  }
}
