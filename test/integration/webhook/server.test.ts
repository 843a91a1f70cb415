/**
 * The admission webhook end to end: real AdmissionReview JSON over real TLS to the running
 * server, which verifies images in a real registry (behind a counting, fault-injecting proxy)
 * signed by the private test Sigstore, with policies from a ConfigMap-style folder.
 */
import { generateKeyPairSync, X509Certificate } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync, renameSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { connect } from 'node:tls';
import { startWebhookServer, type Logger, type RunningWebhookServer, type WebhookServerOptions } from '../../../src/webhook/server';
import { closePushers, issueServerCert, startProxy, startRegistry, type RunningProxy, type RunningRegistry, type TestCa } from '../../support/registry';
import { pushAttestations, pushSignatures, pushTestImage } from '../../support/signed-images';
import { createTestSigstore, type TestSigstore } from '../../support/sigstore';
import {
  admissionReview,
  applyPatch,
  eventually,
  patchOps,
  policyYaml,
  servingCertificate,
  WebhookClient,
  workload,
  writeConfigMap,
  type AuthoritySpec,
} from './helpers';

const ISSUER = 'https://accounts.example.test';
const SIGNER = 'release@example.test';

let registry: RunningRegistry;
let proxy: RunningProxy;
let sigstore: TestSigstore;
let ca: TestCa;
let work: string;
let trustedRootPath: string;
let certFile: string;
let keyFile: string;
const releaseKeys = generateKeyPairSync('ec', { namedCurve: 'P-256' });
const releaseKeyPem = releaseKeys.publicKey.export({ type: 'spki', format: 'pem' }).toString();

let counter = 0;
const repo = (name: string) => `${name}-${++counter}`;

/** Pushes `repo:tag` through the registry, signed as asked; returns the reference through the proxy. */
async function image(
  repository: string,
  sign: 'keyless' | 'other-identity' | 'key' | 'none' = 'keyless',
  tag = 'v1',
): Promise<{ ref: string; digest: string }> {
  const pushed = await pushTestImage(registry, repository, tag);
  if (sign === 'keyless' || sign === 'other-identity') {
    const layer = sigstore.signImage({ digest: pushed.digest, identity: { email: sign === 'keyless' ? SIGNER : 'intruder@example.test' }, issuer: ISSUER });
    await pushSignatures(registry, repository, pushed.digest, [layer]);
  } else if (sign === 'key') {
    await pushSignatures(registry, repository, pushed.digest, [
      sigstore.signImageWithKey({ digest: pushed.digest, privateKey: releaseKeys.privateKey, tlog: true }),
    ]);
  }
  return { ref: `${proxy.host}/${repository}:${tag}`, digest: pushed.digest };
}

function authorities(): AuthoritySpec[] {
  return [
    { name: 'ci', keyless: { identities: [{ issuer: ISSUER, subject: SIGNER }] } },
    { name: 'release-key', key: { data: releaseKeyPem } },
  ];
}

/** The standard policy folder: `app-*` repositories enforced, `soft-*` in warn mode, `att-*` need provenance. */
function standardPolicies(): Record<string, string> {
  return {
    'release.yaml': policyYaml('release', [`${proxy.host}/app-*:*`, `${proxy.host}/app-*@*`], authorities()),
    'soft.yaml': policyYaml('soft', [`${proxy.host}/soft-*:*`], authorities(), 'warn'),
    'attested.yaml': policyYaml(
      'attested',
      [`${proxy.host}/att-*:*`],
      [
        {
          name: 'provenance',
          keyless: { identities: [{ issuer: ISSUER, subject: SIGNER }] },
          attestations: [{ name: 'slsa', predicateType: 'slsaprovenance1' }],
        },
      ],
    ),
  };
}

const logs: Array<{ level: string; message: string; fields?: Record<string, unknown> }> = [];
const log: Logger = (level, message, fields) => void logs.push({ level, message, ...(fields ? { fields } : {}) });

const started: Array<{ server: RunningWebhookServer; client: WebhookClient }> = [];

async function startServer(policies: Record<string, string>, options: Partial<WebhookServerOptions> = {}) {
  const dir = mkdtempSync(join(work, 'policies-'));
  writeConfigMap(dir, policies);
  const server = await startWebhookServer({
    policiesDir: dir,
    tlsCertFile: certFile,
    tlsKeyFile: keyFile,
    port: 0,
    host: '127.0.0.1',
    trustedRoot: trustedRootPath,
    registry: { dockerConfigPath: false, retries: 1, retryBaseDelayMs: 50 },
    timeoutMs: 4000,
    policyDebounceMs: 50,
    tlsPollIntervalMs: 0,
    log,
    ...options,
  });
  const client = new WebhookClient(server.url, ca.certPem);
  started.push({ server, client });
  return { server, client, dir };
}

let main: { server: RunningWebhookServer; client: WebhookClient; dir: string };

beforeAll(async () => {
  work = mkdtempSync(join(tmpdir(), 'imgverify-webhook-'));
  [registry, { ca, certFile, keyFile }] = await Promise.all([startRegistry(), servingCertificate(work, 'imgverify webhook test CA')]);
  proxy = await startProxy(registry);
  sigstore = createTestSigstore();
  trustedRootPath = join(work, 'trusted_root.json');
  writeFileSync(trustedRootPath, JSON.stringify(sigstore.trustedRoot));
  main = await startServer(standardPolicies());
});

afterAll(async () => {
  for (const { server, client } of started) {
    await client.close();
    await server.close();
  }
  await closePushers();
  await proxy?.stop();
  await registry?.stop();
  if (work) rmSync(work, { recursive: true, force: true });
});

afterEach(() => {
  proxy.setHook(undefined);
});

describe('/validate', () => {
  test('Pod CREATE with signed images (keyless and key) is allowed, without a patch', async () => {
    const [a, b] = await Promise.all([image(repo('app-a')), image(repo('app-b'), 'key')]);
    const res = await main.client.review('/validate', admissionReview('Pod', 'CREATE', workload('Pod', { initContainers: [b.ref], containers: [a.ref] })));
    expect(res).toMatchObject({ allowed: true });
    expect(res.patch).toBeUndefined();
    expect(res.warnings).toBeUndefined();
  });

  test('Deployment CREATE with an unsigned image and a wrong signer is denied, naming each image and why', async () => {
    const [good, unsigned, other] = await Promise.all([
      image(repo('app-good')),
      image(repo('app-unsigned'), 'none'),
      image(repo('app-other'), 'other-identity'),
    ]);
    const res = await main.client.review(
      '/validate',
      admissionReview('Deployment', 'CREATE', workload('Deployment', { containers: [good.ref, unsigned.ref, other.ref] })),
    );
    expect(res.allowed).toBe(false);
    expect(res.status?.code).toBe(403);
    const message = res.status!.message;
    expect(message).toMatch(/^imgverify denied 2 of 3 images: /);
    expect(message).toContain(`${unsigned.ref} (${unsigned.digest}): policy "release": authority "ci" (keyless): no signatures found`);
    expect(message).toContain('[NO_SIGNATURES]');
    expect(message).toContain(`${other.ref} (${other.digest}): policy "release": authority "ci" (keyless):`);
    expect(message).toContain('[IDENTITY_MISMATCH]');
    expect(message).toContain('intruder@example.test');
    expect(message).not.toContain(`${good.ref} (`);
  });

  test('CronJob UPDATE checks every image of the job template', async () => {
    const [good, unsigned] = await Promise.all([image(repo('app-cron')), image(repo('app-cron-unsigned'), 'none')]);
    const before = workload('CronJob', { containers: [good.ref] });
    const after = workload('CronJob', { containers: [good.ref], initContainers: [unsigned.ref] });
    const denied = await main.client.review('/validate', admissionReview('CronJob', 'UPDATE', after, before));
    expect(denied.allowed).toBe(false);
    expect(denied.status?.message).toContain(unsigned.ref);
    const allowed = await main.client.review('/validate', admissionReview('CronJob', 'UPDATE', before, before));
    expect(allowed.allowed).toBe(true);
  });

  test('a failing warn-mode policy admits with a warning naming the image and the reason', async () => {
    const soft = await image(repo('soft-unsigned'), 'none');
    const res = await main.client.review('/validate', admissionReview('Pod', 'CREATE', workload('Pod', { containers: [soft.ref] })));
    expect(res.allowed).toBe(true);
    expect(res.warnings).toEqual([
      expect.stringContaining(`imgverify: ${soft.ref} (${soft.digest}): policy "soft" (warn mode): authority "ci" (keyless): no signatures found`),
    ]);
  });

  test('attestations: an authority with attestations needs a verified attestation of that predicate type', async () => {
    const [withProvenance, signedOnly] = await Promise.all([image(repo('att-prov')), image(repo('att-sig'))]);
    const name = withProvenance.ref.slice(proxy.host.length + 1).split(':')[0]!;
    const attestation = sigstore.attestImage({
      digest: withProvenance.digest,
      repository: `${proxy.host}/${name}`,
      predicateType: 'https://slsa.dev/provenance/v1',
      predicate: { buildDefinition: { buildType: 'https://example.test/build' } },
      identity: { email: SIGNER },
      issuer: ISSUER,
    });
    await pushAttestations(registry, name, withProvenance.digest, [attestation]);
    const res = await main.client.review('/validate', admissionReview('Pod', 'CREATE', workload('Pod', { containers: [withProvenance.ref, signedOnly.ref] })));
    expect(res.allowed).toBe(false);
    expect(res.status?.message).toMatch(/^imgverify denied 1 of 2 images: /);
    expect(res.status?.message).toContain(
      `${signedOnly.ref} (${signedOnly.digest}): policy "attested": authority "provenance" (keyless): attestation "slsa" (https://slsa.dev/provenance/v1):`,
    );
    const ok = await main.client.review('/validate', admissionReview('Pod', 'CREATE', workload('Pod', { containers: [withProvenance.ref] })));
    expect(ok.allowed).toBe(true);
  });

  test('kinds without a pod spec are admitted unchanged', async () => {
    const res = await main.client.review('/validate', admissionReview('ConfigMap', 'CREATE', workload('ConfigMap', { containers: ['anything'] })));
    expect(res).toMatchObject({ allowed: true });
  });
});

describe('/mutate', () => {
  test('Pod CREATE: every image is pinned to its digest; the patch applies', async () => {
    const [a, b] = await Promise.all([image(repo('app-m1')), image(repo('app-m2'))]);
    const pod = workload('Pod', { initContainers: [a.ref], containers: [b.ref, a.ref] });
    const res = await main.client.review('/mutate', admissionReview('Pod', 'CREATE', pod));
    expect(res).toMatchObject({ allowed: true, patchType: 'JSONPatch' });
    const patched = applyPatch(pod, res.patch!) as { spec: { initContainers: Array<{ image: string }>; containers: Array<{ image: string }> } };
    expect(patched.spec.initContainers[0]!.image).toBe(`${a.ref}@${a.digest}`);
    expect(patched.spec.containers.map((c) => c.image)).toEqual([`${b.ref}@${b.digest}`, `${a.ref}@${a.digest}`]);
    for (const c of [...patched.spec.initContainers, ...patched.spec.containers])
      expect(c.image).toMatch(/^127\.0\.0\.1:\d+\/[a-z0-9-]+:v1@sha256:[0-9a-f]{64}$/);
    // Validation of the patched Pod: digests are given, nothing to resolve, still allowed.
    const again = await main.client.review('/validate', admissionReview('Pod', 'CREATE', patched));
    expect(again.allowed).toBe(true);
  });

  test('Deployment and CronJob: the pod template images are pinned', async () => {
    const a = await image(repo('app-tpl'));
    const deployment = workload('Deployment', { containers: [a.ref] });
    const d = await main.client.review('/mutate', admissionReview('Deployment', 'CREATE', deployment));
    expect(patchOps(d.patch)).toEqual([{ op: 'replace', path: '/spec/template/spec/containers/0/image', value: `${a.ref}@${a.digest}` }]);
    const cronjob = workload('CronJob', { containers: [a.ref] });
    const c = await main.client.review('/mutate', admissionReview('CronJob', 'CREATE', cronjob));
    expect(patchOps(c.patch)).toEqual([{ op: 'replace', path: '/spec/jobTemplate/spec/template/spec/containers/0/image', value: `${a.ref}@${a.digest}` }]);
  });

  test('Pod UPDATE: only the changed image is pinned', async () => {
    const [a, b] = await Promise.all([image(repo('app-u1')), image(repo('app-u2'))]);
    const before = workload('Pod', { containers: [a.ref] });
    const after = workload('Pod', { containers: [a.ref], ephemeralContainers: [b.ref] });
    const res = await main.client.review('/mutate', admissionReview('Pod', 'UPDATE', after, before));
    expect(res.allowed).toBe(true);
    expect(patchOps(res.patch)).toEqual([{ op: 'replace', path: '/spec/ephemeralContainers/0/image', value: `${b.ref}@${b.digest}` }]);
  });

  test('a denied image is not pinned: the mutation is refused with the reason', async () => {
    const bad = await image(repo('app-mutate-unsigned'), 'none');
    const res = await main.client.review('/mutate', admissionReview('Pod', 'CREATE', workload('Pod', { containers: [bad.ref] })));
    expect(res.allowed).toBe(false);
    expect(res.patch).toBeUndefined();
    expect(res.status?.message).toContain('[NO_SIGNATURES]');
  });

  test('a warned image is admitted and pinned', async () => {
    const soft = await image(repo('soft-pinned'), 'none');
    const res = await main.client.review('/mutate', admissionReview('Pod', 'CREATE', workload('Pod', { containers: [soft.ref] })));
    expect(res.allowed).toBe(true);
    expect(res.warnings).toHaveLength(1);
    expect(patchOps(res.patch)).toEqual([{ op: 'replace', path: '/spec/containers/0/image', value: `${soft.ref}@${soft.digest}` }]);
  });
});

describe('images no policy matches', () => {
  test.each([
    ['deny', false],
    ['warn', true],
    ['allow', true],
  ] as const)('no-match %s', async (noMatch, allowed) => {
    const server = noMatch === 'deny' ? main : await startServer(standardPolicies(), { noMatch });
    const stray = `${proxy.host}/elsewhere/tool:v1`; // not even in the registry: never looked up
    const before = proxy.requests.length;
    const res = await server.client.review('/mutate', admissionReview('Pod', 'CREATE', workload('Pod', { containers: [stray] })));
    expect(res.allowed).toBe(allowed);
    expect(res.patch).toBeUndefined();
    if (noMatch === 'deny') expect(res.status?.message).toContain(`${stray}: no ClusterImagePolicy matches the image (no-match setting: deny)`);
    if (noMatch === 'warn') expect(res.warnings).toEqual([`imgverify: ${stray}: no ClusterImagePolicy matches the image (no-match setting: warn)`]);
    if (noMatch === 'allow') expect(res.warnings).toBeUndefined();
    expect(proxy.requests.length).toBe(before);
  });
});

describe('every name of an image, and image volumes (issue 9.6)', () => {
  let gated: { server: RunningWebhookServer; client: WebhookClient; dir: string };
  const port = () => proxy.host.split(':')[1]!;
  beforeAll(async () => {
    // One repository glob, `:*` only; no-match allow: escaping the policy would admit the image.
    gated = await startServer({ 'gated.yaml': policyYaml('gated', [`${proxy.host}/gated-*:*`], authorities()) }, { noMatch: 'allow' });
  });

  test.each([
    ['its digest form', (r: string, d: string) => `${r.replace(/:v1$/, '')}@${d}`],
    ['its tag+digest form', (r: string, d: string) => `${r}@${d}`],
    ['127.1 for 127.0.0.1', (r: string) => r.replace(/^127\.0\.0\.1:/, '127.1:')],
    ['localhost for 127.0.0.1', (r: string) => r.replace(/^127\.0\.0\.1:/, 'localhost:')],
  ])('an unsigned image named by %s is still governed by the `:*` policy: denied', async (_how, rename) => {
    const unsigned = await image(repo('gated-unsigned'), 'none');
    const name = rename(unsigned.ref, unsigned.digest);
    expect(name).not.toBe(unsigned.ref);
    const res = await gated.client.review('/validate', admissionReview('Pod', 'CREATE', workload('Pod', { containers: [name] })));
    expect(res.allowed).toBe(false);
    // Decided by the policy (unsigned, or for 127.1 a registry spoken to over https only, as
    // go-containerregistry does for non-canonical loopback names), never by --no-match allow.
    expect(res.status?.message).toContain(`denied 1 of 1 image: ${name}`);
    expect(res.status?.message).toContain(': policy "gated"');
    expect(res.status?.message).not.toContain('no ClusterImagePolicy matches');
    expect(port()).not.toBe('');
  });

  test('an image volume is verified like a container: unsigned denied; signed pinned by /mutate', async () => {
    const signed = await image(repo('gated-signed'));
    const unsigned = await image(repo('gated-model'), 'none');
    const pod = (volumeImage: string) => {
      const object = workload('Pod', { containers: [signed.ref] });
      (object.spec as Record<string, unknown>).volumes = [{ name: 'model', image: { reference: volumeImage, pullPolicy: 'IfNotPresent' } }];
      return object;
    };
    const denied = await gated.client.review('/validate', admissionReview('Pod', 'CREATE', pod(unsigned.ref)));
    expect(denied.allowed).toBe(false);
    expect(denied.status?.message).toContain(unsigned.ref);
    const object = pod(signed.ref);
    const mutated = await gated.client.review('/mutate', admissionReview('Pod', 'CREATE', object));
    expect(mutated.allowed).toBe(true);
    expect(patchOps(mutated.patch).map((o) => o.path)).toEqual(['/spec/containers/0/image', '/spec/volumes/0/image/reference']);
    const patched = applyPatch(object, mutated.patch!) as { spec: { volumes: Array<{ image: { reference: string } }> } };
    expect(patched.spec.volumes[0]!.image.reference).toBe(`${signed.ref}@${signed.digest}`);
  });
});

describe('cache', () => {
  test('the second request is answered from the caches: no registry request at all (tags kept resolved, verdicts cached)', async () => {
    const images = await Promise.all([image(repo('app-c1')), image(repo('app-c2')), image(repo('app-c3'), 'key')]);
    const review = () => admissionReview('Pod', 'CREATE', workload('Pod', { containers: images.map((i) => i.ref) }));
    const hits = main.server.metrics.cacheHits.get();
    const misses = main.server.metrics.cacheMisses.get();
    const tagHits = main.server.metrics.tagLookups.get({ result: 'hit' });
    const ours = (from: number) => proxy.requests.slice(from).filter((r) => images.some((i) => r.path.includes(`/${i.ref.split('/')[1]!.split(':')[0]}/`)));

    let from = proxy.requests.length;
    const first = await main.client.review('/validate', review());
    expect(first.allowed).toBe(true);
    const cold = ours(from);
    expect(main.server.metrics.cacheMisses.get() - misses).toBe(3);
    // Cold: each tag is resolved with a GET whose manifest the verification uses too.
    expect(cold.filter((r) => r.path.endsWith('/manifests/v1')).map((r) => r.method)).toEqual(['GET', 'GET', 'GET']);

    from = proxy.requests.length;
    const second = await main.client.review('/validate', review());
    const mutated = await main.client.review('/mutate', review());
    expect([second.allowed, mutated.allowed]).toEqual([true, true]);
    expect(ours(from)).toEqual([]);
    expect(main.server.metrics.cacheHits.get() - hits).toBe(6);
    expect(main.server.metrics.tagLookups.get({ result: 'hit' }) - tagHits).toBe(6);
    // /mutate pins exactly the digests that were verified.
    expect(patchOps(mutated.patch).map((o) => o.value)).toEqual(images.map((i) => `${i.ref}@${i.digest}`));

    const metrics = await main.client.get('/metrics');
    expect(metrics.text).toMatch(/^imgverify_cache_hits_total [1-9]\d*$/m);
    expect(metrics.text).toMatch(/^imgverify_tag_lookups_total\{result="hit"\} [1-9]\d*$/m);
    expect(metrics.text).toMatch(/^imgverify_tag_cache_entries [1-9]\d*$/m);
  });

  test('a tag moved to an unsigned image is denied within the refresh interval; until then the verified digest is used and pinned, never the new one', async () => {
    const { server, client } = await startServer(standardPolicies(), { tagRefreshIntervalMs: 1500 });
    const name = repo('app-moved');
    const signed = await image(name);
    const pod = workload('Pod', { containers: [signed.ref] });
    expect((await client.review('/validate', admissionReview('Pod', 'CREATE', pod))).allowed).toBe(true);
    const moved = await pushTestImage(registry, name, 'v1'); // same tag, new unsigned content
    const pushedAt = Date.now();

    // Within the bound the last verified resolution may still answer; whatever answers, /mutate
    // pins a digest that was verified, never the unsigned one.
    const early = await client.review('/mutate', admissionReview('Pod', 'CREATE', pod));
    if (early.allowed) expect(patchOps(early.patch).map((o) => o.value)).toEqual([`${signed.ref}@${signed.digest}`]);
    else expect(early.status?.message).toContain(moved.digest);

    // Once the interval has passed since the move, no admission uses a resolution from before it.
    await new Promise((r) => setTimeout(r, Math.max(0, pushedAt + 1500 - Date.now())));
    const validated = await client.review('/validate', admissionReview('Pod', 'CREATE', pod));
    expect(validated.allowed).toBe(false);
    expect(validated.status?.message).toContain(`${signed.ref} (${moved.digest}): policy "release"`);
    expect(validated.status?.message).toContain('[NO_SIGNATURES]');
    const mutated = await client.review('/mutate', admissionReview('Pod', 'CREATE', pod));
    expect([mutated.allowed, mutated.patch]).toEqual([false, undefined]);
    // The move was seen by a background refresh (or by an admission's own request, had the refresh been late).
    expect(server.metrics.tagRefreshes.get({ result: 'moved' }) + server.metrics.tagLookups.get({ result: 'miss' })).toBeGreaterThanOrEqual(2);
  });

  test('a tag moved from unsigned to signed content is admitted at once, not at the next refresh: a denied kept resolution is asked again, and the new digest is verified and pinned', async () => {
    const { server, client } = await startServer(standardPolicies(), { tagRefreshIntervalMs: 600_000 });
    const name = repo('app-fixed');
    const unsigned = await image(name, 'none');
    const review = () => admissionReview('Pod', 'CREATE', workload('Pod', { containers: [unsigned.ref] }));
    expect((await client.review('/validate', review())).allowed).toBe(false);
    const signed = await image(name); // same tag, now signed content
    expect(signed.digest).not.toBe(unsigned.digest);

    const mutated = await client.review('/mutate', review());
    expect(mutated.allowed).toBe(true);
    expect(patchOps(mutated.patch).map((o) => o.value)).toEqual([`${signed.ref}@${signed.digest}`]);
    // The new resolution is kept: the next admission by tag asks the registry nothing.
    const hits = server.metrics.tagLookups.get({ result: 'hit' });
    const from = proxy.requests.length;
    expect((await client.review('/validate', review())).allowed).toBe(true);
    expect(server.metrics.tagLookups.get({ result: 'hit' }) - hits).toBe(1);
    expect(proxy.requests.slice(from).filter((r) => r.path.includes(`/${name}/`))).toEqual([]);
  });

  test('without the tag cache (tagRefreshIntervalMs 0) every admission resolves the tag: a moved tag is denied at once', async () => {
    const { client, server } = await startServer(standardPolicies(), { tagRefreshIntervalMs: 0 });
    const name = repo('app-moved-now');
    const signed = await image(name);
    const review = () => admissionReview('Pod', 'CREATE', workload('Pod', { containers: [signed.ref] }));
    expect((await client.review('/validate', review())).allowed).toBe(true);
    await pushTestImage(registry, name, 'v1');
    const res = await client.review('/validate', review());
    expect(res.allowed).toBe(false);
    expect(res.status?.message).toContain('[NO_SIGNATURES]');
    expect(server.metrics.tagLookups.get({ result: 'hit' }) + server.metrics.tagLookups.get({ result: 'miss' })).toBe(0);
  });
});

describe('registry failures and the deadline', () => {
  test.each([
    ['app-down', false],
    ['soft-down', true],
  ] as const)('registry down (%s): enforce denies, warn warns, with the reason', async (prefix, allowed) => {
    const name = repo(prefix);
    proxy.setHook((req) => (req.path.startsWith(`/v2/${name}/`) ? { reset: true } : undefined));
    const ref = `${proxy.host}/${name}:v1`;
    const res = await main.client.review('/validate', admissionReview('Pod', 'CREATE', workload('Pod', { containers: [ref] })));
    expect(res.allowed).toBe(allowed);
    const text = allowed ? res.warnings!.join('\n') : res.status!.message;
    expect(text).toContain(`${ref}: policy "${allowed ? 'soft' : 'release'}"${allowed ? ' (warn mode)' : ''}: cannot resolve the image digest:`);
    expect(text).toMatch(/\[REGISTRY_(UNREACHABLE|ERROR)\]/);
  });

  test('a registry slower than the deadline: denied with a timeout reason, answered before the deadline', async () => {
    const { server, client } = await startServer(standardPolicies(), { timeoutMs: 1500 });
    const slow = await image(repo('app-slow'));
    proxy.setHook(async (req) => {
      if (req.path.includes('/app-slow-')) await new Promise((r) => setTimeout(r, 4000).unref());
      return undefined;
    });
    const res = await client.review('/validate', admissionReview('Pod', 'CREATE', workload('Pod', { containers: [slow.ref] })));
    expect(res.allowed).toBe(false);
    expect(res.status?.message).toContain("verification did not finish within the webhook's 1500 ms deadline [REGISTRY_TIMEOUT]");
    expect(res.ms).toBeLessThan(2500);
    expect(server.metrics.duration.count({ path: '/validate' })).toBe(1);
  });
});

describe('reloads', () => {
  test('policy reload: a ConfigMap ..data swap is enforced by the next request', async () => {
    const { server, client, dir } = await startServer(standardPolicies());
    const signed = await image(repo('app-reload'));
    const review = () => admissionReview('Pod', 'CREATE', workload('Pod', { containers: [signed.ref] }));
    expect((await client.review('/validate', review())).allowed).toBe(true);
    const version = server.evaluator.version;

    // Now only another signer is trusted.
    writeConfigMap(dir, {
      'release.yaml': policyYaml(
        'release',
        [`${proxy.host}/app-*:*`],
        [{ name: 'other-team', keyless: { identities: [{ issuer: ISSUER, subject: 'other@example.test' }] } }],
      ),
    });
    await eventually(() => server.evaluator.version !== version, 10_000, 'the policy reload');
    const res = await client.review('/validate', review());
    expect(res.allowed).toBe(false);
    expect(res.status?.message).toContain('authority "other-team" (keyless)');
    expect(server.metrics.policyReloads.get({ result: 'loaded' })).toBe(1);

    // An invalid edit is rejected; the last good set stays in force and readiness says so.
    const good = server.evaluator.version;
    writeConfigMap(dir, { 'release.yaml': 'apiVersion: policy.sigstore.dev/v1beta1\nkind: ClusterImagePolicy\nmetadata: {name: broken}\nspec: {}\n' });
    await eventually(() => server.metrics.policyReloads.get({ result: 'rejected' }) === 1, 10_000, 'the rejected reload');
    expect(server.evaluator.version).toBe(good);
    const ready = await client.get('/readyz');
    expect(ready.status).toBe(200);
    expect(ready.text).toContain('does not load');
    expect((await client.review('/validate', review())).allowed).toBe(false);
    expect(logs.some((l) => l.level === 'error' && l.message.includes('keeping the policies in force'))).toBe(true);
  });

  test('an emptied or truncated policy folder is rejected like an invalid one: the last good set stays (issue 14.3)', async () => {
    const { server, client, dir } = await startServer(standardPolicies(), { noMatch: 'allow' });
    const unsigned = await image(repo('app-empty'), 'none');
    const review = () => admissionReview('Pod', 'CREATE', workload('Pod', { containers: [unsigned.ref] }));
    expect((await client.review('/validate', review())).allowed).toBe(false);
    const good = server.evaluator.version;
    const edits: Array<[number, Record<string, string>]> = [
      [1, {}],
      [2, { 'release.yaml': '' }],
      [3, { 'release.yaml': '---\n# truncated\n' }],
    ];
    for (const [n, files] of edits) {
      writeConfigMap(dir, files);
      await eventually(() => server.metrics.policyReloads.get({ result: 'rejected' }) === n, 10_000, `rejected reload ${n}`);
      expect(server.evaluator.version).toBe(good);
      // With --no-match allow an empty set would admit the unsigned image; the last good set denies it.
      expect((await client.review('/validate', review())).allowed).toBe(false);
    }
    const ready = await client.get('/readyz');
    expect(ready.status).toBe(200);
    expect(ready.text).toContain('an empty policy set is refused');
    expect(logs.some((l) => l.level === 'error' && JSON.stringify(l.fields).includes('--allow-empty-policies'))).toBe(true);
  });

  test('a plain policy file caught half-written keeps the set in force; removing a policy on purpose still takes effect (issue 20.15)', async () => {
    const dir = mkdtempSync(join(work, 'plain-policies-'));
    const release = policyYaml('release', [`${proxy.host}/app-*:*`], authorities());
    const extra = policyYaml('extra', [`${proxy.host}/extra-*:*`], authorities());
    const both = `${release}---\n${extra}`;
    writeFileSync(join(dir, 'policies.yaml'), both);
    writeFileSync(join(dir, 'soft.yaml'), policyYaml('soft', [`${proxy.host}/soft-*:*`], authorities(), 'warn'));
    const { server, client } = await startServer({}, { policiesDir: dir });
    const names = () => server.evaluator.policies.map((p) => p.name);
    expect(names()).toEqual(['release', 'extra', 'soft']);
    const good = server.evaluator.version;
    // Caught after the first document, and truncated to zero bytes: rejected, the set in force stays.
    const halves: Array<[string, RegExp]> = [
      [`${release}---\n`, /policies\.yaml: ends with a document separator "---" and no document after it, and no longer holds ClusterImagePolicy\/extra/],
      ['', /policies\.yaml: the file is empty but held ClusterImagePolicy\/release, ClusterImagePolicy\/extra/],
    ];
    for (const [i, [text, message]] of halves.entries()) {
      writeFileSync(join(dir, 'policies.yaml'), text);
      await eventually(() => server.metrics.policyReloads.get({ result: 'rejected' }) === i + 1, 10_000, `rejected reload ${i + 1}`);
      expect(server.evaluator.version).toBe(good);
      expect(names()).toEqual(['release', 'extra', 'soft']);
      const ready = await client.get('/readyz');
      expect(ready.status).toBe(200);
      expect(ready.text).toMatch(message);
      expect(
        logs.some(
          (l) =>
            l.level === 'error' &&
            l.message.includes('keeping the policies in force') &&
            message.test(String((l.fields?.errors as string[] | undefined)?.join('\n'))),
        ),
      ).toBe(true);
    }
    // The writer finishes: loaded again, nothing rejected any more.
    writeFileSync(join(dir, 'policies.yaml'), both);
    await eventually(async () => !(await client.get('/readyz')).text.includes('does not load'), 10_000, 'the finished file');
    expect(names()).toEqual(['release', 'extra', 'soft']);
    // On purpose: the file rewritten without a policy, then another file deleted.
    writeFileSync(join(dir, 'policies.yaml'), release);
    await eventually(() => names().join() === 'release,soft', 10_000, 'the removal of "extra"');
    rmSync(join(dir, 'soft.yaml'));
    await eventually(() => names().join() === 'release', 10_000, 'the removal of soft.yaml');
    expect(server.metrics.policyReloads.get({ result: 'rejected' })).toBe(2);
  });

  test('an empty policy folder at start-up keeps the webhook not ready, unless --allow-empty-policies (issue 14.3)', async () => {
    const empty = await startServer({}, { noMatch: 'allow' });
    expect(empty.server.ready()).toBe(false);
    const ready = await empty.client.get('/readyz');
    expect(ready.status).toBe(503);
    expect(ready.text).toContain('an empty policy set is refused');
    const pod = admissionReview('Pod', 'CREATE', workload('Pod', { containers: ['nginx:1.27'] }));
    expect((await empty.client.review('/validate', pod)).allowed).toBe(false);

    const allowed = await startServer({}, { noMatch: 'allow', allowEmptyPolicies: true });
    expect(allowed.server.ready()).toBe(true);
    expect((await allowed.client.review('/validate', pod)).allowed).toBe(true);
  });

  test('certificate reload: a new connection sees the new certificate; a bad pair keeps the old one', async () => {
    const dir = mkdtempSync(join(work, 'tls-'));
    const first = await issueServerCert(ca);
    writeFileSync(join(dir, 'tls.crt'), first.certPem);
    writeFileSync(join(dir, 'tls.key'), first.keyPem);
    const { server } = await startServer(standardPolicies(), { tlsCertFile: join(dir, 'tls.crt'), tlsKeyFile: join(dir, 'tls.key') });
    const peer = () =>
      new Promise<string>((resolve, reject) => {
        const socket = connect({ host: '127.0.0.1', port: server.port, ca: ca.certPem, servername: 'localhost' }, () => {
          const fingerprint = socket.getPeerX509Certificate()!.fingerprint256;
          socket.end();
          resolve(fingerprint);
        });
        socket.on('error', reject);
      });
    expect(await peer()).toBe(new X509Certificate(first.certPem).fingerprint256);

    const second = await issueServerCert(ca);
    // Files replaced by rename, as a Secret update or cert-manager does.
    writeFileSync(join(dir, 'tls.key.new'), second.keyPem);
    writeFileSync(join(dir, 'tls.crt.new'), second.certPem);
    renameSync(join(dir, 'tls.key.new'), join(dir, 'tls.key'));
    renameSync(join(dir, 'tls.crt.new'), join(dir, 'tls.crt'));
    const want = new X509Certificate(second.certPem).fingerprint256;
    await eventually(async () => (await peer()) === want, 10_000, 'the new certificate');
    expect(server.metrics.tlsReloads.get({ result: 'loaded' })).toBeGreaterThanOrEqual(1);

    // A key that does not match the certificate: refused, the server keeps serving the old pair.
    const third = await issueServerCert(ca);
    writeFileSync(join(dir, 'tls.crt'), third.certPem);
    expect(await server.reloadTls()).toBe(false);
    expect(await peer()).toBe(want);
    expect(server.metrics.tlsReloads.get({ result: 'rejected' })).toBeGreaterThanOrEqual(1);
  });
});

describe('HTTP', () => {
  test('a malformed AdmissionReview is HTTP 400; other methods, paths, types and sizes are refused', async () => {
    const c = main.client;
    expect((await c.post('/validate', '{not json')).status).toBe(400);
    const wrong = await c.post('/validate', { apiVersion: 'admission.k8s.io/v1beta1', kind: 'AdmissionReview', request: {} });
    expect(wrong.status).toBe(400);
    expect(JSON.parse(wrong.text).error).toContain('malformed AdmissionReview: apiVersion');
    const noUid = admissionReview('Pod', 'CREATE', workload('Pod', { containers: ['x'] }));
    delete (noUid.request as { uid?: string }).uid;
    expect((await c.post('/mutate', noUid)).status).toBe(400);
    expect((await c.get('/validate')).status).toBe(405);
    expect((await c.get('/nope')).status).toBe(404);
    expect((await c.post('/validate', '{}', { 'content-type': 'text/plain' })).status).toBe(415);
    const huge = JSON.stringify({ padding: 'x'.repeat(3 * 1024 * 1024 + 1) });
    expect((await c.post('/validate', huge)).status).toBe(413);
  });

  test('a workload with a malformed pod spec is denied (fail closed)', async () => {
    const pod = workload('Pod', { containers: ['x'] });
    (pod.spec as Record<string, unknown>).containers = 'not-a-list';
    const res = await main.client.review('/validate', admissionReview('Pod', 'CREATE', pod));
    expect(res.allowed).toBe(false);
    expect(res.status?.message).toContain('/spec/containers');
  });

  test('/healthz, /readyz and /metrics', async () => {
    expect(await main.client.get('/healthz')).toEqual({ status: 200, text: 'ok\n' });
    const ready = await main.client.get('/readyz');
    expect(ready.status).toBe(200);
    expect(ready.text).toMatch(/^ok: 3 policies, version sha256:[0-9a-f]{64}\n$/);
    const metrics = await main.client.get('/metrics');
    expect(metrics.status).toBe(200);
    expect(metrics.text).toMatch(/^imgverify_admission_requests_total\{path="\/validate",result="allowed"\} [1-9]\d*$/m);
    expect(metrics.text).toMatch(/^imgverify_admission_requests_total\{path="\/validate",result="denied"\} [1-9]\d*$/m);
    expect(metrics.text).toMatch(/^imgverify_admission_requests_total\{path="\/validate",result="invalid"\} [1-9]\d*$/m);
    expect(metrics.text).toMatch(/^imgverify_image_verdicts_total\{matched="true",verdict="denied"\} [1-9]\d*$/m);
    expect(metrics.text).toMatch(/^imgverify_admission_duration_seconds_bucket\{path="\/mutate",le="\+Inf"\} [1-9]\d*$/m);
    expect(metrics.text).toMatch(/^imgverify_policies 3$/m);
    expect(metrics.text).toMatch(/^imgverify_ready 1$/m);
  });

  test('not ready while the first policy load fails; every image is denied until it loads', async () => {
    const { server, client, dir } = await startServer({ 'bad.yaml': 'kind: Nope\n' }, { noMatch: 'allow' });
    expect(server.ready()).toBe(false);
    const ready = await client.get('/readyz');
    expect(ready.status).toBe(503);
    expect(ready.text).toContain('no valid policy set loaded');
    const res = await client.review('/validate', admissionReview('Pod', 'CREATE', workload('Pod', { containers: ['nginx:1.27'] })));
    expect(res.allowed).toBe(false);
    expect(res.status?.message).toContain('no valid ClusterImagePolicy set is loaded');
    writeConfigMap(dir, standardPolicies());
    await eventually(() => server.ready(), 10_000, 'readiness');
    expect((await client.get('/readyz')).status).toBe(200);
  });
});
