/**
 * docker `config.json`: the `auths` section, as the docker CLI writes it. Credential helpers
 * (`credHelpers`, `credsStore`) are recognised but never run: imgverify executes no binaries.
 */
import { ImgverifyError } from '../../errors';
import type { RegistryCredentials } from '../types';

export interface DockerConfig {
  /** Normalised registry key → credentials (undefined: an entry with nothing usable). */
  readonly auths: ReadonlyMap<string, RegistryCredentials | undefined>;
  /** Normalised registry key → helper name, from `credHelpers`. */
  readonly credHelpers: ReadonlyMap<string, string>;
  readonly credsStore?: string;
}

export interface DockerConfigLookup {
  readonly credentials?: RegistryCredentials;
  /** A credential helper that holds this registry's credentials, which we do not run. */
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

/** Parses config.json text; `path` is only for messages. Throws INVALID_OPTIONS. */
export function parseDockerConfig(text: string, path: string): DockerConfig {
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch {
    // V8's message quotes the text around the error, which may be a secret.
    throw invalid(path, 'not valid JSON');
  }
  if (!isObject(json)) throw invalid(path, 'the top level is not a JSON object');

  const auths = new Map<string, RegistryCredentials | undefined>();
  if (json.auths !== undefined) {
    if (!isObject(json.auths)) throw invalid(path, '"auths" is not an object');
    for (const [key, entry] of Object.entries(json.auths)) {
      const registry = normaliseRegistryKey(key);
      // A later exact spelling must not be shadowed by an alias seen first, nor the reverse:
      // the first usable entry wins, as docker's lookup order is unspecified here.
      const credentials = parseEntry(entry, key, path);
      if (!auths.has(registry) || (auths.get(registry) === undefined && credentials !== undefined)) {
        auths.set(registry, credentials);
      }
    }
  }

  const credHelpers = new Map<string, string>();
  if (json.credHelpers !== undefined) {
    if (!isObject(json.credHelpers)) throw invalid(path, '"credHelpers" is not an object');
    for (const [key, helper] of Object.entries(json.credHelpers)) {
      if (typeof helper !== 'string') throw invalid(path, `credHelpers["${key}"] is not a string`);
      credHelpers.set(normaliseRegistryKey(key), helper);
    }
  }

  if (json.credsStore !== undefined && typeof json.credsStore !== 'string') {
    throw invalid(path, '"credsStore" is not a string');
  }
  const credsStore = typeof json.credsStore === 'string' && json.credsStore !== '' ? json.credsStore : undefined;
  return { auths, credHelpers, ...(credsStore !== undefined ? { credsStore } : {}) };
}

/** What the config says about one registry (`ImageReference.registry`). */
export function lookupDockerConfig(config: DockerConfig, registry: string): DockerConfigLookup {
  const key = normaliseRegistryKey(registry);
  const credentials = config.auths.get(key);
  if (credentials !== undefined) return { credentials };
  // docker consults a helper before the inline entry; we cannot, so we report it.
  const helper = config.credHelpers.get(key) ?? config.credsStore;
  return helper !== undefined ? { helper } : {};
}

function parseEntry(entry: unknown, key: string, path: string): RegistryCredentials | undefined {
  if (!isObject(entry)) throw invalid(path, `auths["${key}"] is not an object`);
  const str = (field: string): string | undefined => {
    const value = entry[field];
    if (value === undefined || value === null || value === '') return undefined;
    if (typeof value !== 'string') throw invalid(path, `auths["${key}"].${field} is not a string`);
    return value;
  };
  const identityToken = str('identitytoken');
  if (identityToken !== undefined) return { identityToken };

  const auth = str('auth');
  if (auth !== undefined) {
    if (!/^[A-Za-z0-9+/]*={0,2}$/.test(auth)) throw invalid(path, `auths["${key}"].auth is not base64`);
    const decoded = Buffer.from(auth, 'base64').toString('utf8');
    const colon = decoded.indexOf(':');
    if (colon <= 0) throw invalid(path, `auths["${key}"].auth does not decode to "username:password"`);
    return { username: decoded.slice(0, colon), password: decoded.slice(colon + 1) };
  }
  const username = str('username');
  const password = str('password');
  if (username !== undefined && password !== undefined) return { username, password };
  return undefined;
}

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function invalid(path: string, why: string): ImgverifyError {
  // Never quote the file's content: it holds secrets.
  return new ImgverifyError('INVALID_OPTIONS', `docker config ${path}: ${why}`, {
    details: { dockerConfigPath: path },
  });
}
