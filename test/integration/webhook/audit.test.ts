/**
 * `imgverify audit` and the webhook's `--audit-interval` as users run them: the built CLI as a
 * process against the emulated Kubernetes API (Pods with container statuses in the shapes real
 * runtimes write, policies as ClusterImagePolicy and ImagePolicy objects, pull secrets as
 * Secrets) and real registries with images signed by the private test Sigstore: verdicts per Pod
 * and per image, the running digest verified, the Pod's pull secrets used, OpenReports Reports
 * created and updated (through the shipped CRD's schema), a signature deleted from the registry
 * noticed by the next run (kyverno#7525), and the webhook's periodic audit with its metrics.
 */
import { generateKeyPairSync } from 'node:crypto';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { runBuiltCli } from '../../support/cli';
import type { Json } from '../../support/json';
import { deployManifests, serviceAccountIdentity, STANDARD_RESOURCES, startKubeApi, writeKubeconfig, type RunningKubeApi } from '../../support/kube-api';
import { closePushers, createCa, deleteManifest, issueServerCert, startRegistry, type RunningRegistry } from '../../support/registry';
import { pushSignedImage, type SignedTestImage } from '../../support/signed-images';
import { createTestSigstore, type TestSigstore } from '../../support/sigstore';
import { eventually, startWebhookProcess, WebhookClient, type WebhookProcess } from './helpers';

const ISSUER = 'https://accounts.example.test';
const SIGNER = 'release@example.test';
const NS = 'imgverify-system';

let registry: RunningRegistry;
let privateRegistry: RunningRegistry;
let sigstore: TestSigstore;
let api: RunningKubeApi;
let work: string;
let files: { root: string; kubeconfig: string; webhookKubeconfig: string; cert: string; key: string; caPem: string };
const releaseKeys = generateKeyPairSync('ec', { namedCurve: 'P-256' });

type Pushed = SignedTestImage;
const images: Record<'signed' | 'unsigned' | 'dual' | 'movingSigned' | 'revoked' | 'revokedLater' | 'private', Pushed> = {} as never;

function push(target: RunningRegistry, repo: string, tag: string, sign: 'keyless' | 'none' | 'both'): Promise<Pushed> {
  const keyless = { email: SIGNER, issuer: ISSUER };
  return pushSignedImage(target, sigstore, repo, tag, sign === 'none' ? {} : sign === 'keyless' ? { keyless } : { keyless, key: releaseKeys.privateKey });
}

const type = (name: string) => api.store.type(name);
const keyPem = () => releaseKeys.publicKey.export({ type: 'spki', format: 'pem' }).toString();

function policyObjects(): Json[] {
  return [
    {
      apiVersion: 'policy.sigstore.dev/v1beta1',
      kind: 'ClusterImagePolicy',
      metadata: { name: 'release' },
      spec: {
        images: [{ glob: `${registry.host}/audit/**` }, { glob: `${privateRegistry.host}/audit/**` }],
        authorities: [{ name: 'ci', keyless: { identities: [{ issuer: ISSUER, subject: SIGNER }] } }],
      },
    },
    {
      apiVersion: 'policy.imgverify.dev/v1alpha1',
      kind: 'ImagePolicy',
      metadata: { name: 'needs-key', namespace: 'team-a' },
      spec: { images: [{ glob: `${registry.host}/audit/**` }], authorities: [{ name: 'team-key', key: { data: keyPem() } }] },
    },
  ];
}

/** A Pod as the API server holds it once the kubelet reported its containers. */
function createPod(
  namespace: string,
  name: string,
  containers: Array<{ name: string; image: string; imageID?: string; init?: boolean }>,
  extra: { phase?: string; pullSecrets?: string[] } = {},
): void {
  const pods = type('pods');
  const spec = {
    ...(containers.some((c) => c.init) ? { initContainers: containers.filter((c) => c.init).map(({ name: n, image }) => ({ name: n, image })) } : {}),
    containers: containers.filter((c) => !c.init).map(({ name: n, image }) => ({ name: n, image })),
    ...(extra.pullSecrets ? { imagePullSecrets: extra.pullSecrets.map((n) => ({ name: n })) } : {}),
  };
  const created = api.store.create(pods, namespace, { apiVersion: 'v1', kind: 'Pod', metadata: { name, namespace }, spec });
  const statuses = (init: boolean) =>
    containers
      .filter((c) => !!c.init === init && c.imageID !== undefined)
      .map((c) => ({ name: c.name, image: c.image, imageID: c.imageID, ready: true, restartCount: 0 }));
  api.store.update(
    pods,
    namespace,
    name,
    { ...created, status: { phase: extra.phase ?? 'Running', initContainerStatuses: statuses(true), containerStatuses: statuses(false) } },
    'v1',
    { subresource: 'status' },
  );
}

beforeAll(async () => {
  work = mkdtempSync(join(tmpdir(), 'imgverify-audit-'));
  let ca;
  [registry, privateRegistry, api, ca] = await Promise.all([
    startRegistry(),
    startRegistry({ auth: 'htpasswd' }),
    startKubeApi({ namespaces: ['default', 'kube-system', NS, 'team-a', 'team-b'] }),
    createCa('imgverify audit test CA'),
  ]);
  sigstore = createTestSigstore();
  const cert = await issueServerCert(ca);
  files = {
    root: join(work, 'trusted_root.json'),
    kubeconfig: join(work, 'kubeconfig'),
    webhookKubeconfig: join(work, 'webhook-kubeconfig'),
    cert: join(work, 'tls.crt'),
    key: join(work, 'tls.key'),
    caPem: ca.certPem,
  };
  writeFileSync(files.root, JSON.stringify(sigstore.trustedRoot));
  writeFileSync(files.cert, cert.certPem);
  writeFileSync(files.key, cert.keyPem);
  // The CLI's user: a cluster admin. The webhook: exactly deploy/rbac.yaml plus deploy/audit/'s rules.
  writeKubeconfig(files.kubeconfig, api, api.adminToken);
  writeKubeconfig(files.webhookKubeconfig, api, api.token(serviceAccountIdentity(deployManifests('audit'), NS, 'imgverify-webhook')), NS);

  images.signed = await push(registry, 'audit/signed', 'v1', 'keyless');
  images.unsigned = await push(registry, 'audit/unsigned', 'v1', 'none');
  images.dual = await push(registry, 'audit/dual', 'v1', 'both');
  images.revoked = await push(registry, 'audit/revoked', 'v1', 'keyless');
  images.revokedLater = await push(registry, 'audit/revoked-later', 'v1', 'keyless');
  images.private = await push(privateRegistry, 'audit/private', 'v1', 'keyless');
  // A tag that moved: the running digest is signed, the tag now names an unsigned image.
  images.movingSigned = await push(registry, 'audit/moving', 'v1', 'keyless');
  await push(registry, 'audit/moving', 'v1', 'none');

  for (const o of policyObjects())
    api.store.create(
      type(o.kind === 'ImagePolicy' ? 'imagepolicies.policy.imgverify.dev' : 'clusterimagepolicies.policy.sigstore.dev'),
      o.metadata.namespace,
      o,
    );
  const { username, password } = privateRegistry.pushCredentials!;
  const dockerconfig = JSON.stringify({ auths: { [privateRegistry.host]: { auth: Buffer.from(`${username}:${password}`).toString('base64') } } });
  api.store.create(type('secrets'), 'team-b', {
    apiVersion: 'v1',
    kind: 'Secret',
    metadata: { name: 'regcred', namespace: 'team-b' },
    type: 'kubernetes.io/dockerconfigjson',
    data: { '.dockerconfigjson': Buffer.from(dockerconfig).toString('base64') },
  });

  // dockershim's shape (docker-pullable://), containerd's (repo@digest) and an image ID alone.
  createPod('team-a', 'a-signed', [{ name: 'app', image: images.signed.ref, imageID: `docker-pullable://${images.signed.at}` }]);
  createPod('team-a', 'a-dual', [{ name: 'app', image: images.dual.ref, imageID: images.dual.at }]);
  createPod('team-b', 'multi', [
    { name: 'init', image: images.signed.ref, imageID: images.signed.at, init: true },
    { name: 'app', image: images.dual.ref, imageID: images.dual.at },
    { name: 'sidecar', image: images.unsigned.ref, imageID: images.unsigned.at },
  ]);
  createPod('team-b', 'moved', [{ name: 'app', image: images.movingSigned.ref, imageID: images.movingSigned.at }]);
  createPod('team-b', 'private', [{ name: 'app', image: images.private.ref, imageID: images.private.at }], { pullSecrets: ['regcred'] });
  createPod('team-b', 'revoked', [{ name: 'app', image: images.revoked.ref, imageID: images.revoked.at }]);
  createPod('team-b', 'local', [{ name: 'app', image: `${images.signed.at}`, imageID: `sha256:${'c'.repeat(64)}` }]);
  createPod('default', 'done', [{ name: 'app', image: images.unsigned.ref, imageID: images.unsigned.at }], { phase: 'Succeeded' });
}, 120_000);

afterAll(async () => {
  await closePushers();
  await Promise.all([registry?.stop(), privateRegistry?.stop(), api?.stop()]);
  if (work) rmSync(work, { recursive: true, force: true });
});

const audit = (args: string[] = []) => runBuiltCli(['audit', '--kubeconfig', files.kubeconfig, '--trusted-root', files.root, ...args], {}, 120_000);

interface AuditJson {
  pods: Array<{
    namespace: string;
    name: string;
    verdict: string;
    images: Array<{ container: string; image: string; source: string; note?: string; decision: { verdict: string; reason?: string } }>;
  }>;
  skipped: number;
  summary: { pods: Record<string, number>; images: Record<string, number> };
  reports?: { written: number; unchanged: number; failed: unknown[] };
}

function verdicts(json: AuditJson): Record<string, string> {
  return Object.fromEntries(json.pods.map((p) => [`${p.namespace}/${p.name}`, p.verdict]));
}

const EXPECTED = {
  'team-a/a-signed': 'denied', // the cluster's policy passes; team-a's ImagePolicy wants the key
  'team-a/a-dual': 'allowed',
  'team-b/multi': 'denied', // its sidecar is unsigned
  'team-b/moved': 'allowed', // runs the signed digest, though its tag moved to an unsigned one
  'team-b/private': 'allowed', // read with the Pod's imagePullSecrets
  'team-b/revoked': 'allowed',
  'team-b/local': 'allowed', // an image ID alone: the spec (pinned) is verified
};

test("the cluster's policies and the images Pods run: a verdict per Pod and per image; exit 1", async () => {
  const res = await audit(['-o', 'json']);
  expect(res.stderr).toBe('');
  expect(res.code).toBe(1);
  const json = JSON.parse(res.stdout) as AuditJson;
  expect(verdicts(json)).toEqual(EXPECTED);
  expect(json.skipped).toBe(1);
  const multi = json.pods.find((p) => p.name === 'multi')!;
  expect(multi.images.map((i) => [i.container, i.source, i.decision.verdict])).toEqual([
    ['init', 'imageID', 'allowed'],
    ['app', 'imageID', 'allowed'],
    ['sidecar', 'imageID', 'denied'],
  ]);
  expect(multi.images[2]!.decision.reason).toContain('no signatures found');
  const moved = json.pods.find((p) => p.name === 'moved')!;
  expect(moved.images[0]!.image).toBe(`${images.movingSigned.ref}@${images.movingSigned.digest}`);
  expect(json.pods.find((p) => p.name === 'local')!.images[0]).toMatchObject({ source: 'spec', note: expect.stringContaining('local image ID') });
  expect(json.pods.find((p) => p.name === 'a-signed')!.images[0]!.decision.reason).toContain('policy "team-a/needs-key"');
});

test("the table; --namespace narrows to one namespace; a policy folder instead of the cluster's gives the same verdicts", async () => {
  const res = await audit(['--namespace', 'team-a']);
  expect(res.code).toBe(1);
  const lines = res.stdout.split('\n');
  expect(lines[0]).toMatch(/^NAMESPACE\s+POD\s+IMAGE\s+VERDICT\s+WHY$/);
  expect(lines.filter((l) => l.startsWith('team-b'))).toEqual([]);
  expect(res.stdout).toMatch(
    new RegExp(`^team-a\\s+a-dual\\s+${images.dual.ref.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}@sha256:[0-9a-f]{64}\\s+ALLOWED\\s+release: verified`, 'm'),
  );
  expect(res.stdout).toMatch(/^team-a\s+a-signed\s+\S+\s+DENIED\s+.*team-a\/needs-key/m);
  expect(res.stdout).toContain('2 pods (1 allowed, 0 warned, 1 denied)');

  const folder = join(work, 'policies');
  mkdirSync(folder, { recursive: true });
  writeFileSync(
    join(folder, 'policies.yaml'),
    policyObjects()
      .map((o) => JSON.stringify(o))
      .join('\n---\n'),
  );
  const fromFolder = await audit(['--policies', folder, '-o', 'json']);
  expect(fromFolder.code).toBe(1);
  expect(verdicts(JSON.parse(fromFolder.stdout) as AuditJson)).toEqual(EXPECTED);
});

test("without the Pod's pull secrets the private image cannot be read: the same image in another Pod is denied with why", async () => {
  createPod('team-a', 'no-secret', [{ name: 'app', image: images.private.ref, imageID: `${images.private.at}` }]);
  try {
    const json = JSON.parse((await audit(['-o', 'json'])).stdout) as AuditJson;
    expect(verdicts(json)['team-b/private']).toBe('allowed');
    const noSecret = json.pods.find((p) => p.name === 'no-secret')!;
    expect(noSecret.verdict).toBe('denied');
    expect(noSecret.images[0]!.decision.reason).toMatch(/REGISTRY_AUTH_FAILED|401|unauthorized/i);
  } finally {
    api.store.delete(type('pods'), 'team-a', 'no-secret');
  }
});

test('--write-reports: one OpenReports Report per namespace, one result per Pod; the next run updates them and notices a deleted signature (kyverno#7525)', async () => {
  const reports = type('reports.openreports.io');
  const first = await audit(['--write-reports', '-o', 'json']);
  expect(first.code).toBe(1);
  expect((JSON.parse(first.stdout) as AuditJson).reports).toEqual({ written: 2, unchanged: 0, failed: [] });
  const teamB = api.store.get(reports, 'team-b', 'imgverify-images');
  expect(teamB).toMatchObject({
    apiVersion: 'openreports.io/v1alpha1',
    kind: 'Report',
    source: 'imgverify',
    summary: { pass: 4, fail: 1, warn: 0, error: 0, skip: 0 },
  });
  expect(teamB.metadata.labels).toMatchObject({ 'app.kubernetes.io/managed-by': 'imgverify' });
  const multi = (teamB.results as Json[]).find((r) => r.resources[0].name === 'multi');
  expect(multi).toMatchObject({
    result: 'fail',
    policy: 'release',
    rule: 'verify-images',
    source: 'imgverify',
    resources: [{ apiVersion: 'v1', kind: 'Pod', name: 'multi', namespace: 'team-b' }],
  });
  expect(multi.message).toMatch(/^1 of 3 images denied\./);
  expect(multi.properties).toMatchObject({
    'image.initContainers.init': expect.stringMatching(/^allowed /),
    'image.containers.app': expect.stringMatching(/^allowed /),
    'image.containers.sidecar': expect.stringMatching(/^denied /),
    'reason.containers.sidecar': expect.stringContaining('no signatures found'),
  });
  expect(api.store.get(reports, 'team-a', 'imgverify-images').summary).toMatchObject({ pass: 1, fail: 1 });
  // A run that finds the same writes nothing.
  expect((JSON.parse((await audit(['--write-reports', '-o', 'json'])).stdout) as AuditJson).reports).toEqual({ written: 0, unchanged: 2, failed: [] });

  // The signature of a running image is deleted from the registry; a Pod goes away.
  await deleteManifest(registry, images.revoked.repo, images.revoked.signature!);
  api.store.delete(type('pods'), 'team-a', 'a-signed');
  const second = await audit(['--write-reports', '-o', 'json']);
  const json = JSON.parse(second.stdout) as AuditJson;
  expect(verdicts(json)['team-b/revoked']).toBe('denied');
  expect(json.pods.find((p) => p.name === 'revoked')!.images[0]!.decision.reason).toContain('no signatures found');
  const updated = api.store.get(reports, 'team-b', 'imgverify-images');
  expect(updated.summary).toMatchObject({ pass: 3, fail: 2 });
  expect((updated.results as Json[]).find((r) => r.resources[0].name === 'revoked').result).toBe('fail');
  expect((api.store.get(reports, 'team-a', 'imgverify-images').results as Json[]).map((r) => r.resources[0].name)).toEqual(['a-dual']);
  createPod('team-a', 'a-signed', [{ name: 'app', image: images.signed.ref, imageID: `docker-pullable://${images.signed.at}` }]);
});

test('--write-reports without the Report CRD, and usage errors: exit 2 naming the problem', async () => {
  const bare = await startKubeApi({ namespaces: ['default'], resources: STANDARD_RESOURCES });
  try {
    const kubeconfig = writeKubeconfig(join(work, 'bare-kubeconfig'), bare, bare.adminToken);
    const folder = join(work, 'bare-policies');
    mkdirSync(folder, { recursive: true });
    writeFileSync(join(folder, 'policies.yaml'), JSON.stringify(policyObjects()[0]));
    const res = await runBuiltCli(['audit', '--kubeconfig', kubeconfig, '--policies', folder, '--trusted-root', files.root, '--write-reports']);
    expect(res.code).toBe(2);
    expect(res.stderr).toContain('deploy/openreports/crd-report.yaml');
  } finally {
    await bare.stop();
  }
  expect((await runBuiltCli(['audit', '--concurrency', '0'])).code).toBe(2);
  expect((await runBuiltCli(['audit', 'extra'])).code).toBe(2);
});

describe('the webhook audits continuously (--audit-interval)', () => {
  let webhook: WebhookProcess | undefined;
  afterAll(async () => webhook?.stop());

  test('every interval, apart from admissions: metrics, Reports, and a signature deleted meanwhile turns the next run to fail', async () => {
    createPod('team-b', 'later', [{ name: 'app', image: images.revokedLater.ref, imageID: `${images.revokedLater.at}` }]);
    webhook = await startWebhookProcess([
      '--tls-cert',
      files.cert,
      '--tls-key',
      files.key,
      '--trusted-root',
      files.root,
      '--kubeconfig',
      files.webhookKubeconfig,
      '--audit-interval',
      '2s',
      '--write-reports',
      '--log-level',
      'info',
    ]);
    const client = new WebhookClient(`https://127.0.0.1:${webhook.port}`, files.caPem);
    const metric = async (line: RegExp): Promise<number | undefined> => {
      const text = (await client.get('/metrics')).text;
      const m = text.split('\n').find((l) => line.test(l));
      return m === undefined ? undefined : Number(m.split(' ').pop());
    };
    try {
      await eventually(async () => ((await metric(/^imgverify_audit_runs_total\{result="completed"\}/)) ?? 0) >= 1, 60_000, 'a first audit run');
      // Every running Pod of the cluster: team-a's 2 (a-signed denied), team-b's 6 (multi, and revoked since the test before, denied).
      expect(await metric(/^imgverify_audit_pods\{verdict="denied"\}/)).toBe(3);
      expect(await metric(/^imgverify_audit_pods\{verdict="allowed"\}/)).toBe(5);
      expect(await metric(/^imgverify_audit_last_run_timestamp_seconds /)).toBeGreaterThan(Date.now() / 1000 - 120);
      expect(await metric(/^imgverify_audit_last_run_duration_seconds /)).toBeGreaterThanOrEqual(0);
      const later = () =>
        (api.store.get(type('reports.openreports.io'), 'team-b', 'imgverify-images').results as Json[]).find((r) => r.resources[0].name === 'later');
      await eventually(() => later()?.result === 'pass', 30_000, 'the Report lists Pod later as pass');

      await deleteManifest(registry, images.revokedLater.repo, images.revokedLater.signature!);
      await eventually(() => later()?.result === 'fail', 30_000, 'the next run reports the deleted signature');
      expect(later()!.message).toContain('no signatures found');
      await eventually(async () => (await metric(/^imgverify_audit_pods\{verdict="denied"\}/)) === 4, 30_000, 'the metrics follow');
      expect(await metric(/^imgverify_audit_runs_total\{result="failed"\}/)).toBeUndefined();
    } finally {
      await client.close();
    }
  });
});
