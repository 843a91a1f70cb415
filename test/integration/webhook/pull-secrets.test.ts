/**
 * Issue 18.2 end to end: the webhook reads an admitted object's images with the registry
 * credentials its Pods would pull with (the pod spec's imagePullSecrets, then its
 * ServiceAccount's, in its namespace), through real AdmissionReviews over TLS, against a real
 * registry whose token service requires credentials. Secrets and ServiceAccounts come from the
 * in-memory ObjectCredentialSource; they change while the webhook runs.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Logger, RunningWebhookServer } from '../../../src/webhook/server';
import { closePushers, createCa, issueServerCert, startRegistry, type RunningRegistry } from '../../support/registry';
import { dockerConfigSecret, MemoryObjectSource } from '../../support/pull-secrets';
import { pushSignatures, pushTestImage } from '../../support/signed-images';
import { createTestSigstore } from '../../support/sigstore';
import { admissionReview, policyYaml, startPullSecretWebhook, WebhookClient, workload, writeConfigMap } from './helpers';

const ISSUER = 'https://accounts.example.test';
const SIGNER = 'release@example.test';
const puller = { username: 'puller', password: 'puller-secret-pw' };
const stale = { username: 'puller', password: 'rotated-away-pw' };

let registry: RunningRegistry;
let work: string;
let server: RunningWebhookServer;
let client: WebhookClient;
let source: MemoryObjectSource;
let signed: { ref: string; digest: string };
const logs: string[] = [];
const log: Logger = (level, message, fields) => void logs.push(JSON.stringify({ level, message, fields }));

/** An AdmissionReview of `object` (a Pod unless said) in `namespace`. */
function review(spec: Record<string, unknown>, options: { namespace?: string; kind?: 'Pod' | 'Deployment' | 'CronJob'; image?: string } = {}) {
  const namespace = options.namespace ?? ns;
  const kind = options.kind ?? 'Pod';
  const object = workload(kind, { containers: [options.image ?? signed.ref] });
  const podSpec =
    kind === 'Pod'
      ? (object.spec as Record<string, unknown>)
      : kind === 'Deployment'
        ? (object.spec as { template: { spec: Record<string, unknown> } }).template.spec
        : (object.spec as { jobTemplate: { spec: { template: { spec: Record<string, unknown> } } } }).jobTemplate.spec.template.spec;
  Object.assign(podSpec, spec);
  const r = admissionReview(kind, 'CREATE', object);
  r.request.namespace = namespace;
  (object.metadata as Record<string, unknown>).namespace = namespace;
  return r;
}

beforeAll(async () => {
  work = mkdtempSync(join(tmpdir(), 'imgverify-pull-secrets-'));
  const ca = await createCa('imgverify pull secrets test CA');
  registry = await startRegistry({ auth: 'token', users: [{ username: 'pusher', password: 'pusher-pw' }, puller], token: { anonymousPull: false } });
  const sigstore = createTestSigstore();
  const pushed = await pushTestImage(registry, 'team/app', 'v1');
  await pushSignatures(registry, 'team/app', pushed.digest, [sigstore.signImage({ digest: pushed.digest, identity: { email: SIGNER }, issuer: ISSUER })]);
  signed = { ref: `${registry.host}/team/app:v1`, digest: pushed.digest };

  const cert = await issueServerCert(ca);
  writeFileSync(join(work, 'tls.crt'), cert.certPem);
  writeFileSync(join(work, 'tls.key'), cert.keyPem, { mode: 0o600 });
  writeFileSync(join(work, 'trusted_root.json'), JSON.stringify(sigstore.trustedRoot));
  writeConfigMap(join(work, 'policies'), {
    'release.yaml': policyYaml('release', [`${registry.host}/**`], [{ name: 'ci', keyless: { identities: [{ issuer: ISSUER, subject: SIGNER }] } }]),
  });

  source = new MemoryObjectSource();
  // A tag resolved with an object's pull secrets serves its scope for at most tagRefreshIntervalMs.
  server = await startPullSecretWebhook(work, source, { log, tagRefreshIntervalMs: 1000 });
  client = new WebhookClient(server.url, ca.certPem);
});

afterAll(async () => {
  await client?.close();
  await server?.close();
  await closePushers();
  await registry?.stop();
  if (work) rmSync(work, { recursive: true, force: true });
});

// Each test in a namespace of its own: the webhook keeps what it read (and verdicts under
// failures) per namespace, as it should, and tests must not see each other's.
let ns = '';
let namespaces = 0;
beforeEach(() => {
  ns = `team-${++namespaces}`;
  source.failure = undefined;
  source.reads.splice(0);
});

const wait = (ms: number) => new Promise((r) => setTimeout(r, ms));

describe('registry credentials of the admitted object', () => {
  it('a Pod without pull secrets is denied, saying where credentials were looked for', async () => {
    const answer = await client.review('/validate', review({}));
    expect(answer.allowed).toBe(false);
    expect(answer.status?.message).toContain('REGISTRY_AUTH_FAILED');
    expect(answer.status?.message).toContain(`pull secrets in ${ns}: the object names no imagePullSecrets; ServiceAccount ${ns}/default does not exist`);
  });

  it("a Pod's imagePullSecrets: admitted; the credential never appears in answers or logs", async () => {
    source.setSecret(ns, 'regcred', dockerConfigSecret({ [registry.host]: puller }));
    const answer = await client.review('/validate', review({ imagePullSecrets: [{ name: 'regcred' }] }));
    expect(answer.allowed).toBe(true);
    expect(JSON.stringify(answer)).not.toContain(puller.password);
    expect(logs.join('\n')).not.toContain(puller.password);
    expect(source.reads).toEqual([`Secret ${ns}/regcred`, `ServiceAccount ${ns}/default`]);
  });

  it.each(['Deployment', 'CronJob'] as const)("a %s's pod template's imagePullSecrets", async (kind) => {
    source.setSecret(ns, 'regcred', dockerConfigSecret({ [registry.host]: puller }));
    expect((await client.review('/validate', review({ imagePullSecrets: [{ name: 'regcred' }] }, { kind }))).allowed).toBe(true);
    expect((await client.review('/validate', review({}, { kind, image: `${registry.host}/team/app:v1` }))).allowed).toBe(false);
  });

  it('the ServiceAccount\'s imagePullSecrets (serviceAccountName, default "default")', async () => {
    source.setSecret(ns, 'builder-secret', dockerConfigSecret({ [registry.host]: puller }));
    source.setServiceAccount(ns, 'builder', { imagePullSecrets: [{ name: 'builder-secret' }] });
    const viaAccount = await client.review('/validate', review({ serviceAccountName: 'builder' }));
    expect(viaAccount.status?.message).toBeUndefined();
    expect(viaAccount.allowed).toBe(true);
    source.setServiceAccount(ns, 'default', { imagePullSecrets: [{ name: 'builder-secret' }] });
    expect((await client.review('/validate', review({}))).allowed).toBe(true);
  });

  it("only in the object's own namespace", async () => {
    source.setSecret(ns, 'regcred', dockerConfigSecret({ [registry.host]: puller }));
    const answer = await client.review('/validate', review({ imagePullSecrets: [{ name: 'regcred' }] }, { namespace: `${ns}-b` }));
    expect(answer.allowed).toBe(false);
    expect(answer.status?.message).toContain(`Secret ${ns}-b/regcred does not exist`);
  });

  it('a Secret the registry refuses gives way to the next, as the kubelet tries them', async () => {
    source.setSecret(ns, 'stale', dockerConfigSecret({ [registry.host]: stale }));
    source.setSecret(ns, 'regcred', dockerConfigSecret({ [registry.host]: puller }));
    expect((await client.review('/validate', review({ imagePullSecrets: [{ name: 'stale' }, { name: 'regcred' }] }))).allowed).toBe(true);
    const refused = await client.review('/validate', review({ imagePullSecrets: [{ name: 'stale' }] }));
    expect(refused.allowed).toBe(false);
    expect(refused.status?.message).toContain(`credentials: Secret ${ns}/stale`);
  });

  it("one object's credentials never serve another object's requests (tokens, sessions, in-flight evaluations)", async () => {
    source.setSecret(ns, 'regcred', dockerConfigSecret({ [registry.host]: puller }));
    const tag = `${registry.host}/team/app:v1`;
    const pinned = `${registry.host}/team/app@${signed.digest}`;
    // The same image, at the same moment, once with the pull secret and once without.
    const [withSecret, without, pinnedWithout] = await Promise.all([
      client.review('/validate', review({ imagePullSecrets: [{ name: 'regcred' }] }, { image: tag })),
      client.review('/validate', review({}, { image: tag })),
      client.review(
        '/validate',
        review({}, { namespace: `${ns}-b`, image: `${registry.host}/team/app@${signed.digest.replace(/.$/, (c) => (c === '0' ? '1' : '0'))}` }),
      ),
    ]);
    expect(withSecret.allowed).toBe(true);
    expect(without.allowed).toBe(false);
    expect(without.status?.message).toContain('REGISTRY_AUTH_FAILED');
    expect(pinnedWithout.allowed).toBe(false);
    // Afterwards too: the token obtained with the pull secret is not used for the tag of an object without it.
    const later = await client.review('/validate', review({}, { image: tag }));
    expect(later.allowed).toBe(false);
    expect(later.status?.message).toContain('REGISTRY_AUTH_FAILED');
    // A pass is about the signatures: an object naming the verified digest gets it from the
    // cache without reading the registry (the kubelet still needs its own credentials to pull).
    const cached = await client.review('/validate', review({}, { image: pinned }));
    expect(cached.allowed).toBe(true);
  });

  it('a refusal for missing credentials is never cached: a Secret created afterwards takes effect at once (after its not-found TTL)', async () => {
    const first = await client.review('/validate', review({ imagePullSecrets: [{ name: 'late' }] }));
    expect(first.allowed).toBe(false);
    expect(first.status?.message).toContain(`Secret ${ns}/late does not exist`);
    source.setSecret(ns, 'late', dockerConfigSecret({ [registry.host]: puller }));
    await wait(250);
    expect((await client.review('/validate', review({ imagePullSecrets: [{ name: 'late' }] }))).allowed).toBe(true);
  });

  it('a rotated Secret takes effect within its TTL and the tag refresh interval', async () => {
    source.setSecret(ns, 'regcred', dockerConfigSecret({ [registry.host]: puller }));
    expect((await client.review('/validate', review({ imagePullSecrets: [{ name: 'regcred' }] }))).allowed).toBe(true);
    source.setSecret(ns, 'regcred', dockerConfigSecret({ [registry.host]: stale }));
    // The Secret read is kept 400 ms, the tag resolved with it is used for at most 1000 ms.
    await wait(1050);
    const rotated = await client.review('/validate', review({ imagePullSecrets: [{ name: 'regcred' }] }));
    expect(rotated.allowed).toBe(false);
    expect(rotated.status?.message).toContain(`credentials: Secret ${ns}/regcred`);
  });

  it('an unreachable API server: the Secret is named as unreadable, and the image denied', async () => {
    source.failure = new Error('connect ECONNREFUSED 10.96.0.1:443');
    const answer = await client.review('/validate', review({ imagePullSecrets: [{ name: 'regcred' }] }));
    expect(answer.allowed).toBe(false);
    expect(answer.status?.message).toContain(`Secret ${ns}/regcred cannot be read: connect ECONNREFUSED 10.96.0.1:443`);
  });
});
