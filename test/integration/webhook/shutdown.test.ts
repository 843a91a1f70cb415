/**
 * Graceful shutdown: readiness goes false first, requests still routed to the pod are served
 * during the shutdown delay, requests in flight finish (with their real answer, not a
 * denial), new connections are refused, and close() resolves once nothing is in flight.
 * The backend is a gate the test opens, so "in flight" is exact, not a timing guess.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { ImageVerificationResult, PreparedPolicy } from '../../../src';
import type { VerificationBackend, VerificationSession } from '../../../src/webhook/backend';
import { startWebhookServer, type RunningWebhookServer } from '../../../src/webhook/server';
import type { TestCa } from '../../support/registry';
import { admissionReview, eventually, policyYaml, servingCertificate, WebhookClient, workload, writeConfigMap } from './helpers';

const DIGEST = `sha256:${'ab'.repeat(32)}`;
const IMAGE = 'registry.test/app:v1';

/** Every verification waits until `open()`; `started` counts verifications begun. */
class GatedBackend implements VerificationBackend {
  started = 0;
  aborted = 0;
  private waiting: Array<() => void> = [];
  prepare(): PreparedPolicy {
    return {} as PreparedPolicy;
  }
  open(): void {
    for (const go of this.waiting.splice(0)) go();
  }
  session(signal: AbortSignal): VerificationSession {
    return {
      resolve: async () => DIGEST,
      verify: async (pinned): Promise<ImageVerificationResult> => {
        this.started++;
        await new Promise<void>((resolve, reject) => {
          this.waiting.push(resolve);
          signal.addEventListener(
            'abort',
            () => {
              this.aborted++;
              reject(signal.reason as Error);
            },
            { once: true },
          );
        });
        const reference = `${pinned.registry}/${pinned.repository}@${pinned.digest}`;
        const signer = { subject: 'release@example.test', issuer: 'https://issuer.test' };
        return {
          image: reference,
          reference,
          digest: DIGEST,
          pinnedReference: reference,
          verified: true,
          signer,
          signatures: [{ source: 'sig-tag', location: 'x', verified: true, signer, trustRoot: 'test' }],
        };
      },
      verifyAttestations: () => Promise.reject(new Error('not used')),
    };
  }
}

let work: string;
let ca: TestCa;
let certFile: string;
let keyFile: string;

beforeAll(async () => {
  work = mkdtempSync(join(tmpdir(), 'imgverify-shutdown-'));
  ({ ca, certFile, keyFile } = await servingCertificate(work, 'imgverify shutdown test CA'));
});

afterAll(() => {
  if (work) rmSync(work, { recursive: true, force: true });
});

async function start(
  backend: GatedBackend,
  options: { shutdownDelayMs?: number; timeoutMs?: number } = {},
): Promise<{ server: RunningWebhookServer; client: WebhookClient }> {
  const dir = mkdtempSync(join(work, 'policies-'));
  writeConfigMap(dir, {
    'p.yaml': policyYaml(
      'release',
      ['registry.test/**'],
      [{ name: 'ci', keyless: { identities: [{ issuer: 'https://issuer.test', subject: 'release@example.test' }] } }],
    ),
  });
  const server = await startWebhookServer({
    policiesDir: dir,
    tlsCertFile: certFile,
    tlsKeyFile: keyFile,
    port: 0,
    host: '127.0.0.1',
    backend,
    cacheTtlMs: 0,
    timeoutMs: options.timeoutMs ?? 20_000,
    ...(options.shutdownDelayMs !== undefined ? { shutdownDelayMs: options.shutdownDelayMs } : {}),
    log: () => undefined,
  });
  return { server, client: new WebhookClient(server.url, ca.certPem) };
}

const review = () => admissionReview('Pod', 'CREATE', workload('Pod', { containers: [IMAGE] }));

test('a request in flight at SIGTERM finishes with its real answer, then the server stops', async () => {
  const backend = new GatedBackend();
  const { server, client } = await start(backend);
  try {
    const inFlight = client.review('/validate', review());
    await eventually(() => backend.started === 1, 10_000, 'the verification to start');
    let closed = false;
    const closing = server.close().then(() => (closed = true));
    await eventually(() => !server.ready(), 5_000, 'readiness to go false');
    // Still in flight: close() waits for it.
    await new Promise((r) => setTimeout(r, 200));
    expect(closed).toBe(false);
    backend.open();
    const answer = await inFlight;
    // Before graceful shutdown this was a denial ("the webhook is shutting down").
    expect(answer.allowed).toBe(true);
    expect(backend.aborted).toBe(0);
    await closing;
    // New connections are refused once it has stopped.
    const late = new WebhookClient(server.url, ca.certPem);
    await expect(late.get('/healthz')).rejects.toThrow();
    await late.close();
  } finally {
    backend.open();
    await client.close();
    await server.close();
  }
});

test('during the shutdown delay /readyz is 503 and requests are still served', async () => {
  const backend = new GatedBackend();
  const { server, client } = await start(backend, { shutdownDelayMs: 1500 });
  try {
    expect((await client.get('/readyz')).status).toBe(200);
    const closing = server.close();
    const ready = await client.get('/readyz');
    expect(ready.status).toBe(503);
    expect(ready.text).toContain('shutting down');
    expect((await client.get('/metrics')).text).toMatch(/^imgverify_ready 0$/m);
    // A request routed here before the endpoint is removed still gets its answer.
    const pending = client.review('/validate', review());
    await eventually(() => backend.started === 1, 10_000, 'the verification to start');
    backend.open();
    expect((await pending).allowed).toBe(true);
    await closing;
  } finally {
    backend.open();
    await client.close();
    await server.close();
  }
});

test('a request that outlives the deadline is answered by the deadline, and close() does not wait forever', async () => {
  const backend = new GatedBackend();
  const { server, client } = await start(backend, { timeoutMs: 500 });
  try {
    const inFlight = client.review('/validate', review());
    await eventually(() => backend.started === 1, 10_000, 'the verification to start');
    const closing = server.close();
    const answer = await inFlight;
    expect(answer.allowed).toBe(false);
    expect(answer.status?.message).toContain("within the webhook's 500 ms deadline");
    await closing;
  } finally {
    backend.open();
    await client.close();
    await server.close();
  }
});
