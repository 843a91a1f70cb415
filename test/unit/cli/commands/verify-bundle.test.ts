/**
 * `imgverify verify-bundle` (in-process): flags, the file-or-digest rule of the conformance
 * protocol, text and JSON verdicts, exit statuses. Bundles come from the private test
 * Sigstore, written to a temporary directory.
 */
import { createHash } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { runCli } from '../../../support/cli';
import { DEFAULT_ISSUER, createTestSigstore, legacyLayerToBundle } from '../../../support/sigstore';

const SIGNER = 'release@example.test';
const sigstore = createTestSigstore();
const layer = sigstore.signImage({ digest: `sha256:${'ab'.repeat(32)}`, identity: { email: SIGNER } });
const attestation = sigstore.attestImage({ digest: `sha256:${'cd'.repeat(32)}`, identity: { email: SIGNER }, predicateType: 'x', predicate: {} });
const digest = `sha256:${createHash('sha256').update(layer.payload).digest('hex')}`;

const dir = mkdtempSync(join(tmpdir(), 'imgverify-verify-bundle-'));
const paths = {
  root: join(dir, 'trusted_root.json'),
  bundle: join(dir, 'artifact.sigstore.json'),
  dsse: join(dir, 'attestation.sigstore.json'),
  artifact: join(dir, 'artifact'),
  broken: join(dir, 'broken.sigstore.json'),
};
writeFileSync(paths.root, JSON.stringify(sigstore.trustedRoot));
writeFileSync(paths.bundle, JSON.stringify(legacyLayerToBundle(layer)));
writeFileSync(paths.dsse, JSON.stringify(legacyLayerToBundle(attestation)));
writeFileSync(paths.artifact, layer.payload);
writeFileSync(paths.broken, '{"mediaType": ');
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const identity = ['--certificate-identity', SIGNER, '--certificate-oidc-issuer', DEFAULT_ISSUER];
const base = (bundle = paths.bundle) => ['verify-bundle', '--bundle', bundle, ...identity, '--trusted-root', paths.root];

test('verifies by file and by digest (text verdict, exit 0)', async () => {
  for (const target of [paths.artifact, digest]) {
    const r = await runCli([...base(), target]);
    expect(r).toMatchObject({ code: 0, stderr: '' });
    expect(r.stdout).toMatch(
      new RegExp(
        `^VERIFIED {2}${target.replace(/[.*+?^${}()|[\]\\/]/g, '\\$&')} {2}signed by ${SIGNER} \\(issuer ${DEFAULT_ISSUER.replace(/[./]/g, '\\$&')}\\), signed at \\S+, log index \\d+\\n$`,
      ),
    );
  }
});

test('JSON verdict for a DSSE bundle verified by the subject digest', async () => {
  const r = await runCli([...base(paths.dsse), '--output', 'json', `sha256:${'cd'.repeat(32)}`]);
  expect(r.code).toBe(0);
  expect(JSON.parse(r.stdout)).toMatchObject({
    verified: true,
    signer: { subject: SIGNER, issuer: DEFAULT_ISSUER },
    content: { kind: 'dsse', payloadType: 'application/vnd.in-toto+json' },
    tlog: { logIndex: expect.any(Number) },
  });
});

test('a verification failure prints the failed check and exits 1', async () => {
  const r = await runCli([...base(), '--output', 'json', `sha256:${'00'.repeat(32)}`]);
  expect(r.code).toBe(1);
  expect(JSON.parse(r.stdout)).toEqual({
    bundle: paths.bundle,
    artifact: `sha256:${'00'.repeat(32)}`,
    verified: false,
    failure: { code: 'DIGEST_MISMATCH', category: 'verification', message: expect.any(String) },
  });
  const text = await runCli([...base(paths.broken), paths.artifact]);
  expect(text.code).toBe(1);
  expect(text.stdout).toMatch(/^FAILED {4}.* bundle is malformed: not valid JSON .*\[SIGNATURE_MALFORMED\]\n$/);
});

test('identity regexp flags work as for verify', async () => {
  const r = await runCli([
    'verify-bundle',
    '--bundle',
    paths.bundle,
    '--certificate-identity-regexp',
    '^release@',
    '--certificate-oidc-issuer-regexp',
    'sigstore\\.dev',
    '--trusted-root',
    paths.root,
    digest,
  ]);
  expect(r.code).toBe(0);
  const wrong = await runCli([
    'verify-bundle',
    '--bundle',
    paths.bundle,
    '--certificate-identity-regexp',
    '^other@',
    '--certificate-oidc-issuer',
    DEFAULT_ISSUER,
    '--trusted-root',
    paths.root,
    digest,
  ]);
  expect(wrong.code).toBe(1);
  expect(wrong.stdout).toMatch(/\[IDENTITY_MISMATCH\]/);
});

test('a "sha256:" argument that names an existing file is read as that file (protocol rule)', async () => {
  const cwd = process.cwd();
  process.chdir(dir);
  writeFileSync(join(dir, digest), 'not the artifact');
  try {
    const r = await runCli([...base(), digest]);
    expect(r.code).toBe(1);
    expect(r.stdout).toMatch(/\[DIGEST_MISMATCH\]/);
  } finally {
    rmSync(join(dir, digest));
    process.chdir(cwd);
  }
  expect((await runCli([...base(), digest])).code).toBe(0);
});

test.each([
  ['no FILE_OR_DIGEST', [...base()], /exactly one FILE_OR_DIGEST/],
  ['two targets', [...base(), digest, digest], /exactly one FILE_OR_DIGEST/],
  ['no --bundle', ['verify-bundle', ...identity, digest], /--bundle FILE is required/],
  ['no identity', ['verify-bundle', '--bundle', paths.bundle, digest], /--certificate-identity/],
  ['--staging without a trusted root', ['verify-bundle', '--staging', '--bundle', paths.bundle, ...identity, digest], /--staging/],
  ['an unreadable bundle', [...base(join(dir, 'missing.json')), digest], /--bundle: cannot read/],
  ['an unreadable artifact', [...base(), join(dir, 'missing-artifact')], /artifact: cannot read/],
  ['an unknown flag', [...base(), '--frobnicate', digest], /frobnicate/],
  ['a malformed trusted root', ['verify-bundle', '--bundle', paths.bundle, ...identity, '--trusted-root', paths.broken, digest], /TRUST_ROOT_INVALID/],
])('usage/configuration error: %s (exit 2, on stderr)', async (_name, argv, message) => {
  const r = await runCli(argv);
  expect(r.code).toBe(2);
  expect(r.stdout).toBe('');
  expect(r.stderr).toMatch(message);
});

test('--help', async () => {
  const r = await runCli(['verify-bundle', '--help']);
  expect(r.code).toBe(0);
  expect(r.stdout).toMatch(/^Usage: imgverify verify-bundle --bundle FILE/);
});
