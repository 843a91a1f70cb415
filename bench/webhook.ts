/**
 * Benchmark: the admission webhook under concurrent AdmissionReview requests.
 *
 *   npm run build && node_modules/.bin/tsc -p tsconfig.tools.json \
 *     && node_modules/.bin/node build/tools/bench/webhook.js [--pods 200] [--containers 3] [--concurrency 16]
 *
 * Pushes pods x containers distinct images, each signed keyless by the private test
 * Sigstore, into a real docker-registry on 127.0.0.1; starts the built CLI
 * (`dist/cli/main.js webhook`) as its own process with a ClusterImagePolicy for them; then
 * sends one Pod CREATE per pod to /validate over HTTPS (keep-alive, at most `concurrency`
 * in flight) in three rounds:
 *   - cold: nothing cached: every image is resolved and its signature verified;
 *   - warm: the same Pods again: verdicts come from the cache, tags are still resolved
 *     (one manifest GET per image);
 *   - warm, pinned: the Pods as /mutate leaves them (`repo:tag@sha256:...`): no registry
 *     request at all.
 * Reports p50/p99 request latency and requests/s per round, as a table and a JSON line.
 * Numbers go in docs/benchmarks.md ("Webhook").
 */
import { spawn } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { cpus, tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { Agent, request } from 'undici';
import { closePushers, createCa, issueServerCert, startRegistry } from '../test/support/registry';
import { pushSignatures, pushTestImage } from '../test/support/signed-images';
import { createTestSigstore } from '../test/support/sigstore';

const ISSUER = 'https://accounts.example.test';
const SIGNER = 'release@example.test';
// Compiled to build/tools/bench/: the repository root is three levels up.
const CLI = resolve(__dirname, '..', '..', '..', 'dist', 'cli', 'main.js');

function percentile(values: number[], p: number): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)]!;
}

function podReview(name: string, images: string[]): string {
  return JSON.stringify({
    apiVersion: 'admission.k8s.io/v1',
    kind: 'AdmissionReview',
    request: {
      uid: randomUUID(),
      kind: { group: '', version: 'v1', kind: 'Pod' },
      resource: { group: '', version: 'v1', resource: 'pods' },
      name,
      namespace: 'bench',
      operation: 'CREATE',
      userInfo: { username: 'system:serviceaccount:kube-system:replicaset-controller' },
      object: {
        apiVersion: 'v1',
        kind: 'Pod',
        metadata: { name, namespace: 'bench' },
        spec: { containers: images.map((image, i) => ({ name: `c${i}`, image })) },
      },
      oldObject: null,
      dryRun: false,
    },
  });
}

interface Round {
  readonly name: string;
  readonly requests: number;
  readonly p50Ms: number;
  readonly p99Ms: number;
  readonly maxMs: number;
  readonly requestsPerSecond: number;
  readonly imagesPerSecond: number;
  readonly allowed: number;
}

async function round(name: string, url: string, agent: Agent, pods: string[][], concurrency: number): Promise<Round> {
  const latencies: number[] = [];
  let allowed = 0;
  let next = 0;
  const started = performance.now();
  const worker = async (): Promise<void> => {
    while (next < pods.length) {
      const i = next++;
      const body = podReview(`pod-${i}`, pods[i]!);
      const t0 = performance.now();
      const res = await request(`${url}/validate`, { method: 'POST', headers: { 'content-type': 'application/json' }, body, dispatcher: agent });
      const json = (await res.body.json()) as { response: { allowed: boolean; status?: { message: string } } };
      latencies.push(performance.now() - t0);
      if (res.statusCode !== 200) throw new Error(`HTTP ${res.statusCode}`);
      if (json.response.allowed) allowed++;
      else if (allowed === 0 && latencies.length === 1) process.stderr.write(`denied: ${json.response.status?.message}\n`);
    }
  };
  await Promise.all(Array.from({ length: concurrency }, worker));
  const seconds = (performance.now() - started) / 1000;
  const images = pods.reduce((n, p) => n + p.length, 0);
  return {
    name,
    requests: pods.length,
    p50Ms: percentile(latencies, 50),
    p99Ms: percentile(latencies, 99),
    maxMs: Math.max(...latencies),
    requestsPerSecond: pods.length / seconds,
    imagesPerSecond: images / seconds,
    allowed,
  };
}

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      pods: { type: 'string', default: '200' },
      containers: { type: 'string', default: '3' },
      concurrency: { type: 'string', default: '16' },
      timeout: { type: 'string', default: '8s' },
    },
  });
  const podCount = Number(values.pods);
  const containers = Number(values.containers);
  const concurrency = Number(values.concurrency);

  const dir = mkdtempSync(join(tmpdir(), 'imgverify-bench-webhook-'));
  const [registry, ca] = await Promise.all([startRegistry(), createCa('imgverify bench CA')]);
  let server: ReturnType<typeof spawn> | undefined;
  try {
    const sigstore = createTestSigstore();
    const cert = await issueServerCert(ca);
    writeFileSync(join(dir, 'tls.crt'), cert.certPem);
    writeFileSync(join(dir, 'tls.key'), cert.keyPem);
    writeFileSync(join(dir, 'trusted_root.json'), JSON.stringify(sigstore.trustedRoot));
    mkdirSync(join(dir, 'policies'));
    writeFileSync(
      join(dir, 'policies', 'bench.yaml'),
      JSON.stringify({
        apiVersion: 'policy.sigstore.dev/v1beta1',
        kind: 'ClusterImagePolicy',
        metadata: { name: 'bench' },
        spec: { images: [{ glob: `${registry.host}/bench/**` }], authorities: [{ name: 'ci', keyless: { identities: [{ issuer: ISSUER, subject: SIGNER }] } }] },
      }),
    );

    // Distinct images, so the cold round verifies every one of them.
    const pushStart = performance.now();
    const pods: string[][] = [];
    const pinned: string[][] = [];
    for (let p = 0; p < podCount; p++) {
      const refs: string[] = [];
      const pins: string[] = [];
      for (let c = 0; c < containers; c++) {
        const repo = `bench/pod-${p}/c-${c}`;
        const image = await pushTestImage(registry, repo, 'v1');
        await pushSignatures(registry, repo, image.digest, [sigstore.signImage({ digest: image.digest, identity: { email: SIGNER }, issuer: ISSUER })]);
        refs.push(`${registry.host}/${repo}:v1`);
        pins.push(`${registry.host}/${repo}:v1@${image.digest}`);
      }
      pods.push(refs);
      pinned.push(pins);
    }
    const pushMs = performance.now() - pushStart;

    server = spawn(
      process.execPath,
      [
        CLI,
        'webhook',
        '--policies', join(dir, 'policies'),
        '--tls-cert', join(dir, 'tls.crt'),
        '--tls-key', join(dir, 'tls.key'),
        '--trusted-root', join(dir, 'trusted_root.json'),
        '--docker-config', join(dir, 'no-config.json'),
        '--port', '0',
        '--host', '127.0.0.1',
        '--timeout', values.timeout,
        '--log-level', 'info',
      ],
      { stdio: ['ignore', 'ignore', 'pipe'], env: { PATH: process.env.PATH } },
    );
    let stderr = '';
    const port = await new Promise<number>((resolvePort, reject) => {
      server!.stderr!.on('data', (d: Buffer) => {
        stderr += d.toString();
        const m = /"msg":"listening","port":(\d+)/.exec(stderr);
        if (m) resolvePort(Number(m[1]));
      });
      server!.on('close', () => reject(new Error(`webhook exited: ${stderr}`)));
    });
    const url = `https://127.0.0.1:${port}`;
    const agent = new Agent({ connect: { ca: ca.certPem }, connections: concurrency, pipelining: 1 });

    const cold = await round('cold cache', url, agent, pods, concurrency);
    const warm = await round('warm cache (tags resolved)', url, agent, pods, concurrency);
    const pinnedRound = await round('warm cache, pinned digests', url, agent, pinned, concurrency);
    const metrics = await (await request(`${url}/metrics`, { dispatcher: agent })).body.text();
    await agent.close();

    const rounds = [cold, warm, pinnedRound];
    const images = podCount * containers;
    console.log(`\nimgverify webhook benchmark: ${podCount} Pods x ${containers} containers (${images} distinct signed images), concurrency ${concurrency}`);
    console.log(`machine: ${cpus().length} x ${cpus()[0]?.model ?? 'cpu'}, node ${process.version}; pushing took ${(pushMs / 1000).toFixed(1)} s\n`);
    console.log('| round | requests | allowed | p50 ms | p99 ms | max ms | requests/s | images/s |');
    console.log('| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: |');
    for (const r of rounds) {
      console.log(
        `| ${r.name} | ${r.requests} | ${r.allowed} | ${r.p50Ms.toFixed(1)} | ${r.p99Ms.toFixed(1)} | ${r.maxMs.toFixed(1)} | ${r.requestsPerSecond.toFixed(1)} | ${r.imagesPerSecond.toFixed(1)} |`,
      );
    }
    const hits = /^imgverify_cache_hits_total (\d+)$/m.exec(metrics)?.[1];
    const misses = /^imgverify_cache_misses_total (\d+)$/m.exec(metrics)?.[1];
    console.log(`\ncache: ${hits} hits, ${misses} misses`);
    console.log(JSON.stringify({ pods: podCount, containers, concurrency, rounds, cacheHits: Number(hits), cacheMisses: Number(misses) }));
    if (rounds.some((r) => r.allowed !== r.requests)) throw new Error('some requests were denied: the numbers are not comparable');
  } finally {
    server?.kill('SIGTERM');
    await closePushers();
    await registry.stop();
    rmSync(dir, { recursive: true, force: true });
  }
}

main().catch((err: unknown) => {
  console.error(err);
  process.exitCode = 1;
});
