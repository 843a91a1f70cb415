/**
 * The real Sigstore public-good TUF root, walked forward offline by the same code as
 * `imgverify initialize` (tuf-js): from root v14 (sigstore-go's embedded copy, expired
 * 2026-06-22) through the real v15 (sigstore-python's copy) to v16, which is the root that
 * ships in the installed `@sigstore/tuf` (valid until 2027-04-22), each served by a local
 * mirror as `N.root.json`. Every step is the production keyholders' signatures checked by the
 * TUF rules (threshold 3 of 5 of the previous root, and of the new root itself).
 *
 * What this cannot do: the rest of a real update (timestamp, snapshot, targets and the
 * trusted_root.json target of the same moment). Those files are not on this machine, and the
 * timestamp role expires after 7 days, so a copy would need a pinned clock; the walk stops at
 * `timestamp.json`, which the local mirror does not have.
 */
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { type ImgverifyError } from '../../src/errors';
import { initializeTuf } from '../../src/trust/tuf';
import { describeInterop, interopPath } from '../support/interop';
import { serveTufRepository, TestTufRepository } from '../support/tuf';
import { rejection } from '../support/errors';

function embeddedRoot(): Buffer {
  const seeds = JSON.parse(readFileSync(require.resolve('@sigstore/tuf/seeds.json'), 'utf8')) as Record<string, { 'root.json': string }>;
  return Buffer.from(seeds['https://tuf-repo-cdn.sigstore.dev']!['root.json'], 'base64');
}

describeInterop('the real public-good TUF root, walked forward (v14 → v15 → v16)', () => {
  const v14 = readFileSync(interopPath('trust', 'prod_tuf_root.sigstore-go.json'));
  const v15 = readFileSync(interopPath('trust', 'prod_tuf_root.sigstore-python.json'));
  const v16 = embeddedRoot();

  test('the copies are the versions they claim', () => {
    expect([v14, v15, v16].map((b) => (JSON.parse(b.toString('utf8')) as { signed: { version: number } }).signed.version)).toEqual([14, 15, 16]);
  });

  /** A mirror holding only the given root versions (no timestamp: the walk ends there). */
  async function walk(roots: Record<number, Buffer>, extra: Record<string, string> = {}): Promise<{ error: ImgverifyError; requests: string[] }> {
    const repo = new TestTufRepository({ 'trusted_root.json': '{}' });
    repo.files.clear();
    for (const [version, bytes] of Object.entries(roots)) repo.files.set(`${version}.root.json`, bytes);
    for (const [path, text] of Object.entries(extra)) repo.files.set(path, Buffer.from(text));
    const served = await serveTufRepository(repo);
    try {
      const cacheDir = join(mkdtempSync(join(tmpdir(), 'imgverify-pg-walk-')), 'cache');
      const error = await rejection(initializeTuf({ mirror: served.url, root: v14, cacheDir, timeoutMs: 5000 }));
      return { error, requests: served.requests };
    } finally {
      await served.stop();
    }
  }

  test('each real root verifies against the one before it and against itself; the walk reaches v16 and asks for the timestamp', async () => {
    const { error, requests } = await walk({ 15: v15, 16: v16 });
    expect(requests).toEqual(['15.root.json', '16.root.json', '17.root.json', 'timestamp.json']);
    // Not a verification failure: the mirror simply has no timestamp.json.
    expect(error.code).toBe('TUF_MIRROR_UNREACHABLE');
    expect(error.message).toMatch(/cannot fetch a TUF file from http:\/\/127\.0\.0\.1:\d+\/timestamp\.json: HTTP 404/);
  });

  test('a v16 with three of its signatures changed stops the walk: TUF_METADATA_INVALID', async () => {
    const json = JSON.parse(v16.toString('utf8')) as { signatures: Array<{ keyid: string; sig: string }> };
    // Three of the signatures no longer verify: fewer than the threshold (3 of 5) remain.
    for (const s of json.signatures.filter((x) => x.sig.length > 0).slice(0, 3)) s.sig = `${s.sig.slice(0, -2)}${s.sig.endsWith('00') ? '01' : '00'}`;
    const { error, requests } = await walk({ 15: v15, 16: Buffer.from(JSON.stringify(json)) });
    expect(requests).toEqual(['15.root.json', '16.root.json']);
    expect(error.code).toBe('TUF_METADATA_INVALID');
  });

  test('without v15 the walk stays at v14, which has expired: nothing it signs is trusted', async () => {
    const { error, requests } = await walk({ 16: v16 }, { 'timestamp.json': '{}' });
    expect(requests).toEqual(['15.root.json', 'timestamp.json']);
    expect(error.code).toBe('TUF_METADATA_INVALID');
    expect(error.message).toMatch(/root\.json is expired/);
  });
});
