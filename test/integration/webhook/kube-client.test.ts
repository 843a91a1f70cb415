/**
 * The Kubernetes client in the built package (dist/, from `npm run build`), in child processes
 * (client-node is ESM-only; jest runs CommonJS):
 * - importing `imgverify` and `imgverify/webhook`, and running the folder mode's loader, never
 *   loads `@kubernetes/client-node`; the cluster mode's one loader does (so the check can fail);
 * - the connection as controllers resolve it: in a Pod (service account token, CA and namespace
 *   files, KUBERNETES_SERVICE_HOST/PORT), from a kubeconfig and its context's namespace, the
 *   flags over both; refused without any, and for plain http to a non-loopback server.
 */
import { execFile } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { promisify } from 'node:util';
import type { Json } from '../../support/json';
import { startKubeApi, writeKubeconfig, writeServiceAccount, type RunningKubeApi } from '../../support/kube-api';

const DIST = resolve(__dirname, '..', '..', '..', 'dist');
let api: RunningKubeApi;
let work: string;

beforeAll(async () => {
  api = await startKubeApi({ namespaces: ['default', 'kube-system', 'from-pod', 'from-context'] });
  work = mkdtempSync(join(tmpdir(), 'imgverify-kube-client-'));
});

afterAll(async () => {
  await api?.stop();
  if (work) rmSync(work, { recursive: true, force: true });
});

/** Runs `script` (CommonJS, with DIST defined) in a child Node process; returns its JSON output. (Not synchronously: the emulated API server answers from this process.) */
async function child(script: string, env: NodeJS.ProcessEnv = {}): Promise<Json> {
  const { stdout } = await promisify(execFile)(process.execPath, ['-e', `const DIST = ${JSON.stringify(DIST)};\n${script}`], {
    env: { PATH: process.env.PATH, HOME: '/nonexistent', ...env },
    encoding: 'utf8',
    timeout: 30_000,
  });
  return JSON.parse(stdout.trim().split('\n').pop()!);
}

test('importing imgverify and imgverify/webhook, and the folder mode, never load @kubernetes/client-node; cluster mode does', async () => {
  const result = await child(`
    const { registerHooks } = require('node:module');
    const seen = [];
    registerHooks({ resolve(specifier, context, next) { if (specifier.startsWith('@kubernetes/client-node')) seen.push(specifier); return next(specifier, context); } });
    require(DIST + '/index.js');
    const webhook = require(DIST + '/webhook/index.js');
    (async () => {
      await webhook.loadPolicies(${JSON.stringify(work)});
      const before = seen.length;
      const k8s = await require(DIST + '/webhook/kube/client.js').loadKubernetesClient();
      console.log(JSON.stringify({ before, after: seen.length, hasKubeConfig: typeof k8s.KubeConfig }));
    })();
  `);
  expect(result).toEqual({ before: 0, after: 1, hasKubeConfig: 'function' });
});

describe('the connection', () => {
  const connect = (options: Json, env: NodeJS.ProcessEnv = {}): Promise<Json> =>
    child(
      `
      const { KubeApi } = require(DIST + '/webhook/kube/api.js');
      (async () => {
        try {
          const kube = await KubeApi.connect(${JSON.stringify(options)});
          const served = await kube.servedVersions('policy.sigstore.dev');
          const namespaces = (await kube.list({ group: '', version: 'v1', plural: 'namespaces', kind: 'Namespace', namespaced: false })).items.map((n) => n.metadata.name);
          console.log(JSON.stringify({ source: kube.source, namespace: kube.namespace, server: kube.server, served, namespaces }));
        } catch (err) {
          console.log(JSON.stringify({ code: err.code, error: err.message }));
        }
      })();
    `,
      env,
    );

  test('in a Pod: the service account token, CA and namespace', async () => {
    const root = join(work, 'pod');
    const { env } = writeServiceAccount(root, api, api.adminToken, 'from-pod');
    const result = await connect({ serviceAccountRoot: root, env }, env);
    expect(result).toMatchObject({ source: 'in-cluster', namespace: 'from-pod', server: `https://127.0.0.1:${api.port}` });
    expect(result.served.sort()).toEqual(['v1alpha1', 'v1beta1']);
    expect(result.namespaces).toContain('from-pod');
    // --namespace wins over the namespace file.
    expect(await connect({ serviceAccountRoot: root, env, namespace: 'other' }, env)).toMatchObject({ source: 'in-cluster', namespace: 'other' });
  });

  test('a kubeconfig (--kubeconfig, else $KUBECONFIG) and its context namespace win over the Pod', async () => {
    const root = join(work, 'pod-and-kubeconfig');
    const { env } = writeServiceAccount(root, api, 'wrong-token', 'from-pod');
    const file = writeKubeconfig(join(work, 'kubeconfig'), api, api.adminToken, 'from-context');
    expect(await connect({ serviceAccountRoot: root, kubeconfig: file, env: {} })).toMatchObject({
      source: `kubeconfig ${file}`,
      namespace: 'from-context',
      served: ['v1beta1', 'v1alpha1'],
    });
    expect(await connect({ serviceAccountRoot: root, env: { ...env, KUBECONFIG: `${join(work, 'absent')}:${file}` } })).toMatchObject({
      source: `kubeconfig ${file}`,
      namespace: 'from-context',
    });
    const noNamespace = writeKubeconfig(join(work, 'kubeconfig-no-ns'), api, api.adminToken);
    expect(await connect({ kubeconfig: noNamespace, env: {} })).toMatchObject({ namespace: 'imgverify-system' });
  });

  test('refused without any configuration, for a missing file, and for plain http to a remote server', async () => {
    expect(await connect({ env: {} })).toMatchObject({ code: 'INVALID_OPTIONS', error: expect.stringContaining('no Kubernetes API configuration') });
    expect(await connect({ kubeconfig: join(work, 'absent'), env: {} })).toMatchObject({
      code: 'INVALID_OPTIONS',
      error: expect.stringContaining('no such file'),
    });
    const http = join(work, 'kubeconfig-http');
    writeFileSync(
      http,
      JSON.stringify({
        apiVersion: 'v1',
        kind: 'Config',
        clusters: [{ name: 'c', cluster: { server: 'http://kube.example.test:8080' } }],
        users: [{ name: 'u', user: { token: 'secret' } }],
        contexts: [{ name: 'x', context: { cluster: 'c', user: 'u' } }],
        'current-context': 'x',
      }),
    );
    expect(await connect({ kubeconfig: http, env: {} })).toMatchObject({ code: 'INVALID_OPTIONS', error: expect.stringContaining('is not https') });
  });
});
