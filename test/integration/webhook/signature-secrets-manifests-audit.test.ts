/**
 * `authorities[].source[].signaturePullSecrets` outside admissions, through the same evaluation
 * (evaluateWorkload): signatures in a repository of registry B (htpasswd) that only the Secret
 * the policy's source names can read; the image on registry A (anonymous).
 *   - `policy test -f`: the Secret is read from the manifests (as the cluster would hold it once
 *     they are applied: stringData encoded into data); without it in the manifests, denied
 *     naming it; `policy test IMAGE` (no object, no namespace) refuses such a policy.
 *   - `imgverify audit --policies DIR`: the Secret is read from the cluster, in the Pod's
 *     namespace (a folder's policies used to be refused as for policy test IMAGE).
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { runBuiltCli } from '../../support/cli';
import { startKubeApi, writeKubeconfig, type RunningKubeApi } from '../../support/kube-api';
import { manifestYaml, yamlStream } from '../../support/manifests';
import { dockerConfigSecret } from '../../support/pull-secrets';
import { closePushers, startRegistry, type RunningRegistry } from '../../support/registry';
import { pushSignatures, pushTestImage } from '../../support/signed-images';
import { createTestSigstore } from '../../support/sigstore';
import { policyYaml, writeConfigMap } from './helpers';

const ISSUER = 'https://accounts.example.test';
const SIGNER = 'release@example.test';
const pusher = { username: 'pusher', password: 'pusher-pw' };
const sigReader = { username: 'sig-reader', password: 'sig-reader-pw' };

let a: RunningRegistry;
let b: RunningRegistry;
let api: RunningKubeApi;
let work: string;
let image: string;
let digest: string;

beforeAll(async () => {
  work = mkdtempSync(join(tmpdir(), 'imgverify-sig-secrets-audit-'));
  [a, b, api] = await Promise.all([
    startRegistry(),
    startRegistry({ auth: 'htpasswd', users: [pusher, sigReader] }),
    startKubeApi({ namespaces: ['default', 'team', 'other'] }),
  ]);
  const sigstore = createTestSigstore();
  const pushed = await pushTestImage(a, 'team/app', 'v1');
  digest = pushed.digest;
  image = `${a.host}/team/app:v1`;
  await pushSignatures(b, 'sigs/app', digest, [sigstore.signImage({ digest, identity: { email: SIGNER }, issuer: ISSUER })]);
  writeFileSync(join(work, 'trusted_root.json'), JSON.stringify(sigstore.trustedRoot));
  writeConfigMap(join(work, 'policies'), {
    'remote.yaml': policyYaml(
      'remote',
      [`${a.host}/team/**`],
      [
        {
          name: 'ci',
          keyless: { identities: [{ issuer: ISSUER, subject: SIGNER }] },
          source: [{ oci: `${b.host}/sigs/app`, signaturePullSecrets: [{ name: 'sig-creds' }] }],
        },
      ],
    ),
  });
  writeKubeconfig(join(work, 'kubeconfig'), api, api.adminToken);
}, 120_000);

afterAll(async () => {
  await closePushers();
  await Promise.all([a?.stop(), b?.stop(), api?.stop()]);
  if (work) rmSync(work, { recursive: true, force: true });
});

const policyTest = (args: string[], stdin?: string) =>
  runBuiltCli(
    ['policy', 'test', '--policies', join(work, 'policies'), '--trusted-root', join(work, 'trusted_root.json'), ...args],
    { DOCKER_CONFIG: '/nonexistent' },
    60_000,
    stdin,
  );

/** The Secret as a manifest writes it: stringData, as people write it by hand. */
function secretManifest(namespace: string): string {
  const config = JSON.stringify({ auths: { [b.host]: { auth: Buffer.from(`${sigReader.username}:${sigReader.password}`).toString('base64') } } });
  return `${JSON.stringify({ apiVersion: 'v1', kind: 'Secret', metadata: { name: 'sig-creds', namespace }, type: 'kubernetes.io/dockerconfigjson', stringData: { '.dockerconfigjson': config } })}\n`;
}

describe('policy test -f: the Secrets of the manifests', () => {
  test('with the Secret in the manifests the signatures are read and verified; without it, denied naming it', async () => {
    const pod = manifestYaml('Pod', 'app', { containers: [image] }, { namespace: 'team' });
    const withSecret = await policyTest(['-f', '-', '-o', 'json'], yamlStream([secretManifest('team'), pod]));
    expect(withSecret.stderr).not.toMatch(/error/i);
    expect(withSecret.code).toBe(0);
    const report = JSON.parse(withSecret.stdout);
    const object = report.objects.find((o: { kind: string }) => o.kind === 'Pod');
    expect(object).toMatchObject({ namespace: 'team', verdict: 'allowed', images: [{ image, decision: { verdict: 'allowed', digest } }] });

    // The Secret of another namespace does not count: Secrets are read in the object's namespace.
    const elsewhere = await policyTest(['-f', '-'], yamlStream([secretManifest('other'), pod]));
    expect(elsewhere.code).toBe(1);
    expect(elsewhere.stdout).toMatch(/DENIED/);
    expect(elsewhere.stdout).toMatch(/sig-creds/);
  });

  test('policy test IMAGE (no object, no namespace) refuses the policy, naming the field', async () => {
    const res = await policyTest([image]);
    expect(res.code).toBe(2);
    expect(res.stderr).toContain('spec.authorities[0].source[0].signaturePullSecrets: policy test cannot read Secrets');
  });
});

describe('imgverify audit --policies DIR: the Secrets of the cluster', () => {
  test("the Pod's namespace's Secret reads the signatures; a Pod of a namespace without it is denied", async () => {
    const store = api.store;
    const { type: t, data } = dockerConfigSecret({ [b.host]: sigReader }) as { type: string; data: Record<string, string> };
    store.create(store.type('secrets'), 'team', { apiVersion: 'v1', kind: 'Secret', metadata: { name: 'sig-creds', namespace: 'team' }, type: t, data });
    for (const namespace of ['team', 'other']) {
      const created = store.create(store.type('pods'), namespace, {
        apiVersion: 'v1',
        kind: 'Pod',
        metadata: { name: 'app', namespace },
        spec: { containers: [{ name: 'app', image }] },
      });
      store.update(
        store.type('pods'),
        namespace,
        'app',
        {
          ...created,
          status: { phase: 'Running', containerStatuses: [{ name: 'app', image, imageID: `${a.host}/team/app@${digest}`, ready: true, restartCount: 0 }] },
        },
        'v1',
        {
          subresource: 'status',
        },
      );
    }
    const res = await runBuiltCli(
      [
        'audit',
        '--kubeconfig',
        join(work, 'kubeconfig'),
        '--policies',
        join(work, 'policies'),
        '--trusted-root',
        join(work, 'trusted_root.json'),
        '-o',
        'json',
      ],
      { DOCKER_CONFIG: '/nonexistent' },
      120_000,
    );
    expect(res.stderr).not.toMatch(/do not load/);
    expect(res.code).toBe(1);
    const json = JSON.parse(res.stdout) as { pods: Array<{ namespace: string; verdict: string; images: Array<{ decision: { reason?: string } }> }> };
    expect(Object.fromEntries(json.pods.map((p) => [p.namespace, p.verdict]))).toEqual({ team: 'allowed', other: 'denied' });
    expect(json.pods.find((p) => p.namespace === 'other')!.images[0]!.decision.reason).toMatch(/sig-creds/);
  });
});
