/** Usage and configuration errors exit 2 before any network work, with a message that says what is wrong. */
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { runCli } from '../../support/cli';

const ID = ['--certificate-identity', 'a@b.c', '--certificate-oidc-issuer', 'https://issuer'];
// An image on a closed port: if any of these reached the network, they would exit 3, not 2.
const IMG = '127.0.0.1:9/app:v1';

test('no command prints usage and exits 2', async () => {
  const r = await runCli([]);
  expect(r.code).toBe(2);
  expect(r.stdout).toContain('Usage: imgverify');
});

test.each([['verify'], ['verify-attestation'], ['verify-bundle']])('%s --help says the claim regexps are unanchored (issue 20.18)', async (command) => {
  const r = await runCli([command, '--help']);
  expect(r.code).toBe(0);
  expect(r.stdout).toContain('--source-repository-ref[-regexp]');
  expect(r.stdout).toMatch(/-regexp for an RE2 regexp,\nunanchored as cosign's: "\^refs\/tags\/v" matches refs\/tags\/v1\.2/);
});

test('unknown command exits 2', async () => {
  const r = await runCli(['frobnicate']);
  expect(r.code).toBe(2);
  expect(r.stderr).toContain('unknown command "frobnicate"');
});

test('verify --help exits 0 and documents the flags', async () => {
  const r = await runCli(['verify', '--help']);
  expect(r.code).toBe(0);
  for (const flag of ['--certificate-identity', '--certificate-oidc-issuer-regexp', '--trusted-root', '--allow-http-registry', '--output']) {
    expect(r.stdout).toContain(flag);
  }
});

test.each([
  [[IMG], '--certificate-identity or --certificate-identity-regexp is required'],
  [[IMG, '--certificate-identity', 'a@b.c'], '--certificate-oidc-issuer or --certificate-oidc-issuer-regexp is required'],
  [[IMG, ...ID, '--certificate-identity-regexp', 'x'], 'only one of --certificate-identity'],
  [[IMG, ...ID, '--output', 'yaml'], '--output must be "json" or "text"'],
  [[IMG, ...ID, '--no-such-flag'], "Unknown option '--no-such-flag'"],
  [[...ID], 'at least one IMAGE is required'],
  [['Not/A/Valid:ref:', ...ID], 'invalid image reference'],
  [[IMG, ...ID, '--certificate-identity-regexp'], 'argument missing'],
  [[IMG, '--certificate-identity-regexp', '(', '--certificate-oidc-issuer', 'x'], 'invalid RE2 regular expression'],
  [[IMG, ...ID, '--trusted-root', '/nonexistent/trusted_root.json'], 'cannot read file'],
  [[IMG, ...ID, '--timeout', 'soon'], 'invalid duration'],
  [[IMG, ...ID, '--concurrency', '0'], '--concurrency must be a positive integer'],
  [[IMG, '--key', '/nonexistent.pem'], '--key: cannot read'],
  [[IMG, ...ID, '--registry-username', 'u'], '--registry-username and --registry-password go together'],
])('verify %j exits 2: %s', async (args, message) => {
  const r = await runCli(['verify', ...args]);
  expect(r.stderr).toContain(message);
  expect(r.code).toBe(2);
});

test('a malformed trusted root file exits 2 naming the file', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'imgverify-cli-'));
  const file = join(dir, 'trusted_root.json');
  writeFileSync(file, JSON.stringify({ mediaType: 'application/vnd.dev.sigstore.trustedroot+json;version=0.1', tlogs: [{}] }));
  const r = await runCli(['verify', IMG, ...ID, '--trusted-root', file]);
  expect(r.code).toBe(2);
  expect(r.stderr).toContain(file);
  expect(r.stderr).toContain('TRUST_ROOT_INVALID');
});

test('a key file that is not a public key exits 2', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'imgverify-cli-'));
  const file = join(dir, 'key.pem');
  writeFileSync(file, 'hello');
  const r = await runCli(['verify', IMG, '--key', file]);
  expect(r.code).toBe(2);
  expect(r.stderr).toContain('KEY_INVALID');
});
