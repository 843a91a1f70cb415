/**
 * The TUF cache on disk (one mirror per cache folder): a set of version folders and a `current`
 * symlink. ./tuf decides when to update and runs tuf-js; this module only keeps the folders.
 *
 *   <cacheDir>/current -> v-<time>-<random>/
 *   <cacheDir>/v-…/state.json            {mirror, targetsUrl, updatedAt}
 *   <cacheDir>/v-…/metadata/root.json …  what tuf-js verified and persisted
 *   <cacheDir>/v-…/targets/trusted_root.json
 *   <cacheDir>/.staging-…/               an update in progress (never read)
 *
 * An update is written into a staging folder and put in use by `publish` with one rename of
 * the `current` link: a reader resolves `current` once and sees one complete version.
 */
import { randomBytes } from 'node:crypto';
import { existsSync, readFileSync, readlinkSync } from 'node:fs';
import { mkdir, readdir, rename, rm, stat, symlink, writeFile } from 'node:fs/promises';
import { homedir } from 'node:os';
import { isAbsolute, join, resolve } from 'node:path';

const STATE_FILE = 'state.json';
const CURRENT = 'current';
/** A version no longer `current` is removed after this long (no reader can still be starting on it). */
const OLD_VERSION_GRACE_MS = 60_000;
/** The TUF roles whose metadata a cache version holds. */
export const TUF_ROLES = ['root', 'timestamp', 'snapshot', 'targets'] as const;

/** What a version folder records about its update. */
export interface CacheState {
  readonly format: 1;
  readonly mirror: string;
  readonly targetsUrl: string;
  readonly updatedAt: string;
}

/** One version of the cache: its folder and state. */
export interface CacheVersion {
  readonly dir: string;
  readonly state: CacheState;
}

/** The default cache folder: `$XDG_CACHE_HOME/imgverify/tuf`, else `~/.cache/imgverify/tuf`. */
export function defaultTufCacheDir(env: NodeJS.ProcessEnv = process.env): string {
  const xdg = env.XDG_CACHE_HOME;
  const base = xdg && isAbsolute(xdg) ? xdg : join(env.HOME ?? homedir(), '.cache');
  return join(base, 'imgverify', 'tuf');
}

/** Whether `cacheDir` holds an initialized TUF cache. */
export function hasTufCache(cacheDir: string): boolean {
  return existsSync(join(cacheDir, CURRENT, STATE_FILE));
}

/** The version `current` points to; undefined when there is none or its state is unreadable. */
export function currentVersion(cacheDir: string): CacheVersion | undefined {
  let name: string;
  try {
    name = readlinkSync(join(cacheDir, CURRENT));
  } catch {
    return undefined;
  }
  const dir = resolve(cacheDir, name);
  try {
    const state = JSON.parse(readFileSync(join(dir, STATE_FILE), 'utf8')) as CacheState;
    if (state.format !== 1 || typeof state.mirror !== 'string' || typeof state.updatedAt !== 'string') return undefined;
    return { dir, state };
  } catch {
    return undefined;
  }
}

/** A new, empty staging folder (with `metadata/` and `targets/`) inside `cacheDir`. */
export async function newStaging(cacheDir: string): Promise<string> {
  await mkdir(cacheDir, { recursive: true });
  const dir = join(cacheDir, `.staging-${randomBytes(6).toString('hex')}`);
  await mkdir(join(dir, 'metadata'), { recursive: true });
  await mkdir(join(dir, 'targets'), { recursive: true });
  return dir;
}

/**
 * Puts a verified staging folder in use: records `state` in it, makes it a version and points
 * `current` at it with one rename; prunes old versions.
 */
export async function publish(cacheDir: string, staging: string, state: CacheState): Promise<CacheVersion> {
  await writeFile(join(staging, STATE_FILE), `${JSON.stringify(state, null, 2)}\n`);
  const name = `v-${Date.now()}-${randomBytes(4).toString('hex')}`;
  await rename(staging, join(cacheDir, name));
  const link = join(cacheDir, `.current-${randomBytes(4).toString('hex')}`);
  await symlink(name, link);
  await rename(link, join(cacheDir, CURRENT));
  // Old versions go once no reader can still be starting on them (a reader resolves `current` once).
  const now = Date.now();
  for (const entry of await readdir(cacheDir)) {
    if (entry === name || !/^v-\d+-/.test(entry)) continue;
    const info = await stat(join(cacheDir, entry)).catch(() => undefined);
    if (info && now - info.mtimeMs > OLD_VERSION_GRACE_MS) await rm(join(cacheDir, entry), { recursive: true, force: true });
  }
  return { dir: join(cacheDir, name), state };
}

/** A TUF role's metadata as cached: its version and when it expires. Throws when it is missing or unreadable. */
export function roleStatus(dir: string, role: string): { version: number; expires: string } {
  const json = JSON.parse(readFileSync(join(dir, 'metadata', `${role}.json`), 'utf8')) as { signed: { version: number; expires: string } };
  return { version: json.signed.version, expires: json.signed.expires };
}

/** Whether a version is due for an update: older than `maxAgeMs`, or metadata expired or unreadable. */
export function isStale(version: CacheVersion, maxAgeMs: number): boolean {
  if (Date.now() - Date.parse(version.state.updatedAt) > maxAgeMs) return true;
  try {
    return TUF_ROLES.some((role) => Date.parse(roleStatus(version.dir, role).expires) <= Date.now());
  } catch {
    return true;
  }
}
