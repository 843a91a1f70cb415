/**
 * Where the verifying commands' trust comes from (src/cli/trust-flags.ts), in-process: a TUF
 * cache folder that is not one, and a damaged default cache, are usage errors (exit 2), never
 * silently replaced by the embedded public-good root (issue 20.10).
 */
import { mkdirSync, mkdtempSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { runCli } from '../../support/cli';

const IMG = '127.0.0.1:1/app:v1';
const ID = ['--certificate-identity', 'a@b.c', '--certificate-oidc-issuer', 'https://issuer.example'];

test('verify --tuf-cache /dev/null: not a folder (exit 2)', async () => {
  const r = await runCli(['verify', IMG, ...ID, '--tuf-cache', '/dev/null']);
  expect(r.stderr).toContain('the TUF cache folder /dev/null cannot be used: it is not a folder');
  expect(r.code).toBe(2);
});

test('a damaged default cache is not replaced by the embedded public-good root: exit 2, saying so', async () => {
  const home = mkdtempSync(join(tmpdir(), 'imgverify-damaged-'));
  const cache = join(home, 'cache', 'imgverify', 'tuf');
  mkdirSync(join(cache, 'v-1-ab'), { recursive: true });
  symlinkSync('v-1-ab', join(cache, 'current')); // a version without its state: not readable
  writeFileSync(join(cache, 'v-1-ab', 'state.json'), '{"format": 1,');
  for (const argv of [
    ['verify', IMG, ...ID],
    ['trust', 'show'],
  ]) {
    const r = await runCli(argv, { XDG_CACHE_HOME: join(home, 'cache') });
    expect(r.stderr).toContain(`the TUF cache ${cache} is damaged`);
    expect(r.stderr).toContain('TUF_NOT_INITIALIZED');
    expect(r.code).toBe(2);
  }
  // No cache at all: the embedded root, as before.
  const fresh = mkdtempSync(join(tmpdir(), 'imgverify-nocache-'));
  const shown = await runCli(['trust', 'show', '--output', 'json'], { XDG_CACHE_HOME: fresh });
  expect(shown.code).toBe(0);
  expect(JSON.parse(shown.stdout).roots[0].kind).toBe('embedded');
});
