/**
 * The built CLI (`dist/cli/main.js`, as users run it) against a real registry: verdict lines,
 * JSON output, exit codes 0/1/3. Run `npm run build` first (`npm test` does).
 */
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { closePushers, startRegistry, type RunningRegistry } from '../support/registry';
import { pushSignatures, pushTestImage } from '../support/signed-images';
import { createTestSigstore, type TestSigstore } from '../support/sigstore';
import { runBuiltCli } from '../support/cli';
import type { JsonObject } from '../support/json';

const ISSUER = 'https://accounts.example.test';
const SIGNER = 'release@example.test';

let registry: RunningRegistry;
let sigstore: TestSigstore;
let rootFile: string;
let good: string;
let goodDigest: string;
let unsigned: string;

beforeAll(async () => {
  registry = await startRegistry();
  sigstore = createTestSigstore();
  const dir = mkdtempSync(join(tmpdir(), 'imgverify-cli-it-'));
  rootFile = join(dir, 'trusted_root.json');
  writeFileSync(rootFile, JSON.stringify(sigstore.trustedRoot));

  const image = await pushTestImage(registry, 'cli/good', 'v1');
  await pushSignatures(registry, 'cli/good', image.digest, [sigstore.signImage({ digest: image.digest, identity: { email: SIGNER }, issuer: ISSUER })]);
  good = `${registry.host}/cli/good:v1`;
  goodDigest = image.digest;
  await pushTestImage(registry, 'cli/unsigned', 'v1');
  unsigned = `${registry.host}/cli/unsigned:v1`;
});

afterAll(async () => {
  await closePushers();
  await registry?.stop();
});

const flags = () => ['--certificate-identity', SIGNER, '--certificate-oidc-issuer', ISSUER, '--trusted-root', rootFile];

test('a verified image: exit 0, one text line with verdict, digest and signer', async () => {
  const r = await runBuiltCli(['verify', good, ...flags()]);
  expect(r.stderr).toBe('');
  expect(r.code).toBe(0);
  const lines = r.stdout.trim().split('\n');
  expect(lines).toHaveLength(1);
  expect(lines[0]).toMatch(/^VERIFIED /);
  expect(lines[0]).toContain(`${good}@${goodDigest}`);
  expect(lines[0]).toContain(`signed by ${SIGNER} (issuer ${ISSUER})`);
});

test('JSON output: an array with one object per IMAGE, in argument order', async () => {
  const r = await runBuiltCli(['verify', unsigned, good, ...flags(), '--output', 'json']);
  expect(r.code).toBe(1);
  const out = JSON.parse(r.stdout) as JsonObject[];
  expect(out).toHaveLength(2);
  expect(out[0]).toMatchObject({ image: unsigned, verified: false, error: { code: 'NO_SIGNATURES', category: 'verification' } });
  expect(out[0]!.digest).toMatch(/^sha256:/);
  expect(out[1]).toMatchObject({ image: good, digest: goodDigest, verified: true });
  expect(out[1]!.signatures[0]).toMatchObject({ verified: true, signer: { subject: SIGNER, issuer: ISSUER }, source: 'sig-tag' });
});

test('a policy failure: exit 1 with the reason in words', async () => {
  const r = await runBuiltCli(['verify', good, '--certificate-identity', 'someone@else.test', '--certificate-oidc-issuer', ISSUER, '--trusted-root', rootFile]);
  expect(r.code).toBe(1);
  expect(r.stdout).toMatch(/^FAILED /);
  expect(r.stdout).toContain('does not match');
  expect(r.stdout).toContain('IDENTITY_MISMATCH');
});

test('an unsigned image: exit 1, "no signatures found"', async () => {
  const r = await runBuiltCli(['verify', unsigned, ...flags()]);
  expect(r.code).toBe(1);
  expect(r.stdout).toContain('no signatures found');
});

test('image not found: exit 3', async () => {
  const r = await runBuiltCli(['verify', `${registry.host}/cli/nothing:v1`, ...flags()]);
  expect(r.code).toBe(3);
  expect(r.stdout).toMatch(/^ERROR /);
  expect(r.stdout).toContain('IMAGE_NOT_FOUND');
});

test('registry unreachable: exit 3', async () => {
  const r = await runBuiltCli(['verify', '127.0.0.1:9/app:v1', ...flags(), '--timeout', '5s']);
  expect(r.code).toBe(3);
  expect(r.stdout).toContain('REGISTRY_UNREACHABLE');
});

test('the default trust root (public good) does not trust the test Sigstore: exit 1', async () => {
  const r = await runBuiltCli(['verify', good, '--certificate-identity', SIGNER, '--certificate-oidc-issuer', ISSUER]);
  expect(r.code).toBe(1);
  expect(r.stdout).toContain('CERTIFICATE_CHAIN_INVALID');
});
