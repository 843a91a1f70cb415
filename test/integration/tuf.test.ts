/**
 * TUF-backed trust (src/trust/tuf.ts) against a real TUF repository served over HTTP by the
 * test support: signed with the test's own Ed25519 and ECDSA keys, holding the private test
 * Sigstore's trusted_root.json. Key rotation, an expired timestamp, a rollback, a bad
 * signature, a wrong target hash, garbage, and the server stopped.
 */
import { existsSync, mkdtempSync, readFileSync, readlinkSync, readdirSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { hasTufCache, initializeTuf, loadTufTrustRoot } from '../../src/trust/tuf';
import * as tufCache from '../../src/trust/tuf-cache';
import { createTestSigstore } from '../support/sigstore';
import { serveTufRepository, TestTufRepository, type ServedRepository } from '../support/tuf';
import { rejection } from '../support/errors';

const sigstore = createTestSigstore({ organization: 'tuf.test' });
const rotated = createTestSigstore({ organization: 'rotated.test' });

let repo: TestTufRepository;
let served: ServedRepository;

beforeEach(async () => {
  repo = new TestTufRepository({ 'trusted_root.json': sigstore.trustedRoot });
  served = await serveTufRepository(repo);
});
afterEach(() => served.stop());

const newCache = () => join(mkdtempSync(join(tmpdir(), 'imgverify-tuf-')), 'cache');

/** Everything in the cache: the `current` link and each file's bytes. */
function cacheContents(dir: string): Record<string, string> {
  const out: Record<string, string> = { current: readlinkSync(join(dir, 'current')) };
  const walk = (sub: string): void => {
    for (const entry of readdirSync(join(dir, sub), { withFileTypes: true })) {
      const rel = join(sub, entry.name);
      if (entry.isDirectory()) walk(rel);
      else out[rel] = readFileSync(join(dir, rel)).toString('base64');
    }
  };
  walk(readlinkSync(join(dir, 'current')));
  return out;
}

async function initialized(): Promise<string> {
  const cacheDir = newCache();
  await initializeTuf({ mirror: served.url, root: repo.root(1), cacheDir });
  return cacheDir;
}

describe('initialize', () => {
  test('verifies the repository from its root and caches the metadata and trusted_root.json', async () => {
    const cacheDir = newCache();
    const trust = await initializeTuf({ mirror: served.url, root: repo.root(1), cacheDir });
    expect(hasTufCache(cacheDir)).toBe(true);
    expect(trust.source).toBe(`TUF ${served.url}`);
    expect(trust.current().trustedRoot.certificateAuthorities[0]?.subject?.organization).toBe('tuf.test');
    const status = trust.status();
    expect(status).toMatchObject({
      mirror: served.url,
      cacheDir,
      root: { version: 1 },
      timestamp: { version: 1 },
      snapshot: { version: 1 },
      targets: { version: 1 },
    });
    expect(status.trustedRootSha256).toMatch(/^[0-9a-f]{64}$/);
    const current = join(cacheDir, readlinkSync(join(cacheDir, 'current')));
    expect(existsSync(join(current, 'metadata', 'timestamp.json'))).toBe(true);
    expect(existsSync(join(current, 'targets', 'trusted_root.json'))).toBe(true);
    expect(served.requests).toEqual(
      expect.arrayContaining(['2.root.json', 'timestamp.json', '1.snapshot.json', '1.targets.json', repo.targetPath('trusted_root.json')]),
    );
  });

  test('the initial root can be a URL (cosign initialize --root URL)', async () => {
    const trust = await initializeTuf({ mirror: served.url, root: `${served.url}/1.root.json`, cacheDir: newCache() });
    expect(trust.status().root.version).toBe(1);
  });

  test('a root file path is read; a root that is not TUF root metadata is TRUST_ROOT_INVALID', async () => {
    expect((await rejection(initializeTuf({ mirror: served.url, root: Buffer.from('{"signed":{"_type":"targets"}}'), cacheDir: newCache() }))).code).toBe(
      'TRUST_ROOT_INVALID',
    );
    expect((await rejection(initializeTuf({ mirror: served.url, root: '/nonexistent/root.json', cacheDir: newCache() }))).code).toBe('TRUST_ROOT_INVALID');
  });

  test('a mirror with no root of its own shipped needs --root', async () => {
    const err = await rejection(initializeTuf({ mirror: served.url, cacheDir: newCache() }));
    expect(err.code).toBe('INVALID_OPTIONS');
    expect(err.message).toMatch(/--root/);
  });

  test('a mirror with a query, a fragment or user info, or targets that climb out, is INVALID_OPTIONS before any request (issue 20.11)', async () => {
    for (const options of [
      { mirror: `${served.url}/?action=delete` },
      { mirror: `${served.url}/#x` },
      { mirror: served.url.replace('http://', 'http://user:secret@') },
      { mirror: served.url, targets: '../admin' },
      { mirror: served.url, targets: 'targets?x=1' },
    ]) {
      const err = await rejection(initializeTuf({ ...options, root: repo.root(1), cacheDir: newCache() }));
      expect(err.code).toBe('INVALID_OPTIONS');
      expect(err.message).not.toMatch(/secret/);
    }
    expect(served.requests).toEqual([]);
  });

  test('a root signed by other keys than it lists is refused (tuf-js checks its self-signatures)', async () => {
    const other = new TestTufRepository({ 'trusted_root.json': sigstore.trustedRoot });
    repo.files.set('1.root.json', other.root(1));
    const err = await rejection(initializeTuf({ mirror: served.url, root: repo.root(1), cacheDir: newCache() }));
    expect(err.code).toBe('TUF_METADATA_INVALID');
  });
});

describe('bad TUF data fails with TUF_METADATA_INVALID and leaves the cache in use untouched', () => {
  test.each<[string, () => void]>([
    ['a bad signature on the timestamp', () => repo.tamper('timestamp.json', (j) => (j.signed.expires = '2099-01-01T00:00:00Z'))],
    ['a bad signature on the snapshot', () => (repo.publish(), repo.tamper('2.snapshot.json', (j) => (j.signed.expires = '2099-01-01T00:00:00Z')))],
    ['a bad signature on the targets', () => (repo.publish(), repo.tamper('2.targets.json', (j) => (j.signed.expires = '2099-01-01T00:00:00Z')))],
    ['an expired timestamp', () => repo.publish({ timestampExpiresIn: -60_000 })],
    [
      'a target whose hash differs',
      () => {
        repo.setTarget('trusted_root.json', rotated.trustedRoot);
        repo.publish();
        repo.files.set(repo.targetPath('trusted_root.json'), Buffer.from(JSON.stringify(sigstore.untrustedRoot())));
      },
    ],
    ['garbage instead of the timestamp', () => repo.files.set('timestamp.json', Buffer.from('<html>not found</html>'))],
    [
      'a new root not signed by the old root keys',
      () => {
        const previous = repo.keys.root;
        repo.rotateRoot({ signers: [] });
        repo.tamper('2.root.json', () => undefined);
        void previous;
      },
    ],
  ])('%s', async (_name, attack) => {
    const cacheDir = await initialized();
    const before = cacheContents(cacheDir);
    attack();
    const err = await rejection(initializeTuf({ mirror: served.url, cacheDir }));
    expect(err.code).toBe('TUF_METADATA_INVALID');
    expect(err.category).toBe('verification');
    expect(cacheContents(cacheDir)).toEqual(before);
    // A verifying command's refresh keeps the cached, still valid root, and says why.
    const trust = await loadTufTrustRoot({ cacheDir, maxAgeMs: 0 });
    expect(trust.warnings.join()).toMatch(/TUF_METADATA_INVALID/);
    expect(trust.status().timestamp.version).toBe(1);
    expect(cacheContents(cacheDir)).toEqual(before);
  });

  test('a rollback to an older timestamp', async () => {
    const v1 = repo.snapshotFiles();
    repo.publish();
    const cacheDir = await initialized();
    expect((await loadTufTrustRoot({ cacheDir })).status().timestamp.version).toBe(2);
    const before = cacheContents(cacheDir);
    repo.restore(v1);
    const err = await rejection(initializeTuf({ mirror: served.url, cacheDir }));
    expect(err.code).toBe('TUF_METADATA_INVALID');
    expect(err.message).toMatch(/version/i);
    expect(cacheContents(cacheDir)).toEqual(before);
  });
});

describe('initialize --root does not roll back below the cached versions (issue 20.10)', () => {
  test('an older timestamp served to initialize --root: refused by tuf-js, seeded with the cached metadata', async () => {
    const v1 = repo.snapshotFiles();
    repo.publish();
    repo.publish();
    const cacheDir = await initialized();
    expect((await loadTufTrustRoot({ cacheDir })).status().timestamp.version).toBe(3);
    const before = cacheContents(cacheDir);
    repo.restore(v1);
    const err = await rejection(initializeTuf({ mirror: served.url, root: repo.root(1), cacheDir }));
    expect(err.code).toBe('TUF_METADATA_INVALID');
    expect(err.message).toMatch(/version/i);
    expect(cacheContents(cacheDir)).toEqual(before);
  });

  test('the root before a rotation, and a mirror that serves what was signed before it: refused, no role below what the cache trusts', async () => {
    const beforeRotation = repo.snapshotFiles();
    const cacheDir = await initialized();
    repo.rotateRoot();
    expect(await (await loadTufTrustRoot({ cacheDir })).refresh({ force: true })).toEqual({ updated: true });
    const before = cacheContents(cacheDir);
    // The cached timestamp is signed by the rotated keys: under root 1 tuf-js cannot read it,
    // and a mirror that stops at 1.root.json serves metadata that verifies under root 1.
    repo.restore(beforeRotation);
    const err = await rejection(initializeTuf({ mirror: served.url, root: repo.root(1), cacheDir }));
    expect(err.code).toBe('TUF_METADATA_INVALID');
    expect(err.message).toMatch(/rollback refused: the root metadata verified is version 1, older than version 2 that the cache .* already trusts/);
    expect(cacheContents(cacheDir)).toEqual(before);
  });

  test("an older root that the mirror's rotations walk forward from is fine", async () => {
    const cacheDir = await initialized();
    repo.rotateRoot();
    await (await loadTufTrustRoot({ cacheDir })).refresh({ force: true });
    repo.publish();
    const trust = await initializeTuf({ mirror: served.url, root: repo.root(1), cacheDir });
    expect(trust.status()).toMatchObject({ root: { version: 2 }, timestamp: { version: 3 } });
  });

  test('another mirror in the same folder starts over (the cache holds one mirror)', async () => {
    const cacheDir = await initialized();
    repo.publish();
    await (await loadTufTrustRoot({ cacheDir })).refresh({ force: true });
    const other = new TestTufRepository({ 'trusted_root.json': sigstore.trustedRoot });
    const otherServed = await serveTufRepository(other);
    try {
      const trust = await initializeTuf({ mirror: otherServed.url, root: other.root(1), cacheDir });
      expect(trust.status()).toMatchObject({ mirror: otherServed.url, timestamp: { version: 1 } });
    } finally {
      await otherServed.stop();
    }
  });
});

describe('the cache folder (issue 20.10)', () => {
  test('a symbolic link planted in the cache is refused, never written through', async () => {
    const cacheDir = await initialized();
    repo.publish();
    const victim = join(dirname(cacheDir), 'victim.txt');
    writeFileSync(victim, 'precious');
    const current = join(cacheDir, readlinkSync(join(cacheDir, 'current')));
    rmSync(join(current, 'metadata', 'timestamp.json'));
    symlinkSync(victim, join(current, 'metadata', 'timestamp.json'));
    const refresh = await rejection(loadTufTrustRoot({ cacheDir, maxAgeMs: 0 }));
    expect(refresh.code).toBe('TUF_METADATA_INVALID');
    expect(refresh.message).toMatch(/timestamp\.json is a symbolic link/);
    const init = await rejection(initializeTuf({ mirror: served.url, cacheDir }));
    expect(init.message).toMatch(/timestamp\.json is a symbolic link/);
    expect(readFileSync(victim, 'utf8')).toBe('precious');
  });

  test('a planted metadata folder link, a current link out of the cache, a target that is a link: refused', async () => {
    const elsewhere = mkdtempSync(join(tmpdir(), 'imgverify-elsewhere-'));
    const cacheDir = await initialized();
    const current = join(cacheDir, readlinkSync(join(cacheDir, 'current')));
    rmSync(join(current, 'targets', 'trusted_root.json'));
    symlinkSync(join(elsewhere, 'x.json'), join(current, 'targets', 'trusted_root.json'));
    expect((await rejection(loadTufTrustRoot({ cacheDir, offline: true }))).message).toMatch(/trusted_root\.json is a symbolic link/);
    const other = await initialized();
    const otherCurrent = join(other, readlinkSync(join(other, 'current')));
    rmSync(join(otherCurrent, 'metadata'), { recursive: true });
    symlinkSync(elsewhere, join(otherCurrent, 'metadata'));
    expect((await rejection(loadTufTrustRoot({ cacheDir: other, offline: true }))).message).toMatch(/metadata is (?:a symbolic link|not a folder)/);
    const third = await initialized();
    rmSync(join(third, 'current'));
    symlinkSync(otherCurrent, join(third, 'current'));
    expect((await rejection(loadTufTrustRoot({ cacheDir: third, offline: true }))).message).toMatch(/is damaged/);
  });

  test('a file, a device or /proc/self as the cache folder: INVALID_OPTIONS at once, before any request', async () => {
    const file = join(mkdtempSync(join(tmpdir(), 'imgverify-file-')), 'file');
    writeFileSync(file, 'x');
    for (const cacheDir of [file, '/dev/null', join(file, 'below')]) {
      const err = await rejection(initializeTuf({ mirror: served.url, root: repo.root(1), cacheDir }));
      expect(err.code).toBe('INVALID_OPTIONS');
      expect(err.message).toMatch(/TUF cache folder .* cannot be used: .*not a (?:folder|directory)/);
    }
    // A recursive mkdir below /proc/self never returns; the cache's own walk ends.
    const proc = await rejection(initializeTuf({ mirror: served.url, root: repo.root(1), cacheDir: '/proc/self/imgverify/tuf' }));
    expect(proc.code).toBe('INVALID_OPTIONS');
    const procSelf = await rejection(initializeTuf({ mirror: served.url, root: repo.root(1), cacheDir: '/proc/self' }));
    expect(procSelf.code).toBe('INVALID_OPTIONS');
    expect(served.requests).toEqual([]);
    expect((await rejection(loadTufTrustRoot({ cacheDir: '/dev/null' }))).message).toMatch(/not a folder/);
  });

  test('a reader whose version was replaced and pruned meanwhile starts over once on the current one', async () => {
    const cacheDir = await initialized();
    const stale = tufCache.currentVersion(cacheDir)!;
    repo.publish();
    await initializeTuf({ mirror: served.url, cacheDir });
    rmSync(stale.dir, { recursive: true }); // pruned by another process
    const spy = jest.spyOn(tufCache, 'currentVersion').mockReturnValueOnce(stale);
    try {
      const trust = await loadTufTrustRoot({ cacheDir, offline: true });
      expect(trust.status().timestamp.version).toBe(2);
      expect(spy).toHaveBeenCalledTimes(2);
    } finally {
      spy.mockRestore();
    }
  });

  test('timeouts and ages are checked: no overflow to 1 ms', async () => {
    for (const timeoutMs of [0, -1, 1.5, 2_400_000_000, Number.NaN]) {
      const err = await rejection(initializeTuf({ mirror: served.url, root: repo.root(1), cacheDir: newCache(), timeoutMs }));
      expect(err.code).toBe('INVALID_OPTIONS');
      expect(err.message).toMatch(/timeoutMs must be an integer from 1 to 3600000/);
    }
    expect((await rejection(loadTufTrustRoot({ cacheDir: newCache(), maxAgeMs: -1 }))).code).toBe('INVALID_OPTIONS');
    expect(served.requests).toEqual([]);
  });
});

describe('updates', () => {
  test('key rotation: a new root version signed by old and new keys, with a new trusted_root.json', async () => {
    const cacheDir = await initialized();
    repo.setTarget('trusted_root.json', rotated.trustedRoot);
    repo.rotateRoot();
    const trust = await loadTufTrustRoot({ cacheDir });
    // Updated less than maxAge ago: the cache is used as it is, without asking the mirror.
    expect(trust.status().root.version).toBe(1);
    const result = await trust.refresh({ force: true });
    expect(result).toEqual({ updated: true });
    expect(trust.status().root.version).toBe(2);
    expect(trust.current().trustedRoot.certificateAuthorities[0]?.subject?.organization).toBe('rotated.test');
    // Another process sees the new cache, offline.
    const again = await loadTufTrustRoot({ cacheDir, offline: true });
    expect(again.status().root.version).toBe(2);
  });

  test('a fresh cache is read without touching the network', async () => {
    const cacheDir = await initialized();
    const count = served.requests.length;
    await loadTufTrustRoot({ cacheDir });
    await loadTufTrustRoot({ cacheDir, offline: true });
    expect(served.requests.length).toBe(count);
  });

  test('a stale cache is refreshed when the mirror answers', async () => {
    const cacheDir = await initialized();
    repo.publish();
    const trust = await loadTufTrustRoot({ cacheDir, maxAgeMs: 0 });
    expect(trust.warnings).toEqual([]);
    expect(trust.status().timestamp.version).toBe(2);
  });

  test('the server stopped: a stale cache still valid is used, with a warning; initialize fails (operational)', async () => {
    const cacheDir = await initialized();
    await served.stop();
    const trust = await loadTufTrustRoot({ cacheDir, maxAgeMs: 0, timeoutMs: 2000 });
    expect(trust.warnings).toHaveLength(1);
    expect(trust.warnings[0]).toMatch(/TUF_MIRROR_UNREACHABLE.*using the cached TUF metadata/);
    expect(trust.current().trustedRoot.certificateAuthorities[0]?.subject?.organization).toBe('tuf.test');
    const err = await rejection(initializeTuf({ mirror: served.url, cacheDir, timeoutMs: 2000 }));
    expect(err.code).toBe('TUF_MIRROR_UNREACHABLE');
    expect(err.category).toBe('operational');
  });

  test('expired metadata and no mirror: TUF_METADATA_EXPIRED (operational), online or offline', async () => {
    repo.publish({ timestampExpiresIn: 6000 });
    const cacheDir = await initialized();
    await repo.timestampExpired();
    const offline = await rejection(loadTufTrustRoot({ cacheDir, offline: true }));
    expect(offline.code).toBe('TUF_METADATA_EXPIRED');
    expect(offline.category).toBe('operational');
    expect(offline.message).toMatch(/timestamp metadata .* expired/);
    await served.stop();
    const online = await rejection(loadTufTrustRoot({ cacheDir, timeoutMs: 2000 }));
    expect(online.code).toBe('TUF_METADATA_EXPIRED');
    expect(online.message).toMatch(/the update failed: .*TUF_MIRROR_UNREACHABLE/);
  });

  test('an expired cache is refreshed when the mirror answers', async () => {
    repo.publish({ timestampExpiresIn: 6000 });
    const cacheDir = await initialized();
    await repo.timestampExpired();
    repo.publish();
    const trust = await loadTufTrustRoot({ cacheDir });
    expect(trust.status().timestamp.version).toBe(3);
  });

  test('no cache: TUF_NOT_INITIALIZED (usage)', async () => {
    const err = await rejection(loadTufTrustRoot({ cacheDir: newCache() }));
    expect(err.code).toBe('TUF_NOT_INITIALIZED');
    expect(err.category).toBe('usage');
  });
});
