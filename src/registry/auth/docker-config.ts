/**
 * Credential files in the docker `config.json` format and its relatives: the `auths`,
 * `credHelpers` and `credsStore` of docker's config; containers-auth.json(5) (podman,
 * buildah, skopeo: the same `auths`/`credHelpers`, with keys that may name a namespace such
 * as `quay.io/org`); a mounted `kubernetes.io/dockerconfigjson` Secret (docker's format); and
 * the legacy `~/.dockercfg` (the `auths` map at the top level). Helpers are run elsewhere
 * (./credential-helper); this module only reads files.
 */
import { ImgverifyError } from '../../errors';
import type { RegistryCredentials } from './credential-types';
import { isRecord } from '../../util/shape';

export type CredentialFileFormat = 'docker' | 'containers' | 'dockercfg';

export interface DockerConfig {
  /** Normalised registry key → credentials (undefined: an entry with nothing usable). */
  readonly auths: ReadonlyMap<string, RegistryCredentials | undefined>;
  /** containers auth.json only: `host/namespace` keys → credentials. */
  readonly namespaced: ReadonlyMap<string, RegistryCredentials | undefined>;
  /** Normalised registry key → helper name, from `credHelpers`. */
  readonly credHelpers: ReadonlyMap<string, string>;
  readonly credsStore?: string;
}

export interface DockerConfigLookup {
  readonly credentials?: RegistryCredentials;
  /** The credential helper that holds this registry's credentials (`docker-credential-<helper>`). */
  readonly helper?: string;
}

const DOCKER_HUB_ALIASES = new Set(['docker.io', 'index.docker.io', 'registry-1.docker.io', 'registry.hub.docker.com']);

/**
 * The registry a docker config key (or a credentials option key) names, in the form of
 * `ImageReference.registry`: scheme and path dropped, lower case, Docker Hub's aliases
 * (`https://index.docker.io/v1/`) mapped to `docker.io`.
 */
export function normaliseRegistryKey(key: string): string {
  let host = key.trim().toLowerCase();
  const scheme = /^[a-z][a-z0-9+.-]*:\/\//.exec(host);
  if (scheme) host = host.slice(scheme[0].length);
  const slash = host.indexOf('/');
  if (slash !== -1) host = host.slice(0, slash);
  return DOCKER_HUB_ALIASES.has(host) ? 'docker.io' : host;
}

/** Parses a credential file's text; `path` is only for messages. Throws INVALID_OPTIONS. */
export function parseDockerConfig(text: string, path: string, format: CredentialFileFormat = 'docker'): DockerConfig {
  const where = fileWhere(path);
  const json = parseJsonObject(text, where);
  const auths = new Map<string, RegistryCredentials | undefined>();
  const namespaced = new Map<string, RegistryCredentials | undefined>();
  for (const { key, credentials } of rawAuthEntries(json, where, format === 'dockercfg' ? 'dockercfg' : 'docker')) {
    const scoped = format === 'containers' ? namespaceKey(key) : undefined;
    const target = scoped !== undefined ? namespaced : auths;
    const registry = scoped ?? normaliseRegistryKey(key);
    // A later exact spelling must not be shadowed by an alias seen first, nor the reverse:
    // the first usable entry wins, as docker's lookup order is unspecified here.
    if (!target.has(registry) || (target.get(registry) === undefined && credentials !== undefined)) {
      target.set(registry, credentials);
    }
  }

  const credHelpers = new Map<string, string>();
  if (format !== 'dockercfg' && json.credHelpers !== undefined) {
    if (!isRecord(json.credHelpers)) throw invalid(where, '"credHelpers" is not an object');
    for (const [key, helper] of Object.entries(json.credHelpers)) {
      if (typeof helper !== 'string') throw invalid(where, `credHelpers["${key}"] is not a string`);
      if (helper !== '') credHelpers.set(normaliseRegistryKey(key), helper);
    }
  }

  if (format !== 'dockercfg' && json.credsStore !== undefined && typeof json.credsStore !== 'string') {
    throw invalid(where, '"credsStore" is not a string');
  }
  const credsStore = format !== 'dockercfg' && typeof json.credsStore === 'string' && json.credsStore !== '' ? json.credsStore : undefined;
  return { auths, namespaced, credHelpers, ...(credsStore !== undefined ? { credsStore } : {}) };
}

/**
 * What a file says about one registry (`ImageReference.registry`) and repository, in the
 * docker CLI's order: a `credHelpers` entry; else `credsStore` (the helper then holds every
 * registry's credentials, and docker ignores inline `auths`); else the inline `auths` entry.
 * containers auth.json entries for a namespace (`quay.io/org`) come before the registry's,
 * most specific first, as containers-auth.json(5) specifies.
 */
export function lookupDockerConfig(config: DockerConfig, registry: string, repository?: string): DockerConfigLookup {
  const key = normaliseRegistryKey(registry);
  const helper = config.credHelpers.get(key);
  if (helper !== undefined) return { helper };
  if (repository !== undefined && config.namespaced.size > 0) {
    const parts = repository.split('/');
    for (let n = parts.length; n > 0; n--) {
      const credentials = config.namespaced.get(`${key}/${parts.slice(0, n).join('/')}`);
      if (credentials !== undefined) return { credentials };
    }
  }
  if (config.credsStore !== undefined) return { helper: config.credsStore };
  const credentials = config.auths.get(key);
  return credentials !== undefined ? { credentials } : {};
}

/** `host/namespace` for a containers auth.json key that names a namespace, else undefined. */
function namespaceKey(key: string): string | undefined {
  const trimmed = key.trim();
  // A scheme marks a legacy docker-style key (`https://index.docker.io/v1/`): no namespace.
  if (/^[a-z][a-z0-9+.-]*:\/\//i.test(trimmed)) return undefined;
  const slash = trimmed.indexOf('/');
  if (slash === -1) return undefined;
  const path = trimmed.slice(slash + 1).replace(/\/+$/, '');
  return path === '' ? undefined : `${normaliseRegistryKey(trimmed.slice(0, slash))}/${path}`;
}

/** Where a credential document comes from, for messages and error details (never its content). */
export interface CredentialDocumentWhere {
  /** Message prefix: `credential file /path`, `Secret ns/name (.dockerconfigjson)`. */
  readonly label: string;
  readonly details: Readonly<Record<string, unknown>>;
}

function fileWhere(path: string): CredentialDocumentWhere {
  return { label: `credential file ${path}`, details: { dockerConfigPath: path } };
}

/** The JSON object of a credential document. Throws INVALID_OPTIONS (never quoting the text). */
export function parseJsonObject(text: string, where: CredentialDocumentWhere): Record<string, unknown> {
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch {
    // V8's message quotes the text around the error, which may be a secret.
    throw invalid(where, 'not valid JSON');
  }
  if (!isRecord(json)) throw invalid(where, 'the top level is not a JSON object');
  return json;
}

/**
 * The `auths` entries of a docker config (`docker`: under `auths`, as in `config.json` and a
 * `kubernetes.io/dockerconfigjson` Secret) or of a legacy `.dockercfg` (`dockercfg`: the map
 * is the top level, as in a `kubernetes.io/dockercfg` Secret), with their keys as written and
 * in document order; `credentials` is undefined for an entry with nothing usable.
 */
export function rawAuthEntries(
  json: Record<string, unknown>,
  where: CredentialDocumentWhere,
  format: 'docker' | 'dockercfg',
): Array<{ readonly key: string; readonly credentials: RegistryCredentials | undefined }> {
  const entries = format === 'dockercfg' ? json : json.auths;
  if (entries === undefined) return [];
  if (!isRecord(entries)) throw invalid(where, '"auths" is not an object');
  return Object.entries(entries).map(([key, entry]) => ({ key, credentials: parseEntry(entry, key, where) }));
}

function parseEntry(entry: unknown, key: string, where: CredentialDocumentWhere): RegistryCredentials | undefined {
  if (!isRecord(entry)) throw invalid(where, `auths["${key}"] is not an object`);
  const str = (field: string): string | undefined => {
    const value = entry[field];
    if (value === undefined || value === null || value === '') return undefined;
    if (typeof value !== 'string') throw invalid(where, `auths["${key}"].${field} is not a string`);
    return value;
  };
  const identityToken = str('identitytoken');
  if (identityToken !== undefined) return { identityToken };

  const auth = str('auth');
  if (auth !== undefined) {
    if (!/^[A-Za-z0-9+/]*={0,2}$/.test(auth)) throw invalid(where, `auths["${key}"].auth is not base64`);
    const decoded = Buffer.from(auth, 'base64').toString('utf8');
    const colon = decoded.indexOf(':');
    if (colon <= 0) throw invalid(where, `auths["${key}"].auth does not decode to "username:password"`);
    return { username: decoded.slice(0, colon), password: decoded.slice(colon + 1) };
  }
  const username = str('username');
  const password = str('password');
  if (username !== undefined && password !== undefined) return { username, password };
  return undefined;
}

function invalid(where: CredentialDocumentWhere, why: string): ImgverifyError {
  // Never quote the document's content: it holds secrets.
  return new ImgverifyError('INVALID_OPTIONS', `${where.label}: ${why}`, { details: { ...where.details } });
}
