/**
 * Issue 18.2 in cluster mode: the webhook (the built CLI, as users run it: the Kubernetes
 * client is an ES module jest cannot load) reads admitted objects' pull secrets and their
 * ServiceAccounts from the (emulated) Kubernetes API, with exactly the permissions
 * deploy/rbac.yaml grants its service account, while Secrets and ServiceAccounts are created;
 * real AdmissionReviews, a real registry whose token service requires credentials. (How long
 * reads are kept, rotation and isolation are shown in-process in pull-secrets.test.ts.) And a
 * policy's `source[].signaturePullSecrets`, read in the admitted object's namespace for a
 * signature repository only they can read (in-process: signature-pull-secrets.test.ts).
 */
import { readFileSync } from 'node:fs';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parse as parseYaml } from 'yaml';
import { fixturePath } from '../../support/fixtures';
import type { Json } from '../../support/json';
import { deployManifests, serviceAccountIdentity, startKubeApi, writeKubeconfig, type Identity, type RunningKubeApi } from '../../support/kube-api';
import { dockerConfigSecret } from '../../support/pull-secrets';
import { closePushers, createCa, issueServerCert, startRegistry, type RunningRegistry, type TestCa } from '../../support/registry';
import { pushSignatures, pushTestImage } from '../../support/signed-images';
import { createTestSigstore } from '../../support/sigstore';
import { admissionReview, eventually, startWebhookProcess, WebhookClient, workload, type WebhookProcess } from './helpers';

const ISSUER = 'https://accounts.example.test';
const SIGNER = 'release@example.test';
const NS = 'imgverify-system';
const puller = { username: 'puller', password: 'cluster-puller-pw' };
const sigReader = { username: 'sig-reader', password: 'cluster-sig-reader-pw' };

let registry: RunningRegistry;
let api: RunningKubeApi;
let ca: TestCa;
let work: string;
let image: string;
let sourced: string;
let caChain: string;
let webhookIdentity: Identity;
const running: Array<{ process: WebhookProcess; client: WebhookClient }> = [];

const secrets = () => api.store.type('secrets');
const accounts = () => api.store.type('serviceaccounts');

beforeAll(async () => {
  work = mkdtempSync(join(tmpdir(), 'imgverify-cluster-pull-'));
  [registry, ca, api] = await Promise.all([
    startRegistry({
      auth: 'token',
      users: [{ username: 'pusher', password: 'pusher-pw' }, puller, sigReader],
      token: {
        anonymousPull: false,
        // sig-reader reads the signature repository only; puller everything else.
        userPull: (user, repository) =>
          user === 'pusher' || (user === 'puller' && !repository.startsWith('sigs/')) || (user === 'sig-reader' && repository.startsWith('sigs/')),
      },
    }),
    createCa('imgverify cluster pull secrets CA'),
    startKubeApi({ namespaces: ['default', NS, 'team-a', 'team-b', 'team-c'] }),
  ]);
  const sigstore = createTestSigstore();
  const pushed = await pushTestImage(registry, 'private/app', 'v1');
  await pushSignatures(registry, 'private/app', pushed.digest, [sigstore.signImage({ digest: pushed.digest, identity: { email: SIGNER }, issuer: ISSUER })]);
  image = `${registry.host}/private/app:v1`;
  // Signatures in another repository, which only the policy's signaturePullSecrets can read.
  const other = await pushTestImage(registry, 'sourced/app', 'v1');
  await pushSignatures(registry, 'sigs/sourced', other.digest, [sigstore.signImage({ digest: other.digest, identity: { email: SIGNER }, issuer: ISSUER })]);
  sourced = `${registry.host}/sourced/app:v1`;
  caChain = sigstore.trustedRoot.certificateAuthorities[0]!.certChain.certificates.map(
    (c) => `-----BEGIN CERTIFICATE-----\n${c.rawBytes.match(/.{1,64}/g)!.join('\n')}\n-----END CERTIFICATE-----\n`,
  ).join('');
  const cert = await issueServerCert(ca);
  writeFileSync(join(work, 'tls.crt'), cert.certPem);
  writeFileSync(join(work, 'tls.key'), cert.keyPem);
  writeFileSync(join(work, 'trusted_root.json'), JSON.stringify(sigstore.trustedRoot));
  webhookIdentity = serviceAccountIdentity(deployManifests(), NS, 'imgverify-webhook');
  api.store.create(api.store.type('clusterimagepolicies.policy.sigstore.dev'), undefined, {
    apiVersion: 'policy.sigstore.dev/v1beta1',
    kind: 'ClusterImagePolicy',
    metadata: { name: 'private' },
    spec: { images: [{ glob: `${registry.host}/private/**` }], authorities: [{ name: 'ci', keyless: { identities: [{ issuer: ISSUER, subject: SIGNER }] } }] },
  });
});

afterAll(async () => {
  await Promise.all(running.map(async ({ process, client }) => (await client.close(), await process.stop())));
  await closePushers();
  await Promise.all([registry?.stop(), api?.stop()]);
  if (work) rmSync(work, { recursive: true, force: true });
});

/** The webhook in cluster mode, as `identity` (default: what deploy/rbac.yaml grants it). */
async function webhook(identity: Identity = webhookIdentity): Promise<WebhookClient> {
  const kubeconfig = writeKubeconfig(join(work, `kubeconfig-${running.length}`), api, api.token(identity), NS);
  const process = await startWebhookProcess([
    '--tls-cert',
    join(work, 'tls.crt'),
    '--tls-key',
    join(work, 'tls.key'),
    '--trusted-root',
    join(work, 'trusted_root.json'),
    '--kubeconfig',
    kubeconfig,
    '--timeout',
    '5s',
    '--log-level',
    'debug',
  ]);
  const client = new WebhookClient(`https://127.0.0.1:${process.port}`, ca.certPem);
  running.push({ process, client });
  await eventually(async () => (await client.get('/readyz')).status === 200, 20_000, 'the webhook reads its policies from the cluster');
  return client;
}

function pod(namespace: string, spec: Json, kind: 'Pod' | 'Deployment' = 'Pod', containers = [image]) {
  const object = workload(kind, { containers });
  const podSpec = kind === 'Pod' ? object.spec : (object.spec as Json).template.spec;
  Object.assign(podSpec, spec);
  (object.metadata as Json).namespace = namespace;
  const review = admissionReview(kind, 'CREATE', object);
  review.request.namespace = namespace;
  return review;
}

function dockerSecret(name: string, credentials: { username: string; password: string }): Json {
  return { metadata: { name }, ...dockerConfigSecret({ [registry.host]: credentials }) };
}

test("a Pod's pull secret read from the cluster, created while the webhook runs (within the 5 s a missing one is kept); only get, only what the object names", async () => {
  const client = await webhook();
  const review = () => pod('team-a', { imagePullSecrets: [{ name: 'regcred' }] });
  const first = await client.review('/validate', review());
  expect(first.allowed).toBe(false);
  expect(first.status?.message).toContain('Secret team-a/regcred does not exist');

  api.store.create(secrets(), 'team-a', dockerSecret('regcred', puller));
  await eventually(async () => (await client.review('/validate', review())).allowed, 15_000, 'the created pull secret is used');

  // The webhook read single objects in team-a (get), never listed or watched its Secrets.
  const teamA = api.requests.filter((r) => r.path.startsWith('/api/v1/namespaces/team-a/'));
  expect(teamA.length).toBeGreaterThan(0);
  // (A 404 is recorded without its verb.)
  expect(teamA.every((r) => r.method === 'GET' && (r.verb === undefined || r.verb === 'get') && r.query.watch === undefined)).toBe(true);
  expect(new Set(teamA.map((r) => r.path))).toEqual(
    new Set(['/api/v1/namespaces/team-a/secrets/regcred', '/api/v1/namespaces/team-a/serviceaccounts/default']),
  );
  expect(teamA.every((r) => r.status === 200 || r.status === 404)).toBe(true);
});

test("a Deployment's ServiceAccount's imagePullSecrets, in its own namespace only", async () => {
  const client = await webhook();
  api.store.create(secrets(), 'team-b', dockerSecret('builder-pull', puller));
  api.store.create(accounts(), 'team-b', { metadata: { name: 'builder' }, imagePullSecrets: [{ name: 'builder-pull' }] });
  expect((await client.review('/validate', pod('team-b', { serviceAccountName: 'builder' }, 'Deployment'))).allowed).toBe(true);
  // The same names in another namespace find nothing there.
  const elsewhere = await client.review('/validate', pod('team-a', { serviceAccountName: 'builder' }, 'Deployment'));
  expect(elsewhere.allowed).toBe(false);
  expect(elsewhere.status?.message).toContain('ServiceAccount team-a/builder does not exist');
});

test('without the RBAC rule for Secrets and ServiceAccounts the reads are refused (403), named in the denial', async () => {
  const rules = webhookIdentity.rules === 'admin' ? [] : webhookIdentity.rules;
  const withoutPullSecrets: Identity = {
    ...webhookIdentity,
    rules: rules.filter((r) => !(r.resources.includes('serviceaccounts') && r.namespace === undefined)),
  };
  expect((withoutPullSecrets.rules as readonly unknown[]).length).toBe(rules.length - 1);
  const client = await webhook(withoutPullSecrets);
  api.store.create(secrets(), 'team-b', dockerSecret('regcred', puller));
  const answer = await client.review('/validate', pod('team-b', { imagePullSecrets: [{ name: 'regcred' }] }));
  expect(answer.allowed).toBe(false);
  expect(answer.status?.message).toMatch(/Secret team-b\/regcred cannot be read: get \/api\/v1\/namespaces\/team-b\/secrets\/regcred: .*forbidden/i);
});

test("a policy's signaturePullSecrets, read from the cluster in the Pod's namespace; policy-controller's valid-keyless-with-source.yaml loads where its Secret exists", async () => {
  const cips = api.store.type('clusterimagepolicies.policy.sigstore.dev');
  api.store.create(cips, undefined, {
    apiVersion: 'policy.sigstore.dev/v1beta1',
    kind: 'ClusterImagePolicy',
    metadata: { name: 'sourced' },
    spec: {
      images: [{ glob: `${registry.host}/sourced/**` }],
      authorities: [
        {
          name: 'ci',
          keyless: { identities: [{ issuer: ISSUER, subject: SIGNER }] },
          source: [{ oci: `${registry.host}/sigs/sourced`, signaturePullSecrets: [{ name: 'sig-creds' }] }],
        },
      ],
    },
  });
  // policy-controller's corpus policy: its ca-cert Secret in the webhook's namespace, its
  // signaturePullSecrets (examplePullSecret) read at admission in the object's namespace.
  api.store.create(secrets(), NS, { metadata: { name: 'ca-cert-secret' }, stringData: { 'ca.pem': caChain } });
  api.store.create(
    cips,
    undefined,
    parseYaml(readFileSync(fixturePath('policy-controller', 'test', 'testdata', 'policy-controller', 'valid', 'valid-keyless-with-source.yaml'), 'utf8')),
    'v1alpha1',
  );
  const client = await webhook();
  const ready = (name: string) => api.store.get(cips, undefined, name)?.status?.conditions?.find((c: Json) => c.type === 'Ready')?.status;
  await eventually(() => ready('sourced') === 'True' && ready('image-policy') === 'True', 15_000, 'both policies Ready');

  api.store.create(secrets(), 'team-c', dockerSecret('regcred', puller));
  const review = () => pod('team-c', { imagePullSecrets: [{ name: 'regcred' }] }, 'Pod', [sourced]);
  const first = await client.review('/validate', review());
  expect(first.allowed).toBe(false);
  expect(first.status?.message).toContain('Secret team-c/sig-creds does not exist');
  // The Pod's own pull secret (puller) cannot read the signature repository; the policy's Secret can.
  api.store.create(secrets(), 'team-c', dockerSecret('sig-creds', sigReader));
  await eventually(async () => (await client.review('/validate', review())).allowed, 15_000, 'the created signature pull secret is used');
  const reads = new Set(api.requests.filter((r) => r.path.startsWith('/api/v1/namespaces/team-c/')).map((r) => `${r.method} ${r.path}`));
  expect(reads).toEqual(
    new Set([
      'GET /api/v1/namespaces/team-c/secrets/regcred',
      'GET /api/v1/namespaces/team-c/serviceaccounts/default',
      'GET /api/v1/namespaces/team-c/secrets/sig-creds',
    ]),
  );
  // Apply-time validation lets such a policy through.
  const object = { ...api.store.get(cips, undefined, 'sourced'), metadata: { name: 'sourced-again' } };
  const base = admissionReview('Pod', 'CREATE', object);
  const policyReview = {
    ...base,
    request: {
      ...base.request,
      kind: { group: 'policy.sigstore.dev', version: 'v1beta1', kind: 'ClusterImagePolicy' },
      resource: { group: 'policy.sigstore.dev', version: 'v1beta1', resource: 'clusterimagepolicies' },
      namespace: undefined,
    },
  };
  const applied = await client.review('/validate', policyReview);
  expect(applied.status?.message).toBeUndefined();
  expect(applied.allowed).toBe(true);
});
