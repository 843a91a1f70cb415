/**
 * The webhook with several worker processes (`--workers 2`, the built CLI as users run it):
 * both workers serve the one port; /metrics adds every process up; a policy change, a new
 * certificate and a shutdown reach every worker; /readyz is true only while every worker serves;
 * a worker that dies is started again. In cluster mode the primary alone watches the API,
 * writes statuses and reads pull secrets, for every worker.
 */
import { execFileSync } from 'node:child_process';
import { X509Certificate } from 'node:crypto';
import { existsSync, mkdtempSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { connect } from 'node:tls';
import { Agent, request } from 'undici';
import { errorMessage } from '../../../src/util/describe';
import type { Json } from '../../support/json';
import { deployManifests, serviceAccountIdentity, startKubeApi, writeKubeconfig, type RunningKubeApi } from '../../support/kube-api';
import { dockerConfigSecret } from '../../support/pull-secrets';
import { closePushers, createCa, issueServerCert, startRegistry, type RunningRegistry, type TestCa } from '../../support/registry';
import { pushSignatures, pushTestImage } from '../../support/signed-images';
import { createTestSigstore } from '../../support/sigstore';
import {
  admissionReview,
  eventually,
  patchOps,
  policyYaml,
  startWebhookProcess,
  WebhookClient,
  workload,
  writeConfigMap,
  type WebhookProcess,
} from './helpers';

const PINNED = `registry.test/team/app@sha256:${'ab'.repeat(32)}`;
const ISSUER = 'https://accounts.example.test';
const SIGNER = 'release@example.test';

let work: string;
let ca: TestCa;
const running: Array<{ process: WebhookProcess; client: WebhookClient }> = [];

beforeAll(async () => {
  work = mkdtempSync(join(tmpdir(), 'imgverify-workers-'));
  ca = await createCa('imgverify workers test CA');
});

afterAll(async () => {
  await Promise.all(running.map(async ({ process, client }) => (await client.close(), await process.stop())));
  await closePushers();
  if (work) rmSync(work, { recursive: true, force: true });
});

/** The processes the primary forked. */
function children(pid: number): number[] {
  try {
    return execFileSync('pgrep', ['-P', String(pid)], { encoding: 'utf8' })
      .trim()
      .split('\n')
      .filter(Boolean)
      .map(Number);
  } catch {
    return [];
  }
}

async function certificatePair(dir: string): Promise<{ certFile: string; keyFile: string; fingerprint: string }> {
  const cert = await issueServerCert(ca);
  writeFileSync(join(dir, 'tls.key.new'), cert.keyPem, { mode: 0o600 });
  writeFileSync(join(dir, 'tls.crt.new'), cert.certPem);
  // Replaced by rename, as a Secret update or cert-manager does.
  renameSync(join(dir, 'tls.key.new'), join(dir, 'tls.key'));
  renameSync(join(dir, 'tls.crt.new'), join(dir, 'tls.crt'));
  return { certFile: join(dir, 'tls.crt'), keyFile: join(dir, 'tls.key'), fingerprint: new X509Certificate(cert.certPem).fingerprint256 };
}

async function start(args: string[]): Promise<{ process: WebhookProcess; client: WebhookClient }> {
  const process = await startWebhookProcess(['--log-level', 'debug', ...args]);
  const client = new WebhookClient(`https://127.0.0.1:${process.port}`, ca.certPem);
  running.push({ process, client });
  return { process, client };
}

/** `n` admissions at once (so over several connections, spread over the workers). */
async function burst(client: WebhookClient, n: number, image = PINNED): Promise<boolean[]> {
  return Promise.all(
    Array.from(
      { length: n },
      async () => (await client.review('/validate', admissionReview('Pod', 'CREATE', workload('Pod', { containers: [image] })))).allowed,
    ),
  );
}

/**
 * /readyz over a new connection, within a second; 0 when none answers. (A connection the
 * primary was handing to a worker as it died is never answered: node:cluster's limit.)
 */
async function readyz(client: WebhookClient): Promise<{ status: number; text: string }> {
  const agent = new Agent({ connect: { ca: ca.certPem, timeout: 1000 }, headersTimeout: 1000, bodyTimeout: 1000 });
  try {
    const res = await request(`${client.baseUrl}/readyz`, { dispatcher: agent });
    return { status: res.statusCode, text: await res.body.text() };
  } catch (err) {
    return { status: 0, text: errorMessage(err) };
  } finally {
    await agent.destroy();
  }
}

function metric(text: string, series: string): number {
  const line = text.split('\n').find((l) => l.startsWith(`${series} `));
  return line === undefined ? NaN : Number(line.slice(series.length + 1));
}

describe('a policy folder, two workers', () => {
  let dir: string;
  let tlsDir: string;
  let fingerprint: string;
  let webhook: { process: WebhookProcess; client: WebhookClient };

  beforeAll(async () => {
    dir = mkdtempSync(join(work, 'policies-'));
    tlsDir = mkdtempSync(join(work, 'tls-'));
    writeConfigMap(dir, { 'p.yaml': policyYaml('everything', ['registry.test/**'], [{ name: 'yes', static: { action: 'pass' } }]) });
    const pair = await certificatePair(tlsDir);
    fingerprint = pair.fingerprint;
    webhook = await start(['--policies', dir, '--tls-cert', pair.certFile, '--tls-key', pair.keyFile, '--workers', '2']);
  });

  test('the primary and two workers share one port; both serve, and /metrics adds every process up', async () => {
    const { process, client } = webhook;
    expect(children(process.child.pid!)).toHaveLength(2);
    expect((await client.get('/readyz')).status).toBe(200);
    let served = new Set<unknown>();
    let sent = 0;
    await eventually(
      async () => {
        sent += (await burst(client, 16)).filter(Boolean).length;
        served = new Set(process.logs('admission').map((e) => e.worker));
        return served.size === 2;
      },
      15_000,
      'admissions answered by both workers',
    );
    expect([...served].sort()).toEqual([1, 2]);
    // Whichever worker answers the scrape, it shows every worker's requests.
    await eventually(async () => process.logs('admission').length === sent, 5000, 'every admission logged');
    for (let i = 0; i < 3; i++) {
      const text = (await client.get('/metrics')).text;
      expect(metric(text, 'imgverify_admission_requests_total{path="/validate",result="allowed"}')).toBe(sent);
      expect(metric(text, 'imgverify_cache_hits_total') + metric(text, 'imgverify_cache_misses_total')).toBe(sent);
      // One cold evaluation per worker: each worker's cache is its own.
      expect(metric(text, 'imgverify_cache_misses_total')).toBe(2);
      expect(metric(text, 'imgverify_cache_entries')).toBe(2);
      expect(metric(text, 'imgverify_policies')).toBe(1);
      expect(metric(text, 'imgverify_ready')).toBe(1);
    }
  });

  test('a policy change reaches every worker', async () => {
    const { process, client } = webhook;
    writeConfigMap(dir, {
      'p.yaml': policyYaml('nothing', ['registry.test/**'], [{ name: 'no', static: { action: 'fail', message: 'closed for the test' } }]),
    });
    await eventually(async () => (await burst(client, 1))[0] === false, 15_000, 'the new policy');
    const from = process.logs('admission').length;
    expect(await burst(client, 24)).toEqual(Array.from({ length: 24 }, () => false));
    const answers = process.logs('admission').slice(from);
    expect(new Set(answers.map((e) => e.worker)).size).toBe(2);
    expect(answers.every((e) => typeof e.message === 'string' && e.message.includes('closed for the test'))).toBe(true);
    writeConfigMap(dir, { 'p.yaml': policyYaml('everything', ['registry.test/**'], [{ name: 'yes', static: { action: 'pass' } }]) });
    await eventually(async () => (await burst(client, 8)).every(Boolean), 15_000, 'the policy back');
  });

  test('a new serving certificate reaches every worker', async () => {
    const peer = () =>
      new Promise<string>((resolve, reject) => {
        const socket = connect({ host: '127.0.0.1', port: webhook.process.port, ca: ca.certPem, servername: 'localhost' }, () => {
          const seen = socket.getPeerX509Certificate()!.fingerprint256;
          socket.end();
          resolve(seen);
        });
        socket.on('error', reject);
      });
    expect(await peer()).toBe(fingerprint);
    const next = await certificatePair(tlsDir);
    await eventually(
      async () => {
        // Connections are handed to the workers in turn: sixteen reach both.
        const seen = await Promise.all(Array.from({ length: 16 }, peer));
        return seen.every((f) => f === next.fingerprint);
      },
      20_000,
      'the new certificate from every worker',
    );
    const text = (await webhook.client.get('/metrics')).text;
    // Each worker loaded the same certificate: counted once.
    expect(metric(text, 'imgverify_tls_reloads_total{result="loaded"}')).toBe(1);
  });

  test('a worker that dies is started again; the webhook is not ready until it serves', async () => {
    const { process, client } = webhook;
    const [victim] = children(process.child.pid!);
    execFileSync('kill', ['-KILL', String(victim)]);
    // Not ready from the moment the primary sees the exit until the new worker serves (its
    // /readyz says so; how long that lasts depends on the machine, so the log is what is checked).
    await eventually(() => process.logs('not ready').length === 1, 5000, 'not ready while a worker is missing');
    expect(process.logs('not ready')[0]).toMatchObject({ level: 'warn', reason: '1 of 2 workers serve a policy set' });
    await eventually(() => process.logs('ready again').length === 1, 20_000, 'ready again');
    expect((await readyz(client)).status).toBe(200);
    // The worker that stayed answered admissions meanwhile; the new one does too.
    const fresh = new WebhookClient(client.baseUrl, ca.certPem);
    expect((await burst(fresh, 8)).every(Boolean)).toBe(true);
    await fresh.close();
    const now = children(process.child.pid!);
    expect(now).toHaveLength(2);
    expect(now).not.toContain(victim);
    expect(process.logs('webhook worker exited; starting it again')).toHaveLength(1);
  });

  test('SIGTERM: not ready at once on every worker while still serving for --shutdown-delay, then every process exits 0', async () => {
    const pair = await certificatePair(mkdtempSync(join(work, 'tls-')));
    const { process, client } = await start([
      '--policies',
      dir,
      '--tls-cert',
      pair.certFile,
      '--tls-key',
      pair.keyFile,
      '--workers',
      '2',
      '--shutdown-delay',
      '2s',
    ]);
    const workers = children(process.child.pid!);
    expect(workers).toHaveLength(2);
    await eventually(async () => (await client.get('/readyz')).status === 200, 10_000, 'ready');
    const exited = new Promise<number | null>((resolve) => process.child.once('close', (code) => resolve(code)));
    process.child.kill('SIGTERM');
    // Fresh connections (spread over both workers): every one says not ready, and admissions are still answered.
    const fresh = new WebhookClient(client.baseUrl, ca.certPem);
    try {
      await eventually(
        async () => (await Promise.all(Array.from({ length: 6 }, () => readyz(client)))).every((r) => r.status === 503),
        1500,
        'not ready everywhere',
      );
      expect((await burst(fresh, 4)).every(Boolean)).toBe(true);
    } finally {
      await fresh.close();
    }
    expect(await exited).toBe(0);
    expect(workers.filter((pid) => existsSync(`/proc/${pid}`))).toEqual([]);
  }, 30_000);
});

test('--workers 1 keeps a single process', async () => {
  const dir = mkdtempSync(join(work, 'policies-'));
  writeConfigMap(dir, { 'p.yaml': policyYaml('everything', ['registry.test/**'], [{ name: 'yes', static: { action: 'pass' } }]) });
  const pair = await certificatePair(mkdtempSync(join(work, 'tls-')));
  const { process, client } = await start(['--policies', dir, '--tls-cert', pair.certFile, '--tls-key', pair.keyFile, '--workers', '1']);
  expect(children(process.child.pid!)).toEqual([]);
  expect(await burst(client, 4)).toEqual([true, true, true, true]);
  expect(process.logs('admission').every((e) => e.worker === undefined)).toBe(true);
});

describe('tags kept resolved by two workers', () => {
  let registry: RunningRegistry;
  afterAll(async () => registry?.stop());

  test('a tag moved to an unsigned image is denied by every worker within --tag-refresh-interval; until then every /mutate pins the digest that was verified', async () => {
    registry = await startRegistry();
    const sigstore = createTestSigstore();
    const signed = await pushTestImage(registry, 'team/app', 'v1');
    await pushSignatures(registry, 'team/app', signed.digest, [sigstore.signImage({ digest: signed.digest, identity: { email: SIGNER }, issuer: ISSUER })]);
    const root = join(work, 'tags-trusted_root.json');
    writeFileSync(root, JSON.stringify(sigstore.trustedRoot));
    const dir = mkdtempSync(join(work, 'policies-'));
    writeConfigMap(dir, {
      'p.yaml': policyYaml('release', [`${registry.host}/**`], [{ name: 'ci', keyless: { identities: [{ issuer: ISSUER, subject: SIGNER }] } }]),
    });
    const pair = await certificatePair(mkdtempSync(join(work, 'tls-')));
    const { process, client } = await start([
      '--policies',
      dir,
      '--tls-cert',
      pair.certFile,
      '--tls-key',
      pair.keyFile,
      '--trusted-root',
      root,
      '--workers',
      '2',
      '--tag-refresh-interval',
      '2s',
      '--timeout',
      '5s',
    ]);
    const image = `${registry.host}/team/app:v1`;
    const mutate = () => client.review('/mutate', admissionReview('Pod', 'CREATE', workload('Pod', { containers: [image] })));
    // Both workers resolve the tag and verify its digest.
    await eventually(
      async () => {
        const answers = await Promise.all(Array.from({ length: 8 }, mutate));
        expect(answers.map((a) => patchOps(a.patch).map((o) => o.value))).toEqual(answers.map(() => [`${image}@${signed.digest}`]));
        return new Set(process.logs('admission').map((e) => e.worker)).size === 2;
      },
      15_000,
      'both workers admit the tag',
    );

    const moved = await pushTestImage(registry, 'team/app', 'v1'); // same tag, unsigned content
    const pushedAt = Date.now();
    for (const answer of await Promise.all(Array.from({ length: 8 }, mutate))) {
      // Within the bound a worker may still answer from the verified resolution: it pins that digest, never the new one.
      if (answer.allowed) expect(patchOps(answer.patch).map((o) => o.value)).toEqual([`${image}@${signed.digest}`]);
      else expect([answer.patch, answer.status?.message.includes(moved.digest)]).toEqual([undefined, true]);
    }
    await new Promise((r) => setTimeout(r, Math.max(0, pushedAt + 2000 - Date.now())));
    const from = process.logs('admission').length;
    const late = await Promise.all(Array.from({ length: 16 }, mutate));
    expect(late.map((a) => [a.allowed, a.patch])).toEqual(late.map(() => [false, undefined]));
    expect(late.every((a) => a.status?.message.includes(`(${moved.digest})`) && a.status.message.includes('NO_SIGNATURES'))).toBe(true);
    expect(
      new Set(
        process
          .logs('admission')
          .slice(from)
          .map((e) => e.worker),
      ).size,
    ).toBe(2);
  }, 60_000);
});

describe('cluster mode, two workers', () => {
  const NS = 'imgverify-system';
  const GROUP = 'policy.sigstore.dev';
  const puller = { username: 'puller', password: 'workers-puller-pw' };
  let api: RunningKubeApi;
  let registry: RunningRegistry;
  let image: string;

  beforeAll(async () => {
    [registry, api] = await Promise.all([
      startRegistry({ auth: 'token', users: [{ username: 'pusher', password: 'pusher-pw' }, puller], token: { anonymousPull: false } }),
      startKubeApi({ namespaces: ['default', NS, 'team-a'] }),
    ]);
    const sigstore = createTestSigstore();
    const pushed = await pushTestImage(registry, 'private/app', 'v1');
    await pushSignatures(registry, 'private/app', pushed.digest, [sigstore.signImage({ digest: pushed.digest, identity: { email: SIGNER }, issuer: ISSUER })]);
    image = `${registry.host}/private/app:v1`;
    writeFileSync(join(work, 'trusted_root.json'), JSON.stringify(sigstore.trustedRoot));
    api.store.create(api.store.type(`clusterimagepolicies.${GROUP}`), undefined, {
      apiVersion: `${GROUP}/v1beta1`,
      kind: 'ClusterImagePolicy',
      metadata: { name: 'private' },
      spec: {
        images: [{ glob: `${registry.host}/private/**` }],
        authorities: [{ name: 'ci', keyless: { identities: [{ issuer: ISSUER, subject: SIGNER }] } }],
      },
    });
    api.store.create(api.store.type('secrets'), 'team-a', { metadata: { name: 'regcred' }, ...dockerConfigSecret({ [registry.host]: puller }) });
  });

  afterAll(async () => {
    await Promise.all([registry?.stop(), api?.stop()]);
  });

  test('the primary alone watches the API and writes statuses; workers read pull secrets and validate policy objects through it', async () => {
    const identity = serviceAccountIdentity(deployManifests(), NS, 'imgverify-webhook');
    const kubeconfig = writeKubeconfig(join(work, 'kubeconfig'), api, api.token(identity), NS);
    const pair = await certificatePair(mkdtempSync(join(work, 'tls-')));
    const { process, client } = await start([
      '--kubeconfig',
      kubeconfig,
      '--tls-cert',
      pair.certFile,
      '--tls-key',
      pair.keyFile,
      '--trusted-root',
      join(work, 'trusted_root.json'),
      '--timeout',
      '5s',
      '--workers',
      '2',
    ]);
    expect(children(process.child.pid!)).toHaveLength(2);
    await eventually(async () => (await client.get('/readyz')).status === 200, 20_000, 'ready');
    // ClusterImagePolicy, ImagePolicy, TrustRoot and Secret informers: one of each, not one per worker.
    expect(api.watchCount).toBe(4);
    await eventually(
      () => api.requests.some((r) => r.method === 'PUT' && r.path === `/apis/${GROUP}/v1beta1/clusterimagepolicies/private/status` && r.status === 200),
      10_000,
      'the status',
    );
    // Pull secrets: every worker's admissions read through the one API connection.
    const pod = (): ReturnType<typeof admissionReview> => {
      const object = workload('Pod', { containers: [image] });
      Object.assign(object.spec as Json, { imagePullSecrets: [{ name: 'regcred' }] });
      (object.metadata as Json).namespace = 'team-a';
      const review = admissionReview('Pod', 'CREATE', object);
      review.request.namespace = 'team-a';
      return review;
    };
    let served = new Set<unknown>();
    await eventually(
      async () => {
        const answers = await Promise.all(Array.from({ length: 8 }, async () => (await client.review('/validate', pod())).allowed));
        expect(answers.every(Boolean)).toBe(true);
        served = new Set(process.logs('admission').map((e) => e.worker));
        return served.size === 2;
      },
      15_000,
      'both workers admit with the pull secret',
    );
    expect(api.requests.some((r) => r.path === '/api/v1/namespaces/team-a/secrets/regcred' && r.status === 200)).toBe(true);
    // Apply-time validation, on whichever worker: the primary's loader and Secrets.
    const invalid = {
      apiVersion: `${GROUP}/v1beta1`,
      kind: 'ClusterImagePolicy',
      metadata: { name: 'typo' },
      spec: { images: [{ glob: 'x/**' }], authorities: [{ name: 'a', surprise: true, static: { action: 'pass' } }] },
    };
    const review = admissionReview('Pod', 'CREATE', invalid);
    review.request.kind = { group: GROUP, version: 'v1beta1', kind: 'ClusterImagePolicy' };
    review.request.resource = { group: GROUP, version: 'v1beta1', resource: 'clusterimagepolicies' };
    const answers = await Promise.all(Array.from({ length: 6 }, () => client.review('/validate', review)));
    expect(answers.every((a) => !a.allowed && a.status?.message.includes('spec.authorities[0].surprise: unknown field'))).toBe(true);
    expect(api.watchCount).toBe(4);
    // One status write per change, not one per worker.
    expect(
      api.requests.filter((r) => r.method === 'PUT' && r.path === `/apis/${GROUP}/v1beta1/clusterimagepolicies/private/status` && r.status === 200),
    ).toHaveLength(1);

    // A ClusterImagePolicy changed in the API reaches every worker: another signer is required.
    const cips = api.store.type(`clusterimagepolicies.${GROUP}`);
    const current = api.store.get(cips, undefined, 'private');
    api.store.update(cips, undefined, 'private', {
      ...current,
      spec: {
        ...(current.spec as Record<string, Json>),
        authorities: [{ name: 'ci', keyless: { identities: [{ issuer: ISSUER, subject: 'someone-else@example.test' }] } }],
      },
    });
    await eventually(async () => !(await client.review('/validate', pod())).allowed, 15_000, 'the changed policy');
    const from = process.logs('admission').length;
    const after = await Promise.all(Array.from({ length: 12 }, () => client.review('/validate', pod())));
    expect(after.every((a) => !a.allowed && a.status?.message.includes('someone-else@example.test'))).toBe(true);
    expect(
      new Set(
        process
          .logs('admission')
          .slice(from)
          .map((e) => e.worker),
      ).size,
    ).toBe(2);

    // SIGTERM: the primary and both workers exit 0.
    const workers = children(process.child.pid!);
    const exited = new Promise<number | null>((resolve) => process.child.once('close', (code) => resolve(code)));
    process.child.kill('SIGTERM');
    expect(await exited).toBe(0);
    expect(workers.filter((pid) => existsSync(`/proc/${pid}`))).toEqual([]);
  }, 60_000);
});
