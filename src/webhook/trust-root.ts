/**
 * policy-controller's `TrustRoot` (policy.sigstore.dev/v1alpha1) documents: checked and read
 * into the model of ./trust-root-types. ./trust-root-set turns them into trust for the
 * authorities that name them (`keyless.trustRootRef`, `ctlog.trustRootRef`,
 * `rfc3161timestamp.trustRootRef`). Exactly one of:
 *
 *   spec.sigstoreKeys   PEM certificate chains and public keys ([]byte in the CRD: base64 of the
 *                       PEM; PEM text is accepted too): a fixed trusted root (../trust/from-keys.ts)
 *   spec.remote         {mirror, root (base64 root.json), targets?}: a TUF repository, updated and
 *                       refreshed like `imgverify initialize` (cache under the webhook's TUF cache)
 *   spec.repository     {root, mirrorFS (base64 of a .tar.gz of the repository), targets?}: the same,
 *                       verified from the tarball with no network (air-gapped clusters)
 */
import { trustRootFromKeys, type KeysAuthority, type KeysLog, type TrustKeys } from '../index';
import { isAbsoluteURL, objectName, OBJECT_FIELDS, present, type Checker, type DocumentKind, type Json } from './crd-document';
import { TRUST_ROOT_API_VERSION, type TrustRootDocument, type TrustRootSpec } from './trust-root-types';
import { describeValue, errorMessage } from '../util/describe';
import { baseUrlProblem, displayBaseUrl, relativePathProblem } from '../util/url';

/** []byte fields: base64 in the CRD; PEM or JSON text is accepted as it is. */
function bytesField(c: Checker, obj: Json, key: string, path: string, plain: RegExp): Buffer | undefined {
  const value = c.string(obj, key, path);
  if (value === undefined) {
    c.error(`${path}.${key}`, `missing field: ${key} is required`);
    return undefined;
  }
  if (plain.test(value.trimStart())) return Buffer.from(value);
  const compact = value.replace(/\s+/g, '');
  if (!/^[A-Za-z0-9+/]*={0,2}$/.test(compact) || compact.length % 4 !== 0) {
    c.error(`${path}.${key}`, 'not base64 (a []byte field of the CRD)');
    return undefined;
  }
  return Buffer.from(compact, 'base64');
}

const PEM = /^-----BEGIN /;
const JSON_TEXT = /^\{/;

function parseAuthorities(c: Checker, list: unknown, path: string): KeysAuthority[] {
  const out: KeysAuthority[] = [];
  (c.array(list, path) ?? []).forEach((item, i) => {
    const where = `${path}[${i}]`;
    const obj = c.object(item, where);
    if (!obj) return;
    c.onlyKnown(obj, where, ['subject', 'uri', 'certChain']);
    const subject = present(obj, 'subject') ? c.object(obj['subject'], `${where}.subject`) : undefined;
    if (subject) c.onlyKnown(subject, `${where}.subject`, ['organization', 'commonName']);
    const uri = c.string(obj, 'uri', where);
    if (uri === undefined) c.error(`${where}.uri`, 'missing field: uri is required');
    const chain = bytesField(c, obj, 'certChain', where, PEM);
    if (uri === undefined || !chain) return;
    const organization = subject ? c.string(subject, 'organization', `${where}.subject`) : undefined;
    const commonName = subject ? c.string(subject, 'commonName', `${where}.subject`) : undefined;
    out.push({
      uri,
      certChainPem: chain.toString('utf8'),
      ...(organization !== undefined ? { organization } : {}),
      ...(commonName !== undefined ? { commonName } : {}),
    });
  });
  return out;
}

function parseLogs(c: Checker, list: unknown, path: string): KeysLog[] {
  const out: KeysLog[] = [];
  (c.array(list, path) ?? []).forEach((item, i) => {
    const where = `${path}[${i}]`;
    const obj = c.object(item, where);
    if (!obj) return;
    c.onlyKnown(obj, where, ['baseURL', 'hashAlgorithm', 'publicKey']);
    const baseUrl = c.string(obj, 'baseURL', where);
    if (baseUrl === undefined) c.error(`${where}.baseURL`, 'missing field: baseURL is required');
    else if (!isAbsoluteURL(baseUrl)) c.error(`${where}.baseURL`, `not an absolute URL: ${JSON.stringify(baseUrl)}`);
    const hashAlgorithm = c.string(obj, 'hashAlgorithm', where);
    if (hashAlgorithm === undefined) c.error(`${where}.hashAlgorithm`, 'missing field: hashAlgorithm is required');
    const key = bytesField(c, obj, 'publicKey', where, PEM);
    if (baseUrl === undefined || hashAlgorithm === undefined || !key) return;
    out.push({ baseUrl, hashAlgorithm, publicKeyPem: key.toString('utf8') });
  });
  return out;
}

function parseSpec(c: Checker, value: unknown, name: string | undefined): TrustRootSpec | undefined {
  const spec = c.object(value, 'spec');
  if (!spec) return undefined;
  c.onlyKnown(spec, 'spec', ['sigstoreKeys', 'remote', 'repository']);
  const forms = (['sigstoreKeys', 'remote', 'repository'] as const).filter((k) => present(spec, k));
  if (forms.length !== 1) {
    c.error('spec', `expected exactly one of sigstoreKeys, remote, repository, got ${forms.length === 0 ? 'neither' : forms.join(', ')}`);
    return undefined;
  }
  const form = forms[0]!;
  const path = `spec.${form}`;
  const obj = c.object(spec[form], path);
  if (!obj) return undefined;
  if (form === 'sigstoreKeys') {
    c.onlyKnown(obj, path, ['certificateAuthorities', 'tLogs', 'ctLogs', 'timestampAuthorities']);
    const keys: TrustKeys = {
      certificateAuthorities: present(obj, 'certificateAuthorities')
        ? parseAuthorities(c, obj['certificateAuthorities'], `${path}.certificateAuthorities`)
        : [],
      tlogs: present(obj, 'tLogs') ? parseLogs(c, obj['tLogs'], `${path}.tLogs`) : [],
      ctlogs: present(obj, 'ctLogs') ? parseLogs(c, obj['ctLogs'], `${path}.ctLogs`) : [],
      timestampAuthorities: present(obj, 'timestampAuthorities') ? parseAuthorities(c, obj['timestampAuthorities'], `${path}.timestampAuthorities`) : [],
    };
    if (keys.certificateAuthorities!.length === 0 && keys.timestampAuthorities!.length === 0) {
      c.error(path, 'missing field: at least one of certificateAuthorities, timestampAuthorities is required');
    }
    // Certificates and keys are parsed now: a bad PEM is a load error naming the field.
    if (c.errors.length === 0) {
      try {
        trustRootFromKeys(keys, `TrustRoot ${name ?? '?'}`);
      } catch (err) {
        c.error(path, errorMessage(err));
      }
    }
    return { kind: 'sigstoreKeys', keys };
  }
  const targets = c.string(obj, 'targets', path);
  const targetsProblem = targets === undefined ? undefined : relativePathProblem(targets);
  if (targetsProblem) c.error(`${path}.targets`, `${targetsProblem}: ${describeValue(targets)}`);
  if (form === 'remote') {
    c.onlyKnown(obj, path, ['mirror', 'root', 'targets']);
    const mirror = c.string(obj, 'mirror', path);
    if (mirror === undefined) c.error(`${path}.mirror`, 'missing field: mirror is required');
    else {
      const problem = baseUrlProblem(mirror);
      if (problem) c.error(`${path}.mirror`, `${problem}: ${displayBaseUrl(mirror)}`);
    }
    const root = bytesField(c, obj, 'root', path, JSON_TEXT);
    if (mirror === undefined || !root) return undefined;
    return { kind: 'remote', mirror, root, ...(targets !== undefined ? { targets } : {}) };
  }
  c.onlyKnown(obj, path, ['root', 'mirrorFS', 'targets']);
  const root = bytesField(c, obj, 'root', path, JSON_TEXT);
  const mirrorFS = bytesField(c, obj, 'mirrorFS', path, /^$/);
  if (!root || !mirrorFS) return undefined;
  return { kind: 'repository', root, mirrorFS, ...(targets !== undefined ? { targets } : {}) };
}

/** A TrustRoot document (the caller checked `kind`). */
function parseTrustRoot(c: Checker, doc: Json, apiVersion: string | undefined): TrustRootDocument | undefined {
  if (apiVersion !== TRUST_ROOT_API_VERSION) {
    c.error('apiVersion', `unsupported apiVersion ${JSON.stringify(apiVersion ?? null)} for a TrustRoot: expected ${TRUST_ROOT_API_VERSION}`);
    return undefined;
  }
  c.onlyKnown(doc, '', OBJECT_FIELDS);
  const name = objectName(c, doc);
  if (!present(doc, 'spec')) {
    c.error('spec', 'missing field: spec is required');
    return undefined;
  }
  const spec = parseSpec(c, doc['spec'], name);
  if (!spec || name === undefined || c.errors.length > 0) return undefined;
  return Object.freeze({ kind: 'TrustRoot', name, spec, source: c.location });
}

/** TrustRoot documents, for ./crd-document's `parseDocument`. */
export const TRUST_ROOT_KIND: DocumentKind<TrustRootDocument> = { kind: 'TrustRoot', parse: parseTrustRoot };
