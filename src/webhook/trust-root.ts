/**
 * policy-controller's `TrustRoot` (policy.sigstore.dev/v1alpha1) documents in the policy
 * folder: parsed and validated here, turned into trust for the authorities that name them
 * (`keyless.trustRootRef`, `ctlog.trustRootRef`, `rfc3161timestamp.trustRootRef`) by
 * `TrustRootSet`. Exactly one of:
 *
 *   spec.sigstoreKeys   PEM certificate chains and public keys ([]byte in the CRD: base64 of the
 *                       PEM; PEM text is accepted too): a fixed trusted root (../trust/from-keys.ts)
 *   spec.remote         {mirror, root (base64 root.json), targets?}: a TUF repository, updated and
 *                       refreshed like `imgverify initialize` (cache under the webhook's TUF cache)
 *   spec.repository     {root, mirrorFS (base64 of a .tar.gz of the repository), targets?}: the same,
 *                       verified from the tarball with no network (air-gapped clusters)
 *
 * Which parts of a TrustRoot an authority uses: a reference's own part (certificate
 * authorities and CT logs for `keyless`, transparency logs for `ctlog`, timestamp authorities
 * for `rfc3161timestamp`); parts no reference names come from the authority's first named
 * TrustRoot (keyless, then ctlog, then rfc3161timestamp). So `keyless.trustRootRef: github`
 * alone means GitHub's whole root. (policy-controller takes unnamed parts from its default TUF
 * root instead; see docs/webhook.md.)
 */
import { createHash } from 'node:crypto';
import { join } from 'node:path';
import { gunzipSync } from 'node:zlib';
import { extract } from 'tar-stream';
import {
  ComposedTrustRoot,
  hasTufCache,
  ImgverifyError,
  initializeTuf,
  loadTufTrustRoot,
  trustRootFromKeys,
  trustRootFromTufRepository,
  type KeysAuthority,
  type KeysLog,
  type LoadedTrustRoot,
  type TrustEntry,
  type TrustKeys,
  type TrustRootProvider,
  type TufStatus,
  type TufTrustRoot,
} from '../index';
import type { Authority, ClusterImagePolicy } from './cluster-image-policy';
import { type Checker, DNS_SUBDOMAIN, OBJECT_META_FIELDS, describeLocation, isAbsoluteURL, policyError, present, type Json, type PolicyLocation } from './cluster-image-policy';

export const TRUST_ROOT_API_VERSION = 'policy.sigstore.dev/v1alpha1';
/** A mirrorFS tarball unpacks to at most this much (a TUF repository with a few targets is well under 1 MiB). */
const MAX_REPOSITORY_BYTES = 32 * 1024 * 1024;

export type TrustRootSpec =
  | { readonly kind: 'sigstoreKeys'; readonly keys: TrustKeys }
  | { readonly kind: 'remote'; readonly mirror: string; readonly root: Buffer; readonly targets?: string }
  | { readonly kind: 'repository'; readonly root: Buffer; readonly mirrorFS: Buffer; readonly targets?: string };

export interface TrustRootDocument {
  readonly kind: 'TrustRoot';
  /** metadata.name: what `trustRootRef` names. */
  readonly name: string;
  readonly spec: TrustRootSpec;
  readonly source: PolicyLocation;
}

export function isTrustRoot(value: unknown): value is TrustRootDocument {
  return typeof value === 'object' && value !== null && (value as { kind?: unknown }).kind === 'TrustRoot';
}

// --- Parsing -----------------------------------------------------------------------------------

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
    out.push({ uri, certChainPem: chain.toString('utf8'), ...(organization !== undefined ? { organization } : {}), ...(commonName !== undefined ? { commonName } : {}) });
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
      certificateAuthorities: present(obj, 'certificateAuthorities') ? parseAuthorities(c, obj['certificateAuthorities'], `${path}.certificateAuthorities`) : [],
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
        c.error(path, (err as Error).message);
      }
    }
    return { kind: 'sigstoreKeys', keys };
  }
  const targets = c.string(obj, 'targets', path);
  if (form === 'remote') {
    c.onlyKnown(obj, path, ['mirror', 'root', 'targets']);
    const mirror = c.string(obj, 'mirror', path);
    if (mirror === undefined) c.error(`${path}.mirror`, 'missing field: mirror is required');
    else if (!isAbsoluteURL(mirror)) c.error(`${path}.mirror`, `not an http(s) URL: ${JSON.stringify(mirror)}`);
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

/** @internal A TrustRoot document (the caller checked `kind`). */
export function parseTrustRoot(c: Checker, doc: Json): TrustRootDocument | undefined {
  const apiVersion = c.string(doc, 'apiVersion', '');
  if (apiVersion !== TRUST_ROOT_API_VERSION) {
    c.error('apiVersion', `unsupported apiVersion ${JSON.stringify(apiVersion ?? null)} for a TrustRoot: expected ${TRUST_ROOT_API_VERSION}`);
    return undefined;
  }
  c.onlyKnown(doc, '', ['apiVersion', 'kind', 'metadata', 'spec', 'status']);
  const metadata = present(doc, 'metadata') ? c.object(doc['metadata'], 'metadata') : undefined;
  if (metadata) c.onlyKnown(metadata, 'metadata', OBJECT_META_FIELDS);
  const name = metadata ? c.string(metadata, 'name', 'metadata') : undefined;
  if (name === undefined) c.error('metadata.name', 'missing field: metadata.name is required');
  else if (name.length > 253 || !DNS_SUBDOMAIN.test(name)) c.error('metadata.name', `invalid name ${JSON.stringify(name)}: must be a lower-case RFC 1123 subdomain`);
  if (!present(doc, 'spec')) {
    c.error('spec', 'missing field: spec is required');
    return undefined;
  }
  const spec = parseSpec(c, doc['spec'], name);
  if (!spec || name === undefined || c.errors.length > 0) return undefined;
  return Object.freeze({ kind: 'TrustRoot', name, spec, source: c.location });
}

export function duplicateTrustRootNames(roots: readonly TrustRootDocument[]): ImgverifyError[] {
  const seen = new Map<string, PolicyLocation>();
  const errors: ImgverifyError[] = [];
  for (const root of roots) {
    const first = seen.get(root.name);
    if (first) errors.push(policyError(root.source, 'metadata.name', `duplicate TrustRoot name ${JSON.stringify(root.name)} (first in ${describeLocation(first)})`));
    else seen.set(root.name, root.source);
  }
  return errors;
}

// --- Resolving ---------------------------------------------------------------------------------

/** The files of a gzipped tarball of a TUF repository, by path below its `repository/` folder (policy-controller's layout). */
export async function unpackRepository(mirrorFS: Buffer): Promise<Map<string, Buffer>> {
  const tar = gunzipSync(mirrorFS, { maxOutputLength: MAX_REPOSITORY_BYTES });
  const files = new Map<string, Buffer>();
  const ex = extract();
  const done = new Promise<void>((resolve, reject) => {
    ex.on('entry', (header, stream, next) => {
      const chunks: Buffer[] = [];
      stream.on('data', (d: unknown) => chunks.push(d as Buffer));
      stream.on('end', () => {
        if (header.type === 'file') {
          const path = header.name.replace(/^\.?\/+/, '').replace(/^repository\//, '');
          files.set(path, Buffer.concat(chunks));
        }
        next();
      });
      stream.resume();
    });
    ex.on('finish', resolve);
    ex.on('error', reject);
  });
  ex.end(tar);
  await done;
  return files;
}

/** A TrustRoot as trust: fixed, TUF-backed (refreshed), or failing with the reason it could not be loaded. */
export interface ResolvedTrustRoot {
  readonly name: string;
  readonly entry: TrustEntry;
  /** The TUF handle of a `remote` TrustRoot (refreshed periodically). */
  readonly tuf?: LazyTufRoot;
  /** When it was loaded / last refreshed (ms) and its TUF metadata expiry, for metrics. */
  lastRefresh: number;
  expires?: number;
}

/**
 * A `remote` TrustRoot whose first update may fail (mirror down at start-up): until it
 * succeeds, `current()` throws the reason (authorities using it fail closed, operational),
 * and every `refresh()` tries again.
 */
export class LazyTufRoot implements TrustRootProvider {
  private tuf: TufTrustRoot | undefined;
  private error: ImgverifyError;

  constructor(
    readonly source: string,
    private readonly load: () => Promise<TufTrustRoot>,
  ) {
    this.error = new ImgverifyError('TUF_MIRROR_UNREACHABLE', `${source} is not loaded yet`);
  }

  current(): LoadedTrustRoot {
    if (!this.tuf) throw this.error;
    return this.tuf.current();
  }

  status(): TufStatus | undefined {
    return this.tuf?.status();
  }

  /** Loads it (first time) or refreshes it; returns the warning of a refresh that kept the cache, or throws. */
  async refresh(): Promise<string | undefined> {
    if (!this.tuf) {
      try {
        this.tuf = await this.load();
        return this.tuf.warnings[0];
      } catch (err) {
        this.error = err instanceof ImgverifyError ? err : new ImgverifyError('TUF_MIRROR_UNREACHABLE', `${this.source}: ${(err as Error).message}`, { cause: err });
        throw this.error;
      }
    }
    return (await this.tuf.refresh()).warning;
  }
}

export interface TrustRootSetOptions {
  /** Where `remote` TrustRoots keep their TUF caches (one folder each) and `repository` ones unpack. */
  readonly cacheDir: string;
  /** Never contact a mirror (remote TrustRoots then need a cache from an earlier run). */
  readonly offline?: boolean;
}

function specKey(doc: TrustRootDocument): string {
  const hash = createHash('sha256');
  const spec = doc.spec;
  if (spec.kind === 'sigstoreKeys') hash.update(JSON.stringify(spec.keys));
  else if (spec.kind === 'remote') hash.update(`${spec.mirror}\0${spec.targets ?? ''}\0`).update(spec.root);
  else hash.update(`${spec.targets ?? ''}\0`).update(spec.root).update('\0').update(spec.mirrorFS);
  return `${doc.name}\0${spec.kind}\0${hash.digest('hex')}`;
}

/**
 * The TrustRoots of the policy set in force, loaded once per distinct spec (a policy reload
 * that keeps a TrustRoot keeps its loaded trust and TUF cache).
 */
export class TrustRootSet {
  private byKey = new Map<string, ResolvedTrustRoot>();
  private byName = new Map<string, ResolvedTrustRoot>();

  constructor(private readonly options: TrustRootSetOptions) {}

  /** Loads the documents (those already loaded are kept); returns the errors of those that failed (they fail closed). */
  async load(docs: readonly TrustRootDocument[]): Promise<Array<{ name: string; error: ImgverifyError }>> {
    const next = new Map<string, ResolvedTrustRoot>();
    const errors: Array<{ name: string; error: ImgverifyError }> = [];
    for (const doc of docs) {
      const key = specKey(doc);
      let resolved = this.byKey.get(key);
      if (!resolved) {
        resolved = await this.resolve(doc, key);
        const failure = await this.firstLoad(resolved);
        if (failure) errors.push({ name: doc.name, error: failure });
      }
      next.set(key, resolved);
    }
    this.byKey = next;
    this.byName = new Map([...next.values()].map((r) => [r.name, r]));
    return errors;
  }

  /** @internal */
  get(name: string): ResolvedTrustRoot | undefined {
    return this.byName.get(name);
  }

  /** @internal */
  get all(): readonly ResolvedTrustRoot[] {
    return [...this.byName.values()];
  }

  /** @internal Refreshes the TUF-backed TrustRoots (an update from the mirror only when due); one result each. */
  async refresh(): Promise<Array<{ name: string; result: 'refreshed' | 'kept' | 'failed'; message?: string }>> {
    const out: Array<{ name: string; result: 'refreshed' | 'kept' | 'failed'; message?: string }> = [];
    for (const r of this.byName.values()) {
      if (!r.tuf) continue;
      try {
        const warning = await r.tuf.refresh();
        this.track(r);
        out.push(warning ? { name: r.name, result: 'kept', message: warning } : { name: r.name, result: 'refreshed' });
      } catch (err) {
        out.push({ name: r.name, result: 'failed', message: (err as Error).message });
      }
    }
    return out;
  }

  private track(r: ResolvedTrustRoot): void {
    const status = r.tuf?.status();
    if (!status) return;
    r.lastRefresh = Date.parse(status.updatedAt);
    r.expires = Date.parse(status.expires);
  }

  private async firstLoad(r: ResolvedTrustRoot): Promise<ImgverifyError | undefined> {
    if (!r.tuf) return undefined;
    try {
      await r.tuf.refresh();
      this.track(r);
      return undefined;
    } catch (err) {
      return err instanceof ImgverifyError ? err : new ImgverifyError('TUF_MIRROR_UNREACHABLE', (err as Error).message);
    }
  }

  private async resolve(doc: TrustRootDocument, key: string): Promise<ResolvedTrustRoot> {
    const source = `TrustRoot ${doc.name}`;
    const spec = doc.spec;
    const folder = join(this.options.cacheDir, `trustroot-${doc.name}-${createHash('sha256').update(key).digest('hex').slice(0, 16)}`);
    if (spec.kind === 'sigstoreKeys') return { name: doc.name, entry: trustRootFromKeys(spec.keys, source), lastRefresh: Date.now() };
    if (spec.kind === 'repository') {
      try {
        const files = await unpackRepository(spec.mirrorFS);
        const loaded = await trustRootFromTufRepository(spec.root, files, { source, scratchDir: this.options.cacheDir, ...(spec.targets !== undefined ? { targets: spec.targets } : {}) });
        return { name: doc.name, entry: loaded.root, lastRefresh: Date.now(), expires: Date.parse(loaded.status.expires) };
      } catch (err) {
        const error = err instanceof ImgverifyError ? err : new ImgverifyError('TUF_METADATA_INVALID', `${source}: spec.repository.mirrorFS is not a gzipped tarball of a TUF repository: ${(err as Error).message}`);
        return { name: doc.name, entry: failing(source, error), lastRefresh: Date.now() };
      }
    }
    const offline = this.options.offline === true;
    const tuf = new LazyTufRoot(source, () =>
      hasTufCache(folder)
        ? loadTufTrustRoot({ cacheDir: folder, offline })
        : offline
          ? Promise.reject(new ImgverifyError('TUF_NOT_INITIALIZED', `${source}: no TUF cache in ${folder} and offline: its mirror ${spec.mirror} may not be asked`))
          : initializeTuf({ mirror: spec.mirror, root: spec.root, cacheDir: folder, ...(spec.targets !== undefined ? { targets: spec.targets } : {}) }),
    );
    return { name: doc.name, entry: tuf, tuf, lastRefresh: 0 };
  }
}

/** A provider that always fails with `error` (a TrustRoot that could not be loaded: fail closed). */
function failing(source: string, error: ImgverifyError): TrustRootProvider {
  return {
    source,
    current: () => {
      throw error;
    },
  };
}

// --- Which trust an authority uses -------------------------------------------------------------

/**
 * The trust roots an authority verifies against: undefined for the default; else built from the
 * TrustRoots it names and its `ca-cert` (see the module comment). Throws when a name is unknown.
 */
export function authorityTrust(policy: ClusterImagePolicy, authority: Authority, roots: TrustRootSet, defaults: readonly TrustEntry[]): readonly TrustEntry[] | undefined {
  const refs = authority.trustRootRefs ?? {};
  const caCert = authority.keyless?.caCert;
  if (refs.keyless === undefined && refs.ctlog === undefined && refs.rfc3161timestamp === undefined && caCert === undefined) return undefined;
  const lookup = (name: string | undefined): TrustEntry | undefined => {
    if (name === undefined) return undefined;
    const found = roots.get(name);
    if (!found) throw new ImgverifyError('INVALID_POLICY', `no TrustRoot named ${JSON.stringify(name)} is loaded`);
    return found.entry;
  };
  const named = { keyless: lookup(refs.keyless), ctlog: lookup(refs.ctlog), tsa: lookup(refs.rfc3161timestamp) };
  const primary = named.keyless ?? named.ctlog ?? named.tsa;
  const label = `policy ${policy.name} authority ${authority.name}`;
  const ca = caCert !== undefined ? trustRootFromKeys({ certificateAuthorities: [{ uri: authority.keyless?.url ?? '', certChainPem: caCert }] }, `${label} ca-cert`) : undefined;
  const bases = primary ? [primary] : defaults;
  // One name for every part and no ca-cert: that TrustRoot as it is.
  if (!ca && [named.keyless, named.ctlog, named.tsa].every((e) => e === undefined || e === primary)) return [primary!];
  return bases.map(
    (base, i) =>
      new ComposedTrustRoot(`${label}${bases.length > 1 ? ` #${i + 1}` : ''}`, {
        certificateAuthorities: ca ?? named.keyless ?? base,
        ctlogs: named.keyless ?? base,
        transparencyLogs: named.ctlog ?? base,
        timestampAuthorities: named.tsa ?? base,
      }),
  );
}
