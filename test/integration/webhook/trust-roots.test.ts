/**
 * TrustRoot documents in the policy folder, end to end against a real registry: each form
 * (sigstoreKeys, remote TUF mirror over HTTP, repository tarball) loads and verifies an image
 * signed by the private test Sigstore; an image signed under the default trust ("public", the
 * stand-in for public-good) is refused under a policy that references only the private root,
 * and the reverse. A TrustRoot with a TSA and no log verifies timestamped, unlogged signatures.
 */
import { existsSync, mkdtempSync, readdirSync, readlinkSync, rmSync, symlinkSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createGzip } from 'node:zlib';
import { pack } from 'tar-stream';
import { trustRootFromJSON } from '../../../src';
import {
  loadPolicies,
  PolicyEvaluator,
  startWebhookServer,
  TrustRootSet,
  VerifierBackend,
  type ImageDecision,
  type Logger,
  type RunningWebhookServer,
} from '../../../src/webhook';
import { runCli } from '../../support/cli';
import { closePushers, startRegistry, type RunningRegistry } from '../../support/registry';
import { pushSignatures, pushTestImage } from '../../support/signed-images';
import { createTestSigstore, type CosignLayer, type TestSigstore } from '../../support/sigstore';
import { serveTufRepository, TestTufRepository, type ServedRepository } from '../../support/tuf';
import type { TestCa } from '../../support/registry';
import { writeFileSync } from 'node:fs';
import {
  b64,
  eventually,
  pem,
  policyYaml as webhookPolicyYaml,
  servingCertificate,
  sigstoreKeys,
  WebhookClient,
  writeConfigMap,
  type AuthoritySpec,
} from './helpers';

const SIGNER = 'release@example.test';
const ISSUER = 'https://accounts.example.test';

let registry: RunningRegistry;
let publicSigstore: TestSigstore;
let privateSigstore: TestSigstore;
let mirror: ServedRepository;
let tufRepo: TestTufRepository;
const images: Record<'public' | 'private' | 'githubStyle', string> = { public: '', private: '', githubStyle: '' };
let n = 0;

async function signed(sign: (digest: string) => CosignLayer[]): Promise<string> {
  const repo = `trustroots/app-${++n}`;
  const image = await pushTestImage(registry, repo, 'v1');
  await pushSignatures(registry, repo, image.digest, sign(image.digest));
  return `${registry.host}/${repo}:v1`;
}

beforeAll(async () => {
  registry = await startRegistry();
  publicSigstore = createTestSigstore({ organization: 'public.test' });
  privateSigstore = createTestSigstore({ organization: 'private.test' });
  images.public = await signed((digest) => [publicSigstore.signImage({ digest, identity: { email: SIGNER }, issuer: ISSUER })]);
  images.private = await signed((digest) => [privateSigstore.signImage({ digest, identity: { email: SIGNER }, issuer: ISSUER })]);
  images.githubStyle = await signed((digest) => [
    privateSigstore.signImage({ digest, identity: { email: SIGNER }, issuer: ISSUER, tlog: false, timestamp: true, defect: 'no-sct' }),
  ]);
  tufRepo = new TestTufRepository({ 'trusted_root.json': privateSigstore.trustedRoot });
  mirror = await serveTufRepository(tufRepo);
});
afterAll(async () => {
  await mirror?.stop();
  await closePushers();
  await registry?.stop();
});

async function mirrorFS(repo: TestTufRepository): Promise<string> {
  const tar = pack();
  for (const [path, bytes] of repo.files) tar.entry({ name: `repository/${path}` }, bytes);
  tar.finalize();
  const chunks: Buffer[] = [];
  await new Promise<void>((resolve, reject) => {
    const gz = tar.pipe(createGzip());
    gz.on('data', (d: Buffer) => chunks.push(d));
    gz.on('end', resolve);
    gz.on('error', reject);
  });
  return Buffer.concat(chunks).toString('base64');
}

function trustRootYaml(name: string, spec: Record<string, unknown>): string {
  return `${JSON.stringify({ apiVersion: 'policy.sigstore.dev/v1alpha1', kind: 'TrustRoot', metadata: { name }, spec }, null, 2)}\n`;
}

function policyYaml(name: string, authority: Omit<AuthoritySpec, 'name'>): string {
  return webhookPolicyYaml(name, [`${registry.host}/trustroots/**`], [{ name: 'signed', ...authority }]);
}

const keyless = (trustRootRef?: string) => ({ keyless: { identities: [{ issuer: ISSUER, subject: SIGNER }], ...(trustRootRef ? { trustRootRef } : {}) } });

/** Loads a policy folder as the webhook does (TrustRoots included) and decides the images. */
async function decide(files: Record<string, string>, list: string[]): Promise<ImageDecision[]> {
  const dir = mkdtempSync(join(tmpdir(), 'imgverify-trustroots-'));
  writeConfigMap(join(dir, 'policies'), files);
  const set = await loadPolicies(join(dir, 'policies'));
  expect(set.errors.map((e) => e.message)).toEqual([]);
  const trustRoots = new TrustRootSet({ cacheDir: join(dir, 'tuf') });
  expect((await trustRoots.load(set.trustRoots)).map((e) => e.error.message)).toEqual([]);
  // The default trust: the "public" instance, as the public-good root would be.
  const backend = new VerifierBackend({ trustedRoot: trustRootFromJSON(publicSigstore.trustedRoot, 'public') });
  try {
    const evaluator = new PolicyEvaluator({ backend, cacheTtlMs: 0, timeoutMs: 20_000 });
    evaluator.setPolicies(set, { trustRoots });
    return await evaluator.evaluate(list);
  } finally {
    await backend.close();
  }
}

describe.each([
  ['sigstoreKeys', async () => ({ sigstoreKeys: sigstoreKeys(privateSigstore) })],
  ['remote (TUF mirror over HTTP)', async () => ({ remote: { mirror: mirror.url, root: b64(tufRepo.root(1)) } })],
  ['repository (mirrorFS tarball, no network)', async () => ({ repository: { root: b64(tufRepo.root(1)), mirrorFS: await mirrorFS(tufRepo) } })],
])('TrustRoot %s', (_form, spec) => {
  test("verifies the private instance's image; the default-trust image is refused under the private-only policy", async () => {
    const files = { 'trust-root.yaml': trustRootYaml('private', await spec()), 'policy.yaml': policyYaml('private-only', keyless('private')) };
    const [priv, pub] = await decide(files, [images.private, images.public]);
    expect(priv!.reason).toBeUndefined();
    expect(priv!.verdict).toBe('allowed');
    expect(priv!.policies[0]!.authorities[0]!.reason).toMatch(/verified: a signature by release@example.test/);
    expect(pub!.verdict).toBe('denied');
    expect(pub!.policies[0]!.authorities[0]!.code).toBe('CERTIFICATE_CHAIN_INVALID');
  });
});

test('the reverse: a policy without trustRootRef uses the default trust, which refuses the private image', async () => {
  const files = {
    'trust-root.yaml': trustRootYaml('private', { sigstoreKeys: sigstoreKeys(privateSigstore) }),
    'policy.yaml': policyYaml('default-trust', keyless()),
  };
  const [priv, pub] = await decide(files, [images.private, images.public]);
  expect(pub!.verdict).toBe('allowed');
  expect(priv!.verdict).toBe('denied');
  expect(priv!.policies[0]!.authorities[0]!.code).toBe('CERTIFICATE_CHAIN_INVALID');
});

test("a TrustRoot with a TSA and no logs (GitHub's kind) admits timestamped signatures without a log entry", async () => {
  const files = {
    'trust-root.yaml': trustRootYaml('github-like', { sigstoreKeys: sigstoreKeys(privateSigstore, false) }),
    'policy.yaml': policyYaml('tsa-only', { ...keyless('github-like'), rfc3161timestamp: { trustRootRef: 'github-like' } }),
  };
  const [tsa, logged] = await decide(files, [images.githubStyle, images.private]);
  expect(tsa!.reason).toBeUndefined();
  expect(tsa!.verdict).toBe('allowed');
  // The logged private image has an entry this root cannot check: refused, not ignored.
  expect(logged!.verdict).toBe('denied');
  // Under the full private root (which lists a log) the unlogged signature needs its entry.
  const strict = await decide(
    {
      'trust-root.yaml': trustRootYaml('private', { sigstoreKeys: sigstoreKeys(privateSigstore) }),
      'policy.yaml': policyYaml('private-only', keyless('private')),
    },
    [images.githubStyle],
  );
  expect(strict[0]!.policies[0]!.authorities[0]!.code).toBe('TLOG_ENTRY_MISSING');
});

test('keyless.ca-cert.data: the CA chain is the private one, the logs those of the default trust', async () => {
  const chain = privateSigstore.trustedRoot.certificateAuthorities[0]!.certChain.certificates.map((c) => pem(Buffer.from(c.rawBytes, 'base64'))).join('');
  // The private image's SCT and SET are from the private instance: with public logs they fail...
  const files = { 'policy.yaml': policyYaml('ca-cert', { keyless: { identities: [{ issuer: ISSUER, subject: SIGNER }], 'ca-cert': { data: chain } } }) };
  const [priv, pub] = await decide(files, [images.private, images.public]);
  expect(priv!.verdict).toBe('denied');
  expect(priv!.policies[0]!.authorities[0]!.code).toMatch(/SCT_INVALID|TLOG_INCLUSION_PROMISE_INVALID/);
  // ...and the public image's certificate does not chain to the given CA.
  expect(pub!.policies[0]!.authorities[0]!.code).toBe('CERTIFICATE_CHAIN_INVALID');
});

test('imgverify policy test loads TrustRoots from the folder too', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'imgverify-trustroots-cli-'));
  writeConfigMap(join(dir, 'policies'), {
    'trust-root.yaml': trustRootYaml('private', { remote: { mirror: mirror.url, root: b64(tufRepo.root(1)) } }),
    'policy.yaml': policyYaml('private-only', keyless('private')),
  });
  const root = join(dir, 'public.json');
  writeFileSync(root, JSON.stringify(publicSigstore.trustedRoot));
  const r = await runCli([
    'policy',
    'test',
    '--policies',
    join(dir, 'policies'),
    '--trusted-root',
    root,
    '--tuf-cache',
    join(dir, 'tuf'),
    images.private,
    images.public,
  ]);
  expect(r.stderr).toBe('');
  expect(r.code).toBe(1);
  expect(r.stdout).toMatch(/ALLOWED .*app-\d+:v1[\s\S]*DENIED/);
});

/**
 * A webhook server over a policy folder of `files` in `dir`, serving a certificate of a new CA,
 * the "public" instance as its default trust. `starting` is not awaited here: the server listens
 * before its policies (and their TrustRoots) are loaded.
 */
async function startServerWith(
  dir: string,
  files: Record<string, string>,
  log: Logger = () => undefined,
): Promise<{ ca: TestCa; starting: Promise<RunningWebhookServer> }> {
  writeConfigMap(join(dir, 'policies'), files);
  const { ca, certFile, keyFile } = await servingCertificate(dir, 'imgverify trust roots test CA');
  const starting = startWebhookServer({
    policiesDir: join(dir, 'policies'),
    tlsCertFile: certFile,
    tlsKeyFile: keyFile,
    port: 0,
    host: '127.0.0.1',
    tufCacheDir: join(dir, 'tuf'),
    trustedRoot: trustRootFromJSON(publicSigstore.trustedRoot, 'public'),
    log,
  });
  return { ca, starting };
}

test("the webhook server exports each TrustRoot's expiry and last refresh, and refreshes without a restart", async () => {
  const dir = mkdtempSync(join(tmpdir(), 'imgverify-trustroots-server-'));
  const server = await (
    await startServerWith(dir, {
      'trust-root.yaml': trustRootYaml('private', { remote: { mirror: mirror.url, root: b64(tufRepo.root(1)) } }),
      'policy.yaml': policyYaml('private-only', keyless('private')),
    })
  ).starting;
  try {
    const metrics = server.metrics.render();
    expect(metrics).toMatch(/imgverify_trust_root_expiry_timestamp_seconds\{trust_root="private"\} \d{10}/);
    expect(metrics).toMatch(/imgverify_trust_root_last_refresh_timestamp_seconds\{trust_root="private"\} \d{10}/);
    const [decision] = await server.evaluator.evaluate([images.private]);
    expect(decision!.verdict).toBe('allowed');
    await server.refreshTrust();
    expect(server.metrics.render()).toMatch(/imgverify_trust_root_refreshes_total\{result="refreshed",trust_root="private"\} 1/);
  } finally {
    await server.close();
  }
});

test('remote TrustRoots load concurrently while the server already listens: /healthz answers, /readyz waits for them (issue 20.11)', async () => {
  // Four mirrors that accept requests and hold them: each TrustRoot's first update waits on its
  // own mirror. Loaded one after another, only one mirror would ever have a request waiting.
  const mirrors = await Promise.all(
    [1, 2, 3, 4].map(async () => {
      const repo = new TestTufRepository({ 'trusted_root.json': privateSigstore.trustedRoot });
      return { repo, served: await serveTufRepository(repo, { held: true }) };
    }),
  );
  const dir = mkdtempSync(join(tmpdir(), 'imgverify-trustroots-concurrent-'));
  const files: Record<string, string> = { 'policy.yaml': policyYaml('private-only', keyless('held-1')) };
  mirrors.forEach(
    (m, i) => (files[`trust-root-${i + 1}.yaml`] = trustRootYaml(`held-${i + 1}`, { remote: { mirror: m.served.url, root: b64(m.repo.root(1)) } })),
  );
  let port: number | undefined;
  const { ca, starting } = await startServerWith(dir, files, (_level, message, fields) => {
    if (message === 'accepting connections; loading the policies') port = fields?.port as number;
  });
  let client: WebhookClient | undefined;
  try {
    await eventually(() => port !== undefined, 10_000, 'the server to listen');
    client = new WebhookClient(`https://127.0.0.1:${port}`, ca.certPem);
    await eventually(() => mirrors.every((m) => m.served.pending() > 0), 10_000, 'every mirror to be asked at once');
    expect((await client.get('/healthz')).status).toBe(200);
    const notReady = await client.get('/readyz');
    expect(notReady.status).toBe(503);
    expect(notReady.text).toMatch(/loading the policies and their TrustRoots/);
    for (const m of mirrors) m.served.release();
    const server = await starting;
    try {
      expect((await client.get('/readyz')).status).toBe(200);
      const [decision] = await server.evaluator.evaluate([images.private]);
      expect(decision!.verdict).toBe('allowed');
    } finally {
      await server.close();
    }
  } finally {
    for (const m of mirrors) m.served.release();
    await starting.then((s) => s.close()).catch(() => undefined);
    await client?.close();
    await Promise.all(mirrors.map((m) => m.served.stop()));
  }
});

test("a remote TrustRoot's own TUF cache: rebuilt from the document when damaged; a link planted as its folder is refused (issue 20.10)", async () => {
  const dir = mkdtempSync(join(tmpdir(), 'imgverify-trustroots-cache-'));
  writeConfigMap(join(dir, 'policies'), {
    'trust-root.yaml': trustRootYaml('private', { remote: { mirror: mirror.url, root: b64(tufRepo.root(1)) } }),
    'policy.yaml': policyYaml('p', keyless('private')),
  });
  const set = await loadPolicies(join(dir, 'policies'));
  const cacheDir = join(dir, 'tuf');
  expect(await new TrustRootSet({ cacheDir }).load(set.trustRoots)).toEqual([]);
  const folder = join(
    cacheDir,
    readdirSync(cacheDir).find((n) => n.startsWith('trustroot-private-'))!,
  );
  rmSync(join(folder, readlinkSync(join(folder, 'current'))), { recursive: true }); // current dangles
  expect(await new TrustRootSet({ cacheDir }).load(set.trustRoots)).toEqual([]);
  expect(existsSync(join(folder, readlinkSync(join(folder, 'current')), 'state.json'))).toBe(true);
  // Offline, a damaged cache cannot be rebuilt: it fails closed, saying so.
  rmSync(join(folder, readlinkSync(join(folder, 'current'))), { recursive: true });
  const offline = await new TrustRootSet({ cacheDir, offline: true }).load(set.trustRoots);
  expect(offline.map((e) => e.error.message).join()).toMatch(/is damaged/);
  rmSync(folder, { recursive: true });
  symlinkSync(mkdtempSync(join(tmpdir(), 'imgverify-elsewhere-')), folder);
  const planted = await new TrustRootSet({ cacheDir }).load(set.trustRoots);
  expect(planted.map((e) => e.error.message).join()).toMatch(/its TUF cache .* is not a folder/);
});

test('a cached verdict is not served once the trust root is refreshed to one that denies (the cache key holds the trust version)', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'imgverify-trustroots-refresh-'));
  writeConfigMap(join(dir, 'policies'), { 'policy.yaml': policyYaml('default-trust', keyless()) });
  const set = await loadPolicies(join(dir, 'policies'));
  // The default trust as a provider whose root a refresh replaces (as a TUF root's is).
  const roots = { private: trustRootFromJSON(privateSigstore.trustedRoot, 'private'), public: trustRootFromJSON(publicSigstore.trustedRoot, 'public') };
  let current = roots.private;
  const backend = new VerifierBackend({ trustedRoot: { source: 'refreshed', current: () => current } });
  try {
    const evaluator = new PolicyEvaluator({ backend, timeoutMs: 20_000 });
    evaluator.setPolicies(set);
    const [first] = await evaluator.evaluate([images.private]);
    expect(first!.verdict).toBe('allowed');
    expect((await evaluator.evaluate([images.private]))[0]!.policies[0]!.cached).toBe(true);
    current = roots.public;
    const [after] = await evaluator.evaluate([images.private]);
    expect(after!.verdict).toBe('denied');
    expect(after!.policies[0]).toMatchObject({ cached: false, authorities: [{ code: 'CERTIFICATE_CHAIN_INVALID' }] });
    // And back: the verdict under the first root's content is valid again.
    current = trustRootFromJSON(privateSigstore.trustedRoot, 'private, loaded again');
    expect((await evaluator.evaluate([images.private]))[0]!.verdict).toBe('allowed');
  } finally {
    await backend.close();
  }
});
