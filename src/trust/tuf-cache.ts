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
 * the `current` link: a reader resolves `current` once and sees one complete version. A version
 * that stops being current is kept OLD_VERSION_GRACE_MS from then (a reader may have resolved
 * `current` to it a moment before), then pruned; a reader that still finds its version gone
 * starts over once (./tuf).
 *
 * Only imgverify writes here, and what the folder holds is not trusted to point anywhere: every
 * entry below the cache folder is checked with lstat, and a symbolic link (planted in a shared
 * folder, or restored from a CI cache) is refused, never followed or written through. Files are
 * opened with O_NOFOLLOW and read with a bound; new files are created exclusively (O_EXCL) in
 * folders the update itself just created; folders are created one at a time, never with a
 * recursive mkdir (whose walk does not end on some paths, e.g. below /proc/self). Only the cache
 * folder itself, which the user names, may be reached through a link.
 */
import { randomBytes } from 'node:crypto';
import { closeSync, constants, fstatSync, lstatSync, openSync, readdirSync, readlinkSync, readSync, statSync } from 'node:fs';
import { lstat, mkdir, readdir, rename, rm, stat, symlink, unlink, utimes, writeFile } from 'node:fs/promises';
import { homedir } from 'node:os';
import { dirname, isAbsolute, join, resolve } from 'node:path';
import { ImgverifyError } from '../errors';
import { errorMessage } from '../util/describe';

const STATE_FILE = 'state.json';
const CURRENT = 'current';
const VERSION_NAME = /^v-\d+-[0-9a-f]+$/;
/** A version no longer `current` is removed this long after it was replaced (no reader can still be starting on it). */
export const OLD_VERSION_GRACE_MS = 10 * 60_000;
/** The TUF roles whose metadata a cache version holds. */
export const TUF_ROLES = ['root', 'timestamp', 'snapshot', 'targets'] as const;
/** Largest file of a version (tuf-js's own limits: root 512 KB, snapshot 2 MB, targets 5 MB). */
const MAX_FILE_BYTES = 8 * 1024 * 1024;
const MAX_STATE_BYTES = 64 * 1024;
/** Most entries in a version's metadata/ or targets/ folder. */
const MAX_ENTRIES = 256;
/** Most folders created to make the cache folder. */
const MAX_NEW_FOLDERS = 64;
/** Names tuf-js gives the files it persists (role names and target paths, URI-encoded). */
const FILE_NAME = /^[A-Za-z0-9._%+-]{1,255}$/;
// O_NOFOLLOW: a link at the last component fails (ELOOP); O_NONBLOCK: a FIFO opens at once (and is refused as not a file).
const READ_FLAGS = constants.O_RDONLY | (constants.O_NOFOLLOW ?? 0) | (constants.O_NONBLOCK ?? 0);

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

function code(err: unknown): string | undefined {
  return (err as NodeJS.ErrnoException | undefined)?.code;
}

/** The cache holds something imgverify did not write: refused (TUF_METADATA_INVALID). */
function damaged(path: string, why: string): ImgverifyError {
  return new ImgverifyError(
    'TUF_METADATA_INVALID',
    `the TUF cache is damaged: ${path} ${why} (the cache holds only files and folders imgverify wrote; links are refused, never followed): remove the cache folder and run imgverify initialize`,
    { details: { path } },
  );
}

/** The cache folder cannot be used as one (a file, not writable, not a place folders can be made). */
function unusable(cacheDir: string, why: string, cause?: unknown): ImgverifyError {
  return new ImgverifyError('INVALID_OPTIONS', `the TUF cache folder ${cacheDir} cannot be used: ${why}`, {
    details: { cacheDir },
    ...(cause !== undefined ? { cause } : {}),
  });
}

/** A regular file of the cache, read without following a link, at most `max` bytes. */
function readCacheFile(path: string, max = MAX_FILE_BYTES): Buffer {
  let fd: number;
  try {
    fd = openSync(path, READ_FLAGS);
  } catch (err) {
    if (code(err) === 'ELOOP') throw damaged(path, 'is a symbolic link');
    throw err;
  }
  try {
    const info = fstatSync(fd);
    if (!info.isFile()) throw damaged(path, 'is not a regular file');
    if (info.size > max) throw damaged(path, `is ${info.size} bytes, more than ${max}`);
    const bytes = Buffer.alloc(info.size);
    let read = 0;
    while (read < bytes.length) {
      const n = readSync(fd, bytes, read, bytes.length - read, read);
      if (n === 0) break;
      read += n;
    }
    return bytes.subarray(0, read);
  } finally {
    closeSync(fd);
  }
}

/** The entries of a folder of a version: it must be a real folder, holding regular files with tuf-js's names. */
function versionFiles(dir: string): Array<{ name: string; size: number }> {
  let info;
  try {
    info = lstatSync(dir);
  } catch (err) {
    throw damaged(dir, code(err) === 'ENOENT' ? 'is missing' : `cannot be read: ${errorMessage(err)}`);
  }
  if (!info.isDirectory()) throw damaged(dir, info.isSymbolicLink() ? 'is a symbolic link' : 'is not a folder');
  const names = readdirSync(dir);
  if (names.length > MAX_ENTRIES) throw damaged(dir, `holds ${names.length} entries, more than ${MAX_ENTRIES}`);
  return names.map((name) => {
    const path = join(dir, name);
    const entry = lstatSync(path);
    if (entry.isSymbolicLink()) throw damaged(path, 'is a symbolic link');
    if (!entry.isFile()) throw damaged(path, 'is not a regular file');
    if (!FILE_NAME.test(name)) throw damaged(path, 'is not a file imgverify writes');
    if (entry.size > MAX_FILE_BYTES) throw damaged(path, `is ${entry.size} bytes, more than ${MAX_FILE_BYTES}`);
    return { name, size: entry.size };
  });
}

/**
 * Checks that a version holds only what an update writes (real folders, regular files of
 * bounded size, no links) before tuf-js reads it. Throws TUF_METADATA_INVALID.
 */
export function checkVersion(version: CacheVersion): void {
  versionFiles(join(version.dir, 'metadata'));
  versionFiles(join(version.dir, 'targets'));
}

/**
 * The version `current` points to; undefined when there is none or it is not one imgverify
 * wrote (`current` not a link, a link to anything but a version folder of this cache, a version
 * that is a link, a state that does not read).
 */
export function currentVersion(cacheDir: string): CacheVersion | undefined {
  const name = currentName(cacheDir);
  if (name === undefined) return undefined;
  const dir = join(cacheDir, name);
  try {
    if (!lstatSync(dir).isDirectory()) return undefined;
    const state = JSON.parse(readCacheFile(join(dir, STATE_FILE), MAX_STATE_BYTES).toString('utf8')) as CacheState;
    if (state?.format !== 1 || typeof state.mirror !== 'string' || typeof state.targetsUrl !== 'string' || typeof state.updatedAt !== 'string')
      return undefined;
    return { dir, state };
  } catch {
    return undefined;
  }
}

/** The version folder name `current` links to, when it is a link to a version name. */
function currentName(cacheDir: string): string | undefined {
  try {
    const link = join(cacheDir, CURRENT);
    if (!lstatSync(link).isSymbolicLink()) return undefined;
    const name = readlinkSync(link);
    return VERSION_NAME.test(name) ? name : undefined;
  } catch {
    return undefined;
  }
}

/**
 * What `cacheDir` holds: `initialized` (a current version), `absent` (nothing of a cache: no
 * folder, or no `current` and no version; an interrupted first initialization leaves only
 * staging), `damaged` (a cache whose current version cannot be read) or `not a folder` (a file
 * where the folder should be): the last two are caches the user named or made, which must not
 * silently stop being used.
 */
export function tufCacheState(cacheDir: string): 'initialized' | 'absent' | 'damaged' | 'not a folder' {
  if (currentVersion(cacheDir)) return 'initialized';
  let info;
  try {
    info = statSync(cacheDir);
  } catch (err) {
    return code(err) === 'ENOENT' ? 'absent' : 'damaged';
  }
  if (!info.isDirectory()) return 'not a folder';
  try {
    return readdirSync(cacheDir).some((name) => name === CURRENT || VERSION_NAME.test(name)) ? 'damaged' : 'absent';
  } catch {
    return 'damaged';
  }
}

/**
 * Whether `cacheDir` holds a TUF cache: an initialized one, or one that is damaged (which
 * loading then reports, rather than falling back to other trust).
 */
export function hasTufCache(cacheDir: string): boolean {
  return tufCacheState(cacheDir) !== 'absent';
}

/**
 * Makes the cache folder (and the folders above it that are missing), one folder at a time and
 * at most MAX_NEW_FOLDERS of them. Throws INVALID_OPTIONS when it is not a folder or cannot be made.
 */
export async function ensureCacheDir(cacheDir: string): Promise<void> {
  const missing: string[] = [];
  let path = resolve(cacheDir);
  for (;;) {
    let info;
    try {
      info = await stat(path);
    } catch (err) {
      if (code(err) !== 'ENOENT') throw unusable(cacheDir, `${path}: ${errorMessage(err)}`, err);
      const parent = dirname(path);
      if (parent === path || missing.length >= MAX_NEW_FOLDERS) throw unusable(cacheDir, `cannot make ${path}`);
      missing.push(path);
      path = parent;
      continue;
    }
    if (!info.isDirectory()) throw unusable(cacheDir, `${path} is not a folder`);
    break;
  }
  for (const folder of missing.reverse()) {
    try {
      await mkdir(folder);
    } catch (err) {
      if (code(err) !== 'EEXIST') throw unusable(cacheDir, `cannot make ${folder}: ${errorMessage(err)}`, err);
    }
  }
  if (missing.length > 0 && !(await stat(cacheDir).catch(() => undefined))?.isDirectory()) throw unusable(cacheDir, 'it is not a folder');
}

/** A folder created by this call (it did not exist: a link or anything else already there fails). */
async function newFolder(cacheDir: string, path: string): Promise<void> {
  try {
    await mkdir(path, { mode: 0o700 });
  } catch (err) {
    throw unusable(cacheDir, `cannot make ${path}: ${errorMessage(err)}`, err);
  }
}

/** A new, empty staging folder (with `metadata/` and `targets/`) inside `cacheDir`, which is made when missing. */
export async function newStaging(cacheDir: string): Promise<string> {
  await ensureCacheDir(cacheDir);
  const dir = join(cacheDir, `.staging-${randomBytes(6).toString('hex')}`);
  await newFolder(cacheDir, dir);
  await newFolder(cacheDir, join(dir, 'metadata'));
  await newFolder(cacheDir, join(dir, 'targets'));
  return dir;
}

/**
 * Copies a version's metadata and targets into a new staging folder (the update starts from
 * them, so tuf-js checks the mirror's versions against them), refusing links and anything
 * but regular files; each file is created anew (O_EXCL), never written through.
 */
export async function copyVersion(from: CacheVersion, staging: string): Promise<void> {
  for (const sub of ['metadata', 'targets']) {
    for (const { name } of versionFiles(join(from.dir, sub))) {
      let bytes: Buffer;
      try {
        bytes = readCacheFile(join(from.dir, sub, name));
      } catch (err) {
        if (err instanceof ImgverifyError) throw err;
        throw damaged(join(from.dir, sub, name), `cannot be read: ${errorMessage(err)}`);
      }
      await writeNewFile(join(staging, sub, name), bytes);
    }
  }
}

/** Writes a file the staging folder does not hold yet (O_EXCL: never through a link). */
export async function writeNewFile(path: string, bytes: Buffer | string): Promise<void> {
  await writeFile(path, bytes, { flag: 'wx' });
}

/**
 * Puts a verified staging folder in use: records `state` in it, makes it a version and points
 * `current` at it with one rename; the version it replaces is kept OLD_VERSION_GRACE_MS from
 * now; older ones are pruned.
 */
export async function publish(cacheDir: string, staging: string, state: CacheState): Promise<CacheVersion> {
  await writeNewFile(join(staging, STATE_FILE), `${JSON.stringify(state, null, 2)}\n`);
  const name = `v-${Date.now()}-${randomBytes(4).toString('hex')}`;
  const currentPath = join(cacheDir, CURRENT);
  const existing = await lstat(currentPath).catch(() => undefined);
  if (existing && !existing.isSymbolicLink()) throw damaged(currentPath, 'is not a link');
  const replaced = currentName(cacheDir);
  await rename(staging, join(cacheDir, name));
  const link = join(cacheDir, `.current-${randomBytes(4).toString('hex')}`);
  await symlink(name, link);
  await rename(link, currentPath);
  const now = new Date();
  // The version replaced: a reader may have resolved `current` to it a moment ago. Its time
  // says when it stopped being current.
  if (replaced !== undefined && replaced !== name) {
    const dir = join(cacheDir, replaced);
    if ((await lstat(dir).catch(() => undefined))?.isDirectory()) await utimes(dir, now, now).catch(() => undefined);
  }
  const inUse = new Set([name, replaced, currentName(cacheDir)]);
  for (const entry of await readdir(cacheDir)) {
    if (inUse.has(entry) || !VERSION_NAME.test(entry)) continue;
    const path = join(cacheDir, entry);
    const info = await lstat(path).catch(() => undefined);
    if (!info) continue;
    if (!info.isDirectory())
      await unlink(path).catch(() => undefined); // a link planted as a version
    else if (now.getTime() - info.mtimeMs > OLD_VERSION_GRACE_MS) await rm(path, { recursive: true, force: true });
  }
  return { dir: join(cacheDir, name), state };
}

/** A TUF role's metadata as cached: its version and when it expires. Throws when it is missing or unreadable. */
export function roleStatus(dir: string, role: string): { version: number; expires: string } {
  const metadata = join(dir, 'metadata');
  if (!lstatSync(metadata).isDirectory()) throw damaged(metadata, 'is not a folder');
  const json = JSON.parse(readCacheFile(join(dir, 'metadata', `${role}.json`)).toString('utf8')) as {
    signed?: { version?: unknown; expires?: unknown };
  } | null;
  const version = json?.signed?.version;
  const expires = json?.signed?.expires;
  if (typeof version !== 'number' || !Number.isSafeInteger(version) || typeof expires !== 'string' || Number.isNaN(Date.parse(expires))) {
    throw new Error(`${role}.json has no signed version and expiry`);
  }
  return { version, expires };
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
