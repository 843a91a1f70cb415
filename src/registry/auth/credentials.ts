/**
 * Where credentials for a registry come from: the `credentials` option first, then the
 * docker config file (read once, lazily, only when a registry asks for authentication).
 */
import { readFile, stat } from 'node:fs/promises';
import { homedir } from 'node:os';
import { join } from 'node:path';
import { ImgverifyError } from '../../errors';
import type { RegistryCredentials } from '../types';
import { lookupDockerConfig, normaliseRegistryKey, parseDockerConfig, type DockerConfig } from './docker-config';

const MAX_CONFIG_BYTES = 1024 * 1024;

export interface CredentialLookup {
  readonly credentials?: RegistryCredentials;
  /** Where the credentials (or their absence) come from, for error messages. */
  readonly source: string;
}

export class CredentialStore {
  private readonly explicit = new Map<string, RegistryCredentials>();
  private config?: Promise<DockerConfig | undefined>;

  constructor(
    explicit: Readonly<Record<string, RegistryCredentials>> | undefined,
    private readonly configPath: string | undefined,
  ) {
    for (const [key, value] of Object.entries(explicit ?? {})) {
      this.explicit.set(normaliseRegistryKey(key), validateCredentials(value, key));
    }
  }

  async lookup(registry: string): Promise<CredentialLookup> {
    const explicit = this.explicit.get(normaliseRegistryKey(registry));
    if (explicit !== undefined) return { credentials: explicit, source: 'the credentials option' };
    if (this.configPath === undefined) return { source: 'no credentials option entry, docker config disabled' };

    const config = await this.loadConfig();
    if (config === undefined) return { source: `no credentials option entry, no docker config at ${this.configPath}` };
    const found = lookupDockerConfig(config, registry);
    if (found.credentials !== undefined) return { credentials: found.credentials, source: `docker config ${this.configPath}` };
    if (found.helper !== undefined) {
      return {
        source:
          `docker config ${this.configPath} delegates to credential helper "docker-credential-${found.helper}", ` +
          'which imgverify does not run; pass the credentials option instead',
      };
    }
    return { source: `no entry in the credentials option or in docker config ${this.configPath}` };
  }

  private loadConfig(): Promise<DockerConfig | undefined> {
    this.config ??= readConfig(this.configPath!);
    return this.config;
  }
}

/** `$DOCKER_CONFIG/config.json`, else `~/.docker/config.json`, as the docker CLI does. */
export function defaultDockerConfigPath(env: Readonly<Record<string, string | undefined>> = process.env): string {
  const dir = env.DOCKER_CONFIG;
  return dir !== undefined && dir !== '' ? join(dir, 'config.json') : join(env.HOME || homedir(), '.docker', 'config.json');
}

async function readConfig(path: string): Promise<DockerConfig | undefined> {
  try {
    const info = await stat(path);
    if (info.size > MAX_CONFIG_BYTES) {
      throw new ImgverifyError('INVALID_OPTIONS', `docker config ${path} is larger than ${MAX_CONFIG_BYTES} bytes`, {
        details: { dockerConfigPath: path },
      });
    }
    return parseDockerConfig(await readFile(path, 'utf8'), path);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    if (err instanceof ImgverifyError) throw err;
    throw new ImgverifyError('INVALID_OPTIONS', `cannot read docker config ${path}: ${(err as Error).message}`, {
      cause: err,
      details: { dockerConfigPath: path },
    });
  }
}

function validateCredentials(value: unknown, key: string): RegistryCredentials {
  const bad = (why: string) =>
    new ImgverifyError('INVALID_OPTIONS', `credentials for "${key}": ${why}`, { details: { registry: key } });
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
