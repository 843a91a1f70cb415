/**
 * The real, byte-exact multi-arch index of docker.io/salrashid123/server_image (sha256:c05263…)
 * and its real cosign `.sig`, served by a local registry and verified by reference through the
 * built CLI against the production trusted root: image digest → `.sig` manifest → payload →
 * signature → certificate → SCT → SET, end to end. Reads fixtures/ (the vector's files, copied
 * from ../shared/interop): runs on every clone.
 */
import { readFileSync } from 'node:fs';
import { runBuiltCli } from '../support/cli';
import { FIXTURE, fixturePath } from '../support/fixtures';
import { closePushers, pushBlob, pushManifest, startRegistry, type RunningRegistry } from '../support/registry';
import { placeManifest } from '../support/registry-storage';

const DIR = FIXTURE.serverImageIndex;
const IDENTITY = 'https://github.com/salrashid123/go-bazel-github-workflow/.github/workflows/release.yaml@refs/tags/v0.0.30';
const ISSUER = 'https://token.actions.githubusercontent.com';
const DIGEST = 'sha256:c05263d2ff654c3a94243662440913f045075d59c436e2c69e9145ec2b87a321';

describe('real multi-arch index with its real .sig, by reference, through the CLI', () => {
  let registry: RunningRegistry;
  const repo = 'salrashid123/server_image';

  beforeAll(async () => {
    registry = await startRegistry();
    const index = readFileSync(fixturePath(...DIR, 'image-index.json'));
    expect(placeManifest(registry.storageDir, repo, 'v0.0.30', index)).toBe(DIGEST);
    await pushBlob(registry, repo, readFileSync(fixturePath(...DIR, 'config.json')));
    await pushBlob(registry, repo, readFileSync(fixturePath(...DIR, 'payload-0.json')));
    const sig = readFileSync(fixturePath(...DIR, 'sig-manifest.json'));
    await pushManifest(registry, repo, `sha256-${DIGEST.slice(7)}.sig`, sig, 'application/vnd.oci.image.manifest.v1+json');
  });
  afterAll(async () => {
    await closePushers();
    await registry?.stop();
  });

  const args = (ref: string, identity = IDENTITY) => [
    'verify',
    ref,
    '--certificate-identity',
    identity,
    '--certificate-oidc-issuer',
    ISSUER,
    '--trusted-root',
    fixturePath(...FIXTURE.prodTrustedRoot),
    '--output',
    'json',
  ];

  test('verifies by tag: the registry serves the exact index bytes and the signature binds them', async () => {
    const r = await runBuiltCli(args(`${registry.host}/${repo}:v0.0.30`));
    expect(r.stderr).toBe('');
    const [result] = JSON.parse(r.stdout);
    expect(result).toMatchObject({ verified: true, digest: DIGEST, mediaType: 'application/vnd.oci.image.index.v1+json' });
    expect(result.signatures[0]).toMatchObject({
      verified: true,
      signer: { subject: IDENTITY, issuer: ISSUER },
      dockerReference: 'index.docker.io/salrashid123/server_image',
      tlog: { logIndex: 1004096555 },
    });
    expect(r.code).toBe(0);
  });

  test('verifies by digest, and with the embedded public-good root', async () => {
    const r = await runBuiltCli(args(`${registry.host}/${repo}@${DIGEST}`).filter((a, i, all) => a !== '--trusted-root' && all[i - 1] !== '--trusted-root'));
    expect(JSON.parse(r.stdout)[0].verified).toBe(true);
    expect(r.code).toBe(0);
  });

  test('fails with another identity (exit 1)', async () => {
    const r = await runBuiltCli(args(`${registry.host}/${repo}:v0.0.30`, 'https://github.com/someone/else/.github/workflows/release.yaml@refs/tags/v1'));
    const [result] = JSON.parse(r.stdout);
    expect(result.verified).toBe(false);
    expect(result.error.code).toBe('IDENTITY_MISMATCH');
    expect(r.code).toBe(1);
  });
});
