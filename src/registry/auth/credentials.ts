/**
 * Where credentials for a registry come from, per registry host, in one chain:
 *
 *   1. the `credentials` option (what the caller named explicitly);
 *   2. credential files, in order, the first that has an answer for the registry wins: by
 *      default `$REGISTRY_AUTH_FILE` (if set), the docker config (`$DOCKER_CONFIG/config.json`,
 *      else `~/.docker/config.json`), `$XDG_RUNTIME_DIR/containers/auth.json`,
 *      `${XDG_CONFIG_HOME:-~/.config}/containers/auth.json`, `~/.dockercfg`
 *      (containers-auth.json(5)); within a file, docker's order (`credHelpers`, `credsStore`,
 *      inline `auths`), a helper being run for its answer;
 *   3. nothing: anonymous. Nothing found for a host never means "reuse another's".
 *
 * Files are read lazily (only when a registry asks for authentication), bounded, and cached
 * until `reload()`; helper answers likewise. Nothing read here is ever quoted in messages.
 */
import { stat } from 'node:fs/promises';
import { homedir } from 'node:os';
import { join } from 'node:path';
import { ImgverifyError } from '../../errors';
import { readBoundedFile } from '../../util/bounded-file';
import { errorMessage } from '../../util/describe';
import { SharedRun } from '../../util/shared-run';
import type { CredentialLookupResult, RegistryCredentials } from './credential-types';
import type { CredentialProviders } from './credential-provider';
import { helperLabel, runCredentialHelper } from './credential-helper';
import { lookupDockerConfig, normaliseRegistryKey, parseDockerConfig, type CredentialFileFormat, type DockerConfig } from './docker-config';

const MAX_CONFIG_BYTES = 1024 * 1024;
/**
 * How long a helper's failure is kept (a helper that hangs or crashes is not run again for
 * every registry request, one process each); its absence of credentials is kept until reload.
 */
const HELPER_FAILURE_TTL_MS = 10_000;

/** A helper run shared by the lookups waiting for it; stopped when every one of them has given up. */
interface HelperRun {
  readonly run: SharedRun<RegistryCredentials | undefined>;
  /** When a failure stops counting (set once it failed). */
  failedUntil?: number;
}

/** Environment variables, as `process.env` holds them. */
export type Env = Readonly<Record<string, string | undefined>>;

export interface CredentialFile {
  readonly path: string;
  readonly format: CredentialFileFormat;
}

export interface CredentialLookup {
  readonly credentials?: RegistryCredentials;
  /** Where the credentials (or their absence) come from, for error messages. */
  readonly source: string;
}

/** One source of credentials in a chain, asked only when the ones before it had nothing accepted. */
export type CredentialSegment = (signal?: AbortSignal) => Promise<CredentialLookupResult>;

export class CredentialStore {
  private readonly explicit = new Map<string, RegistryCredentials>();
  private files = new Map<string, Promise<DockerConfig | undefined>>();
  private helpers = new Map<string, HelperRun>();

  constructor(
    explicit: Readonly<Record<string, RegistryCredentials>> | undefined,
    private readonly sources: readonly CredentialFile[],
    private readonly env: Env = process.env,
    private readonly providers?: CredentialProviders,
  ) {
    for (const [key, value] of Object.entries(explicit ?? {})) {
      this.explicit.set(normaliseRegistryKey(key), validateCredentials(value, key));
    }
  }

  /** The credential files consulted, in order. */
  get credentialFiles(): readonly CredentialFile[] {
    return this.sources;
  }

  /** Forgets what was read from files and helpers: the next lookup reads them again. */
  reload(): void {
    this.files = new Map();
    this.helpers = new Map();
  }

  /**
   * The client's own credential sources for a repository, in order: the `credentials` option,
   * the kubelet credential provider plugins, the credential files (their first answer).
   */
  segments(registry: string, repository: string): CredentialSegment[] {
    const out: CredentialSegment[] = [];
    const explicit = this.explicit.get(normaliseRegistryKey(registry));
    if (explicit !== undefined) {
      out.push(() => Promise.resolve({ candidates: [{ credentials: explicit, source: 'the credentials option' }], searched: 'the credentials option' }));
    }
    const providers = this.providers;
    if (providers !== undefined) out.push((signal) => providers.lookup(registry, repository, signal));
    if (this.sources.length > 0) {
      out.push(async (signal) => {
        const found = await this.lookupFiles(registry, repository, signal);
        return { candidates: found.credentials !== undefined ? [{ credentials: found.credentials, source: found.source }] : [], searched: found.source };
      });
    }
    return out;
  }

  /** The `credentials` option, else the first credential file with an answer (no plugins). */
  async lookup(registry: string, repository?: string, signal?: AbortSignal): Promise<CredentialLookup> {
    const explicit = this.explicit.get(normaliseRegistryKey(registry));
    if (explicit !== undefined) return { credentials: explicit, source: 'the credentials option' };
    if (this.sources.length === 0) return { source: 'no credentials option entry, credential files disabled' };
    const found = await this.lookupFiles(registry, repository, signal);
    return found.credentials !== undefined ? found : { source: `no credentials option entry; ${found.source}` };
  }

  private async lookupFiles(registry: string, repository: string | undefined, signal: AbortSignal | undefined): Promise<CredentialLookup> {
    const consulted: string[] = [];
    for (const file of this.sources) {
      const config = await this.load(file);
      if (config === undefined) continue;
      consulted.push(file.path);
      const found = lookupDockerConfig(config, registry, repository);
      const from = `${describeFile(file)} ${file.path}`;
      if (found.credentials !== undefined) return { credentials: found.credentials, source: from };
      if (found.helper !== undefined) {
        const credentials = await this.helper(found.helper, registry, from, signal);
        const label = `credential helper ${helperLabel(found.helper)} (named in ${from})`;
        if (credentials !== undefined) return { credentials, source: label };
        // docker's answer for this file is "none": a later file may still have one.
        consulted.push(`${label}: none for ${registry}`);
      }
    }
    const files = this.sources.map((f) => f.path).join(', ');
    return {
      source: consulted.length === 0 ? `none of the credential files exist (${files})` : `no entry for ${registry} in ${consulted.join('; ')}`,
    };
  }

  private load(file: CredentialFile): Promise<DockerConfig | undefined> {
    let pending = this.files.get(file.path);
    if (pending === undefined) {
      pending = readCredentialFile(file);
      this.files.set(file.path, pending);
    }
    return pending;
  }

  /**
   * One helper run per (helper, registry) until reload, shared by the lookups that ask while it
   * runs; it is stopped (its process group killed) once every one of them has been aborted, and
   * such a run is forgotten. A failure is kept HELPER_FAILURE_TTL_MS.
   */
  private helper(name: string, registry: string, from: string, signal?: AbortSignal): Promise<RegistryCredentials | undefined> {
    const key = `${name}\n${registry}`;
    let entry = this.helpers.get(key);
    if (entry?.failedUntil !== undefined && Date.now() >= entry.failedUntil) entry = undefined;
    if (entry === undefined) {
      const forget = (): void => {
        if (this.helpers.get(key) === created) this.helpers.delete(key);
      };
      const created: HelperRun = {
        // Stopped and forgotten when every lookup waiting for it has given up: the next runs it again.
        run: new SharedRun((stop) => runCredentialHelper({ name, registry, from, env: this.env, signal: stop }), forget),
      };
      created.run.promise.catch(() => {
        if (!created.run.stopped) created.failedUntil = Date.now() + HELPER_FAILURE_TTL_MS;
      });
      this.helpers.set(key, created);
      entry = created;
    }
    return entry.run.join(signal);
  }
}

function describeFile(file: CredentialFile): string {
  return file.format === 'containers' ? 'containers auth file' : file.format === 'dockercfg' ? 'legacy docker config' : 'docker config';
}

/** `$DOCKER_CONFIG/config.json`, else `~/.docker/config.json`, as the docker CLI does. */
export function defaultDockerConfigPath(env: Env = process.env): string {
  const dir = env.DOCKER_CONFIG;
  return dir !== undefined && dir !== '' ? join(dir, 'config.json') : join(home(env), '.docker', 'config.json');
}

/**
 * The credential files consulted by default, in order: `$REGISTRY_AUTH_FILE` (set
 * explicitly, so first), the docker config, then the containers-auth.json(5) locations.
 */
export function defaultCredentialFiles(env: Env = process.env, dockerConfigPath: string = defaultDockerConfigPath(env)): CredentialFile[] {
  const files: CredentialFile[] = [];
  if (env.REGISTRY_AUTH_FILE) files.push({ path: env.REGISTRY_AUTH_FILE, format: 'containers' });
  files.push({ path: dockerConfigPath, format: 'docker' });
  if (env.XDG_RUNTIME_DIR) files.push({ path: join(env.XDG_RUNTIME_DIR, 'containers', 'auth.json'), format: 'containers' });
  files.push({ path: join(env.XDG_CONFIG_HOME || join(home(env), '.config'), 'containers', 'auth.json'), format: 'containers' });
  files.push({ path: join(home(env), '.dockercfg'), format: 'dockercfg' });
  const seen = new Set<string>();
  return files.filter((f) => (seen.has(f.path) ? false : (seen.add(f.path), true)));
}

function home(env: Env): string {
  return env.HOME || homedir();
}

async function readCredentialFile(file: CredentialFile): Promise<DockerConfig | undefined> {
  const { path } = file;
  try {
    const info = await stat(path);
    if (!info.isFile()) return undefined;
    // Bounded while reading: the file may have grown (or been swapped) since the stat.
    return parseDockerConfig((await readBoundedFile(path, MAX_CONFIG_BYTES)).toString('utf8'), path, file.format);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT' || (err as NodeJS.ErrnoException).code === 'ENOTDIR') return undefined;
    if (err instanceof ImgverifyError) throw err;
    throw new ImgverifyError('INVALID_OPTIONS', `cannot read credential file ${path}: ${errorMessage(err)}`, {
      cause: err,
      details: { dockerConfigPath: path },
    });
  }
}

function validateCredentials(value: unknown, key: string): RegistryCredentials {
  const bad = (why: string) => new ImgverifyError('INVALID_OPTIONS', `credentials for "${key}": ${why}`, { details: { registry: key } });
  if (typeof value !== 'object' || value === null) throw bad('expected {username, password} or {identityToken}');
  const v = value as Record<string, unknown>;
  if ('identityToken' in v) {
    if (typeof v.identityToken !== 'string' || v.identityToken === '') throw bad('identityToken must be a non-empty string');
    return { identityToken: v.identityToken };
  }
  if (typeof v.username !== 'string' || typeof v.password !== 'string') {
    throw bad('expected string username and password, or identityToken');
  }
  // RFC 7617: the user-id of basic authentication cannot contain a colon.
  if (v.username === '' || v.username.includes(':')) throw bad('username must be non-empty and contain no ":"');
  return { username: v.username, password: v.password };
}
