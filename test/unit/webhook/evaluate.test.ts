/**
 * Policy evaluation against a scripted backend: which policies apply, AND over policies,
 * OR over authorities, modes, the no-match setting, registry failures, the deadline and
 * the cache. The real verifier and registry are exercised in test/integration/webhook.
 */
import { TrustedRoot } from '@sigstore/protobuf-specs';
import { ImgverifyError } from '../../../src/errors';
import { publicGoodTrustRoot } from '../../../src/trust/embedded';
import type { TrustRootInput } from '../../../src/trust/source';
import { trustRootFromJSON, type LoadedTrustRoot } from '../../../src/trust/trusted-root';
import { createTestSigstore } from '../../support/sigstore';
import type { VerificationSession } from '../../../src/webhook/backend';
import type { ClusterImagePolicy } from '../../../src/webhook/cluster-image-policy-types';
import { parsePolicyObject } from '../../../src/webhook/policy-documents';
import { PolicyEvaluator, type PolicyEvaluatorOptions } from '../../../src/webhook/evaluate';
import { summarize } from '../../../src/webhook/outcomes';
import { WebhookMetrics } from '../../../src/webhook/metrics';

import { D1, D2, D3, FakeBackend, ISSUER, otherKey, releaseKey } from './fake-backend';

const keyless = (subject = 'release@example.test', name?: string) => ({ ...(name ? { name } : {}), keyless: { identities: [{ issuer: ISSUER, subject }] } });

function policy(name: string, spec: Record<string, unknown>, index = 0): ClusterImagePolicy {
  const result = parsePolicyObject(
    { apiVersion: 'policy.sigstore.dev/v1beta1', kind: 'ClusterImagePolicy', metadata: { name }, spec: { images: [{ glob: 'registry.test/**' }], ...spec } },
    { file: 'test.yaml', document: index },
  );
  const [error] = result.errors;
  if (error) throw error;
  return result.policies[0]!;
}

let versions = 0;
function evaluatorWith(policies: ClusterImagePolicy[], options: Partial<PolicyEvaluatorOptions> = {}) {
  const backend = (options.backend as FakeBackend | undefined) ?? new FakeBackend();
  const metrics = new WebhookMetrics();
  const evaluator = new PolicyEvaluator({ backend, metrics, ...options });
  evaluator.setPolicies({ policies, version: `v${++versions}`, errors: [] });
  return { evaluator, backend, metrics };
}

describe('one policy, enforce', () => {
  test('a signature by the policy identity admits the image, pinned to the digest it verified', async () => {
    const { evaluator } = evaluatorWith([policy('release', { authorities: [keyless(undefined, 'ci')] })]);
    const [d] = await evaluator.evaluate(['registry.test/app:v1']);
    expect(d).toMatchObject({ image: 'registry.test/app:v1', verdict: 'allowed', matched: true, digest: D1, pinned: `registry.test/app:v1@${D1}` });
    expect(d!.policies).toEqual([expect.objectContaining({ policy: 'release', passed: true, decidedBy: 'ci', cached: false })]);
    expect(d!.policies[0]!.authorities[0]!.reason).toContain('release@example.test');
    expect(summarize([d!])).toEqual({ allowed: true, warnings: [] });
  });

  test('another signer denies, naming the image, digest, policy, authority and the check', async () => {
    const { evaluator } = evaluatorWith([policy('release', { authorities: [keyless('someone@else.test', 'ci')] })]);
    const [d] = await evaluator.evaluate(['registry.test/app:v1']);
    expect(d!.verdict).toBe('denied');
    expect(d!.pinned).toBeUndefined();
    expect(d!.reason).toContain(`registry.test/app:v1 (${D1}): policy "release": authority "ci" (keyless):`);
    expect(d!.reason).toContain('[IDENTITY_MISMATCH]');
    const summary = summarize([d!]);
    expect(summary.allowed).toBe(false);
    expect(summary.message).toMatch(/^imgverify denied 1 of 1 image: registry\.test\/app:v1/);
  });

  test('an unsigned image is denied with NO_SIGNATURES', async () => {
    const { evaluator } = evaluatorWith([policy('all', { images: [{ glob: '**' }], authorities: [keyless()] })]);
    const [d] = await evaluator.evaluate(['elsewhere.test/tool:v1']);
    expect(d!.verdict).toBe('denied');
    expect(d!.reason).toContain('[NO_SIGNATURES]');
  });

  test('an image pinned by digest is not resolved and not re-pinned', async () => {
    const { evaluator, backend } = evaluatorWith([policy('release', { authorities: [keyless()] })]);
    const [d] = await evaluator.evaluate([`registry.test/app:v1@${D1}`]);
    expect(d).toMatchObject({ verdict: 'allowed', digest: D1 });
    expect(d!.pinned).toBeUndefined();
    expect(backend.resolveCalls).toBe(0);
  });
});

describe('authorities: one passing authority is enough', () => {
  test('the first failing, the second passing: allowed, decided by the second, both reported', async () => {
    const { evaluator } = evaluatorWith([policy('p', { authorities: [keyless('nobody@x.test', 'first'), keyless(undefined, 'second')] })]);
    const [d] = await evaluator.evaluate(['registry.test/app:v1']);
    expect(d!.verdict).toBe('allowed');
    expect(d!.policies[0]!.decidedBy).toBe('second');
    expect(d!.policies[0]!.authorities.map((a) => [a.authority, a.passed])).toEqual([
      ['first', false],
      ['second', true],
    ]);
  });

  test('evaluation stops at the first passing authority', async () => {
    const { evaluator, backend } = evaluatorWith([policy('p', { authorities: [{ name: 'ok', static: { action: 'pass' } }, keyless(undefined, 'never-run')] })]);
    const [d] = await evaluator.evaluate(['registry.test/app:v1']);
    expect(d!.policies[0]!.authorities.map((a) => a.authority)).toEqual(['ok']);
    expect(backend.verifyCalls).toBe(0);
  });

  test('static pass admits, static fail denies with its message', async () => {
    const pass = evaluatorWith([policy('p', { authorities: [{ static: { action: 'pass' } }] })]);
    expect((await pass.evaluator.evaluate(['registry.test/other:v1']))[0]!.verdict).toBe('allowed');
    const fail = evaluatorWith([policy('p', { authorities: [{ name: 'blocked', static: { action: 'fail', message: 'frozen for the release' } }] })]);
    const [d] = await fail.evaluator.evaluate(['registry.test/other:v1']);
    expect(d!.verdict).toBe('denied');
    expect(d!.reason).toContain('authority "blocked" (static): static: fail: frozen for the release');
  });

  test('key authority: the release key verifies, another key does not', async () => {
    const good = evaluatorWith([policy('p', { authorities: [{ name: 'k', key: { data: releaseKey } }] })]);
    const [ok] = await good.evaluator.evaluate(['registry.test/other:v1']);
    expect(ok).toMatchObject({ verdict: 'allowed', digest: D2 });
    expect(ok!.policies[0]!.authorities[0]).toMatchObject({ kind: 'key', passed: true });
    const bad = evaluatorWith([policy('p', { authorities: [{ name: 'k', key: { data: otherKey } }] })]);
    const [no] = await bad.evaluator.evaluate(['registry.test/other:v1']);
    expect(no!.verdict).toBe('denied');
    expect(no!.reason).toContain('[KEY_MISMATCH]');
  });

  test.each(['sha224', 'sha384', 'sha512'])('key.hashAlgorithm %s is the hash the library verifies with', (hash) => {
    const { evaluator, backend } = evaluatorWith([policy('p', { authorities: [{ name: 'k', key: { data: releaseKey, hashAlgorithm: hash } }] })]);
    expect(evaluator.unusableAuthorities()).toEqual([]);
    expect(backend.prepared.map((p) => p.policy)).toEqual([{ publicKey: releaseKey, hashAlgorithm: hash, insecureIgnoreTlog: true }]);
  });

  test('keyless.insecureIgnoreSCT: true waives the SCT in the library policy', () => {
    const { backend } = evaluatorWith([
      policy('p', { authorities: [{ keyless: { insecureIgnoreSCT: true, identities: [{ issuer: ISSUER, subject: 's' }] } }] }),
    ]);
    expect(backend.prepared.map((p) => p.policy)).toEqual([{ identities: [{ issuer: ISSUER, subject: 's' }], insecureIgnoreSct: true }]);
  });

  test('key.hashAlgorithm sha256 (the default) is left to the signature, as before', () => {
    const { backend } = evaluatorWith([
      policy('p', { authorities: [{ name: 'k', key: { data: releaseKey, hashAlgorithm: 'sha256' }, ctlog: { url: 'https://rekor.sigstore.dev' } }] }),
    ]);
    expect(backend.prepared.map((p) => p.policy)).toEqual([{ publicKey: releaseKey }]);
  });

  test('a key authority needs a log entry only with ctlog; keyless always does', () => {
    const { backend } = evaluatorWith([
      policy('p', {
        authorities: [
          { name: 'no-log', key: { data: releaseKey } },
          { name: 'log', key: { data: releaseKey }, ctlog: { url: 'https://rekor.sigstore.dev' } },
          { name: 'empty-ctlog', key: { data: releaseKey }, ctlog: {} },
          { name: 'tsa', key: { data: releaseKey }, rfc3161timestamp: { trustRootRef: 'tsa' } },
          keyless(undefined, 'keyless'),
        ],
      }),
    ]);
    // The TrustRoot named by rfc3161timestamp is not loaded here: that authority is unusable (not prepared).
    expect(backend.prepared.map((p) => p.policy)).toEqual([
      { publicKey: releaseKey, insecureIgnoreTlog: true },
      { publicKey: releaseKey },
      { publicKey: releaseKey, insecureIgnoreTlog: true },
      { identities: [{ issuer: ISSUER, subject: 'release@example.test' }] },
    ]);
  });
});

test('signatureFormat: bundle accepts only bundle (OCI referrer) signatures; legacy only .sig tags', async () => {
  // The in-memory backend's signatures come from the legacy `.sig` tag.
  const bundle = evaluatorWith([policy('p', { authorities: [{ name: 'b', signatureFormat: 'bundle', ...keyless() }] })]);
  const [denied] = await bundle.evaluator.evaluate(['registry.test/app:v1']);
  expect(denied!.verdict).toBe('denied');
  expect(denied!.reason).toContain('no verified signature in a Sigstore bundle (OCI referrer) (signatureFormat: bundle)');
  const legacy = evaluatorWith([policy('p', { authorities: [{ name: 'l', signatureFormat: 'legacy', ...keyless() }] })]);
  const [allowed] = await legacy.evaluator.evaluate(['registry.test/app:v1']);
  expect(allowed!.verdict).toBe('allowed');
});

describe('attestations', () => {
  const withAttestation = (types: string[]) => ({
    authorities: [{ name: 'prov', ...keyless(), attestations: types.map((t, i) => ({ name: `a${i}`, predicateType: t })) }],
  });

  test('every listed predicate type must have a verified attestation', async () => {
    const backend = new FakeBackend();
    backend.attestations.set(D1, ['https://slsa.dev/provenance/v1']);
    const { evaluator } = evaluatorWith([policy('p', withAttestation(['slsaprovenance1']))], { backend });
    const [ok] = await evaluator.evaluate(['registry.test/app:v1']);
    expect(ok!.verdict).toBe('allowed');
    expect(ok!.policies[0]!.authorities[0]!.reason).toContain('attestations verified: "a0"');

    const both = evaluatorWith([policy('p', withAttestation(['slsaprovenance1', 'spdxjson']))], { backend }).evaluator;
    const [no] = await both.evaluate(['registry.test/app:v1']);
    expect(no!.verdict).toBe('denied');
    expect(no!.reason).toContain('attestation "a1" (https://spdx.dev/Document)');
  });
});

describe('several policies: every matching policy must pass', () => {
  test('one of two failing denies; both passing allows', async () => {
    const fail = evaluatorWith([policy('a', { authorities: [keyless()] }), policy('b', { authorities: [keyless('x@y.test', 'strict')] }, 1)]);
    const [d] = await fail.evaluator.evaluate(['registry.test/app:v1']);
    expect(d!.verdict).toBe('denied');
    expect(d!.policies.map((p) => [p.policy, p.passed])).toEqual([
      ['a', true],
      ['b', false],
    ]);
    expect(d!.reason).toContain('policy "b"');
    expect(d!.reason).not.toContain('policy "a"');
    const pass = evaluatorWith([policy('a', { authorities: [keyless()] }), policy('b', { authorities: [{ static: { action: 'pass' } }] }, 1)]);
    expect((await pass.evaluator.evaluate(['registry.test/app:v1']))[0]!.verdict).toBe('allowed');
  });

  test('a policy whose globs do not match does not apply', async () => {
    const { evaluator } = evaluatorWith([
      policy('app', { images: [{ glob: 'registry.test/app:*' }], authorities: [keyless()] }),
      policy('other', { images: [{ glob: 'registry.test/other:*' }], authorities: [{ static: { action: 'fail' } }] }, 1),
    ]);
    const [d] = await evaluator.evaluate(['registry.test/app:v1']);
    expect(d!.verdict).toBe('allowed');
    expect(d!.policies.map((p) => p.policy)).toEqual(['app']);
  });

  test('a failing warn policy warns, a failing enforce policy still denies', async () => {
    const warnOnly = evaluatorWith([policy('soft', { mode: 'warn', authorities: [keyless('x@y.test')] })]);
    const [w] = await warnOnly.evaluator.evaluate(['registry.test/app:v1']);
    expect(w!.verdict).toBe('warned');
    expect(w!.reason).toContain('policy "soft" (warn mode)');
    expect(w!.pinned).toBe(`registry.test/app:v1@${D1}`);
    const summary = summarize([w!]);
    expect(summary.allowed).toBe(true);
    expect(summary.warnings).toEqual([expect.stringMatching(/^imgverify: registry\.test\/app:v1 .*policy "soft" \(warn mode\)/)]);

    const mixed = evaluatorWith([
      policy('soft', { mode: 'warn', authorities: [keyless('x@y.test')] }),
      policy('hard', { authorities: [keyless('x@y.test')] }, 1),
    ]);
    expect((await mixed.evaluator.evaluate(['registry.test/app:v1']))[0]!.verdict).toBe('denied');
  });
});

describe('images no policy matches', () => {
  test.each([
    ['allow', 'allowed', undefined],
    ['warn', 'warned', 'no ClusterImagePolicy matches the image (no-match setting: warn)'],
    ['deny', 'denied', 'no ClusterImagePolicy matches the image (no-match setting: deny)'],
  ] as const)('no-match %s → %s, without registry access', async (noMatch, verdict, reason) => {
    const { evaluator, backend } = evaluatorWith([policy('p', { authorities: [keyless()] })], { noMatch });
    const [d] = await evaluator.evaluate(['elsewhere.test/tool:v1']);
    expect(d).toMatchObject({ verdict, matched: false, policies: [] });
    if (reason) expect(d!.reason).toBe(`elsewhere.test/tool:v1: ${reason}`);
    expect(d!.pinned).toBeUndefined();
    expect(backend.resolveCalls + backend.verifyCalls).toBe(0);
  });

  test('the default is deny', async () => {
    const { evaluator } = evaluatorWith([]);
    expect(evaluator.noMatch).toBe('deny');
    expect((await evaluator.evaluate(['nginx']))[0]!.verdict).toBe('denied');
  });
});

describe('fail closed', () => {
  test('an invalid or empty image reference is denied', async () => {
    const { evaluator } = evaluatorWith([policy('p', { images: [{ glob: '**' }], authorities: [{ static: { action: 'pass' } }] })], { noMatch: 'allow' });
    const [bad, empty] = await evaluator.evaluate(['UPPER/Case:v1', '']);
    expect(bad!.verdict).toBe('denied');
    expect(bad!.reason).toContain('invalid image reference');
    expect(empty!.verdict).toBe('denied');
    expect(empty!.reason).toContain('no image');
  });

  test('options take an explicit undefined as "the default" (exactOptionalPropertyTypes; issue 21): denied, as with no options', async () => {
    // Type-checked with exactOptionalPropertyTypes (tsconfig.json): these literals are the type test.
    const options: PolicyEvaluatorOptions = {
      backend: new FakeBackend(),
      noMatch: undefined,
      timeoutMs: undefined,
      cacheTtlMs: undefined,
      negativeCacheTtlMs: undefined,
      cacheSize: undefined,
      concurrency: undefined,
      metrics: undefined,
      now: undefined,
    };
    const evaluator = new PolicyEvaluator(options);
    expect(evaluator.noMatch).toBe('deny');
    expect(evaluator.timeoutMs).toBe(8000);
    const [d] = await evaluator.evaluate(['registry.test/app:v1'], {
      timeoutMs: undefined,
      signal: undefined,
      object: undefined,
      credentials: undefined,
      signatureSecrets: undefined,
    });
    expect(d!.verdict).toBe('denied');
  });

  test('before any policy set is loaded every image is denied', async () => {
    const evaluator = new PolicyEvaluator({ backend: new FakeBackend(), noMatch: 'allow' });
    expect(evaluator.ready).toBe(false);
    const [d] = await evaluator.evaluate(['registry.test/app:v1']);
    expect(d!.verdict).toBe('denied');
    expect(d!.reason).toContain('no valid ClusterImagePolicy set is loaded');
  });

  test('a set with errors is refused and the one in force stays', () => {
    const { evaluator } = evaluatorWith([policy('p', { authorities: [keyless()] })]);
    const before = evaluator.version;
    expect(() => evaluator.setPolicies({ policies: [], version: 'bad', errors: [new ImgverifyError('INVALID_POLICY', 'broken')] })).toThrow(/broken/);
    expect(evaluator.version).toBe(before);
  });

  test.each([
    ['enforce', 'denied'],
    ['warn', 'warned'],
  ] as const)('a registry error in %s mode → %s, with the reason, and is not cached', async (mode, verdict) => {
    const backend = new FakeBackend();
    backend.failure = new ImgverifyError('REGISTRY_UNREACHABLE', 'connect ECONNREFUSED 127.0.0.1:1');
    const { evaluator, metrics } = evaluatorWith([policy('p', { mode, authorities: [keyless()] })], { backend });
    const [d] = await evaluator.evaluate(['registry.test/app:v1']);
    expect(d!.verdict).toBe(verdict);
    expect(d!.reason).toContain('cannot resolve the image digest: connect ECONNREFUSED 127.0.0.1:1 [REGISTRY_UNREACHABLE]');
    expect(d!.policies[0]!.operational).toBe(true);
    backend.failure = undefined;
    expect((await evaluator.evaluate(['registry.test/app:v1']))[0]!.verdict).toBe('allowed');
    // A verification error after resolving is not cached either.
    backend.failure = new ImgverifyError('REGISTRY_ERROR', 'HTTP 500');
    const [again] = await evaluator.evaluate([`registry.test/app:v1@${D1}`]);
    expect(again!.verdict).toBe('allowed'); // the earlier success is cached
    expect(metrics.cacheHits.get()).toBe(1);
  });

  // Found by the soak benchmark: one corrupted registry answer denied a signed image for the
  // 30 s of the negative cache, for every request.
  test.each(['DIGEST_MISMATCH', 'MALFORMED_CONTENT', 'SIZE_LIMIT_EXCEEDED'] as const)(
    'a failure because the registry sent bad bytes (%s) denies, and is not cached',
    async (code) => {
      const backend = new FakeBackend();
      const { evaluator, metrics } = evaluatorWith([policy('p', { authorities: [keyless()] })], { backend });
      const image = `registry.test/app:v1@${D1}`;
      backend.failure = new ImgverifyError(code, 'manifest "sha256-....sig": the bytes received do not match');
      const [d] = await evaluator.evaluate([image]);
      expect(d!.verdict).toBe('denied');
      expect(d!.reason).toContain(`[${code}]`);
      expect(d!.policies[0]!.operational).toBe(true);
      expect(evaluator.cacheSize).toBe(0);
      backend.failure = undefined;
      const [next] = await evaluator.evaluate([image]);
      expect(next!.verdict).toBe('allowed');
      expect(metrics.cacheHits.get()).toBe(0);
    },
  );

  test.each([
    ['enforce', 'denied'],
    ['warn', 'warned'],
  ] as const)('a registry that does not answer in %s mode → %s at the deadline', async (mode, verdict) => {
    const backend = new FakeBackend();
    backend.failure = 'hang';
    const { evaluator } = evaluatorWith([policy('p', { mode, authorities: [keyless()] })], { backend, timeoutMs: 150 });
    const started = Date.now();
    const [d] = await evaluator.evaluate(['registry.test/app:v1', `registry.test/app:v1@${D1}`]);
    expect(Date.now() - started).toBeLessThan(1000);
    expect(d!.verdict).toBe(verdict);
    expect(d!.reason).toContain("within the webhook's 150 ms deadline [REGISTRY_TIMEOUT]");
  });

  test("what is left of the deadline after a wait for room ends the call; the reason names the webhook's deadline", async () => {
    const backend = new FakeBackend();
    backend.failure = 'hang';
    const { evaluator } = evaluatorWith([policy('p', { authorities: [keyless()] })], { backend, timeoutMs: 5000 });
    const [d] = await evaluator.evaluate(['registry.test/app:v1'], { timeoutMs: 40 });
    expect(d!.verdict).toBe('denied');
    expect(d!.reason).toContain("within the webhook's 5000 ms deadline [REGISTRY_TIMEOUT]");
  });
});

describe('cache', () => {
  test('a second request for the same digest is a cache hit; tags are still resolved', async () => {
    const { evaluator, backend, metrics } = evaluatorWith([policy('p', { authorities: [keyless()] })]);
    await evaluator.evaluate(['registry.test/app:v1']);
    expect([backend.resolveCalls, backend.verifyCalls]).toEqual([1, 1]);
    const [d] = await evaluator.evaluate(['registry.test/app:v1']);
    expect(d!.policies[0]!.cached).toBe(true);
    expect([backend.resolveCalls, backend.verifyCalls]).toEqual([2, 1]);
    expect([metrics.cacheHits.get(), metrics.cacheMisses.get()]).toEqual([1, 1]);
    expect(metrics.render()).toContain('imgverify_cache_hits_total 1\n');
  });

  test('a moved tag is verified at its new digest', async () => {
    const { evaluator, backend } = evaluatorWith([policy('p', { authorities: [keyless()] })]);
    await evaluator.evaluate(['registry.test/app:v1']);
    backend.tags.set('registry.test/app:v1', D3); // unsigned
    const [d] = await evaluator.evaluate(['registry.test/app:v1']);
    expect(d).toMatchObject({ verdict: 'denied', digest: D3 });
  });

  test('a new policy-set version is not answered from the old one', async () => {
    const { evaluator, backend } = evaluatorWith([policy('p', { authorities: [keyless()] })]);
    await evaluator.evaluate(['registry.test/app:v1']);
    evaluator.setPolicies({ policies: [policy('p', { authorities: [keyless('x@y.test')] })], version: 'next', errors: [] });
    const [d] = await evaluator.evaluate(['registry.test/app:v1']);
    expect(d!.verdict).toBe('denied');
    expect(backend.verifyCalls).toBe(2);
  });

  test('failures are cached for the shorter negative TTL', async () => {
    let now = 1_000_000;
    const { evaluator, backend } = evaluatorWith([policy('p', { authorities: [keyless('x@y.test')] })], {
      now: () => now,
      cacheTtlMs: 60_000,
      negativeCacheTtlMs: 5_000,
    });
    await evaluator.evaluate(['registry.test/app:v1']);
    await evaluator.evaluate(['registry.test/app:v1']);
    expect(backend.verifyCalls).toBe(1);
    now += 5_001;
    await evaluator.evaluate(['registry.test/app:v1']);
    expect(backend.verifyCalls).toBe(2);
  });

  test('concurrent requests for the same digest share one verification', async () => {
    const { evaluator, backend, metrics } = evaluatorWith([policy('p', { authorities: [keyless()] })]);
    const results = await Promise.all(Array.from({ length: 5 }, () => evaluator.evaluate(['registry.test/app:v1'])));
    expect(results.every(([d]) => d!.verdict === 'allowed')).toBe(true);
    expect(backend.verifyCalls).toBe(1);
    expect(metrics.cacheHits.get() + metrics.cacheMisses.get()).toBe(5);
  });

  /** A default trust whose root can be swapped (a TUF refresh); signatures verify only under `accepted`. */
  class RefreshedTrustBackend extends FakeBackend {
    root: LoadedTrustRoot;
    constructor(public accepted: LoadedTrustRoot) {
      super();
      this.root = accepted;
    }

    override defaultTrust(): readonly TrustRootInput[] {
      return [{ source: 'TUF test', current: () => this.root }];
    }

    override session(signal: AbortSignal): VerificationSession {
      const session = super.session(signal);
      return {
        ...session,
        verify: async (pinned, prepared) => {
          const result = await session.verify(pinned, prepared);
          if (this.root === this.accepted) return result;
          const { signer: _signer, ...fields } = result;
          return {
            ...fields,
            verified: false,
            signatures: [],
            error: new ImgverifyError('CERTIFICATE_CHAIN_INVALID', 'the certificate was not issued by a CA of the trust root in force'),
          };
        },
      };
    }
  }

  test('a verdict reached under one trust root is not served after a refresh to a root that denies', async () => {
    const backend = new RefreshedTrustBackend(publicGoodTrustRoot());
    const { evaluator } = evaluatorWith([policy('p', { authorities: [keyless()] })], { backend });
    expect((await evaluator.evaluate(['registry.test/app:v1']))[0]!.verdict).toBe('allowed');
    backend.root = trustRootFromJSON(createTestSigstore().trustedRoot, 'refreshed');
    const [d] = await evaluator.evaluate(['registry.test/app:v1']);
    expect(d).toMatchObject({ verdict: 'denied', policies: [{ cached: false, authorities: [{ code: 'CERTIFICATE_CHAIN_INVALID' }] }] });
    expect(backend.verifyCalls).toBe(2);
  });

  test('a refresh that brings the same trust material keeps the cached verdicts (the key is the content, not the object)', async () => {
    const backend = new RefreshedTrustBackend(publicGoodTrustRoot());
    const { evaluator } = evaluatorWith([policy('p', { authorities: [keyless()] })], { backend });
    await evaluator.evaluate(['registry.test/app:v1']);
    backend.root = trustRootFromJSON(TrustedRoot.toJSON(publicGoodTrustRoot().trustedRoot), 'the same, loaded again');
    backend.accepted = backend.root;
    expect((await evaluator.evaluate(['registry.test/app:v1']))[0]!.policies[0]!.cached).toBe(true);
    expect(backend.verifyCalls).toBe(1);
  });

  test('an image listed twice in a request is evaluated once', async () => {
    const { evaluator, backend, metrics } = evaluatorWith([policy('p', { authorities: [keyless()] })]);
    const decisions = await evaluator.evaluate(['registry.test/app:v1', 'registry.test/app:v1', 'registry.test/other:v1']);
    expect(decisions.map((d) => d.image)).toEqual(['registry.test/app:v1', 'registry.test/app:v1', 'registry.test/other:v1']);
    expect(backend.resolveCalls).toBe(2);
    expect(metrics.verdicts.get({ verdict: 'allowed', matched: 'true' })).toBe(1);
    expect(metrics.verdicts.get({ verdict: 'denied', matched: 'true' })).toBe(1);
  });
});

describe('source[].oci: signatures stored in another repository', () => {
  const SIGS = 'registry.test/signatures';
  const withSources = (oci: string[]) => ({ authorities: [{ name: 'src', ...keyless(), source: oci.map((o) => ({ oci: o })) }] });

  test('the signatures are looked up in the source, not beside the image', async () => {
    const backend = new FakeBackend();
    backend.signatures.set(D1, []);
    backend.elsewhere.set(SIGS, new Map([[D1, [{ subject: 'release@example.test', issuer: ISSUER }]]]));
    const { evaluator } = evaluatorWith([policy('p', withSources([SIGS]))], { backend });
    expect(backend.prepared.map((p) => p.signatureRepository)).toEqual([SIGS]);
    const [d] = await evaluator.evaluate(['registry.test/app:v1']);
    expect(d!.verdict).toBe('allowed');
    expect(d!.policies[0]!.authorities[0]!.reason).toContain(`in ${SIGS}`);
  });

  test('a signature beside the image does not count for an authority whose signatures are elsewhere', async () => {
    const { evaluator } = evaluatorWith([policy('p', withSources([SIGS]))]);
    const [d] = await evaluator.evaluate(['registry.test/app:v1']);
    expect(d!.verdict).toBe('denied');
    expect(d!.reason).toContain('[NO_SIGNATURES]');
  });

  test('several sources are tried in order; a failure names each', async () => {
    const backend = new FakeBackend();
    backend.elsewhere.set('registry.test/second', new Map([[D1, [{ subject: 'release@example.test', issuer: ISSUER }]]]));
    const { evaluator } = evaluatorWith([policy('p', withSources(['registry.test/first', 'registry.test/second']))], { backend });
    const [ok] = await evaluator.evaluate(['registry.test/app:v1']);
    expect(ok!.verdict).toBe('allowed');
    expect(ok!.policies[0]!.authorities[0]!.reason).toContain('in registry.test/second');
    const [no] = await evaluator.evaluate(['registry.test/other:v1']);
    expect(no!.verdict).toBe('denied');
    expect(no!.reason).toMatch(/source registry\.test\/first: .*NO_SIGNATURES.*; source registry\.test\/second: .*NO_SIGNATURES/);
  });

  test('attestations are looked up in the sources too', async () => {
    const backend = new FakeBackend();
    backend.attestations.set(D1, ['https://slsa.dev/provenance/v1']);
    backend.elsewhere.set(SIGS, new Map([[D1, [{ subject: 'release@example.test', issuer: ISSUER }]]]));
    backend.signatures.set(D1, []);
    const spec = { authorities: [{ name: 'src', ...keyless(), source: [{ oci: SIGS }], attestations: [{ name: 'prov', predicateType: 'slsaprovenance1' }] }] };
    const { evaluator } = evaluatorWith([policy('p', spec)], { backend });
    const [d] = await evaluator.evaluate(['registry.test/app:v1']);
    expect(d!.verdict).toBe('allowed');
    expect(d!.policies[0]!.authorities[0]!.reason).toContain(`in ${SIGS}`);
  });
});

describe('spec.match: the admitted object decides whether a policy applies', () => {
  const DEPLOYMENTS = { group: 'apps', version: 'v1', resource: 'deployments' };
  const PODS = { group: '', version: 'v1', resource: 'pods' };
  // Denies everything it applies to; a second policy that always passes makes "not applied" visible.
  const strict = (match: unknown) => policy('strict', { match, authorities: [{ static: { action: 'fail', message: 'strict applied' } }] });
  const lenient = policy('lenient', { authorities: [{ static: { action: 'pass' } }] }, 1);

  async function verdict(match: unknown, object?: { resource: typeof PODS; labels: Record<string, string> }): Promise<string> {
    const { evaluator } = evaluatorWith([strict(match), lenient]);
    const [d] = await evaluator.evaluate(['registry.test/app:v1'], object ? { object } : {});
    return d!.verdict;
  }

  test.each([
    ['the resource named', [{ ...DEPLOYMENTS }], DEPLOYMENTS, {}, 'denied'],
    ['another resource', [{ ...DEPLOYMENTS }], PODS, {}, 'allowed'],
    ['another group', [{ group: 'batch', version: 'v1', resource: 'deployments' }], DEPLOYMENTS, {}, 'allowed'],
    ['another version', [{ ...DEPLOYMENTS, version: 'v1beta1' }], DEPLOYMENTS, {}, 'allowed'],
    ['any version (*)', [{ ...DEPLOYMENTS, version: '*' }], DEPLOYMENTS, {}, 'denied'],
    ['the core group (pods)', [{ resource: 'pods', version: 'v1' }], PODS, {}, 'denied'],
    ['one entry of several', [{ ...DEPLOYMENTS }, { resource: 'pods', version: 'v1' }], PODS, {}, 'denied'],
    ['matchLabels held', [{ ...PODS, selector: { matchLabels: { team: 'a' } } }], PODS, { team: 'a', x: 'y' }, 'denied'],
    ['matchLabels not held', [{ ...PODS, selector: { matchLabels: { team: 'a' } } }], PODS, { team: 'b' }, 'allowed'],
    ['In', [{ ...PODS, selector: { matchExpressions: [{ key: 'env', operator: 'In', values: ['prod', 'stage'] }] } }], PODS, { env: 'stage' }, 'denied'],
    ['In, label absent', [{ ...PODS, selector: { matchExpressions: [{ key: 'env', operator: 'In', values: ['prod'] }] } }], PODS, {}, 'allowed'],
    [
      'NotIn, other value',
      [{ ...PODS, selector: { matchExpressions: [{ key: 'env', operator: 'NotIn', values: ['dev'] }] } }],
      PODS,
      { env: 'prod' },
      'denied',
    ],
    ['NotIn, label absent', [{ ...PODS, selector: { matchExpressions: [{ key: 'env', operator: 'NotIn', values: ['dev'] }] } }], PODS, {}, 'denied'],
    [
      'NotIn, listed value',
      [{ ...PODS, selector: { matchExpressions: [{ key: 'env', operator: 'NotIn', values: ['dev'] }] } }],
      PODS,
      { env: 'dev' },
      'allowed',
    ],
    ['Exists', [{ ...PODS, selector: { matchExpressions: [{ key: 'signed', operator: 'Exists' }] } }], PODS, { signed: '' }, 'denied'],
    ['Exists, absent', [{ ...PODS, selector: { matchExpressions: [{ key: 'signed', operator: 'Exists' }] } }], PODS, {}, 'allowed'],
    ['DoesNotExist', [{ ...PODS, selector: { matchExpressions: [{ key: 'legacy', operator: 'DoesNotExist' }] } }], PODS, {}, 'denied'],
    ['DoesNotExist, present', [{ ...PODS, selector: { matchExpressions: [{ key: 'legacy', operator: 'DoesNotExist' }] } }], PODS, { legacy: 'y' }, 'allowed'],
    [
      'matchLabels and expressions are ANDed',
      [{ ...PODS, selector: { matchLabels: { team: 'a' }, matchExpressions: [{ key: 'env', operator: 'In', values: ['prod'] }] } }],
      PODS,
      { team: 'a', env: 'dev' },
      'allowed',
    ],
  ])('%s', async (_name, match, resource, labels, expected) => {
    expect(await verdict(match, { resource, labels })).toBe(expected);
  });

  test('without spec.match a policy applies to every object, as before', async () => {
    const { evaluator } = evaluatorWith([policy('strict', { authorities: [{ static: { action: 'fail' } }] })]);
    const [d] = await evaluator.evaluate(['registry.test/app:v1'], { object: { resource: PODS, labels: {} } });
    expect(d!.verdict).toBe('denied');
  });

  test('without an object (a bare list of images) a policy with spec.match applies: the stricter reading', async () => {
    expect(await verdict([{ ...DEPLOYMENTS }])).toBe('denied');
  });

  test('an image that only excluded policies cover gets the no-match setting', async () => {
    const { evaluator } = evaluatorWith([strict([{ ...DEPLOYMENTS }])], { noMatch: 'deny' });
    const [d] = await evaluator.evaluate(['registry.test/app:v1'], { object: { resource: PODS, labels: {} } });
    expect(d).toMatchObject({ verdict: 'denied', matched: false });
    expect(d!.reason).toContain('no ClusterImagePolicy matches');
  });
});
