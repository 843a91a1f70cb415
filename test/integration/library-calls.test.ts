/**
 * The library as an embedding developer calls it: per-call cancellation (`signal`), `await
 * using`, and unknown option names refused with the key they name. Against a real registry
 * (behind a proxy that can hold answers back) and the private test Sigstore.
 */
import { createVerifier, ImgverifyError, type ImageVerificationResult, type ImageVerifier } from '../../src';
import { legacyLayerToBundle } from '../support/sigstore';
import { startProxy, type RunningProxy, type RunningRegistry } from '../support/registry';
import { startVerificationEnvironment, type VerificationEnvironment } from '../support/environment';
import { pushSignatures, pushTestImage } from '../support/signed-images';
import type { TestSigstore } from '../support/sigstore';
import { errorMessage } from '../../src/util/describe';
import { verified } from '../support/verify';

const ISSUER = 'https://accounts.example.test';
const SIGNER = 'release@example.test';
const POLICY = { subject: SIGNER, issuer: ISSUER };

let env: VerificationEnvironment | undefined;
let registry: RunningRegistry;
let sigstore: TestSigstore;
let verifier: ImageVerifier;
let proxy: RunningProxy;
let slow: ImageVerifier;
let signedImage: string;
let slowImage: string;

beforeAll(async () => {
  env = await startVerificationEnvironment();
  ({ registry, sigstore, verifier } = env);
  const image = await pushTestImage(registry, 'lib/app', 'v1');
  await pushSignatures(registry, 'lib/app', image.digest, [sigstore.signImage({ digest: image.digest, identity: { email: SIGNER }, issuer: ISSUER })]);
  signedImage = `${registry.host}/lib/app:v1`;
  // The same image through a proxy that holds every answer for 2 s.
  proxy = await startProxy(registry, { delayMs: 2000 });
  slowImage = `${proxy.host}/lib/app:v1`;
  slow = createVerifier({ trustedRoot: sigstore.trustedRoot as unknown as Record<string, unknown> });
});
afterAll(async () => {
  await slow?.close();
  await proxy?.stop();
  await env?.stop();
});

describe('signal per call', () => {
  test('an already aborted signal: the result has ABORTED, and no request is made', async () => {
    const before = proxy.requests.length;
    const r = await slow.verify(slowImage, POLICY, { signal: AbortSignal.abort() });
    expect(r.verified).toBe(false);
    expect(r.error).toMatchObject({ code: 'ABORTED', category: 'operational' });
    expect(proxy.requests.length).toBe(before);
  });

  test('aborted while the registry is answering: ABORTED at once, not at the deadline', async () => {
    const controller = new AbortController();
    const started = Date.now();
    const pending = slow.verify(slowImage, POLICY, { signal: controller.signal });
    setTimeout(() => controller.abort(new Error('the user pressed stop')), 100);
    const r = await pending;
    expect(r.error).toMatchObject({ code: 'ABORTED', message: expect.stringContaining('the user pressed stop') });
    // The proxy holds each answer 2 s: the result came before the first answer.
    expect(Date.now() - started).toBeLessThan(1900);
  });

  test("an ImgverifyError as the reason is the result's error", async () => {
    const reason = new ImgverifyError('REGISTRY_TIMEOUT', 'the caller gave up');
    const r = await slow.verify(slowImage, POLICY, { signal: AbortSignal.abort(reason) });
    expect(r.error).toBe(reason);
  });

  test('verifyAttestations takes a signal too', async () => {
    const r = await slow.verifyAttestations(slowImage, POLICY, { signal: AbortSignal.abort() });
    expect(r.error?.code).toBe('ABORTED');
    expect(r.attestations).toEqual([]);
  });

  test('verifyMany: once aborted, no new image starts; those in flight end ABORTED', async () => {
    const controller = new AbortController();
    const images = Array.from({ length: 6 }, () => slowImage);
    const results: ImageVerificationResult[] = [];
    setTimeout(() => controller.abort(), 100);
    for await (const r of slow.verifyMany(images, POLICY, { concurrency: 2, signal: controller.signal })) results.push(r);
    expect(results).toHaveLength(2);
    expect(results.map((r) => r.error?.code)).toEqual(['ABORTED', 'ABORTED']);
  });

  test('without a signal the same verifications pass (the abort is per call, not per verifier)', async () => {
    expect((await verifier.verify(signedImage, POLICY)).verified).toBe(true);
  });

  test('verifyBundle (no I/O) answers an aborted signal with ABORTED, as a result like verify', () => {
    const layer = sigstore.signImage({ digest: `sha256:${'ab'.repeat(32)}`, identity: { email: SIGNER }, issuer: ISSUER });
    const bundle = legacyLayerToBundle(layer);
    expect(verified(verifier.verifyBundle(bundle, { bytes: layer.payload }, POLICY)).signer.subject).toBe(SIGNER);
    expect(verifier.verifyBundle(bundle, { bytes: layer.payload }, POLICY, { signal: AbortSignal.abort() })).toEqual({
      verified: false,
      error: expect.objectContaining({ code: 'ABORTED' }),
    });
  });
});

test('await using closes the verifier at the end of the scope', async () => {
  let closed = false;
  {
    await using scoped = createVerifier({ trustedRoot: sigstore.trustedRoot as unknown as Record<string, unknown> });
    const close = scoped.close.bind(scoped);
    scoped.close = async () => {
      closed = true;
      await close();
    };
    expect((await scoped.verify(signedImage, POLICY)).verified).toBe(true);
  }
  expect(closed).toBe(true);
});

describe('unknown option names are refused, naming the key', () => {
  const codeOf = (fn: () => unknown): { code: string; message: string } => {
    try {
      fn();
    } catch (err) {
      return { code: (err as ImgverifyError).code, message: errorMessage(err) };
    }
    throw new Error('nothing was thrown');
  };

  test('createVerifier options', () => {
    const err = codeOf(() => createVerifier({ trustedRot: 'x.json' } as never));
    expect(err.code).toBe('INVALID_OPTIONS');
    expect(err.message).toMatch(/createVerifier options: unknown option "trustedRot" \(did you mean "trustedRoot"\?\)/);
  });

  test('registry options', () => {
    expect(codeOf(() => createVerifier({ registry: { timeout: 5 } as never }))).toMatchObject({
      code: 'INVALID_OPTIONS',
      message: expect.stringContaining('registry options: unknown option "timeout"'),
    });
  });

  test.each([
    [{ subject: SIGNER, issuer: ISSUER, subjectRegexp: 'x' }, 'subjectRegexp', 'subjectRegExp'],
    [{ identities: [{ subject: SIGNER, isuser: ISSUER }] }, 'isuser', 'issuer'],
    [{ identities: [POLICY], insecureIgnoreTLog: true }, 'insecureIgnoreTLog', 'insecureIgnoreTlog'],
    [{ publicKey: 'PEM', issuer: ISSUER }, 'issuer', undefined],
  ])('policy %j: INVALID_POLICY naming %s', async (policy, key, hint) => {
    const r = codeOf(() => verifier.preparePolicy(policy));
    expect(r.code).toBe('INVALID_POLICY');
    expect(r.message).toContain(`unknown option ${JSON.stringify(key)}`);
    if (hint) expect(r.message).toContain(`did you mean ${JSON.stringify(hint)}`);
    // verify() throws the same for a malformed policy (the one thing it throws for).
    await expect(verifier.verify(signedImage, policy as never)).rejects.toMatchObject({ code: 'INVALID_POLICY' });
  });

  test('per-call options', async () => {
    await expect(verifier.verify(signedImage, POLICY, { sigal: AbortSignal.abort() } as never)).rejects.toMatchObject({
      code: 'INVALID_OPTIONS',
      message: expect.stringContaining('"sigal"'),
    });
    await expect(verifier.verifyAttestations(signedImage, POLICY, { predicate: 'slsaprovenance1' } as never)).rejects.toMatchObject({
      code: 'INVALID_OPTIONS',
    });
    expect(() => verifier.verifyMany([signedImage], POLICY, { concurency: 2 } as never)).toThrow(expect.objectContaining({ code: 'INVALID_OPTIONS' }));
  });

  test('the policy options still go with a single identity', async () => {
    expect((await verifier.verify(signedImage, { ...POLICY, insecureIgnoreSct: false, insecureIgnoreTlog: false })).verified).toBe(true);
  });
});
