/**
 * Issue 20.1: a webhook with `failurePolicy: Fail` that dies blocks a cluster. A Pod with more
 * distinct images than the evaluator verifies at once, on a registry that accepts
 * connections and never answers: the admission is answered at the deadline, and the images
 * the evaluator starts after it must not leave a rejected promise nobody handles (that
 * ended the process). The built CLI runs as a real process, as users run it.
 */
import { spawn, type ChildProcessWithoutNullStreams } from 'node:child_process';
import { createHash } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { BUILT_CLI, runBuiltCli } from '../../support/cli';
import { createCa, issueServerCert, type TestCa } from '../../support/registry';
import { startSilentServer, type SilentServer } from '../../support/silent-server';
import { createTestSigstore } from '../../support/sigstore';
import type { ImageVerificationResult, PreparedPolicy } from '../../../src';
import type { VerificationBackend, VerificationSession } from '../../../src/webhook/backend';
import { startWebhookServer } from '../../../src/webhook/server';
import { admissionReview, eventually, policyYaml, WebhookClient, workload, writeConfigMap } from './helpers';

const ISSUER = 'https://accounts.example.test';
const SIGNER = 'release@example.test';

let work: string;
let ca: TestCa;
let silent: SilentServer;
let files: { root: string; cert: string; key: string; policies: string };
/** More distinct images than the evaluator's concurrency (8). */
let images: string[];

beforeAll(async () => {
  work = mkdtempSync(join(tmpdir(), 'imgverify-availability-'));
  [ca, silent] = await Promise.all([createCa('imgverify availability test CA'), startSilentServer()]);
  const cert = await issueServerCert(ca);
  files = { root: join(work, 'trusted_root.json'), cert: join(work, 'tls.crt'), key: join(work, 'tls.key'), policies: join(work, 'policies') };
  writeFileSync(files.root, JSON.stringify(createTestSigstore().trustedRoot));
  writeFileSync(files.cert, cert.certPem);
  writeFileSync(files.key, cert.keyPem);
  writeConfigMap(files.policies, {
    'p.yaml': policyYaml('release', [`${silent.host}/**`], [{ name: 'ci', keyless: { identities: [{ issuer: ISSUER, subject: SIGNER }] } }]),
  });
  images = Array.from({ length: 12 }, (_, i) => `${silent.host}/app/n${i}:v1`);
});

afterAll(async () => {
  await silent?.stop();
  if (work) rmSync(work, { recursive: true, force: true });
});

/** Starts `imgverify webhook` and resolves with its port once it listens. */
async function startWebhook(
  extra: string[],
  nodeArgs: string[] = [],
): Promise<{ child: ChildProcessWithoutNullStreams; port: number; stderr: () => string; exited: Promise<number | null> }> {
  const child = spawn(
    process.execPath,
    [
      ...nodeArgs,
      BUILT_CLI,
      'webhook',
      '--policies',
      files.policies,
      '--tls-cert',
      files.cert,
      '--tls-key',
      files.key,
      '--port',
      '0',
      '--host',
      '127.0.0.1',
      '--trusted-root',
      files.root,
      ...extra,
    ],
    { env: { PATH: process.env.PATH, HOME: '/nonexistent', DOCKER_CONFIG: '/nonexistent' } },
  );
  let stderr = '';
  child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
  const exited = new Promise<number | null>((resolve) => child.on('close', (code) => resolve(code)));
  const port = await new Promise<number>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`no "listening" line: ${stderr}`)), 30_000);
    child.stderr.on('data', () => {
      const line = stderr.split('\n').find((l) => l.includes('"msg":"listening"'));
      if (line) {
        clearTimeout(timer);
        resolve((JSON.parse(line) as { port: number }).port);
      }
    });
    child.on('close', () => reject(new Error(`exited early: ${stderr}`)));
  });
  return { child, port, stderr: () => stderr, exited };
}

describe('a deadline never ends the process (issue 20.1)', () => {
  let child: ChildProcessWithoutNullStreams | undefined;
  afterEach(() => {
    if (child && child.exitCode === null) child.kill('SIGKILL');
  });

  test('webhook --timeout 2s, a Pod with 12 images on a registry that never answers: denied at the deadline, and the webhook keeps serving', async () => {
    const started = await startWebhook(['--timeout', '2s']);
    child = started.child;
    const client = new WebhookClient(`https://127.0.0.1:${started.port}`, ca.certPem);
    try {
      const res = await client.review('/validate', admissionReview('Pod', 'CREATE', workload('Pod', { containers: images })));
      expect(res.allowed).toBe(false);
      expect(res.status?.message).toContain(`denied ${images.length} of ${images.length} images`);
      // The images started after the deadline settle later: the process must still be there.
      await new Promise((r) => setTimeout(r, 3000));
      expect(child.exitCode).toBeNull();
      expect((await client.get('/healthz')).status).toBe(200);
      const again = await client.review('/validate', admissionReview('Pod', 'CREATE', workload('Pod', { containers: images })));
      expect(again.allowed).toBe(false);
      await new Promise((r) => setTimeout(r, 3000));
      expect(child.exitCode).toBeNull();
      const metrics = await client.get('/metrics');
      expect(metrics.text).toMatch(/^imgverify_webhook_unhandled_rejections_total 0$/m);
    } finally {
      await client.close();
    }
    child.kill('SIGTERM');
    expect(await started.exited).toBe(0);
    expect(started.stderr()).not.toContain('unhandled');
  });

  test('the last line of defence: an unhandled rejection anywhere in the webhook process is logged and counted, and it keeps serving', async () => {
    // A planted bug: on SIGUSR2 the process rejects a promise nobody handles.
    const plant = join(work, 'plant.js');
    writeFileSync(plant, "process.on('SIGUSR2', () => { Promise.reject(new Error('planted bug')); });\n");
    const started = await startWebhook(['--timeout', '2s'], ['--require', plant]);
    child = started.child;
    const client = new WebhookClient(`https://127.0.0.1:${started.port}`, ca.certPem);
    try {
      child.kill('SIGUSR2');
      await eventually(() => started.stderr().includes('planted bug'), 10_000, 'the rejection logged');
      child.kill('SIGUSR2');
      await eventually(
        async () => /^imgverify_webhook_unhandled_rejections_total 2$/m.test((await client.get('/metrics')).text),
        10_000,
        'two rejections counted',
      );
      expect(child.exitCode).toBeNull();
      expect((await client.get('/healthz')).status).toBe(200);
      const line = started
        .stderr()
        .split('\n')
        .find((l) => l.includes('planted bug'))!;
      expect(JSON.parse(line)).toMatchObject({ level: 'error', msg: 'unhandled promise rejection (a bug; the webhook keeps serving)', error: 'planted bug' });
    } finally {
      await client.close();
    }
    child.kill('SIGTERM');
    expect(await started.exited).toBe(0);
  });

  test('the CLI reports an unhandled rejection and finishes the command (policy test)', async () => {
    const plant = join(work, 'plant-now.js');
    writeFileSync(plant, "setImmediate(() => { Promise.reject(new Error('planted bug')); });\n");
    const res = await runBuiltCli(['policy', 'test', '--policies', files.policies, '--trusted-root', files.root, '--timeout', '1s', images[0]!], {
      NODE_OPTIONS: `--require ${plant}`,
    });
    expect(res.stderr).toBe('imgverify: internal error, ignored: an unhandled promise rejection: planted bug\n');
    expect(res.code).toBe(1);
    expect(res.stdout).toContain(`DENIED   ${images[0]}\n`);
  });

  test('policy test --timeout 2s with 12 images on a registry that never answers: every image decided, exit 1, no crash', async () => {
    const res = await runBuiltCli(['policy', 'test', '--policies', files.policies, '--trusted-root', files.root, '--timeout', '2s', ...images]);
    expect(res.stderr).toBe('');
    expect(res.code).toBe(1);
    for (const image of images) expect(res.stdout).toContain(`DENIED   ${image}\n`);
  });
});

/** Verifications that never finish on their own (the deadline ends them); counts those begun, and the most at once. */
class StuckBackend implements VerificationBackend {
  started = 0;
  running = 0;
  most = 0;
  prepare(): PreparedPolicy {
    return {} as PreparedPolicy;
  }
  session(signal: AbortSignal): VerificationSession {
    const stuck = (): Promise<never> => {
      this.started++;
      this.most = Math.max(this.most, ++this.running);
      return new Promise((_, reject) =>
        signal.addEventListener(
          'abort',
          () => {
            this.running--;
            reject(signal.reason as Error);
          },
          { once: true },
        ),
      );
    };
    return {
      // Each tag its own digest: no two requests share a verification.
      resolve: async (ref) =>
        `sha256:${createHash('sha256')
          .update(ref.tag ?? '')
          .digest('hex')}`,
      verify: (): Promise<ImageVerificationResult> => stuck(),
      verifyAttestations: () => stuck(),
    };
  }
}

describe('admissions in flight are bounded (issue 20.3)', () => {
  test('16 concurrent 3 MB AdmissionReviews: two are decided at once, the others wait and are refused with 429 (they took the webhook past 900 MB)', async () => {
    const dir = join(work, 'bounded-policies');
    writeConfigMap(dir, {
      'p.yaml': policyYaml('release', ['registry.test/**'], [{ name: 'ci', keyless: { identities: [{ issuer: ISSUER, subject: SIGNER }] } }]),
    });
    const backend = new StuckBackend();
    const server = await startWebhookServer({
      policiesDir: dir,
      tlsCertFile: files.cert,
      tlsKeyFile: files.key,
      port: 0,
      host: '127.0.0.1',
      backend,
      timeoutMs: 3000,
      log: () => undefined,
    });
    const client = new WebhookClient(server.url, ca.certPem);
    try {
      // A million empty objects in the Pod (about 3 MB; some 60 MB once parsed).
      const junk = Array.from({ length: 1_000_000 }, () => ({}));
      const bodies = Array.from({ length: 16 }, (_, i) => {
        const pod = workload('Pod', { containers: [`registry.test/app:v${i}`] }) as { spec: Record<string, unknown> };
        pod.spec.junk = junk;
        return JSON.stringify(admissionReview('Pod', 'CREATE', pod));
      });
      expect(bodies[0]!.length).toBeGreaterThan(2_500_000);
      const answers = await Promise.all(bodies.map((body) => client.post('/validate', body)));
      // 6 MiB of bodies in flight: never more than two decided at once (each denied at the 3 s
      // deadline); the rest wait 1.5 s for room and are refused. (Which ones, and so how many
      // of each, depends on when their headers arrive on a busy machine: 2 and 14 here, alone.)
      expect(backend.most).toBe(2);
      const decided = answers.filter((a) => a.status === 200);
      const refused = answers.filter((a) => a.status === 429);
      expect(decided.length + refused.length).toBe(16);
      expect(decided.length).toBe(backend.started);
      expect(refused.length).toBeGreaterThanOrEqual(1);
      expect(JSON.parse(refused[0]!.text)).toEqual({ error: 'too many admission requests in flight; retry' });
      const metrics = (await client.get('/metrics')).text;
      expect(metrics).toContain(`imgverify_admission_requests_total{path="/validate",result="overloaded"} ${refused.length}`);
      expect(metrics).toMatch(/^imgverify_admissions_in_flight 0$/m);
      expect(metrics).toMatch(/^imgverify_admission_body_bytes_in_flight 0$/m);
      // An ordinary review (a few KB) is decided: small bodies never wait for bytes.
      const before = backend.started;
      const small = await client.review('/validate', admissionReview('Pod', 'CREATE', workload('Pod', { containers: ['registry.test/app:small'] })));
      expect(small.allowed).toBe(false);
      expect(backend.started).toBe(before + 1);
    } finally {
      await client.close();
      await server.close();
    }
  });
});
