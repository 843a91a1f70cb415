/**
 * Benchmark: the admission webhook under concurrent AdmissionReview requests, with a registry
 * 40 ms away, at 1 and N worker processes, side by side in one run.
 *
 *   npm run bench:webhook -- [--pods 100] [--containers 3] [--latency 40] [--workers N]
 *                            [--concurrency 16] [--latency-concurrency 4] [--throughput-concurrency 32]
 *
 * Pushes pods x containers distinct images, each signed keyless by the private test Sigstore,
 * into a real docker-registry on 127.0.0.1, served to the webhook through a proxy that adds
 * `--latency` ms to every answer (a registry in another region). Then, for each configuration,
 * starts the built CLI (`dist/cli/main.js webhook`) as its own process tree and sends Pod
 * CREATEs to /validate over HTTPS (keep-alive):
 *   - before: one process, `--tag-refresh-interval 0` (what main did: every admission by tag
 *     resolves the tag with a manifest GET through the proxy);
 *   - after, 1 worker: `--workers 1`, tags kept resolved in the background (the default);
 *   - after, N workers: `--workers N` (default: the CPUs this process may use, as the CLI's
 *     default).
 * Rounds per configuration:
 *   - cold (by tag, `--concurrency`): everything resolved and verified; then warm-up rounds by
 *     tag until one causes no verification and no tag resolution in any worker (each worker
 *     keeps its own caches: docs/webhook.md, "Workers");
 *   - warm by tag (`--latency-concurrency`): the latency of an admission naming images by tag;
 *   - warm pinned (`--throughput-concurrency`): the Pods as /mutate leaves them, for
 *     throughput, with the webhook's CPU time (every process of its tree, /proc) over the
 *     round's wall time.
 * Prints a table and a JSON line. Numbers go in docs/benchmarks.md ("Webhook").
 */
import { spawn, execFileSync, type ChildProcess } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { cpus, loadavg, tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { Agent, request } from 'undici';
import { usableCpus } from '../src/util/cpus';
import { closePushers, createCa, issueServerCert, startProxy, startRegistry, type TestCa } from '../test/support/registry';
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
  readonly concurrency: number;
  readonly requests: number;
  readonly p50Ms: number;
  readonly p99Ms: number;
  readonly maxMs: number;
  readonly requestsPerSecond: number;
  readonly imagesPerSecond: number;
  readonly allowed: number;
  /** The webhook's CPU seconds (every process) per wall second of the round. */
  readonly cpuPerWall: number;
}

/** CPU seconds used so far by `pid` and its children (a webhook primary and its workers), from /proc. */
const TICKS = Number(execFileSync('getconf', ['CLK_TCK'], { encoding: 'utf8' }).trim()) || 100;
function treeCpuSeconds(pid: number): number {
  let ticks = 0;
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    let stat: string;
    try {
      stat = readFileSync(`/proc/${entry}/stat`, 'utf8');
    } catch {
      continue;
    }
    // Fields after the command (which may hold spaces): state ppid ... utime(14) stime(15).
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    if (Number(entry) === pid || Number(fields[1]) === pid) ticks += Number(fields[11]) + Number(fields[12]);
  }
  return ticks / TICKS;
}

/** Resident memory of `pid` and its children, MiB: the sum, and each process's. */
function treeRssMiB(pid: number): { total: number; processes: number[] } {
  const processes: number[] = [];
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const status = readFileSync(`/proc/${entry}/status`, 'utf8');
      const ppid = Number(/^PPid:\s+(\d+)/m.exec(status)?.[1]);
      if (Number(entry) !== pid && ppid !== pid) continue;
      processes.push(Number(/^VmRSS:\s+(\d+) kB/m.exec(status)?.[1] ?? 0) / 1024);
    } catch {
      continue;
    }
  }
  return { total: processes.reduce((a, b) => a + b, 0), processes };
}

async function round(name: string, server: RunningServer, pods: readonly string[][], passes: number, concurrency: number): Promise<Round> {
  const agent = new Agent({ connect: { ca: server.ca.certPem }, connections: concurrency, pipelining: 1 });
  const total = pods.length * passes;
  const latencies: number[] = [];
  let allowed = 0;
  let next = 0;
  const cpuBefore = treeCpuSeconds(server.pid);
  const started = performance.now();
  const client = async (): Promise<void> => {
    while (next < total) {
      const i = next++;
      const body = podReview(`pod-${i}`, pods[i % pods.length]!);
      const t0 = performance.now();
      const res = await request(`${server.url}/validate`, { method: 'POST', headers: { 'content-type': 'application/json' }, body, dispatcher: agent });
      const json = (await res.body.json()) as { response: { allowed: boolean; status?: { message: string } } };
      latencies.push(performance.now() - t0);
      if (res.statusCode !== 200) throw new Error(`HTTP ${res.statusCode}`);
      if (json.response.allowed) allowed++;
      else if (allowed === 0 && latencies.length === 1) process.stderr.write(`denied: ${json.response.status?.message}\n`);
    }
  };
  await Promise.all(Array.from({ length: concurrency }, client));
  const seconds = (performance.now() - started) / 1000;
  const cpu = treeCpuSeconds(server.pid) - cpuBefore;
  await agent.close();
  const images = pods.reduce((n, p) => n + p.length, 0) * passes;
  return {
    name,
    concurrency,
    requests: total,
    p50Ms: percentile(latencies, 50),
    p99Ms: percentile(latencies, 99),
    maxMs: Math.max(...latencies),
    requestsPerSecond: total / seconds,
    imagesPerSecond: images / seconds,
    allowed,
    cpuPerWall: cpu / seconds,
  };
}

interface RunningServer {
  readonly pid: number;
  readonly url: string;
  readonly ca: TestCa;
  readonly workers: number;
  counter(series: string): Promise<number>;
  stop(): Promise<void>;
}

async function startServer(dir: string, ca: TestCa, timeout: string, extra: readonly string[]): Promise<RunningServer> {
  const child: ChildProcess = spawn(
    process.execPath,
    [
      CLI,
      'webhook',
      '--policies',
      join(dir, 'policies'),
      '--tls-cert',
      join(dir, 'tls.crt'),
      '--tls-key',
      join(dir, 'tls.key'),
      '--trusted-root',
      join(dir, 'trusted_root.json'),
      '--docker-config',
      join(dir, 'no-config.json'),
      '--port',
      '0',
      '--host',
      '127.0.0.1',
      '--timeout',
      timeout,
      '--log-level',
      'info',
      ...extra,
    ],
    { stdio: ['ignore', 'ignore', 'pipe'], env: { PATH: process.env.PATH } },
  );
  let stderr = '';
  const exited = new Promise<void>((r) => child.once('exit', () => r()));
  const { port, workers } = await new Promise<{ port: number; workers: number }>((resolvePort, reject) => {
    child.stderr!.on('data', (d: Buffer) => {
      stderr += d.toString();
      const line = stderr.split('\n').find((l) => l.includes('"msg":"listening"'));
      if (line) {
        const fields = JSON.parse(line) as { port: number; workers?: number };
        resolvePort({ port: fields.port, workers: fields.workers ?? 1 });
      }
    });
    child.once('exit', () => reject(new Error(`webhook exited: ${stderr}`)));
  });
  const url = `https://127.0.0.1:${port}`;
  return {
    pid: child.pid!,
    url,
    ca,
    workers,
    counter: async (series) => {
      const agent = new Agent({ connect: { ca: ca.certPem } });
      const text = await (await request(`${url}/metrics`, { dispatcher: agent })).body.text();
      await agent.close();
      const line = text.split('\n').find((l) => l.startsWith(`${series} `));
      return line === undefined ? 0 : Number(line.slice(series.length + 1));
    },
    stop: async () => {
      child.kill('SIGTERM');
      await exited;
    },
  };
}

interface Configuration {
  readonly name: string;
  readonly args: readonly string[];
  /** Whether to measure pinned throughput (the tag setting does not change it). */
  readonly throughput: boolean;
}

async function main(): Promise<void> {
  const defaultWorkers = usableCpus();
  const { values } = parseArgs({
    options: {
      pods: { type: 'string', default: '100' },
      containers: { type: 'string', default: '3' },
      concurrency: { type: 'string', default: '16' },
      'latency-concurrency': { type: 'string', default: '4' },
      'throughput-concurrency': { type: 'string', default: '32' },
      'throughput-requests': { type: 'string', default: '6000' },
      latency: { type: 'string', default: '40' },
      workers: { type: 'string', default: String(defaultWorkers) },
      timeout: { type: 'string', default: '8s' },
    },
  });
  const podCount = Number(values.pods);
  const containers = Number(values.containers);
  const concurrency = Number(values.concurrency);
  const latencyConcurrency = Number(values['latency-concurrency']);
  const throughputConcurrency = Number(values['throughput-concurrency']);
  const latencyMs = Number(values.latency);
  const workers = Number(values.workers);
  const throughputPasses = Math.max(1, Math.ceil(Number(values['throughput-requests']) / podCount));

  const dir = mkdtempSync(join(tmpdir(), 'imgverify-bench-webhook-'));
  const [registry, ca] = await Promise.all([startRegistry(), createCa('imgverify bench CA')]);
  const proxy = await startProxy(registry.url);
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
        spec: { images: [{ glob: `${proxy.host}/bench/**` }], authorities: [{ name: 'ci', keyless: { identities: [{ issuer: ISSUER, subject: SIGNER }] } }] },
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
        refs.push(`${proxy.host}/${repo}:v1`);
        pins.push(`${proxy.host}/${repo}:v1@${image.digest}`);
      }
      pods.push(refs);
      pinned.push(pins);
    }
    const pushMs = performance.now() - pushStart;
    // From here on every registry answer is `latency` ms away.
    proxy.setDelay(latencyMs);

    const configurations: Configuration[] = [
      { name: 'before (tag GET per admission), 1 process', args: ['--workers', '1', '--tag-refresh-interval', '0'], throughput: false },
      { name: 'after, 1 worker', args: ['--workers', '1'], throughput: true },
      { name: `after, ${workers} workers`, args: ['--workers', String(workers)], throughput: true },
    ];
    const results: Array<{
      configuration: string;
      workers: number;
      warmUpRounds: number;
      registryRequests: number;
      rssMiB: { total: number; processes: number[] };
      rounds: Round[];
    }> = [];
    for (const configuration of configurations) {
      const server = await startServer(dir, ca, values.timeout, configuration.args);
      try {
        const rounds: Round[] = [];
        rounds.push(await round('cold, by tag', server, pods, 1, concurrency));
        // Every worker warm: until a round by tag verifies nothing and resolves no tag in the foreground.
        let warmUpRounds = 0;
        const misses = async (): Promise<number> =>
          (await server.counter('imgverify_cache_misses_total')) + (await server.counter('imgverify_tag_lookups_total{result="miss"}'));
        // Two clean rounds in a row, each over every Pod several times on many connections (spread over the workers).
        for (let clean = 0; clean < 2 && warmUpRounds < 12; warmUpRounds++) {
          const before = await misses();
          await round('warm-up', server, pods, 3, throughputConcurrency);
          clean = (await misses()) === before ? clean + 1 : 0;
        }
        const from = proxy.requests.length;
        rounds.push(await round('warm, by tag', server, pods, 5, latencyConcurrency));
        const registryRequests = proxy.requests.length - from;
        if (configuration.throughput) rounds.push(await round('warm, pinned', server, pinned, throughputPasses, throughputConcurrency));
        results.push({ configuration: configuration.name, workers: server.workers, warmUpRounds, registryRequests, rssMiB: treeRssMiB(server.pid), rounds });
      } finally {
        await server.stop();
      }
    }

    const images = podCount * containers;
    console.log(
      `\nimgverify webhook benchmark: ${podCount} Pods x ${containers} containers (${images} distinct signed images), registry ${latencyMs} ms away (proxy)`,
    );
    console.log(
      `machine: ${cpus().length} x ${cpus()[0]?.model ?? 'cpu'}, usable CPUs ${defaultWorkers}, node ${process.version}; load average at the end ${loadavg()
        .map((l) => l.toFixed(2))
        .join(' ')}; pushing took ${(pushMs / 1000).toFixed(1)} s\n`,
    );
    console.log('| configuration | round | concurrency | requests | allowed | p50 ms | p99 ms | max ms | requests/s | images/s | webhook CPU-s per wall-s |');
    console.log('| --- | --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |');
    for (const result of results) {
      for (const r of result.rounds) {
        console.log(
          `| ${result.configuration} | ${r.name} | ${r.concurrency} | ${r.requests} | ${r.allowed} | ${r.p50Ms.toFixed(2)} | ${r.p99Ms.toFixed(2)} | ${r.maxMs.toFixed(1)} | ${r.requestsPerSecond.toFixed(0)} | ${r.imagesPerSecond.toFixed(0)} | ${r.cpuPerWall.toFixed(2)} |`,
        );
      }
    }
    console.log('');
    for (const result of results) {
      console.log(
        `memory after the rounds, ${result.configuration}: ${result.rssMiB.total.toFixed(0)} MiB RSS (${result.rssMiB.processes.map((p) => p.toFixed(0)).join(' + ')})`,
      );
    }
    const pinnedOf = (i: number) => results[i]!.rounds.find((r) => r.name === 'warm, pinned')!;
    const byTag = (i: number) => results[i]!.rounds.find((r) => r.name === 'warm, by tag')!;
    const summary = {
      byTagBefore: { p50Ms: byTag(0).p50Ms, p99Ms: byTag(0).p99Ms, registryRequests: results[0]!.registryRequests },
      byTagAfter: { p50Ms: byTag(1).p50Ms, p99Ms: byTag(1).p99Ms, registryRequests: results[1]!.registryRequests },
      byTagAfterWorkers: { p50Ms: byTag(2).p50Ms, p99Ms: byTag(2).p99Ms, registryRequests: results[2]!.registryRequests },
      pinnedThroughput: {
        oneWorker: pinnedOf(1).requestsPerSecond,
        workers: pinnedOf(2).requestsPerSecond,
        ratio: pinnedOf(2).requestsPerSecond / pinnedOf(1).requestsPerSecond,
      },
      cpuPerWall: { oneWorker: pinnedOf(1).cpuPerWall, workers: pinnedOf(2).cpuPerWall },
      cpuMsPerPinnedAdmission: {
        oneWorker: (pinnedOf(1).cpuPerWall / pinnedOf(1).requestsPerSecond) * 1000,
        workers: (pinnedOf(2).cpuPerWall / pinnedOf(2).requestsPerSecond) * 1000,
      },
    };
    console.log(
      `\nwarm by tag (c=${latencyConcurrency}): before p50 ${summary.byTagBefore.p50Ms.toFixed(2)} / p99 ${summary.byTagBefore.p99Ms.toFixed(2)} ms (${summary.byTagBefore.registryRequests} registry requests); ` +
        `after p50 ${summary.byTagAfter.p50Ms.toFixed(2)} / p99 ${summary.byTagAfter.p99Ms.toFixed(2)} ms (${summary.byTagAfter.registryRequests}); ` +
        `${workers} workers p50 ${summary.byTagAfterWorkers.p50Ms.toFixed(2)} / p99 ${summary.byTagAfterWorkers.p99Ms.toFixed(2)} ms (${summary.byTagAfterWorkers.registryRequests})`,
    );
    console.log(
      `pinned (c=${throughputConcurrency}): ${summary.pinnedThroughput.oneWorker.toFixed(0)} req/s at 1 worker (${summary.cpuPerWall.oneWorker.toFixed(2)} CPU-s/wall-s), ` +
        `${summary.pinnedThroughput.workers.toFixed(0)} req/s at ${workers} (${summary.cpuPerWall.workers.toFixed(2)} CPU-s/wall-s): ${summary.pinnedThroughput.ratio.toFixed(2)}x; ` +
        `CPU per pinned admission ${summary.cpuMsPerPinnedAdmission.oneWorker.toFixed(2)} / ${summary.cpuMsPerPinnedAdmission.workers.toFixed(2)} ms`,
    );
    console.log(JSON.stringify({ pods: podCount, containers, latencyMs, workers, results, summary }));
    if (results.some((res) => res.rounds.some((r) => r.allowed !== r.requests))) throw new Error('some requests were denied: the numbers are not comparable');
  } finally {
    await proxy.stop();
    await closePushers();
    await registry.stop();
    rmSync(dir, { recursive: true, force: true });
  }
}

main().catch((err: unknown) => {
  console.error(err);
  process.exitCode = 1;
});
