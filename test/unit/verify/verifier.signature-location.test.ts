/**
 * Where the verifier looks for cosign's `.sig` tags: beside the image, in another repository
 * (`signatureRepository`, cosign's COSIGN_REPOSITORY), under a tag prefix (`attachmentTagPrefix`,
 * cosign's --attachment-tag-prefix), against an in-memory registry.
 */
import { createVerifier } from '../../../src';
import { MemoryRegistry } from '../../support/memory-registry';
import { buildSignatureManifest, createTestSigstore, DEFAULT_ISSUER, signatureTag } from '../../support/sigstore';

const SIGNER = 'release@example.test';
const DIGEST = `sha256:${'ab'.repeat(32)}`;
const sigstore = createTestSigstore();
const APP = { registry: 'registry.test', repository: 'app' };
const SIGS = { registry: 'registry.test', repository: 'signatures' };
const POLICY = { subject: SIGNER, issuer: DEFAULT_ISSUER };

/** A registry with the image's signature stored in `repo` under `<prefix>sha256-<hex>.sig`. */
function registryWith(repo: typeof APP, prefix = ''): MemoryRegistry {
  const registry = new MemoryRegistry();
  const sig = buildSignatureManifest([sigstore.signImage({ digest: DIGEST, identity: { email: SIGNER } })]);
  for (const blob of sig.blobs) registry.putBlob(repo, blob.bytes);
  registry.putManifest(repo, JSON.parse(sig.manifest.toString('utf8')), `${prefix}${signatureTag(DIGEST)}`);
  return registry;
}

async function verdict(registry: MemoryRegistry, options: { signatureRepository?: string; attachmentTagPrefix?: string } = {}) {
  const verifier = createVerifier({ trustedRoot: sigstore.trustedRoot, registryClient: registry, ...options });
  return verifier.verify(`registry.test/app@${DIGEST}`, POLICY);
}

test('beside the image, by default', async () => {
  expect((await verdict(registryWith(APP))).verified).toBe(true);
});

test('in the signature repository, and only there', async () => {
  expect((await verdict(registryWith(SIGS), { signatureRepository: 'registry.test/signatures' })).verified).toBe(true);
  const elsewhere = await verdict(registryWith(APP), { signatureRepository: 'registry.test/signatures' });
  expect(elsewhere.verified).toBe(false);
  expect(elsewhere.error?.message).toContain(`registry.test/signatures:${DIGEST.replace(':', '-')}.sig`);
});

test('under the attachment tag prefix, and only there', async () => {
  expect((await verdict(registryWith(APP, 'sigprefix'), { attachmentTagPrefix: 'sigprefix' })).verified).toBe(true);
  const unprefixed = await verdict(registryWith(APP), { attachmentTagPrefix: 'sigprefix' });
  expect(unprefixed.verified).toBe(false);
  expect(unprefixed.error?.message).toContain(`registry.test/app:sigprefix${DIGEST.replace(':', '-')}.sig`);
  expect((await verdict(registryWith(APP, 'sigprefix'))).verified).toBe(false);
});

test.each(['-dash', '.dot', 'with/slash', 'x'.repeat(54), 'tab\t'])('attachmentTagPrefix %j is refused (a tag could not hold it)', (prefix) => {
  expect(() => createVerifier({ trustedRoot: sigstore.trustedRoot, attachmentTagPrefix: prefix })).toThrow(
    expect.objectContaining({ code: 'INVALID_OPTIONS' }),
  );
});
