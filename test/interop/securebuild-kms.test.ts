/**
 * The real two-layer `.sig` of us-central1-docker.pkg.dev/mineral-minutia-820/repo1/securebuild-bazel
 * (one layer signed with a Cloud KMS key, no Rekor entry; one keyless), served by a local
 * registry and verified by digest through the built CLI: with `--key kms_pub.pem` and,
 * separately, with the keyless identity.
 */
import { generateKeyPairSync } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { runBuiltCli } from '../support/cli';
import { describeInterop, interopPath, PROD_TRUSTED_ROOT, readInteropJSON } from '../support/interop';
import { closePushers, pushBlob, pushManifest, startRegistry, type RunningRegistry } from '../support/registry';
import { buildSignatureManifest, signatureTag } from '../support/sigstore';

const DIR = ['cosign-oci', 'salrashid123-securebuild-bazel'];
const DIGEST = 'sha256:a2b109fb9baea555556561317fdd13cef9c3dfac22c8f8fea0c5a0b06ece9d00';
const REPO = 'mineral-minutia-820/repo1/securebuild-bazel';
const IDENTITY = 'cosign-svc-account@mineral-minutia-820.iam.gserviceaccount.com';
const ISSUER = 'https://accounts.google.com';

describeInterop('real KMS-key + keyless .sig (securebuild-bazel)', () => {
  let registry: RunningRegistry;
  let image: string;

  beforeAll(async () => {
    registry = await startRegistry();
    const real = readInteropJSON<{ layers: Array<{ mediaType: string; annotations: Record<string, string> }> }>(
      ...DIR,
      'sha256-a2b109fb9bae',
      'sig-manifest.json',
    );
    // The layers and their annotations are the real ones; the config blob of the original is not
    // stored, so the manifest is rebuilt around them (the config carries no signature data).
    const layers = real.layers.map((layer, i) => ({
      payload: readFileSync(interopPath(...DIR, 'sha256-a2b109fb9bae', `payload-${i}.json`)),
      mediaType: layer.mediaType,
      annotations: layer.annotations,
    }));
    const sig = buildSignatureManifest(layers);
    for (const blob of sig.blobs) await pushBlob(registry, REPO, blob.bytes);
    await pushManifest(registry, REPO, signatureTag(DIGEST), sig.manifest, sig.mediaType);
    image = `${registry.host}/${REPO}@${DIGEST}`;
  });
  afterAll(async () => {
    await closePushers();
    await registry?.stop();
  });

  const json = (stdout: string) => JSON.parse(stdout)[0];
  const root = () => ['--trusted-root', interopPath(...PROD_TRUSTED_ROOT), '--output', 'json'];

  test('--key kms_pub.pem --insecure-ignore-tlog: the KMS layer verifies, the keyless one does not match the key', async () => {
    const r = await runBuiltCli(['verify', image, '--key', interopPath(...DIR, 'kms_pub.pem'), '--insecure-ignore-tlog', ...root()]);
    const result = json(r.stdout);
    expect(result.verified).toBe(true);
    expect(result.signatures.map((s: { verified: boolean }) => s.verified)).toEqual([true, false]);
    expect(result.signatures[0].signer.publicKeySha256).toMatch(/^[0-9a-f]{64}$/);
    expect(result.signatures[1].failure.code).toBe('SIGNATURE_INVALID');
    expect(r.code).toBe(0);
  });

  test('--key without --insecure-ignore-tlog: the KMS layer has no Rekor entry, so it is refused', async () => {
    const r = await runBuiltCli(['verify', image, '--key', interopPath(...DIR, 'kms_pub.pem'), ...root()]);
    const result = json(r.stdout);
    expect(result.verified).toBe(false);
    expect(result.signatures[0].failure.code).toBe('TLOG_ENTRY_MISSING');
    expect(r.code).toBe(1);
  });

  test('the keyless identity verifies the other layer', async () => {
    const r = await runBuiltCli(['verify', image, '--certificate-identity', IDENTITY, '--certificate-oidc-issuer', ISSUER, ...root()]);
    const result = json(r.stdout);
    expect(result.verified).toBe(true);
    expect(result.signatures.map((s: { verified: boolean }) => s.verified)).toEqual([false, true]);
    expect(result.signatures[0].failure.code).toBe('SIGNATURE_MALFORMED');
    expect(result.signatures[1].signer.subject).toBe(IDENTITY);
    expect(result.signatures[1].tlog.logIndex).toBe(19941761);
    expect(r.code).toBe(0);
  });

  test('another key fails (exit 1)', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'imgverify-kms-'));
    try {
      const other = join(dir, 'other.pem');
      writeFileSync(other, generateKeyPairSync('ec', { namedCurve: 'P-256' }).publicKey.export({ type: 'spki', format: 'pem' }));
      const r = await runBuiltCli(['verify', image, '--key', other, '--insecure-ignore-tlog', ...root()]);
      expect(json(r.stdout).signatures[0].failure.code).toBe('SIGNATURE_INVALID');
      expect(r.code).toBe(1);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
