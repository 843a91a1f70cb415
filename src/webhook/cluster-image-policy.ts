/**
 * policy-controller's `ClusterImagePolicy` (policy.sigstore.dev/v1beta1, and v1alpha1,
 * whose shape is the same) documents: checked and read into the model of
 * ./cluster-image-policy-types, defaults applied. ./policy-documents reads them from files.
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
import {
  CERTIFICATE_CLAIM_NAMES,
  compileAttestationCondition,
  ImgverifyError,
  parseReference,
  pemCertificates,
  predicateTypeURI,
  type CertificateClaimName,
  type ClaimMatchers,
  type ImageReference,
} from '../index';
import {
  API_VERSIONS,
  IMAGE_POLICY_API_VERSION,
  type AttestationRequirement,
  type Authority,
  type ClusterImagePolicy,
  type HashAlgorithm,
  type KeyAuthority,
  type KeylessAuthority,
  type KeylessIdentity,
  type AuthoritySource,
  type StaticAuthority,
  type TrustRootRefs,
} from './cluster-image-policy-types';
import {
  describeYamlValue,
  describeLocation,
  isAbsoluteURL,
  objectName,
  objectNamespace,
  OBJECT_FIELDS,
  present,
  type Checker,
  type DocumentKind,
  type Json,
} from './crd-document';
import { compileGlob } from './glob';
import { errorMessage } from '../util/describe';
import { joinPath } from '../util/shape';
import { parseMatch } from './resource-match';

const HASH_ALGORITHMS: readonly HashAlgorithm[] = ['sha224', 'sha256', 'sha384', 'sha512'];

// --- Field decisions -------------------------------------------------------------------

/**
 * Fields policy-controller defines that imgverify does not implement, with why. All are
 * errors: each one, ignored, would change which images are admitted.
 */
const UNSUPPORTED = {
  'spec.policy': 'CUE/Rego policies are not evaluated by imgverify; ignoring one would admit images it rejects',
  'authority.rfc3161timestamp': 'rfc3161timestamp needs a trustRootRef naming a TrustRoot document with timestamp authorities',
  'key.kms': 'KMS keys are not supported; put the PEM public key in key.data',
  'key.secretRef':
    'keys in Kubernetes Secrets are read when the webhook reads its policies from the cluster; in a policy folder put the PEM public key in key.data',
  'keyless.ca-cert':
    'ca-cert takes the PEM chain in ca-cert.data (or, when the webhook reads its policies from the cluster, a Secret in ca-cert.secretRef); KMS is not read',
  'keyless.ca-cert.secretRef':
    'ca-cert chains in Kubernetes Secrets are read when the webhook reads its policies from the cluster; in a policy folder put the PEM chain in ca-cert.data',
  'ctlog.empty':
    'ctlog without url or trustRootRef disables transparency-log verification of keyless signatures in policy-controller, which imgverify does not do',
  'attestation.policy': 'CUE/Rego attestation policies are not evaluated (use type: cel); ignoring one would accept any attestation of the type',
  'attestation.policy.field':
    'only policy.type and policy.data (inline CEL) are supported; a remote, ConfigMap or spec-including policy would evaluate other input than the one given',
} as const;

// --- Parsing ---------------------------------------------------------------------------

/**
 * "Exactly one of" errors in policy-controller's words (knative's ErrMissingOneOf /
 * ErrMultipleOneOf), naming every field by its full path, as its `kubectl create` test expects.
 */
function oneOfError(c: Checker, path: string, fields: readonly string[], present: readonly string[]): void {
  const got = present.length === 0 ? 'neither' : present.length === 2 ? 'both' : 'several';
  const given = present.length > 0 ? ` (${present.join(' and ')} set)` : '';
  c.error(path, `expected exactly one, got ${got}: ${fields.map((f) => joinPath(path, f)).join(', ')}${given}`);
}

/**
 * `secretRef` of a key or CA (`{name, namespace}`, Kubernetes' SecretReference) read through the
 * source's Secret lookup: the Secret's one data value. Errors are recorded at `path.secretRef`;
 * without a lookup (a policy folder) the field is refused with `unsupported`.
 */
function secretValue(c: Checker, obj: Json, path: string, unsupported: string): { readonly present: boolean; readonly value?: string } {
  if (!present(obj, 'secretRef')) return { present: false };
  const where = `${path}.secretRef`;
  if (c.secretsRefused !== undefined) {
    c.error(where, `unsupported field: ${c.secretsRefused}`);
    return { present: true };
  }
  if (!c.context.secrets) {
    c.error(where, `unsupported field: ${unsupported}`);
    return { present: true };
  }
  const ref = c.object(obj['secretRef'], where);
  if (!ref) return { present: true };
  c.onlyKnown(ref, where, ['name', 'namespace']);
  const name = c.string(ref, 'name', where);
  const namespace = c.string(ref, 'namespace', where);
  if (name === undefined) {
    c.error(`${where}.name`, 'missing field: the name of a Secret is required');
    return { present: true };
  }
  const found = c.context.secrets({ name, ...(namespace !== undefined ? { namespace } : {}) });
  if ('error' in found) c.error(where, found.error);
  else if ('deferred' in found) c.deferred = true;
  else return { present: true, value: found.value };
  return { present: true };
}

function checkRegExp(c: Checker, pattern: string, path: string): void {
  try {
    RE2JS.compile(pattern);
  } catch (err) {
    c.error(path, `not a valid RE2 regular expression ${JSON.stringify(pattern)}: ${errorMessage(err)}`);
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
      c.error(`${where}.${name}`, `expected a non-empty string, got ${describeYamlValue(value)}`);
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
      c.error(path, `missing field(s): one of ${path}.${field}, ${path}.${field}RegExp is required`);
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
  if (present(obj, 'ca-cert') && c.string(obj, 'url', path) !== undefined) oneOfError(c, path, ['ca-cert', 'url'], ['ca-cert', 'url']);
  let caCert: string | undefined;
  if (present(obj, 'ca-cert')) {
    const ref = c.object(obj['ca-cert'], `${path}.ca-cert`);
    if (ref) {
      c.onlyKnown(ref, `${path}.ca-cert`, ['data', 'kms', 'secretRef']);
      const kms = c.unsupported(ref, 'kms', `${path}.ca-cert`, UNSUPPORTED['keyless.ca-cert']);
      const secret = secretValue(c, ref, `${path}.ca-cert`, UNSUPPORTED['keyless.ca-cert.secretRef']);
      const data = c.string(ref, 'data', `${path}.ca-cert`);
      const given = (['data', 'kms', 'secretRef'] as const).filter((k) => (k === 'data' ? data !== undefined : k === 'kms' ? kms : secret.present));
      if (given.length > 1) oneOfError(c, `${path}.ca-cert`, ['data', 'kms', 'secretRef'], given);
      // The chain is checked where it was written: in data, or in the Secret secretRef names.
      const [chain, where] = data !== undefined ? [data, `${path}.ca-cert.data`] : [secret.value, `${path}.ca-cert.secretRef`];
      // Without data, the refused kms or the secretRef is the one problem to report.
      if (chain === undefined) {
        if (!kms && !secret.present) c.error(`${path}.ca-cert.data`, 'missing field: the PEM certificate chain of the CA is required');
      } else {
        try {
          pemCertificates(chain, where, 'ca-cert');
          caCert = chain;
        } catch (err) {
          c.error(where, errorMessage(err));
        }
      }
    }
  }
  const ignoreSct = obj['insecureIgnoreSCT'];
  if (ignoreSct === true) {
    // policy-controller's meaning (cosign --insecure-ignore-sct): for a Fulcio without a CT log.
    c.warn(
      `${path}.insecureIgnoreSCT`,
      'certificates of this authority are accepted without a verified embedded SCT (certificate transparency), as policy-controller does',
    );
  } else if (ignoreSct !== undefined && ignoreSct !== null && ignoreSct !== false) {
    c.error(`${path}.insecureIgnoreSCT`, `expected a boolean, got ${describeYamlValue(ignoreSct)}`);
  }

  // Without a trustRootRef a written URL selects the trust roots that list it (checked when the
  // set is put in force, against the webhook's roots: ./service-urls); with one it is informational.
  const url = c.string(obj, 'url', path);
  if (url !== undefined && !isAbsoluteURL(url)) c.error(`${path}.url`, `not an absolute URL: ${JSON.stringify(url)}`);

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
  return Object.freeze({
    ...(url !== undefined ? { url } : {}),
    identities: Object.freeze(identities),
    ...(caCert !== undefined ? { caCert } : {}),
    ...(ignoreSct === true ? { insecureIgnoreSCT: true as const } : {}),
    ...(trustRootRef !== undefined ? { trustRootRef } : {}),
  });
}

function parseKey(c: Checker, value: unknown, path: string): KeyAuthority | undefined {
  const obj = c.object(value, path);
  if (!obj) return undefined;
  c.onlyKnown(obj, path, ['data', 'kms', 'secretRef', 'hashAlgorithm']);
  const written = c.string(obj, 'data', path);
  const given = (['data', 'kms', 'secretRef'] as const).filter((k) => (k === 'data' ? written !== undefined : present(obj, k) && obj[k] !== ''));
  if (given.length !== 1) oneOfError(c, path, ['data', 'kms', 'secretRef'], given);
  c.unsupported(obj, 'kms', path, UNSUPPORTED['key.kms']);
  const secret = secretValue(c, obj, path, UNSUPPORTED['key.secretRef']);
  // The key is checked where it was written: in data, or in the Secret secretRef names.
  const data = written ?? secret.value;
  const where = written !== undefined ? `${path}.data` : `${path}.secretRef`;
  if (data !== undefined) {
    try {
      // policy-controller (cryptoutils.UnmarshalPEMToPublicKey) takes only these two PEM
      // types; createPublicKey alone would also derive a public key from a private one.
      if (!/^-----BEGIN (?:RSA )?PUBLIC KEY-----/.test(data.trim())) throw new Error('expected a PUBLIC KEY PEM block');
      const key = createPublicKey(data);
      const type = key.asymmetricKeyType ?? 'unknown';
      if (!['ec', 'rsa', 'ed25519'].includes(type)) throw new Error(`unsupported key type ${type}`);
    } catch (err) {
      c.error(where, `not a PEM public key: ${errorMessage(err)}`);
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
      new ImgverifyError('INVALID_POLICY', `${describeLocation(c.location)}: ${errorMessage(err).replace(`${c.location.file}: `, '')}`, {
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

/** `ctlog`: undefined when absent, or when it names no log at all (then `empty`). */
function parseCtlog(c: Checker, value: unknown, path: string): { url?: string; trustRootRef?: string; empty?: true } | undefined {
  const obj = c.object(value, path);
  if (!obj) return undefined;
  c.onlyKnown(obj, path, ['url', 'trustRootRef']);
  const url = c.string(obj, 'url', path);
  const trustRootRef = c.string(obj, 'trustRootRef', path);
  if (url !== undefined && !isAbsoluteURL(url)) {
    c.error(`${path}.url`, `not an absolute URL: ${JSON.stringify(url)}`);
    return undefined;
  }
  // With a trustRootRef the TrustRoot's logs are the ones checked and the URL is informational;
  // without one, the URL selects the trust roots that list it (./service-urls).
  if (url === undefined && trustRootRef === undefined) return { empty: true };
  return Object.freeze({ ...(url !== undefined ? { url } : {}), ...(trustRootRef !== undefined ? { trustRootRef } : {}) });
}

/**
 * `source[]`: repositories holding the signatures (cosign's COSIGN_REPOSITORY), with the Secrets
 * to read them (`signaturePullSecrets`: names of Secrets in the admitted object's namespace, read
 * at admission; where no Secrets can be read the set is refused by `signaturePullSecretErrors`).
 * policy-controller validates `oci` as a registry or repository name; a registry alone names no
 * place for signatures (policy-controller would look in Docker Hub's `library/<host>`), so it is
 * refused here.
 */
function parseSources(c: Checker, value: unknown, path: string): AuthoritySource[] {
  const sources: AuthoritySource[] = [];
  c.array(value, path)?.forEach((item, i) => {
    const where = `${path}[${i}]`;
    const obj = c.object(item, where);
    if (!obj) return;
    c.onlyKnown(obj, where, ['oci', 'signaturePullSecrets', 'tagPrefix']);
    const oci = c.string(obj, 'oci', where);
    const tagPrefix = c.string(obj, 'tagPrefix', where);
    let ok = true;
    // What a tag allows before cosign's `sha256-<hex>.sig` (75 characters of the 128).
    if (tagPrefix !== undefined && !/^[\w][\w.-]{0,52}$/.test(tagPrefix)) {
      c.error(
        `${where}.tagPrefix`,
        `invalid value ${JSON.stringify(tagPrefix)}: a tag prefix is letters, digits, _ . - (at most 53 characters, not starting with . or -)`,
      );
      ok = false;
    }
    if (oci !== undefined) {
      const problem = repositoryProblem(oci);
      if (problem) {
        c.error(`${where}.oci`, `invalid value ${JSON.stringify(oci)}: ${problem}`);
        ok = false;
      }
    }
    const secrets: string[] = [];
    if (present(obj, 'signaturePullSecrets')) {
      c.array(obj['signaturePullSecrets'], `${where}.signaturePullSecrets`)?.forEach((ref, j) => {
        const at = `${where}.signaturePullSecrets[${j}]`;
        const secret = c.object(ref, at);
        if (!secret) return;
        c.onlyKnown(secret, at, ['name']);
        const name = c.string(secret, 'name', at);
        // Only required, as in policy-controller: a name no Secret can have is reported missing when looked up.
        if (name === undefined) c.error(`${at}.name`, "missing field: name (of a Secret in the admitted object's namespace) is required");
        else secrets.push(name);
      });
    }
    if (ok)
      sources.push(
        Object.freeze({
          ...(oci !== undefined ? { oci } : {}),
          signaturePullSecrets: Object.freeze(secrets),
          ...(tagPrefix !== undefined ? { tagPrefix } : {}),
        }),
      );
  });
  return sources;
}

/** Why `value` is not a repository to hold signatures (`registry/path`, no tag or digest), or undefined. */
function repositoryProblem(value: string): string | undefined {
  let ref: ImageReference;
  try {
    ref = parseReference(value);
  } catch (err) {
    return `not a repository name: ${errorMessage(err)}`;
  }
  const last = value.slice(value.lastIndexOf('/') + 1);
  if (ref.digest !== undefined || last.includes(':')) return 'expected a repository without tag or digest, e.g. registry.example.com/signatures';
  if (!value.includes('/') && /[.:]/.test(value))
    return 'a registry alone names no repository: write registry/repository, e.g. registry.example.com/signatures';
  return undefined;
}

function parseAuthority(c: Checker, value: unknown, path: string, index: number): Authority | undefined {
  const obj = c.object(value, path);
  if (!obj) return undefined;
  c.onlyKnown(obj, path, ['name', 'key', 'keyless', 'static', 'source', 'ctlog', 'attestations', 'rfc3161timestamp', 'signatureFormat']);
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
  const kinds = (['key', 'keyless', 'static'] as const).filter((k) => present(obj, k));
  // Exactly one kind; rfc3161timestamp is an addition to key or keyless, so only static conflicts with it.
  if (kinds.length !== 1) oneOfError(c, path, ['key', 'keyless', 'static'], kinds);
  const isStatic = present(obj, 'static');
  if (isStatic) {
    // Attestations, sources, a transparency log or a timestamp authority mean nothing for a static authority.
    for (const other of ['attestations', 'source', 'ctlog', 'rfc3161timestamp'] as const) {
      if (present(obj, other)) oneOfError(c, path, ['static', other], ['static', other]);
    }
  }
  // Every kind present is read, so that its own problems are reported too.
  const keyless = present(obj, 'keyless') ? parseKeyless(c, obj['keyless'], `${path}.keyless`) : undefined;
  const key = present(obj, 'key') ? parseKey(c, obj['key'], `${path}.key`) : undefined;
  const staticRef = isStatic ? parseStatic(c, obj['static'], `${path}.static`) : undefined;

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

  const sources = present(obj, 'source') && !isStatic ? parseSources(c, obj['source'], `${path}.source`) : [];
  let ctlog = present(obj, 'ctlog') && !isStatic ? parseCtlog(c, obj['ctlog'], `${path}.ctlog`) : undefined;
  if (ctlog?.empty) {
    // policy-controller: no URL and no TrustRoot is no Rekor client and no keys, so no log check.
    if (present(obj, 'keyless')) c.error(`${path}.ctlog`, `unsupported value: ${UNSUPPORTED['ctlog.empty']}`);
    ctlog = undefined;
  }
  if (present(obj, 'key') && ctlog === undefined && tsaRef === undefined) {
    c.warn(
      present(obj, 'ctlog') ? `${path}.ctlog` : path,
      'key authority without a transparency log (ctlog url or trustRootRef): signatures are verified against the key alone and need no log entry, as in policy-controller (cosign sign --key --tlog-upload=false); add ctlog to require one',
    );
  }

  const format = c.string(obj, 'signatureFormat', path);
  if (format !== undefined && format !== 'legacy' && format !== 'bundle') {
    c.error(`${path}.signatureFormat`, `unsupported signature format ${JSON.stringify(format)}: expected legacy or bundle`);
  }

  if (kinds.length !== 1 || (!keyless && !key && !staticRef)) return undefined;
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
    // A key needs a log entry only when the authority names a log (or a TSA, which stands in for it).
    requiresTlog: keyless !== undefined || (key !== undefined && (ctlog !== undefined || tsaRef !== undefined)),
    ...(sources.length > 0 ? { sources: Object.freeze(sources) } : {}),
    ...(Object.keys(refs).length > 0 ? { trustRootRefs: refs } : {}),
    ...(format === 'legacy' || format === 'bundle' ? { signatureFormat: format } : {}),
  });
}

function parseSpec(c: Checker, value: unknown): Pick<ClusterImagePolicy, 'images' | 'authorities' | 'mode' | 'match'> | undefined {
  const spec = c.object(value, 'spec');
  if (!spec) return undefined;
  c.onlyKnown(spec, 'spec', ['images', 'authorities', 'policy', 'mode', 'match']);
  c.unsupported(spec, 'policy', 'spec', UNSUPPORTED['spec.policy']);
  const match = present(spec, 'match') ? parseMatch(c, spec['match'], 'spec.match') : undefined;

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
      c.error(`${path}.glob`, errorMessage(err));
      return;
    }
    if (glob === '*' || glob === '*/*') {
      c.warn(
        `${path}.glob`,
        `glob ${JSON.stringify(glob)} is shorthand for ${JSON.stringify(glob === '*' ? 'index.docker.io/library/*' : 'index.docker.io/*/*')}; write that instead`,
      );
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
  return { images: Object.freeze(images), authorities: Object.freeze(authorities), mode: mode === 'warn' ? 'warn' : 'enforce', ...(match ? { match } : {}) };
}

function parseClusterImagePolicyDocument(c: Checker, doc: Json, apiVersion: string | undefined): ClusterImagePolicy | undefined {
  if (apiVersion !== API_VERSIONS[0] && apiVersion !== API_VERSIONS[1]) {
    c.error('apiVersion', `unsupported apiVersion ${JSON.stringify(apiVersion ?? null)}: expected ${API_VERSIONS.join(' or ')}`);
    return undefined;
  }
  c.onlyKnown(doc, '', OBJECT_FIELDS);
  const name = objectName(c, doc);

  if (!present(doc, 'spec')) {
    c.error('spec', 'missing field: spec is required');
    return undefined;
  }
  const spec = parseSpec(c, doc['spec']);
  if (!spec || name === undefined || c.errors.length > 0) return undefined;
  return Object.freeze({ name, apiVersion, ...spec, source: c.location });
}

/** ClusterImagePolicy documents, for ./crd-document's `parseDocument`. */
export const CLUSTER_IMAGE_POLICY_KIND: DocumentKind<ClusterImagePolicy> = { kind: 'ClusterImagePolicy', parse: parseClusterImagePolicyDocument };

/**
 * Why an ImagePolicy may not name a Secret: `secretRef` Secrets are read in the webhook's own
 * namespace, and a namespace's policy must not make the webhook read that namespace's Secrets
 * (whoever may write an ImagePolicy in their namespace could probe them).
 */
const IMAGE_POLICY_SECRETS =
  "an ImagePolicy cannot name a Secret (secretRef Secrets are read in the webhook's namespace, which a namespace's policy must not reach): put the PEM in key.data or ca-cert.data, or use a ClusterImagePolicy";

/**
 * imgverify's namespaced `ImagePolicy` (policy.imgverify.dev/v1alpha1): a ClusterImagePolicy's
 * `spec`, applying only to objects in `metadata.namespace` (required), in addition to the
 * cluster's policies.
 */
function parseImagePolicyDocument(c: Checker, doc: Json, apiVersion: string | undefined): ClusterImagePolicy | undefined {
  if (apiVersion !== IMAGE_POLICY_API_VERSION) {
    c.error('apiVersion', `unsupported apiVersion ${JSON.stringify(apiVersion ?? null)}: expected ${IMAGE_POLICY_API_VERSION}`);
    return undefined;
  }
  c.onlyKnown(doc, '', OBJECT_FIELDS);
  const name = objectName(c, doc);
  const namespace = objectNamespace(c, doc);
  if (!present(doc, 'spec')) {
    c.error('spec', 'missing field: spec is required');
    return undefined;
  }
  c.secretsRefused = IMAGE_POLICY_SECRETS;
  const spec = parseSpec(c, doc['spec']);
  if (!spec || name === undefined || namespace === undefined || c.errors.length > 0) return undefined;
  return Object.freeze({ name, namespace, apiVersion, ...spec, source: c.location });
}

/** ImagePolicy documents, for ./crd-document's `parseDocument`. */
export const IMAGE_POLICY_KIND: DocumentKind<ClusterImagePolicy> = { kind: 'ImagePolicy', parse: parseImagePolicyDocument };
