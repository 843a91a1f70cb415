/** The verifier's pure side: prepared policies are opaque and bound to the trust root they were compiled for. */
import {
  createVerifier,
  HttpStack,
  shareHttpStack,
  type AttestationOptions,
  type BlobVerifyOptions,
  type CredentialProvidersOptions,
  type HttpStackOptions,
  type ProxySettings,
  type RegistryReader,
  type TufOptions,
  type VerifierOptions,
  type VerifyCallOptions,
  type VerifyManyOptions,
} from '../../../src';
import { DEFAULT_ISSUER, createTestSigstore, legacyLayerToBundle } from '../../support/sigstore';
import { verified } from '../../support/verify';

const SIGNER = 'release@example.test';
const DIGEST = `sha256:${'ab'.repeat(32)}`;
const a = createTestSigstore();
const b = createTestSigstore();

test('a prepared policy is opaque: only its description is visible', () => {
  const prepared = createVerifier({ trustedRoot: a.trustedRoot }).preparePolicy({ subject: SIGNER, issuer: DEFAULT_ISSUER });
  expect(Object.keys(prepared)).toEqual(['description']);
  expect(prepared.description).toContain(SIGNER);
  expect(Object.isFrozen(prepared)).toBe(true);
});

test("a policy prepared for one trust root is compiled again for another, never checked against the first one's keys", () => {
  const verifierA = createVerifier({ trustedRoot: a.trustedRoot });
  const verifierB = createVerifier({ trustedRoot: b.trustedRoot });
  const prepared = verifierA.preparePolicy({ subject: SIGNER, issuer: DEFAULT_ISSUER });
  const signedByB = b.signImage({ digest: DIGEST, identity: { email: SIGNER } });
  const bundle = legacyLayerToBundle(signedByB);
  expect(verified(verifierB.verifyBundle(bundle, { bytes: signedByB.payload }, prepared)).signer.subject).toBe(SIGNER);
  expect(() => verified(verifierA.verifyBundle(bundle, { bytes: signedByB.payload }, prepared))).toThrow(
    expect.objectContaining({ code: 'CERTIFICATE_CHAIN_INVALID' }),
  );
});

test('options take an explicit undefined as "the default" (exactOptionalPropertyTypes): the types accept it, the values are the defaults', async () => {
  // This file is type-checked with exactOptionalPropertyTypes (tsconfig.json): these literals are the type test.
  const options: VerifierOptions = {
    trustedRoot: undefined,
    registry: { timeoutMs: undefined, retries: undefined, proxy: undefined, credentials: undefined },
    registryClient: undefined,
    signatureRepository: undefined,
    maxSignatures: undefined,
    concurrency: undefined,
    timeoutMs: undefined,
  };
  const verifier = createVerifier(options);
  expect(verifier.trust.source).toBe('embedded public-good');
  const signed = a.signImage({ digest: DIGEST, identity: { email: SIGNER } });
  const policy = { subject: SIGNER, issuer: DEFAULT_ISSUER, insecureIgnoreTlog: undefined, insecureIgnoreSct: undefined };
  const call: VerifyCallOptions = { signal: undefined };
  const onA = createVerifier({ trustedRoot: a.trustedRoot, timeoutMs: undefined });
  expect(verified(onA.verifyBundle(legacyLayerToBundle(signed), { bytes: signed.payload }, policy, call)).signer.subject).toBe(SIGNER);
  const many: VerifyManyOptions = { concurrency: undefined, signal: undefined };
  const attestations: AttestationOptions = { predicateType: undefined, condition: undefined, signal: undefined };
  const blob: BlobVerifyOptions = { rekorUrl: undefined, offline: undefined, timeoutMs: undefined, ca: undefined, httpStack: undefined, signal: undefined };
  expect([many, attestations, blob].every((o) => Object.values(o).every((v) => v === undefined))).toBe(true);
  await verifier.close();
  await onA.close();
});

test('the registry, proxy, TUF and credential-provider options take an explicit undefined too (an unset environment variable)', async () => {
  const unset: string | undefined = process.env.IMGVERIFY_TEST_SURELY_UNSET;
  const proxy: ProxySettings = { httpsProxy: unset, httpProxy: unset, noProxy: unset };
  const stackOptions: HttpStackOptions = { proxy, ca: undefined, clientCertificates: undefined, maxConnectionsPerHost: undefined, connectTimeoutMs: undefined };
  const stack = new HttpStack(stackOptions);
  await stack.close();
  const tuf: TufOptions = {
    mirror: undefined,
    targets: undefined,
    root: undefined,
    cacheDir: undefined,
    offline: undefined,
    timeoutMs: undefined,
    maxAgeMs: undefined,
  };
  const providers: CredentialProvidersOptions = { env: undefined, timeoutMs: undefined, now: undefined };
  const verifier = createVerifier({ trustedRoot: a.trustedRoot, registry: { proxy, credentialProviders: undefined } });
  expect(verifier.trust.source).toBeDefined();
  await verifier.close();
  expect([tuf, providers].every((o) => Object.values(o).every((v) => v === undefined))).toBe(true);
});

describe('an injected registry reader that ignores the signal (issue 20.7)', () => {
  /** Every read waits forever, whatever its signal says. */
  const deaf: RegistryReader = {
    getManifest: () => new Promise(() => undefined),
    findManifest: () => new Promise(() => undefined),
    getBlob: () => new Promise(() => undefined),
    listReferrers: () => new Promise(() => undefined),
  };
  const policy = { subject: SIGNER, issuer: DEFAULT_ISSUER };

  test('the deadline (timeoutMs) still ends the verification: REGISTRY_TIMEOUT', async () => {
    const verifier = createVerifier({ trustedRoot: a.trustedRoot, registryClient: deaf, timeoutMs: 300 });
    const tagged = await verifier.verify('registry.example.test/app:v1', policy);
    expect(tagged).toMatchObject({ verified: false, error: { code: 'REGISTRY_TIMEOUT' } });
    const pinned = await verifier.verifyAttestations(`registry.example.test/app@${DIGEST}`, policy);
    expect(pinned).toMatchObject({ verified: false, error: { code: 'REGISTRY_TIMEOUT' } });
  });

  test("the caller's signal ends it: ABORTED", async () => {
    const verifier = createVerifier({ trustedRoot: a.trustedRoot, registryClient: deaf, timeoutMs: 60_000 });
    const result = await verifier.verify(`registry.example.test/app@${DIGEST}`, policy, { signal: AbortSignal.timeout(200) });
    expect(result).toMatchObject({ verified: false, error: { code: 'ABORTED' } });
  });
});

test('a claim given as undefined (an unset environment variable) is refused, as null is: it would check nothing (issue 20.16)', () => {
  const verifier = createVerifier({ trustedRoot: a.trustedRoot });
  const unset: string | undefined = process.env.IMGVERIFY_TEST_SURELY_UNSET;
  expect(() => verifier.preparePolicy({ subject: SIGNER, issuer: DEFAULT_ISSUER, claims: { sourceRepositoryIdentifier: unset as string } })).toThrow(
    expect.objectContaining({ code: 'INVALID_POLICY', message: expect.stringContaining('claims.sourceRepositoryIdentifier is undefined') }),
  );
});

test('the registry client a verifier creates has two connections per image of its concurrency (at least 32), unless the options say otherwise', async () => {
  const capOf = (verifier: ReturnType<typeof createVerifier>): number =>
    (verifier as unknown as { ownedClient: { registryLoad(registry: string): { cap: number } } }).ownedClient.registryLoad('registry.test').cap;
  const shared = shareHttpStack({ maxConnectionsPerHost: 128 });
  const verifiers = [
    createVerifier({ trustedRoot: a.trustedRoot }),
    createVerifier({ trustedRoot: a.trustedRoot, concurrency: 64 }),
    createVerifier({ trustedRoot: a.trustedRoot, concurrency: 64, registry: { maxConnectionsPerHost: 10 } }),
    createVerifier({ trustedRoot: a.trustedRoot, concurrency: 4000 }),
    // As verify-release does: a stack shared with the SBOM download, sized for its concurrency.
    createVerifier({ trustedRoot: a.trustedRoot, concurrency: 64, registry: shared.options }),
  ];
  try {
    expect(verifiers.map(capOf)).toEqual([32, 128, 10, 1024, 128]);
  } finally {
    await Promise.all(verifiers.map((v) => v.close()));
    await shared.stack.close();
  }
});
