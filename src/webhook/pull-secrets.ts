/**
 * Registry credentials of an admitted object, the way the kubelet gets them for its Pod:
 *
 *   1. the pod spec's `imagePullSecrets` (a Pod's, or a workload's pod template's), then
 *   2. the `imagePullSecrets` of its ServiceAccount (`serviceAccountName`, else the
 *      deprecated `serviceAccount`, else `default`), those not already named in 1,
 *
 * all read in the object's namespace. Secrets of type `kubernetes.io/dockerconfigjson`
 * (`.dockerconfigjson`) and `kubernetes.io/dockercfg` (`.dockercfg`) count; other types are
 * ignored, as the kubelet ignores them. The entries of all the object's Secrets form one
 * keyring, matched to each image as the kubelet matches (the library's `registryKeyring`),
 * and so do the ServiceAccount's: an entry's credentials go only to the registry its key
 * names, only for this object's images. (The ServiceAccount admission plugin copies the
 * account's secrets into a Pod that names none; for a workload's pod template that happens only
 * when its Pods are created, so both are read here.)
 *
 * A Secret or ServiceAccount that does not exist, cannot be read or holds a malformed docker
 * config is skipped, and said in `searched`, so that a registry's refusal names it (the
 * kubelet skips missing ones too; a malformed one fails its whole pull).
 *
 * Reads go through an ObjectCredentialSource (the Kubernetes API, or memory in tests) and
 * are cached per (namespace, name): found 30 s, not found 5 s, at most 1000 entries of each
 * kind; failures are not cached. A rotated pull secret therefore takes effect within 30 s,
 * and no Secret is listed or watched cluster-wide (the webhook needs only `get`).
 */
import { createHash } from 'node:crypto';
import {
  ImgverifyError,
  keyringEntries,
  registryKeyring,
  type CallCredentials,
  type CredentialCandidate,
  type CredentialLookupResult,
  type KeyringEntry,
  type RegistryKeyring,
} from '../index';
import { abortable } from '../util/abort';
import { errorMessage } from '../util/describe';
import { isRecord, own } from '../util/shape';
import { podSpecOf, type GroupVersionKind } from './admission';
import { TtlCache } from './cache';
import type { ClusterImagePolicy } from './cluster-image-policy-types';
import { policyError } from './crd-document';
import type { EvaluationCredentials } from './evaluate';

/**
 * How Secrets and ServiceAccounts are read. Answers are the objects as the API returns them
 * (`{type, data: {key: base64}}`, `{imagePullSecrets: [{name}]}`), treated as hostile;
 * undefined when the object does not exist; a throw when it cannot be read. A read is shared
 * by every admission that needs it, so no one request's deadline aborts it: the source bounds
 * its reads itself (the Kubernetes API access has its own deadline), and each request stops
 * waiting at its own.
 */
export interface ObjectCredentialSource {
  /** The Secret `namespace/name` (`{type, data}`), undefined when it does not exist. */
  getSecret(namespace: string, name: string): Promise<unknown>;
  /** The ServiceAccount `namespace/name` (`{imagePullSecrets}`), undefined when it does not exist. */
  getServiceAccount(namespace: string, name: string): Promise<unknown>;
}

/** How pull secret reads are cached. */
export interface PullSecretOptions {
  /** How long a Secret or ServiceAccount read is kept. Default 30 s. */
  readonly ttlMs?: number | undefined;
  /** How long "does not exist" is kept. Default 5 s. */
  readonly notFoundTtlMs?: number | undefined;
  /** Most Secrets, and most ServiceAccounts, kept. Default 1000. */
  readonly maxEntries?: number | undefined;
  /** Clock (tests). Default Date.now. */
  readonly now?: (() => number) | undefined;
}

/** How long pull secret reads are kept, and how many, by default. */
export const PULL_SECRET_DEFAULTS = Object.freeze({ ttlMs: 30_000, notFoundTtlMs: 5_000, maxEntries: 1000 });

/** Most pull secrets read for one object (a Pod lists a handful). */
const MAX_SECRETS = 64;
/** The API's own limit on a Secret's data. */
const MAX_SECRET_BYTES = 1024 * 1024;
const SECRET_TYPES: Readonly<Record<string, { key: string; format: 'dockerconfigjson' | 'dockercfg' }>> = Object.freeze({
  'kubernetes.io/dockerconfigjson': { key: '.dockerconfigjson', format: 'dockerconfigjson' },
  'kubernetes.io/dockercfg': { key: '.dockercfg', format: 'dockercfg' },
});

const isObject = isRecord;

/** A Secret read: its entries, or why it gives none. */
type SecretRead = { readonly entries: readonly KeyringEntry[] } | { readonly none: string };
type AccountRead = { readonly secrets: readonly string[] } | { readonly none: string };

/** The names of a `[{name}]` list; malformed entries are skipped, duplicates dropped, at most MAX_SECRETS. */
function referenceNames(list: unknown): string[] {
  if (!Array.isArray(list)) return [];
  const names: string[] = [];
  for (const ref of list) {
    const name = isObject(ref) ? own(ref, 'name') : undefined;
    if (typeof name === 'string' && name !== '' && name.length <= 253 && !names.includes(name)) names.push(name);
    if (names.length >= MAX_SECRETS) break;
  }
  return names;
}

/** The Secret names and ServiceAccount a workload object's Pods pull with. */
export function pullSecretReferences(
  object: unknown,
  kind: GroupVersionKind | string,
): { readonly secrets: readonly string[]; readonly serviceAccount: string } | undefined {
  const found = podSpecOf(object, kind);
  if (found === undefined) return undefined;
  const { podSpec } = found;
  const account = [own(podSpec, 'serviceAccountName'), own(podSpec, 'serviceAccount')].find((v): v is string => typeof v === 'string' && v !== '');
  return { secrets: referenceNames(own(podSpec, 'imagePullSecrets')), serviceAccount: account ?? 'default' };
}

/** The entries of a Secret object as the API returns it; `label` names it. */
export function secretEntries(secret: unknown, label: string): SecretRead {
  if (!isObject(secret)) return { none: `${label} is not an object` };
  const type = own(secret, 'type');
  const spec = typeof type === 'string' && Object.prototype.hasOwnProperty.call(SECRET_TYPES, type) ? SECRET_TYPES[type]! : undefined;
  if (spec === undefined) return { none: `${label} is not of type kubernetes.io/dockerconfigjson or kubernetes.io/dockercfg` };
  const data = own(secret, 'data');
  const encoded = isObject(data) ? own(data, spec.key) : undefined;
  if (typeof encoded !== 'string' || encoded === '') return { none: `${label} has no ${spec.key}` };
  if (encoded.length > (MAX_SECRET_BYTES * 4) / 3 + 4 || !/^[A-Za-z0-9+/]*={0,2}$/.test(encoded))
    return { none: `${label}: ${spec.key} is not base64 of at most 1 MiB` };
  try {
    const entries = keyringEntries(Buffer.from(encoded, 'base64').toString('utf8'), spec.format, label);
    return entries.length > 0 ? { entries } : { none: `${label} has no credentials` };
  } catch (err) {
    // The message names the Secret and what is wrong, never its content.
    return { none: errorMessage(err) };
  }
}

/** Reads Secrets and ServiceAccounts through a source, with a bounded cache; makes each object's credentials. */
export class PullSecretCredentials {
  private readonly secrets: TtlCache<SecretRead>;
  private readonly accounts: TtlCache<AccountRead>;
  private readonly pending = new Map<string, Promise<SecretRead | AccountRead>>();
  private readonly notFoundTtlMs: number;

  constructor(
    private readonly source: ObjectCredentialSource,
    options: PullSecretOptions = {},
  ) {
    const ttlMs = options.ttlMs ?? PULL_SECRET_DEFAULTS.ttlMs;
    const maxEntries = options.maxEntries ?? PULL_SECRET_DEFAULTS.maxEntries;
    this.notFoundTtlMs = Math.min(options.notFoundTtlMs ?? PULL_SECRET_DEFAULTS.notFoundTtlMs, ttlMs);
    const cache = { ttlMs, maxEntries, ...(options.now ? { now: options.now } : {}) };
    this.secrets = new TtlCache(cache);
    this.accounts = new TtlCache(cache);
  }

  /** Forgets every cached read (a watch saw a change it cannot place, tests). */
  clear(): void {
    this.secrets.clear();
    this.accounts.clear();
  }

  /** Forgets one Secret or ServiceAccount (a watch saw it change). */
  forget(kind: 'Secret' | 'ServiceAccount', namespace: string, name: string): void {
    (kind === 'Secret' ? this.secrets : this.accounts).delete(`${namespace}/${name}`);
  }

  /**
   * The credentials of an object admitted in `namespace`; undefined when it has no pod spec or
   * no namespace (its images are then read with the webhook's own credentials only).
   */
  forObject(namespace: string | undefined, object: unknown, kind: GroupVersionKind | string): EvaluationCredentials | undefined {
    if (namespace === undefined || namespace === '') return undefined;
    const refs = pullSecretReferences(object, kind);
    if (refs === undefined) return undefined;
    const fingerprint = createHash('sha256')
      .update(JSON.stringify([namespace, refs.secrets, refs.serviceAccount]))
      .digest('hex');
    // Read at each lookup, through the caches: credentials kept beyond the admission (a tag
    // refreshed in the background, ./tag-cache) follow a rotated Secret within its TTL.
    const credentials: CallCredentials = {
      lookup: async (registry: string, repository: string, signal?: AbortSignal): Promise<CredentialLookupResult> => {
        const { own: mine, account, searched } = await abortable(this.keyrings(namespace, refs.secrets, refs.serviceAccount), signal);
        const image = `${registry}/${repository}`;
        const candidates: CredentialCandidate[] = [...mine.lookup(image), ...account.lookup(image)];
        return { candidates, searched };
      },
    };
    return { credentials, fingerprint };
  }

  /**
   * Credentials from named Secrets of a namespace only, no ServiceAccount (a policy's
   * `source[].signaturePullSecrets`, read in the admitted object's namespace). Same reads,
   * cache and matching as `forObject`.
   */
  forSecrets(namespace: string, names: readonly string[]): EvaluationCredentials {
    const secrets = referenceNames(names.map((name) => ({ name })));
    const fingerprint = createHash('sha256')
      .update(JSON.stringify(['secrets', namespace, secrets]))
      .digest('hex');
    const load = async (): Promise<{ keyring: RegistryKeyring; searched: string }> => {
      const notes: string[] = [];
      const entries = await this.entriesOf(namespace, secrets, '', notes);
      return { keyring: registryKeyring(entries), searched: `secrets in ${namespace}: ${notes.join('; ') || 'none named'}` };
    };
    const credentials: CallCredentials = {
      lookup: async (registry: string, repository: string, signal?: AbortSignal): Promise<CredentialLookupResult> => {
        const { keyring: found, searched } = await abortable(load(), signal);
        return { candidates: found.lookup(`${registry}/${repository}`), searched };
      },
    };
    return { credentials, fingerprint };
  }

  private async keyrings(namespace: string, names: readonly string[], serviceAccount: string) {
    const notes: string[] = [];
    const ownEntries = await this.entriesOf(namespace, names, '', notes);
    const accountLabel = `ServiceAccount ${namespace}/${serviceAccount}`;
    const account = await this.account(namespace, serviceAccount);
    let accountEntries: KeyringEntry[] = [];
    if ('none' in account) notes.push(account.none);
    else {
      const extra = account.secrets.filter((n) => !names.includes(n));
      accountEntries = await this.entriesOf(namespace, extra, ` (of ${accountLabel})`, notes);
      if (account.secrets.length === 0) notes.push(`${accountLabel} has no imagePullSecrets`);
    }
    if (names.length === 0) notes.unshift(`the object names no imagePullSecrets`);
    return { own: registryKeyring(ownEntries), account: registryKeyring(accountEntries), searched: `pull secrets in ${namespace}: ${notes.join('; ')}` };
  }

  private async entriesOf(namespace: string, names: readonly string[], suffix: string, notes: string[]): Promise<KeyringEntry[]> {
    const reads = await Promise.all(names.map((name) => this.secret(namespace, name)));
    const entries: KeyringEntry[] = [];
    reads.forEach((read, i) => {
      if ('none' in read) notes.push(`${read.none}${suffix}`);
      else {
        notes.push(`Secret ${namespace}/${names[i]}${suffix}`);
        entries.push(...read.entries.map((e) => (suffix === '' ? e : { ...e, source: `${e.source}${suffix}` })));
      }
    });
    return entries;
  }

  private secret(namespace: string, name: string): Promise<SecretRead> {
    const label = `Secret ${namespace}/${name}`;
    return this.cached(this.secrets, `${namespace}/${name}`, `secret\0${namespace}/${name}`, label, async () => {
      const secret = await this.source.getSecret(namespace, name);
      return secret === undefined ? undefined : secretEntries(secret, label);
    });
  }

  private account(namespace: string, name: string): Promise<AccountRead> {
    const label = `ServiceAccount ${namespace}/${name}`;
    return this.cached(this.accounts, `${namespace}/${name}`, `account\0${namespace}/${name}`, label, async () => {
      const account = await this.source.getServiceAccount(namespace, name);
      if (account === undefined) return undefined;
      return isObject(account) ? { secrets: referenceNames(own(account, 'imagePullSecrets')) } : { none: `${label} is not an object` };
    });
  }

  /** A read through the cache, shared while in flight; "not found" kept shorter, failures not at all. */
  private async cached<T extends SecretRead | AccountRead>(
    cache: TtlCache<T>,
    key: string,
    flightKey: string,
    label: string,
    read: () => Promise<T | undefined>,
  ): Promise<T> {
    const hit = cache.get(key);
    if (hit !== undefined) return hit;
    let flight = this.pending.get(flightKey) as Promise<T> | undefined;
    if (flight === undefined) {
      flight = (async (): Promise<T> => {
        try {
          const value = await read();
          if (value === undefined) {
            const absent = { none: `${label} does not exist` } as T;
            cache.set(key, absent, this.notFoundTtlMs);
            return absent;
          }
          cache.set(key, value);
          return value;
        } catch (err) {
          const why = err instanceof ImgverifyError ? `${err.message} [${err.code}]` : errorMessage(err);
          return { none: `${label} cannot be read: ${why}` } as T;
        }
      })();
      this.pending.set(flightKey, flight);
      void flight.finally(() => this.pending.delete(flightKey));
    }
    return flight;
  }
}

/**
 * Errors for the authority sources that name `signaturePullSecrets`, for a setting without
 * Secrets to read them from (`where`: a policy folder without an ObjectCredentialSource,
 * `policy test`). Such a set does not load, rather than failing every admission it governs,
 * and is never loaded by reading the signatures with other credentials than the policy names.
 */
export function signaturePullSecretErrors(policies: readonly ClusterImagePolicy[], where: string): ImgverifyError[] {
  const errors: ImgverifyError[] = [];
  for (const policy of policies) {
    policy.authorities.forEach((authority, i) => {
      authority.sources?.forEach((source, j) => {
        if (source.signaturePullSecrets.length === 0) return;
        errors.push(
          policyError(
            policy.source,
            `spec.authorities[${i}].source[${j}].signaturePullSecrets`,
            `${where} cannot read Secrets of the admitted object's namespace, which signaturePullSecrets name; the webhook reads them in cluster mode (policies from the cluster, no --policies) or through an embedder's objectCredentials`,
          ),
        );
      });
    });
  }
  return errors;
}
