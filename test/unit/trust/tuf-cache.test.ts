/**
 * The TUF cache on disk (src/trust/tuf-cache.ts), without a mirror or tuf-js: versions put in
 * use by `publish`, what `current` resolves to, when a version is stale, and damaged caches
 * (a dangling `current`, a state that is not ours, missing or unreadable metadata), which must
 * read as "no cache" or "stale", never as a usable version. (The update itself, against a real
 * TUF repository, is test/integration/tuf.test.ts.)
 */
import { existsSync, mkdirSync, mkdtempSync, readFileSync, readlinkSync, readdirSync, rmSync, symlinkSync, utimesSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { loadTufTrustRoot } from '../../../src/trust/tuf';
import {
  currentVersion,
  defaultTufCacheDir,
  hasTufCache,
  isStale,
  newStaging,
  OLD_VERSION_GRACE_MS,
  publish,
  roleStatus,
  TUF_ROLES,
  tufCacheState,
  type CacheState,
  type CacheVersion,
} from '../../../src/trust/tuf-cache';
import { rejection } from '../../support/errors';

const MIRROR = 'https://tuf.test';
const HOUR = 60 * 60 * 1000;

const newCacheDir = (): string => join(mkdtempSync(join(tmpdir(), 'imgverify-tuf-cache-')), 'cache');
const state = (updatedAt = new Date().toISOString()): CacheState => ({ format: 1, mirror: MIRROR, targetsUrl: `${MIRROR}/targets`, updatedAt });

/** Writes role metadata (only what the cache reads: version and expiry) into a version or staging folder. */
function writeRoles(dir: string, expires: string, roles: readonly string[] = TUF_ROLES): void {
  roles.forEach((role, i) => writeFileSync(join(dir, 'metadata', `${role}.json`), JSON.stringify({ signed: { _type: role, version: i + 1, expires } })));
}

/** A staging folder with metadata valid for a day, published. */
async function published(cacheDir: string, s: CacheState = state()): Promise<CacheVersion> {
  const staging = await newStaging(cacheDir);
  writeRoles(staging, new Date(Date.now() + 24 * HOUR).toISOString());
  return publish(cacheDir, staging, s);
}

describe('publish and current', () => {
  test('an empty folder has no cache; a published staging folder becomes current, with its state', async () => {
    const cacheDir = newCacheDir();
    expect(hasTufCache(cacheDir)).toBe(false);
    expect(currentVersion(cacheDir)).toBeUndefined();
    const staging = await newStaging(cacheDir);
    expect(readdirSync(staging).sort()).toEqual(['metadata', 'targets']);
    expect(hasTufCache(cacheDir)).toBe(false); // staging is never read
    const s = state();
    const version = await publish(cacheDir, staging, s);
    expect(existsSync(staging)).toBe(false);
    expect(version.state).toEqual(s);
    expect(readlinkSync(join(cacheDir, 'current'))).toBe(version.dir.slice(cacheDir.length + 1));
    expect(hasTufCache(cacheDir)).toBe(true);
    expect(currentVersion(cacheDir)).toEqual({ dir: version.dir, state: s });
    expect(JSON.parse(readFileSync(join(version.dir, 'state.json'), 'utf8'))).toEqual(s);
  });

  test('a second publish moves current; the version it replaced stays for the grace time from then, then is pruned', async () => {
    const cacheDir = newCacheDir();
    const first = await published(cacheDir);
    const second = await published(cacheDir);
    expect(currentVersion(cacheDir)?.dir).toBe(second.dir);
    expect(existsSync(first.dir)).toBe(true); // a reader may have resolved `current` to it a moment ago
    const old = new Date(Date.now() - OLD_VERSION_GRACE_MS - 60_000);
    utimesSync(first.dir, old, old);
    const third = await published(cacheDir);
    expect(currentVersion(cacheDir)?.dir).toBe(third.dir);
    expect(existsSync(first.dir)).toBe(false);
    expect(existsSync(second.dir)).toBe(true);
    // Only version folders are pruned: an update in progress is not touched.
    const staging = await newStaging(cacheDir);
    utimesSync(staging, old, old);
    utimesSync(second.dir, old, old);
    await published(cacheDir);
    expect(existsSync(staging)).toBe(true);
    expect(existsSync(second.dir)).toBe(false);
  });

  test('a version published long ago and replaced now stays for the grace time: a reader that resolved current to it still reads it (issue 20.10)', async () => {
    const cacheDir = newCacheDir();
    const old = await published(cacheDir);
    const longAgo = new Date(Date.now() - 2 * 24 * HOUR);
    utimesSync(old.dir, longAgo, longAgo);
    const reader = currentVersion(cacheDir)!;
    expect(reader.dir).toBe(old.dir);
    await published(cacheDir); // a refresh in another process
    expect(existsSync(reader.dir)).toBe(true);
    expect(roleStatus(reader.dir, 'timestamp').version).toBe(2);
    await published(cacheDir); // and another: the first is within its grace time still
    expect(existsSync(reader.dir)).toBe(true);
  });

  test('roleStatus reads the version and expiry of cached metadata', async () => {
    const version = await published(newCacheDir());
    expect(roleStatus(version.dir, 'root')).toEqual({ version: 1, expires: expect.any(String) });
    expect(roleStatus(version.dir, 'targets').version).toBe(4);
  });

  test('the default cache folder follows XDG_CACHE_HOME when it is absolute, else HOME', () => {
    expect(defaultTufCacheDir({ XDG_CACHE_HOME: '/xdg', HOME: '/home/u' })).toBe(join('/xdg', 'imgverify', 'tuf'));
    expect(defaultTufCacheDir({ XDG_CACHE_HOME: 'relative', HOME: '/home/u' })).toBe(join('/home/u', '.cache', 'imgverify', 'tuf'));
    expect(defaultTufCacheDir({ HOME: '/home/u' })).toBe(join('/home/u', '.cache', 'imgverify', 'tuf'));
  });
});

describe('staleness', () => {
  test('fresh metadata updated within maxAge is not stale', async () => {
    const version = await published(newCacheDir());
    expect(isStale(version, HOUR)).toBe(false);
  });

  test('an update older than maxAge is stale', async () => {
    const version = await published(newCacheDir(), state(new Date(Date.now() - 2 * HOUR).toISOString()));
    expect(isStale(version, HOUR)).toBe(true);
    expect(isStale(version, 3 * HOUR)).toBe(false);
  });

  test('any expired role makes it stale, however recent the update', async () => {
    const version = await published(newCacheDir());
    writeRoles(version.dir, new Date(Date.now() - 1000).toISOString(), ['snapshot']);
    expect(isStale(version, 24 * HOUR)).toBe(true);
  });
});

describe('a damaged cache', () => {
  test('a dangling current link is a damaged cache: no version, and loading says so instead of falling back (issue 20.10)', async () => {
    const cacheDir = newCacheDir();
    const version = await published(cacheDir);
    rmSync(version.dir, { recursive: true });
    expect(currentVersion(cacheDir)).toBeUndefined();
    expect(tufCacheState(cacheDir)).toBe('damaged');
    expect(hasTufCache(cacheDir)).toBe(true);
    const err = await rejection(loadTufTrustRoot({ cacheDir, offline: true }));
    expect(err.code).toBe('TUF_NOT_INITIALIZED');
    expect(err.message).toMatch(/the TUF cache .* is damaged .*no other trust is used in its place/);
  });

  test('what a folder holds: absent, initialized, damaged, not a folder', async () => {
    const cacheDir = newCacheDir();
    expect(tufCacheState(cacheDir)).toBe('absent');
    await newStaging(cacheDir); // an interrupted first initialization
    expect(tufCacheState(cacheDir)).toBe('absent');
    const version = await published(cacheDir);
    expect(tufCacheState(cacheDir)).toBe('initialized');
    rmSync(join(cacheDir, 'current'));
    expect(tufCacheState(cacheDir)).toBe('damaged'); // versions, no current
    rmSync(version.dir, { recursive: true });
    expect(tufCacheState(cacheDir)).toBe('absent');
    expect(tufCacheState('/dev/null')).toBe('not a folder');
  });

  test.each<[string, string]>([
    ['that is not JSON', '{"format": 1,'],
    ['of another format', JSON.stringify({ ...state(), format: 2 })],
    ['without a mirror', JSON.stringify({ format: 1, targetsUrl: 'x', updatedAt: new Date().toISOString() })],
    ['without an update time', JSON.stringify({ format: 1, mirror: MIRROR, targetsUrl: 'x' })],
  ])('a state file %s reads as no version', async (_name, text) => {
    const cacheDir = newCacheDir();
    const version = await published(cacheDir);
    writeFileSync(join(version.dir, 'state.json'), text);
    expect(currentVersion(cacheDir)).toBeUndefined();
  });

  test('current that is a folder, not a link, reads as no version', () => {
    const cacheDir = newCacheDir();
    mkdirSync(join(cacheDir, 'current'), { recursive: true });
    writeFileSync(join(cacheDir, 'current', 'state.json'), JSON.stringify(state()));
    expect(currentVersion(cacheDir)).toBeUndefined();
  });

  test('missing or unreadable metadata is stale (an update is due), never fresh', async () => {
    const version = await published(newCacheDir());
    rmSync(join(version.dir, 'metadata', 'timestamp.json'));
    expect(isStale(version, 24 * HOUR)).toBe(true);
    writeRoles(version.dir, new Date(Date.now() + HOUR).toISOString(), ['timestamp']);
    writeFileSync(join(version.dir, 'metadata', 'targets.json'), 'garbage');
    expect(isStale(version, 24 * HOUR)).toBe(true);
    expect(() => roleStatus(version.dir, 'targets')).toThrow();
  });

  test('loading a cache whose metadata is missing fails as damaged (TUF_METADATA_INVALID), offline', async () => {
    const cacheDir = newCacheDir();
    const version = await published(cacheDir);
    rmSync(join(version.dir, 'metadata', 'snapshot.json'));
    const err = await rejection(loadTufTrustRoot({ cacheDir, offline: true }));
    expect(err.code).toBe('TUF_METADATA_INVALID');
    expect(err.message).toContain(`the TUF cache ${cacheDir} is damaged (snapshot.json)`);
  });

  test('loading a cache whose metadata expired fails as expired (TUF_METADATA_EXPIRED), offline', async () => {
    const cacheDir = newCacheDir();
    const version = await published(cacheDir);
    writeRoles(version.dir, new Date(Date.now() - 1000).toISOString(), ['timestamp']);
    const err = await rejection(loadTufTrustRoot({ cacheDir, offline: true }));
    expect(err.code).toBe('TUF_METADATA_EXPIRED');
    expect(err.message).toMatch(/the cached TUF timestamp metadata of https:\/\/tuf\.test expired/);
  });

  test('a cache folder with no current version is TUF_NOT_INITIALIZED', async () => {
    const cacheDir = newCacheDir();
    await newStaging(cacheDir);
    expect((await rejection(loadTufTrustRoot({ cacheDir, offline: true }))).code).toBe('TUF_NOT_INITIALIZED');
    symlinkSync('v-0-gone', join(cacheDir, 'current'));
    expect((await rejection(loadTufTrustRoot({ cacheDir, offline: true }))).code).toBe('TUF_NOT_INITIALIZED');
  });
});
