/**
 * `npm run demo:audit`: the three commands of docs/audit.md against an emulated Kubernetes API
 * (test/support/kube-api) and real registries (Debian's docker-registry) with images signed by
 * the private test Sigstore, each run as a process of the built CLI, its real output printed:
 *
 *   imgverify policy test --policies DIR -f manifests.yaml      (and -f - from standard input)
 *   imgverify audit                                              (the cluster's policies)
 *   imgverify audit --write-reports                              (and the Report it wrote)
 *
 * The cluster: a ClusterImagePolicy (keyless, the release identity), team-a's ImagePolicy (its
 * key too), Pods whose container statuses report running digests in dockershim's and containerd's
 * shapes, a Pod pulling from a registry that needs its imagePullSecrets.
 */
import { spawn } from 'node:child_process';
import { generateKeyPairSync } from 'node:crypto';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, relative } from 'node:path';
import { stringify } from 'yaml';
import { PROJECT_ROOT } from '../test/support/fixtures';
import { startKubeApi, writeKubeconfig } from '../test/support/kube-api';
import { manifestYaml, yamlStream } from '../test/support/manifests';
import { closePushers, startRegistry, type RunningRegistry } from '../test/support/registry';
import { pushSignedImage } from '../test/support/signed-images';
import { createTestSigstore } from '../test/support/sigstore';

const ISSUER = 'https://accounts.example.test';
const SIGNER = 'release@example.test';
const CLI = join(PROJECT_ROOT, 'dist', 'cli', 'main.js');

/** Runs the built CLI as a process (asynchronously: the emulated API server answers from this one). */
function run(args: string[], cwd: string, stdin?: string): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, [CLI, ...args], { cwd, env: { PATH: process.env.PATH, HOME: '/nonexistent', DOCKER_CONFIG: '/nonexistent' } });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    child.stdin.end(stdin ?? '');
    child.on('close', (code) => resolve({ code: code ?? -1, stdout, stderr }));
  });
}

async function show(title: string, args: string[], cwd: string, stdin?: { text: string; from: string }): Promise<void> {
  console.log(`\n### ${title}\n$ ${stdin ? `${stdin.from} | ` : ''}imgverify ${args.join(' ')}`);
  const res = await run(args, cwd, stdin?.text);
  process.stdout.write(res.stdout);
  if (res.stderr) process.stdout.write(`${res.stderr.trimEnd().replace(/^/gm, '(stderr) ')}\n`);
  console.log(`(exit ${res.code})`);
}

async function main(): Promise<void> {
  const work = mkdtempSync(join(tmpdir(), 'imgverify-audit-demo-'));
  const registries: RunningRegistry[] = [];
  const api = await startKubeApi({ namespaces: ['default', 'kube-system', 'imgverify-system', 'team-a', 'team-b'] });
  try {
    const [registry, privateRegistry] = [await startRegistry(), await startRegistry({ auth: 'htpasswd' })];
    registries.push(registry, privateRegistry);
    const sigstore = createTestSigstore();
    const teamKey = generateKeyPairSync('ec', { namedCurve: 'P-256' });
    const keyless = { email: SIGNER, issuer: ISSUER };
    const push = (target: RunningRegistry, repo: string, sign: 'keyless' | 'none' | 'both') =>
      pushSignedImage(target, sigstore, repo, 'v1', sign === 'none' ? {} : sign === 'keyless' ? { keyless } : { keyless, key: teamKey.privateKey });
    const web = await push(registry, 'shop/web', 'both');
    const api2 = await push(registry, 'shop/api', 'keyless');
    const sidecar = await push(registry, 'shop/log-shipper', 'none');
    const billing = await push(privateRegistry, 'shop/billing', 'keyless');

    const root = join(work, 'trusted_root.json');
    writeFileSync(root, JSON.stringify(sigstore.trustedRoot));
    writeKubeconfig(join(work, 'kubeconfig'), api, api.adminToken);
    const policies = [
      {
        apiVersion: 'policy.sigstore.dev/v1beta1',
        kind: 'ClusterImagePolicy',
        metadata: { name: 'release' },
        spec: {
          images: [{ glob: `${registry.host}/shop/**` }, { glob: `${privateRegistry.host}/shop/**` }],
          authorities: [{ name: 'ci', keyless: { identities: [{ issuer: ISSUER, subject: SIGNER }] } }],
        },
      },
      {
        apiVersion: 'policy.imgverify.dev/v1alpha1',
        kind: 'ImagePolicy',
        metadata: { name: 'team-key', namespace: 'team-a' },
        spec: {
          images: [{ glob: `${registry.host}/shop/**` }],
          authorities: [{ name: 'team', key: { data: teamKey.publicKey.export({ type: 'spki', format: 'pem' }).toString() } }],
        },
      },
    ];
    const folder = join(work, 'policies');
    mkdirSync(folder);
    writeFileSync(join(folder, 'policies.yaml'), policies.map((p) => stringify(p)).join('---\n'));
    for (const p of policies)
      api.store.create(
        api.store.type(p.kind === 'ImagePolicy' ? 'imagepolicies.policy.imgverify.dev' : 'clusterimagepolicies.policy.sigstore.dev'),
        p.metadata.namespace,
        p,
      );

    // Manifests, as CI has them.
    const manifests = yamlStream([
      manifestYaml('Deployment', 'web', { containers: [web.ref], initContainers: [api2.ref] }, { namespace: 'team-b' }),
      manifestYaml('StatefulSet', 'api', { containers: [api2.ref, sidecar.ref] }, { namespace: 'team-b' }),
      manifestYaml('CronJob', 'report', { containers: [api2.ref] }, { namespace: 'team-a' }),
      'apiVersion: v1\nkind: Service\nmetadata: {name: web, namespace: team-b}\nspec: {ports: [{port: 80}]}\n',
    ]);
    writeFileSync(join(work, 'manifests.yaml'), manifests);

    // Running Pods, as the kubelet reports them.
    const { username, password } = privateRegistry.pushCredentials!;
    api.store.create(api.store.type('secrets'), 'team-b', {
      metadata: { name: 'regcred', namespace: 'team-b' },
      type: 'kubernetes.io/dockerconfigjson',
      data: {
        '.dockerconfigjson': Buffer.from(
          JSON.stringify({ auths: { [privateRegistry.host]: { auth: Buffer.from(`${username}:${password}`).toString('base64') } } }),
        ).toString('base64'),
      },
    });
    const pod = (namespace: string, name: string, containers: Array<[string, { ref: string; at: string }, string]>, pullSecrets?: string[]) => {
      const pods = api.store.type('pods');
      const created: unknown = api.store.create(pods, namespace, {
        metadata: { name, namespace },
        spec: {
          containers: containers.map(([n, img]) => ({ name: n, image: img.ref })),
          ...(pullSecrets ? { imagePullSecrets: pullSecrets.map((n) => ({ name: n })) } : {}),
        },
      });
      const containerStatuses = containers.map(([n, img, shape]) => ({
        name: n,
        image: img.ref,
        imageID: shape === 'docker' ? `docker-pullable://${img.at}` : img.at,
        ready: true,
        restartCount: 0,
      }));
      api.store.update(pods, namespace, name, { ...(created as Record<string, unknown>), status: { phase: 'Running', containerStatuses } }, 'v1', {
        subresource: 'status',
      });
    };
    pod('team-a', 'web-7d4b9', [['web', web, 'containerd']]);
    pod('team-a', 'api-0', [['api', api2, 'docker']]);
    pod('team-b', 'web-5f6c8', [
      ['web', web, 'containerd'],
      ['log-shipper', sidecar, 'containerd'],
    ]);
    pod('team-b', 'billing-0', [['billing', billing, 'containerd']], ['regcred']);

    console.log(`# registries ${registry.host} and ${privateRegistry.host} (the second needs credentials); Kubernetes API ${api.url} (emulated)`);
    const flags = ['--trusted-root', relative(work, root)];
    await show('manifests before they run', ['policy', 'test', '--policies', 'policies', '-f', 'manifests.yaml', ...flags], work);
    await show(
      'the same from standard input, as SARIF (GitHub code scanning)',
      ['policy', 'test', '--policies', 'policies', '-f', '-', '--stdin-filename', 'rendered/prod.yaml', '-o', 'sarif', ...flags],
      work,
      { text: manifests, from: 'kustomize build overlays/prod' },
    );
    await show('what runs', ['audit', '--kubeconfig', 'kubeconfig', ...flags], work);
    await show('what runs, with OpenReports Reports', ['audit', '--kubeconfig', 'kubeconfig', '--write-reports', ...flags], work);
    const report = api.store.get(api.store.type('reports.openreports.io'), 'team-b', 'imgverify-images') as { metadata: Record<string, unknown> };
    const { managedFields: _m, ...metadata } = report.metadata;
    console.log(`\n### kubectl get report -n team-b imgverify-images -o yaml\n${stringify({ ...report, metadata })}`);
  } finally {
    await closePushers();
    await Promise.all([...registries.map((r) => r.stop()), api.stop()]);
    rmSync(work, { recursive: true, force: true });
  }
}

main().catch((err: unknown) => {
  console.error(err);
  process.exitCode = 1;
});
