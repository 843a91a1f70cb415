/**
 * The webhook in cluster mode as users run it: the built CLI (`imgverify webhook` without
 * --policies) reading ClusterImagePolicy, TrustRoot and Secret objects from the emulated
 * Kubernetes API (TLS, a bearer token whose permissions are the RBAC of deploy/), verifying
 * images in a real registry signed by the private test Sigstore, answering real
 * AdmissionReviews while the objects change; writing each object's status; surviving 410
 * Expired and cut watches; not ready while the API server cannot be reached.
 */
import { generateKeyPairSync } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { runBuiltCli } from '../../support/cli';
import type { Json } from '../../support/json';
import { deployManifests, serviceAccountIdentity, startKubeApi, writeKubeconfig, type RunningKubeApi } from '../../support/kube-api';
import { closePushers, createCa, issueServerCert, startRegistry, type RunningRegistry, type TestCa } from '../../support/registry';
import { pushSignatures, pushTestImage } from '../../support/signed-images';
import { createTestSigstore, type TestSigstore } from '../../support/sigstore';
import { admissionReview, eventually, sigstoreKeys, startWebhookProcess, WebhookClient, workload, type WebhookProcess } from './helpers';

const ISSUER = 'https://accounts.example.test';
const SIGNER = 'release@example.test';
const NS = 'imgverify-system';
const GROUP = 'policy.sigstore.dev';

let registry: RunningRegistry;
let sigstore: TestSigstore;
let ca: TestCa;
let api: RunningKubeApi;
let work: string;
let files: { root: string; cert: string; key: string; kubeconfig: string };
const images: Record<'signed' | 'unsigned' | 'keyed' | 'rooted', { ref: string; digest: string }> = {} as never;
const releaseKeys = generateKeyPairSync('ec', { namedCurve: 'P-256' });
const otherKeys = generateKeyPairSync('ec', { namedCurve: 'P-256' });
const pemOf = (keys: typeof releaseKeys): string => keys.publicKey.export({ type: 'spki', format: 'pem' }).toString();

const cips = () => api.store.type(`clusterimagepolicies.${GROUP}`);
const trustRoots = () => api.store.type(`trustroots.${GROUP}`);
const secrets = () => api.store.type('secrets');
const imagePolicies = () => api.store.type('imagepolicies.policy.imgverify.dev');

function cip(name: string, glob: string, authority: Json, apiVersion = `${GROUP}/v1beta1`): Json {
  return { apiVersion, kind: 'ClusterImagePolicy', metadata: { name }, spec: { images: [{ glob }], authorities: [{ name: 'main', ...authority }] } };
}

const keyless = { keyless: { identities: [{ issuer: ISSUER, subject: SIGNER }] } };

beforeAll(async () => {
  work = mkdtempSync(join(tmpdir(), 'imgverify-cluster-'));
  [registry, ca, api] = await Promise.all([
    startRegistry(),
    createCa('imgverify cluster-mode test CA'),
    startKubeApi({ namespaces: ['default', 'kube-system', NS, 'team-a'] }),
  ]);
  sigstore = createTestSigstore();
  const cert = await issueServerCert(ca);
  // The webhook's identity: exactly what deploy/rbac.yaml grants its service account.
  const token = api.token(serviceAccountIdentity(deployManifests(), NS, 'imgverify-webhook'));
  files = { root: join(work, 'trusted_root.json'), cert: join(work, 'tls.crt'), key: join(work, 'tls.key'), kubeconfig: join(work, 'kubeconfig') };
  writeFileSync(files.root, JSON.stringify(sigstore.trustedRoot));
  writeFileSync(files.cert, cert.certPem);
  writeFileSync(files.key, cert.keyPem);
  writeKubeconfig(files.kubeconfig, api, token, NS);

  const push = async (repo: string, sign: (digest: string) => Parameters<typeof pushSignatures>[3] | undefined) => {
    const pushed = await pushTestImage(registry, repo, 'v1');
    const layers = sign(pushed.digest);
    if (layers) await pushSignatures(registry, repo, pushed.digest, layers);
    return { ref: `${registry.host}/${repo}:v1`, digest: pushed.digest };
  };
  images.signed = await push('cluster/app-signed', (digest) => [sigstore.signImage({ digest, identity: { email: SIGNER }, issuer: ISSUER })]);
  images.unsigned = await push('cluster/app-unsigned', () => undefined);
  images.keyed = await push('cluster/keyed-signed', (digest) => [sigstore.signImageWithKey({ digest, privateKey: releaseKeys.privateKey, tlog: true })]);
  images.rooted = await push('cluster/rooted-signed', (digest) => [sigstore.signImage({ digest, identity: { email: SIGNER }, issuer: ISSUER })]);
});

afterAll(async () => {
  await closePushers();
  await Promise.all([registry?.stop(), api?.stop()]);
  if (work) rmSync(work, { recursive: true, force: true });
});

const running: WebhookProcess[] = [];
afterEach(async () => {
  await Promise.all(running.splice(0).map((p) => p.stop()));
});

async function webhook(extra: string[] = []): Promise<{ process: WebhookProcess; client: WebhookClient }> {
  // --trusted-root: the private test Sigstore is the default trust (TrustRoots add to it).
  const process = await startWebhookProcess([
    '--tls-cert',
    files.cert,
    '--tls-key',
    files.key,
    '--trusted-root',
    files.root,
    '--timeout',
    '5s',
    '--kubeconfig',
    files.kubeconfig,
    '--log-level',
    'debug',
    ...extra,
  ]);
  running.push(process);
  return { process, client: new WebhookClient(`https://127.0.0.1:${process.port}`, ca.certPem) };
}

async function decide(client: WebhookClient, image: string): Promise<{ allowed: boolean; message: string }> {
  const res = await client.review('/validate', admissionReview('Pod', 'CREATE', workload('Pod', { containers: [image] })));
  return { allowed: res.allowed, message: res.status?.message ?? '' };
}

/** Polls until the image's verdict is `allowed` (and, when given, the message contains `text`). */
async function until(client: WebhookClient, image: string, allowed: boolean, what: string, text?: string): Promise<{ allowed: boolean; message: string }> {
  let last: { allowed: boolean; message: string } = { allowed: !allowed, message: '' };
  await eventually(
    async () => {
      last = await decide(client, image);
      return last.allowed === allowed && (text === undefined || last.message.includes(text));
    },
    15_000,
    `${what} (last: ${JSON.stringify(last)})`,
  );
  return last;
}

async function readyz(client: WebhookClient): Promise<{ status: number; text: string }> {
  return client.get('/readyz');
}

function readyCondition(type: ReturnType<typeof cips>, name: string): Json {
  const object = api.store.get(type, undefined, name);
  return {
    observedGeneration: object.status?.observedGeneration,
    generation: object.metadata.generation,
    ready: object.status?.conditions?.find((c: Json) => c.type === 'Ready'),
  };
}

async function condition(type: ReturnType<typeof cips>, name: string, status: 'True' | 'False'): Promise<Json> {
  let last: Json;
  await eventually(
    () => {
      last = readyCondition(type, name);
      return last.ready?.status === status && last.observedGeneration === last.generation;
    },
    15_000,
    `${type.kind} ${name} Ready ${status} (last: ${JSON.stringify(readyCondition(type, name))})`,
  );
  return last!;
}

function clearCluster(): void {
  for (const type of [cips(), trustRoots()]) for (const o of api.store.list(type, undefined).items) api.store.delete(type, undefined, o.metadata.name);
  for (const o of api.store.list(imagePolicies(), undefined).items) api.store.delete(imagePolicies(), o.metadata.namespace, o.metadata.name);
  for (const o of api.store.list(secrets(), NS).items) api.store.delete(secrets(), NS, o.metadata.name);
}

beforeEach(() => clearCluster());

test('reads the cluster: not ready without a policy; policies and Secrets take effect within seconds while they change; status written; apply-time validation', async () => {
  const { process, client } = await webhook();
  try {
    // No ClusterImagePolicy yet: synced, but an empty set is refused.
    await eventually(async () => (await readyz(client)).text.includes('no ClusterImagePolicy in the cluster'), 15_000, 'the empty-set refusal');
    expect((await readyz(client)).status).toBe(503);

    // Created through v1alpha1, read (as every object) through v1beta1: the same object.
    api.store.create(cips(), undefined, cip('release', `${registry.host}/cluster/app-*`, keyless, `${GROUP}/v1alpha1`), 'v1alpha1');
    await eventually(async () => (await readyz(client)).status === 200, 15_000, 'ready');
    expect((await decide(client, images.signed.ref)).allowed).toBe(true);
    const unsigned = await decide(client, images.unsigned.ref);
    expect(unsigned.allowed).toBe(false);
    expect(unsigned.message).toContain('policy "release"');
    expect(
      api.requests.some((r) => r.path === `/apis/${GROUP}/v1beta1/clusterimagepolicies` && r.verb === 'watch' && r.query.allowWatchBookmarks === 'true'),
    ).toBe(true);

    // Status through the status subresource: Ready True for generation 1.
    expect(await condition(cips(), 'release', 'True')).toMatchObject({
      observedGeneration: 1,
      ready: { type: 'Ready', status: 'True', lastTransitionTime: expect.stringMatching(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$/) },
    });
    expect(
      api.requests.filter((r) => r.method === 'PUT' && r.path === `/apis/${GROUP}/v1beta1/clusterimagepolicies/release/status` && r.status === 200),
    ).toHaveLength(1);

    // key.secretRef: a Secret of the webhook's namespace with exactly one entry.
    api.store.create(secrets(), NS, { metadata: { name: 'release-key' }, stringData: { 'cosign.pub': pemOf(releaseKeys) } });
    api.store.create(cips(), undefined, cip('keyed', `${registry.host}/cluster/keyed-*`, { key: { secretRef: { name: 'release-key' } } }));
    await until(client, images.keyed.ref, true, 'the keyed image admitted through the Secret');
    await condition(cips(), 'keyed', 'True');
    // The Secret changes to another key: the policy reloads, and the image is denied.
    api.store.patch(secrets(), NS, 'release-key', 'merge', { data: { 'cosign.pub': Buffer.from(pemOf(otherKeys)).toString('base64') } });
    await until(client, images.keyed.ref, false, 'the keyed image denied after the Secret changed', 'policy "keyed"');
    // Two entries: not loadable, not enforced (the image then matches no policy), status says why.
    api.store.patch(secrets(), NS, 'release-key', 'merge', { data: { 'cosign.pub': Buffer.from(pemOf(releaseKeys)).toString('base64'), extra: 'eA==' } });
    const keyed = await condition(cips(), 'keyed', 'False');
    expect(keyed.ready).toMatchObject({
      reason: 'InliningKeysFailed',
      message: expect.stringContaining('spec.authorities[0].key.secretRef: Secret "release-key" contains multiple data entries'),
    });
    await until(client, images.keyed.ref, false, 'no policy for the keyed image', 'no ClusterImagePolicy matches the image');
    // The other policy is untouched.
    expect((await decide(client, images.signed.ref)).allowed).toBe(true);
    api.store.patch(secrets(), NS, 'release-key', 'json', [{ op: 'remove', path: '/data/extra' }]);
    await until(client, images.keyed.ref, true, 'the keyed image admitted again');
    await condition(cips(), 'keyed', 'True');

    // An object that does not load (written while the webhook could not validate it): not
    // enforced, Ready False with the field path; the others keep working.
    api.store.create(cips(), undefined, cip('broken', `${registry.host}/cluster/app-*`, { key: { data: 'not a key' } }));
    const broken = await condition(cips(), 'broken', 'False');
    expect(broken.ready).toMatchObject({ reason: 'InvalidSpec', message: expect.stringContaining('spec.authorities[0].key.data: not a PEM public key') });
    expect((await decide(client, images.signed.ref)).allowed).toBe(true);

    // A spec change: generation 2, observed; the signer required changes, the image is denied.
    const release = api.store.get(cips(), undefined, 'release');
    api.store.update(cips(), undefined, 'release', {
      ...release,
      spec: { ...release.spec, authorities: [{ name: 'main', keyless: { identities: [{ issuer: ISSUER, subject: 'someone-else@example.test' }] } }] },
    });
    await until(client, images.signed.ref, false, 'the signed image denied under the new signer', 'someone-else@example.test');
    expect(await condition(cips(), 'release', 'True')).toMatchObject({ observedGeneration: 2, generation: 2 });
    api.store.delete(cips(), undefined, 'release');
    await until(client, images.signed.ref, false, 'no policy after the delete', 'no ClusterImagePolicy matches the image');

    // A TrustRoot, and a policy that names it.
    api.store.create(trustRoots(), undefined, {
      apiVersion: `${GROUP}/v1alpha1`,
      kind: 'TrustRoot',
      metadata: { name: 'private' },
      spec: { sigstoreKeys: sigstoreKeys(sigstore) },
    });
    api.store.create(cips(), undefined, cip('rooted', `${registry.host}/cluster/rooted-*`, { keyless: { ...keyless.keyless, trustRootRef: 'private' } }));
    await until(client, images.rooted.ref, true, 'the image verified under the TrustRoot');
    await condition(trustRoots(), 'private', 'True');
    await condition(cips(), 'rooted', 'True');
    // A policy naming a TrustRoot that does not exist is not enforced, and says so.
    api.store.create(cips(), undefined, cip('dangling', `${registry.host}/cluster/nothing-*`, { keyless: { ...keyless.keyless, trustRootRef: 'missing' } }));
    expect((await condition(cips(), 'dangling', 'False')).ready).toMatchObject({
      reason: 'TrustRootNotReady',
      message: 'spec.authorities[0].keyless.trustRootRef: no TrustRoot named "missing" that loads',
    });
    // So is one whose ctlog.url no trust root of the webhook lists; the others are untouched.
    api.store.create(cips(), undefined, cip('elsewhere', `${registry.host}/cluster/nothing-*`, { ...keyless, ctlog: { url: 'https://rekor.elsewhere.test' } }));
    expect((await condition(cips(), 'elsewhere', 'False')).ready).toMatchObject({
      reason: 'TrustRootNotReady',
      message: expect.stringMatching(
        /^spec\.authorities\[0\]\.ctlog\.url: no trust root of the webhook lists the Rekor URL "https:\/\/rekor\.elsewhere\.test"/,
      ),
    });
    expect((await decide(client, images.rooted.ref)).allowed).toBe(true);

    // Apply-time validation: an AdmissionReview for a ClusterImagePolicy, with the loader's messages.
    const review = (object: Json) => ({
      ...admissionReview('Pod', 'CREATE', object),
      request: {
        ...admissionReview('Pod', 'CREATE', object).request,
        kind: { group: GROUP, version: 'v1beta1', kind: object.kind },
        resource: { group: GROUP, version: 'v1beta1', resource: 'clusterimagepolicies' },
        namespace: undefined,
      },
    });
    const invalid = await client.review('/validate', review(cip('typo', 'x/**', { keyless: { identities: [{ issuer: ISSUER }] }, surprise: 1 })));
    expect(invalid.allowed).toBe(false);
    expect(invalid.status?.message).toBe(
      'imgverify: ClusterImagePolicy "typo" is invalid: spec.authorities[0].surprise: unknown field; spec.authorities[0].keyless.identities[0]: missing field(s): one of spec.authorities[0].keyless.identities[0].subject, spec.authorities[0].keyless.identities[0].subjectRegExp is required',
    );
    const withSecret = await client.review('/validate', review(cip('typo', 'x/**', { key: { secretRef: { name: 'release-key' } } })));
    expect(withSecret.allowed).toBe(true);
    // A Secret that may come later is not an error when applying; one that exists is checked.
    expect((await client.review('/validate', review(cip('later', 'x/**', { key: { secretRef: { name: 'created-later' } } })) as never)).allowed).toBe(true);
    api.store.create(secrets(), NS, { metadata: { name: 'two-entries' }, stringData: { a: 'x', b: 'y' } });
    await eventually(
      async () => !(await client.review('/validate', review(cip('typo', 'x/**', { key: { secretRef: { name: 'two-entries' } } })))).allowed,
      10_000,
      'a Secret checked at apply time',
    );

    expect(process.stderr()).not.toContain(api.adminToken);
  } finally {
    await client.close();
  }
});

test("ImagePolicies: a namespace's own policies apply to its objects in addition to the cluster's; status written; invalid ones not enforced; apply-time validation", async () => {
  const { client } = await webhook();
  const inNamespace = async (namespace: string, image: string) => {
    const object = workload('Pod', { containers: [image] });
    (object.metadata as Json).namespace = namespace;
    const review = admissionReview('Pod', 'CREATE', object);
    const res = await client.review('/validate', { ...review, request: { ...review.request, namespace } });
    return { allowed: res.allowed, message: res.status?.message ?? '' };
  };
  const ip = (namespace: string, name: string, authority: Json): Json => ({
    apiVersion: 'policy.imgverify.dev/v1alpha1',
    kind: 'ImagePolicy',
    metadata: { name, namespace },
    spec: { images: [{ glob: `${registry.host}/cluster/**` }], authorities: [{ name: 'team', ...authority }] },
  });
  try {
    api.store.create(cips(), undefined, cip('release', `${registry.host}/cluster/app-*`, keyless));
    await eventually(async () => (await readyz(client)).status === 200, 15_000, 'ready');
    expect((await inNamespace('team-a', images.signed.ref)).allowed).toBe(true);

    // team-a requires its key too: the keyless-signed image is denied there, not elsewhere.
    api.store.create(imagePolicies(), 'team-a', ip('team-a', 'team-key', { key: { data: pemOf(releaseKeys) } }));
    await eventually(async () => !(await inNamespace('team-a', images.signed.ref)).allowed, 15_000, "team-a's ImagePolicy enforced");
    expect((await inNamespace('team-a', images.signed.ref)).message).toContain('policy "team-a/team-key"');
    expect((await inNamespace('default', images.signed.ref)).allowed).toBe(true);
    const ready = () => api.store.get(imagePolicies(), 'team-a', 'team-key').status?.conditions?.find((c: Json) => c.type === 'Ready');
    await eventually(() => ready()?.status === 'True', 15_000, 'the ImagePolicy Ready True');

    // A broken one is not enforced, says why, and does not stop the others.
    api.store.create(imagePolicies(), 'default', ip('default', 'broken', { key: { data: 'not a key' } }));
    await eventually(
      () => api.store.get(imagePolicies(), 'default', 'broken').status?.conditions?.[0]?.status === 'False',
      15_000,
      'the broken ImagePolicy Ready False',
    );
    expect(api.store.get(imagePolicies(), 'default', 'broken').status.conditions[0]).toMatchObject({
      reason: 'InvalidSpec',
      message: expect.stringContaining('spec.authorities[0].key.data: not a PEM public key'),
    });
    // A secretRef is refused in a namespace's policy (it would read the webhook's Secrets).
    api.store.create(imagePolicies(), 'default', ip('default', 'secretive', { key: { secretRef: { name: 'release-key' } } }));
    await eventually(
      () => api.store.get(imagePolicies(), 'default', 'secretive').status?.conditions?.[0]?.status === 'False',
      15_000,
      'the secretRef ImagePolicy Ready False',
    );
    expect((await inNamespace('default', images.signed.ref)).allowed).toBe(true);

    // Deleted: team-a's images need the cluster's policy only again.
    api.store.delete(imagePolicies(), 'team-a', 'team-key');
    await eventually(async () => (await inNamespace('team-a', images.signed.ref)).allowed, 15_000, "team-a's ImagePolicy gone");

    // Apply-time validation of an ImagePolicy object.
    const review = (object: Json) => {
      const base = admissionReview('Pod', 'CREATE', object);
      return {
        ...base,
        request: {
          ...base.request,
          kind: { group: 'policy.imgverify.dev', version: 'v1alpha1', kind: 'ImagePolicy' },
          resource: { group: 'policy.imgverify.dev', version: 'v1alpha1', resource: 'imagepolicies' },
          namespace: 'team-a',
        },
      };
    };
    const invalid = await client.review('/validate', review(ip('team-a', 'typo', { key: { data: pemOf(releaseKeys) }, surprise: 1 })));
    expect([invalid.allowed, invalid.status?.message]).toEqual([
      false,
      'imgverify: ImagePolicy "typo" is invalid: spec.authorities[0].surprise: unknown field',
    ]);
    expect((await client.review('/validate', review(ip('team-a', 'fine', { key: { data: pemOf(releaseKeys) } })))).allowed).toBe(true);
    expect(api.requests.some((r) => r.path === '/apis/policy.imgverify.dev/v1alpha1/imagepolicies' && r.verb === 'watch')).toBe(true);
  } finally {
    await client.close();
  }
});

test('410 Expired and cut watches: the informers list or resume, and changes still take effect', async () => {
  api.store.create(cips(), undefined, cip('release', `${registry.host}/cluster/app-*`, keyless));
  const { client } = await webhook();
  try {
    await eventually(async () => (await readyz(client)).status === 200, 15_000, 'ready');
    expect((await decide(client, images.signed.ref)).allowed).toBe(true);

    // The watches are told they are too old: every informer lists again.
    let since = api.requests.length;
    api.expireWatches();
    await eventually(() => api.requests.slice(since).filter((r) => r.verb === 'list').length >= 3, 15_000, 'three lists again');
    api.store.patch(cips(), undefined, 'release', 'merge', { spec: { authorities: [{ name: 'main', static: { action: 'fail', message: 'frozen' } }] } });
    await until(client, images.signed.ref, false, 'the change after 410', 'frozen');

    // The connections are cut: the informers resume from their resourceVersion.
    since = api.requests.length;
    api.dropWatches();
    api.store.patch(cips(), undefined, 'release', 'merge', { spec: { authorities: [{ name: 'main', ...keyless }] } });
    await until(client, images.signed.ref, true, 'the change made while the watches were cut');
    expect(api.requests.slice(since).filter((r) => r.verb === 'watch').length).toBeGreaterThanOrEqual(3);
    expect((await readyz(client)).status).toBe(200);
  } finally {
    await client.close();
  }
});

test('fail closed: not ready while the API server cannot be reached (at start and later); admissions keep the last set', async () => {
  api.store.create(cips(), undefined, cip('release', `${registry.host}/cluster/app-*`, keyless));
  await api.unreachable();
  const { process, client } = await webhook();
  try {
    await new Promise((r) => setTimeout(r, 1000));
    const down = await readyz(client);
    expect(down.status).toBe(503);
    expect(down.text).toMatch(/ECONNREFUSED|discovery/);
    expect((await decide(client, images.signed.ref)).message).toContain('no valid ClusterImagePolicy set is loaded yet');

    await api.reachable();
    await eventually(async () => (await readyz(client)).status === 200, 20_000, 'ready once the API server answers');
    expect((await decide(client, images.signed.ref)).allowed).toBe(true);

    // Down again: not ready within seconds, and the policies in force keep deciding.
    await api.unreachable();
    await eventually(async () => (await readyz(client)).status === 503, 15_000, 'not ready while the API server is down');
    expect((await decide(client, images.signed.ref)).allowed).toBe(true);
    expect((await decide(client, images.unsigned.ref)).allowed).toBe(false);
    await api.reachable();
    await eventually(async () => (await readyz(client)).status === 200, 20_000, 'ready again');
    expect(process.logs('Kubernetes API: cannot read a resource; not ready until it can').length).toBeGreaterThan(0);
  } finally {
    await api.reachable();
    await client.close();
  }
});

test('two replicas write each status once between them (compare before writing; a conflict is read again, not fought)', async () => {
  const a = await webhook();
  const b = await webhook(['--namespace', NS]);
  try {
    const since = api.requests.length;
    api.store.create(cips(), undefined, cip('shared', `${registry.host}/cluster/app-*`, keyless));
    for (const { client } of [a, b]) await eventually(async () => (await readyz(client)).status === 200, 15_000, 'both ready');
    await condition(cips(), 'shared', 'True');
    // Both replicas have seen the status written (it came back through their watches).
    await new Promise((r) => setTimeout(r, 1500));
    const writes = api.requests.slice(since).filter((r) => r.method === 'PUT' && r.path.endsWith('/clusterimagepolicies/shared/status'));
    expect(writes.filter((w) => w.status === 200)).toHaveLength(1);
    // At most the other replica's one attempt that lost the race (409), then nothing.
    expect(writes.length).toBeLessThanOrEqual(2);
    expect(writes.every((w) => w.status === 200 || w.status === 409)).toBe(true);
  } finally {
    await a.client.close();
    await b.client.close();
  }
});

test('usage: cluster flags with --policies, and no configuration at all, are exit 2', async () => {
  const both = await runBuiltCli(['webhook', '--policies', work, '--kubeconfig', files.kubeconfig, '--tls-cert', files.cert, '--tls-key', files.key]);
  expect(both.code).toBe(2);
  expect(both.stderr).toContain('--kubeconfig reads policies from the cluster; it cannot be combined with --policies');
  const none = await runBuiltCli(['webhook', '--tls-cert', files.cert, '--tls-key', files.key, '--port', '0']);
  expect(none.code).toBe(2);
  expect(none.stderr).toContain('no Kubernetes API configuration');
  const absent = await runBuiltCli(['webhook', '--kubeconfig', join(work, 'absent'), '--tls-cert', files.cert, '--tls-key', files.key, '--port', '0']);
  expect([absent.code, absent.stderr]).toEqual([2, expect.stringContaining('no such file')]);
  // The periodic audit's flags.
  const reportsAlone = await runBuiltCli(['webhook', '--kubeconfig', files.kubeconfig, '--tls-cert', files.cert, '--tls-key', files.key, '--write-reports']);
  expect([reportsAlone.code, reportsAlone.stderr]).toEqual([2, expect.stringContaining('--write-reports goes with --audit-interval')]);
  const tooOften = await runBuiltCli([
    'webhook',
    '--kubeconfig',
    files.kubeconfig,
    '--tls-cert',
    files.cert,
    '--tls-key',
    files.key,
    '--audit-interval',
    '500ms',
  ]);
  expect([tooOften.code, tooOften.stderr]).toEqual([2, expect.stringContaining('--audit-interval must be at least 1s')]);
  const folderNamespace = await runBuiltCli([
    'webhook',
    '--policies',
    work,
    '--namespace',
    'x',
    '--audit-interval',
    '1m',
    '--tls-cert',
    files.cert,
    '--tls-key',
    files.key,
  ]);
  expect([folderNamespace.code, folderNamespace.stderr]).toEqual([2, expect.stringContaining('--namespace reads policies from the cluster')]);
});
