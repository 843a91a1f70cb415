/**
 * The webhook as users run it: the built CLI (`dist/cli/main.js webhook`, from `npm run
 * build`) as a real process, with registry credentials from a docker config.json against a
 * registry that requires them; and `imgverify policy test` for people writing policies.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { runCli } from '../../support/cli';
import {
  closePushers,
  createCa,
  credentialProviderConfigYaml,
  installCredentialProviderPlugin,
  issueServerCert,
  startRegistry,
  type RunningRegistry,
  type TestCa,
} from '../../support/registry';
import { pushSignatures, pushTestImage } from '../../support/signed-images';
import { createTestSigstore, type TestSigstore } from '../../support/sigstore';
import { admissionReview, applyPatch, policyYaml, startWebhookProcess, WebhookClient, workload, writeConfigMap, type WebhookProcess } from './helpers';

const ISSUER = 'https://accounts.example.test';
const SIGNER = 'release@example.test';

let registry: RunningRegistry;
let sigstore: TestSigstore;
let ca: TestCa;
let work: string;
let policies: string;
let files: { root: string; cert: string; key: string; dockerConfig: string };
let signed: { ref: string; digest: string };
let unsigned: { ref: string; digest: string };

beforeAll(async () => {
  work = mkdtempSync(join(tmpdir(), 'imgverify-webhook-cli-'));
  [registry, ca] = await Promise.all([startRegistry({ auth: 'htpasswd' }), createCa('imgverify webhook CLI test CA')]);
  sigstore = createTestSigstore();
  const cert = await issueServerCert(ca);
  files = { root: join(work, 'trusted_root.json'), cert: join(work, 'tls.crt'), key: join(work, 'tls.key'), dockerConfig: join(work, 'config.json') };
  writeFileSync(files.root, JSON.stringify(sigstore.trustedRoot));
  writeFileSync(files.cert, cert.certPem);
  writeFileSync(files.key, cert.keyPem);
  const { username, password } = registry.pushCredentials!;
  writeFileSync(files.dockerConfig, JSON.stringify({ auths: { [registry.host]: { auth: Buffer.from(`${username}:${password}`).toString('base64') } } }));

  const a = await pushTestImage(registry, 'cli/signed', 'v1');
  await pushSignatures(registry, 'cli/signed', a.digest, [sigstore.signImage({ digest: a.digest, identity: { email: SIGNER }, issuer: ISSUER })]);
  signed = { ref: `${registry.host}/cli/signed:v1`, digest: a.digest };
  const b = await pushTestImage(registry, 'cli/unsigned', 'v1');
  unsigned = { ref: `${registry.host}/cli/unsigned:v1`, digest: b.digest };

  policies = join(work, 'policies');
  writeConfigMap(policies, {
    'release.yaml': policyYaml(
      'release',
      [`${registry.host}/cli/**`],
      [
        { name: 'frozen', static: { action: 'fail', message: 'not this one' } },
        { name: 'ci', keyless: { identities: [{ issuer: ISSUER, subject: SIGNER }] } },
      ],
    ),
  });
});

afterAll(async () => {
  await closePushers();
  await registry?.stop();
  if (work) rmSync(work, { recursive: true, force: true });
});

describe('imgverify webhook (built CLI process)', () => {
  let child: WebhookProcess | undefined;
  afterEach(() => {
    if (child && child.child.exitCode === null) child.child.kill('SIGKILL');
  });

  test('serves admission over TLS with credentials from the docker config, and stops on SIGTERM', async () => {
    child = await startWebhookProcess([
      '--policies',
      policies,
      '--tls-cert',
      files.cert,
      '--tls-key',
      files.key,
      '--trusted-root',
      files.root,
      '--docker-config',
      files.dockerConfig,
      '--timeout',
      '5s',
      '--log-level',
      'debug',
    ]);
    const port = child.port;
    const client = new WebhookClient(`https://127.0.0.1:${port}`, ca.certPem);
    try {
      expect((await client.get('/readyz')).status).toBe(200);
      const pod = workload('Pod', { containers: [signed.ref] });
      const res = await client.review('/mutate', admissionReview('Pod', 'CREATE', pod));
      expect(res.allowed).toBe(true);
      const patched = applyPatch(pod, res.patch!) as { spec: { containers: Array<{ image: string }> } };
      expect(patched.spec.containers[0]!.image).toBe(`${signed.ref}@${signed.digest}`);

      const denied = await client.review('/validate', admissionReview('Deployment', 'CREATE', workload('Deployment', { containers: [unsigned.ref] })));
      expect(denied.allowed).toBe(false);
      expect(denied.status?.message).toContain(
        `${unsigned.ref} (${unsigned.digest}): policy "release": authority "frozen" (static): static: fail: not this one; authority "ci" (keyless): no signatures found`,
      );
    } finally {
      await client.close();
    }
    expect(await child.stop()).toBe(0);
    const stderr = child.stderr();
    expect(stderr).toContain('"msg":"shutting down"');
    // The registry password never appears in the logs.
    expect(stderr).not.toContain(registry.pushCredentials!.password);
    expect(stderr).not.toContain(Buffer.from(`${registry.pushCredentials!.username}:${registry.pushCredentials!.password}`).toString('base64'));
  });

  test('--registry-config (repeatable, mounted pull secrets): merged in order, and re-read when a Secret changes (issue 9.3)', async () => {
    const secretA = join(work, 'pull-secret-a');
    const secretB = join(work, 'pull-secret-b');
    const { username, password } = registry.pushCredentials!;
    const dockerconfigjson = (pw: string) => JSON.stringify({ auths: { [registry.host]: { auth: Buffer.from(`${username}:${pw}`).toString('base64') } } });
    // A names another registry only; B has a stale password for ours.
    writeConfigMap(secretA, { '.dockerconfigjson': JSON.stringify({ auths: { 'ghcr.io': { auth: Buffer.from('gh:x').toString('base64') } } }) });
    writeConfigMap(secretB, { '.dockerconfigjson': dockerconfigjson('stale') });
    child = await startWebhookProcess([
      '--policies',
      policies,
      '--tls-cert',
      files.cert,
      '--tls-key',
      files.key,
      '--trusted-root',
      files.root,
      '--timeout',
      '5s',
      '--log-level',
      'debug',
      '--registry-config',
      join(secretA, '.dockerconfigjson'),
      '--registry-config',
      join(secretB, '.dockerconfigjson'),
    ]);
    const port = child.port;
    const client = new WebhookClient(`https://127.0.0.1:${port}`, ca.certPem);
    try {
      const review = () => admissionReview('Pod', 'CREATE', workload('Pod', { containers: [signed.ref] }));
      const first = await client.review('/validate', review());
      expect(first.allowed).toBe(false);
      expect(first.status?.message).toContain('REGISTRY_AUTH_FAILED');
      // The Secret A is updated by the kubelet (..data swap) with the right credentials: A comes first.
      writeConfigMap(secretA, { '.dockerconfigjson': dockerconfigjson(password) });
      const deadline = Date.now() + 15_000;
      let allowed = false;
      while (!allowed && Date.now() < deadline) {
        await new Promise((r) => setTimeout(r, 200));
        allowed = (await client.review('/validate', review())).allowed;
      }
      expect(allowed).toBe(true);
      expect(child.stderr()).toContain('registry credential files changed');
      expect(child.stderr()).not.toContain(password);
    } finally {
      await client.close();
    }
  });

  test('without the credentials the registry refuses, and the image is denied with the reason', async () => {
    const res = await runCli(['policy', 'test', '--policies', policies, '--trusted-root', files.root, signed.ref]);
    expect(res.code).toBe(1);
    expect(res.stdout).toContain('[REGISTRY_AUTH_FAILED]');
  });
});

describe('imgverify policy test', () => {
  const args = () => ['policy', 'test', '--policies', policies, '--trusted-root', files.root, '--docker-config', files.dockerConfig];

  test('prints the verdict, the policy and the authority that decided, for each image', async () => {
    const stray = 'registry.example.test/other:v1';
    const res = await runCli([...args(), '--no-match', 'warn', signed.ref, unsigned.ref, stray]);
    expect(res.stderr).toBe('');
    expect(res.code).toBe(1);
    const lines = res.stdout.split('\n');
    expect(lines[0]).toBe(`1 policy from ${policies} (release.yaml)`);
    expect(res.stdout).toContain(
      `ALLOWED  ${signed.ref} (${signed.digest})\n  policy "release" (enforce): passed, decided by authority "ci" (keyless): verified: a signature by ${SIGNER} (issuer ${ISSUER})\n    (authority "frozen" (static) failed first: static: fail: not this one)`,
    );
    expect(res.stdout).toContain(
      `DENIED   ${unsigned.ref} (${unsigned.digest})\n  policy "release" (enforce): failed\n    authority "frozen" (static): static: fail: not this one\n    authority "ci" (keyless): no signatures found`,
    );
    expect(res.stdout).toContain(`WARNED   ${stray}\n  no policy matches (no-match setting: warn)`);
  });

  test('exit 0 when every image would be admitted; JSON output', async () => {
    const res = await runCli([...args(), '-o', 'json', signed.ref]);
    expect(res.code).toBe(0);
    const json = JSON.parse(res.stdout) as { policySetVersion: string; noMatch: string; decisions: Array<Record<string, unknown>> };
    expect(json.noMatch).toBe('deny');
    expect(json.policySetVersion).toMatch(/^sha256:/);
    expect(json.decisions).toEqual([
      expect.objectContaining({ image: signed.ref, verdict: 'allowed', digest: signed.digest, pinned: `${signed.ref}@${signed.digest}` }),
    ]);
    expect((json.decisions[0]!.policies as Array<Record<string, unknown>>)[0]).toMatchObject({ policy: 'release', passed: true, decidedBy: 'ci' });
  });

  test('policies that do not load: exit 2 with each error', async () => {
    const bad = join(work, 'bad-policies');
    writeConfigMap(bad, {
      'x.yaml': 'apiVersion: policy.sigstore.dev/v1beta1\nkind: ClusterImagePolicy\nmetadata: {name: x}\nspec: {images: [{glob: "**"}]}\n',
    });
    const res = await runCli(['policy', 'test', '--policies', bad, 'nginx']);
    expect(res.code).toBe(2);
    expect(res.stderr).toContain('error: x.yaml: document 0 (line 1): spec.authorities: missing field');
  });

  test('a Rekor URL no trust root lists does not load: exit 2 naming the field', async () => {
    const unknown = join(work, 'unknown-rekor');
    writeConfigMap(unknown, {
      'x.yaml': `apiVersion: policy.sigstore.dev/v1beta1\nkind: ClusterImagePolicy\nmetadata: {name: x}\nspec:\n  images: [{glob: "**"}]\n  authorities: [{keyless: {identities: [{issuer: a, subject: b}]}, ctlog: {url: "https://rekor.elsewhere.test"}}]\n`,
    });
    const res = await runCli(['policy', 'test', '--policies', unknown, '--trusted-root', files.root, 'nginx']);
    expect(res.code).toBe(2);
    expect(res.stderr).toContain(
      'error: x.yaml: document 0 (line 1): spec.authorities[0].ctlog.url: no trust root of the webhook lists the Rekor URL "https://rekor.elsewhere.test"',
    );
  });

  test("signaturePullSecrets (Secrets of an admitted object's namespace) cannot be read by policy test: exit 2 naming the field", async () => {
    const dir = join(work, 'signature-pull-secrets');
    writeConfigMap(dir, {
      'x.yaml': `apiVersion: policy.sigstore.dev/v1beta1\nkind: ClusterImagePolicy\nmetadata: {name: x}\nspec:\n  images: [{glob: "**"}]\n  authorities: [{keyless: {identities: [{issuer: a, subject: b}]}, source: [{oci: registry.example/sigs}, {signaturePullSecrets: [{name: sigs}]}]}]\n`,
    });
    const res = await runCli(['policy', 'test', '--policies', dir, '--trusted-root', files.root, 'nginx']);
    expect(res.code).toBe(2);
    expect(res.stderr).toContain(
      "error: x.yaml: document 0 (line 1): spec.authorities[0].source[1].signaturePullSecrets: policy test cannot read Secrets of the admitted object's namespace",
    );
  });

  test('an empty policy folder does not load (exit 2) unless --allow-empty-policies (issue 14.3)', async () => {
    const empty = join(work, 'empty-policies');
    writeConfigMap(empty, { 'release.yaml': '' });
    const res = await runCli(['policy', 'test', '--policies', empty, '--no-match', 'allow', 'nginx']);
    expect(res.code).toBe(2);
    expect(res.stderr).toContain('an empty policy set is refused');
    const allowed = await runCli(['policy', 'test', '--policies', empty, '--no-match', 'allow', '--allow-empty-policies', 'nginx']);
    expect(allowed.code).toBe(0);
    expect(allowed.stdout).toContain('no policy matches (no-match setting: allow)');
  });

  test('kubelet credential provider plugins (--image-credential-provider-config, --image-credential-provider-bin-dir) give the registry credentials', async () => {
    const bin = join(work, 'provider-bin');
    const plugin = installCredentialProviderPlugin(bin, 'registry-login', { auth: { [registry.host]: registry.pushCredentials! }, cacheKeyType: 'Registry' });
    const conf = join(work, 'credential-providers.yaml');
    writeFileSync(conf, credentialProviderConfigYaml([{ name: 'registry-login', matchImages: [registry.host], args: ['get-credentials'] }]));
    const res = await runCli([
      'policy',
      'test',
      '--policies',
      policies,
      '--trusted-root',
      files.root,
      '--image-credential-provider-config',
      conf,
      '--image-credential-provider-bin-dir',
      bin,
      signed.ref,
    ]);
    expect(res.stderr).toBe('');
    expect(res.code).toBe(0);
    expect(res.stdout).toContain(`ALLOWED  ${signed.ref} (${signed.digest})`);
    // Asked once, for the repository (the kubelet's image argument), with its configured args.
    expect(plugin.calls().map((c) => [c.request.image, c.argv])).toEqual([[`${registry.host}/cli/signed`, ['get-credentials']]]);
  });

  test('credential provider flags: both or neither; a bad configuration or a missing plugin is exit 2 naming it', async () => {
    const conf = join(work, 'bad-providers.yaml');
    const base = ['policy', 'test', '--policies', policies, '--trusted-root', files.root];
    const alone = await runCli([...base, '--image-credential-provider-config', conf, signed.ref]);
    expect(alone.code).toBe(2);
    expect(alone.stderr).toContain('--image-credential-provider-config and --image-credential-provider-bin-dir go together');
    writeFileSync(conf, credentialProviderConfigYaml([{ name: 'registry-login', matchImages: [registry.host], defaultCacheDuration: 'soon' }]));
    const bad = await runCli([...base, '--image-credential-provider-config', conf, '--image-credential-provider-bin-dir', work, signed.ref]);
    expect(bad.code).toBe(2);
    expect(bad.stderr).toContain(`credential provider config ${conf}: providers[0].defaultCacheDuration: not a duration`);
    writeFileSync(conf, credentialProviderConfigYaml([{ name: 'absent-plugin', matchImages: [registry.host] }]));
    const missing = await runCli([...base, '--image-credential-provider-config', conf, '--image-credential-provider-bin-dir', work, signed.ref]);
    expect(missing.code).toBe(2);
    expect(missing.stderr).toContain(`credential provider plugin executable ${join(work, 'absent-plugin')} does not exist`);
  });

  test('usage errors', async () => {
    expect((await runCli(['policy', 'test', 'nginx'])).code).toBe(2);
    expect((await runCli(['policy', 'frobnicate'])).code).toBe(2);
    expect((await runCli(['webhook', '--policies', policies])).stderr).toContain('--tls-cert is required');
    expect((await runCli(['webhook', '--policies', policies, '--tls-cert', files.cert, '--tls-key', files.key, '--no-match', 'maybe'])).code).toBe(2);
    expect((await runCli(['webhook', '--policies', policies, '--tls-cert', files.cert, '--tls-key', files.key, '--timeout', '45s'])).code).toBe(2);
    const delay = await runCli(['webhook', '--policies', policies, '--tls-cert', files.cert, '--tls-key', files.key, '--shutdown-delay', '2m']);
    expect(delay.code).toBe(2);
    expect(delay.stderr).toContain('--shutdown-delay must be at most 60s');
    const missingCert = await runCli(['webhook', '--policies', policies, '--tls-cert', join(work, 'none.crt'), '--tls-key', files.key, '--port', '0']);
    expect(missingCert.code).toBe(2);
    expect(missingCert.stderr).toContain('cannot load the TLS certificate');
  });
});
