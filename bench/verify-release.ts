/**
 * Benchmark: verify a release's worth of images from an SBOM (issue: verify a whole release),
 * against a round-trip model of the batch.
 *
 *   npm run bench:release -- [--sizes 40,400] [--concurrency 1,16] [--latency 50] [--repeat 1]
 *                            [--compare OTHER_BUILD/build/tools/bench] [--rate-limit N]
 *   npm run bench:release -- --sizes 400 --latency 0      (no injected latency: CPU-bound)
 *
 * Pushes the images (signed by the private test Sigstore) into a loopback docker-registry and
 * serves them through a proxy that adds the given latency to every request (what a remote
 * registry costs). For each size, concurrency, and latency 0 and the given one, a fresh process
 * verifies every image the SBOM lists (bench/release-runner.ts): wall time, images/s, CPU,
 * peak RSS, images in flight. From the proxy's log: requests per image by kind, and requests
 * in flight at the registry (average and peak).
 *
 * The round-trip model (docs/benchmarks.md): each image is a chain of 3 dependent round trips
 * (tag → `.sig` manifest → signature blob; the referrers lookup runs beside the `.sig`
 * manifest), and the batch pays one more before its first image (the registry's `/v2/`
 * check). With c images in flight, the batch takes
 *
 *   model = latency × (1 + 3 × ⌈images / c⌉)
 *
 * and the benchmark reports measured / model (the goal: at most 1.2 at 400 images, 50 ms).
 *
 * `--compare DIR` runs the runner in DIR (another build's build/tools/bench, e.g. main's)
 * alternately with this one on the same registry, so before and after share the machine's
 * load. `--rate-limit N`: the registry answers 429 (Retry-After: 1) to requests beyond N a
 * second (a token bucket holding one second's worth), as rate-limited registries do.
 */
import { spawn } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { closePushers, startProxy, startRegistry, textReply, type ProxyRequest } from '../test/support/registry';
import { pushSignedBatch, releaseSbom, RELEASE_ISSUER, RELEASE_SIGNER } from '../test/support/release';
import { createTestSigstore } from '../test/support/sigstore';

interface Run {
  images: number;
  verified: number;
  wallMs: number;
  /** CPU time (user + system) of the verifying process, its start-up included. */
  cpuMs: number;
  maxRssMiB: number;
  /** Absent from runners before issue 22 (a --compare build). */
  imagesInFlight?: number;
}

/** Dependent round trips per image, and before the first one (see the header). */
const CHAIN = 3;
const SETUP = 1;

/** The round-trip model of a batch, ms. */
function modelMs(images: number, concurrency: number, latencyMs: number): number {
  return latencyMs * (SETUP + CHAIN * Math.ceil(images / concurrency));
}

/** Runs the measured process asynchronously: the proxy it talks to lives in this process. */
function runOnce(runner: string, sbom: string, root: string, concurrency: number): Promise<Run> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [runner, sbom, root, String(concurrency), RELEASE_SIGNER, RELEASE_ISSUER]);
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    child.on('error', reject);
    child.on('close', (code) => {
      if (code !== 0) return reject(new Error(`runner failed (${code}): ${stderr}`));
      const run = JSON.parse(stdout.trim().split('\n').at(-1)!) as Run;
      if (run.verified !== run.images) process.stderr.write(`${runner}: only ${run.verified}/${run.images} verified: ${stderr.slice(0, 2000)}\n`);
      resolve(run);
    });
  });
}

type Kind = 'ping' | 'tag' | 'sig' | 'blob' | 'referrers-api' | 'referrers-tag' | 'other';

function kindOf(req: ProxyRequest): Kind {
  if (req.path === '/v2/') return 'ping';
  if (req.path.includes('/referrers/')) return 'referrers-api';
  if (req.path.includes('/blobs/')) return 'blob';
  const tag = /\/manifests\/([^/]+)$/.exec(req.path)?.[1];
  if (tag === undefined) return 'other';
  if (/^sha256-[0-9a-f]{64}\.(?:sig|att)$/.test(tag)) return 'sig';
  if (/^sha256-[0-9a-f]{64}$/.test(tag)) return 'referrers-tag';
  return 'tag';
}

/** Requests in flight at the registry (the proxy), averaged over the span of the requests, and at most. */
function inFlight(requests: readonly ProxyRequest[]): { average: number; peak: number } {
  const events: Array<[number, number]> = [];
  for (const r of requests) {
    if (r.timing.answeredAt === undefined) continue;
    events.push([r.timing.receivedAt, 1], [r.timing.answeredAt, -1]);
  }
  if (events.length === 0) return { average: 0, peak: 0 };
  events.sort((a, b) => a[0] - b[0] || a[1] - b[1]);
  let current = 0;
  let peak = 0;
  let area = 0;
  for (let i = 0; i < events.length; i++) {
    if (i > 0) area += current * (events[i]![0] - events[i - 1]![0]);
    current += events[i]![1];
    peak = Math.max(peak, current);
  }
  return { average: +(area / (events.at(-1)![0] - events[0]![0])).toFixed(1), peak };
}

interface Row {
  build: string;
  images: number;
  concurrency: number;
  latency: number;
  load: number;
  verified: number;
  wallMs: number;
  modelMs: number;
  ratio: number | null;
  /** Round of the run (--repeat). */
  rep: number;
  /**
   * measured / max(model, the same build's wall time without latency in the same round): how
   * far from the better of the two bounds, when the machine's CPU (not the round trips) is the
   * limit, as on a shared machine.
   */
  boundRatio: number | null;
  imagesPerSecond: number;
  cpuMsPerImage: number;
  maxRssMiB: number;
  requestsPerImage: number;
  requests: Partial<Record<Kind, number>>;
  status429: number;
  imagesInFlight: number | null;
  requestsInFlight: number;
  peakRequestsInFlight: number;
}

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      sizes: { type: 'string', default: '40,400' },
      concurrency: { type: 'string', default: '1,16' },
      latency: { type: 'string', default: '50' },
      repeat: { type: 'string', default: '1' },
      compare: { type: 'string' },
      'rate-limit': { type: 'string' },
    },
  });
  const sizes = values.sizes.split(',').map(Number);
  const concurrencies = values.concurrency.split(',').map(Number);
  const latencyMs = Number(values.latency);
  const repeat = Number(values.repeat);
  const builds: Array<[string, string]> = [['this', join(__dirname, 'release-runner.js')]];
  if (values.compare !== undefined) builds.unshift(['compare', join(values.compare, 'release-runner.js')]);
  const rateLimit = values['rate-limit'] !== undefined ? Number(values['rate-limit']) : undefined;

  const registry = await startRegistry();
  const proxy = await startProxy(registry);
  let status429 = 0;
  if (rateLimit !== undefined) {
    // A token bucket: `rateLimit` requests a second, at most one second's worth at once.
    let tokens = rateLimit;
    let last = performance.now();
    proxy.setHook((req) => {
      const now = performance.now();
      tokens = Math.min(rateLimit, tokens + ((now - last) / 1000) * rateLimit);
      last = now;
      if (req.path === '/v2/' || tokens >= 1) {
        tokens -= 1;
        return undefined;
      }
      status429++;
      return textReply(429, '{"errors":[{"code":"TOOMANYREQUESTS","message":"rate limit"}]}', { 'retry-after': '1' });
    });
  }
  try {
    const sigstore = createTestSigstore();
    const dir = mkdtempSync(join(tmpdir(), 'imgverify-bench-release-'));
    const root = join(dir, 'trusted_root.json');
    writeFileSync(root, JSON.stringify(sigstore.trustedRoot));
    const all = await pushSignedBatch(registry, sigstore, Math.max(...sizes));

    console.log(
      `imgverify verify-release benchmark (${process.version}, loopback docker-registry via proxy; latency ${latencyMs} ms per request` +
        `${rateLimit !== undefined ? `; registry rate limit ${rateLimit} requests/s` : ''}; builds: ${builds.map(([name, path]) => `${name} = ${path}`).join(', ')})`,
    );
    console.log(`model = latency × (${SETUP} + ${CHAIN} × ⌈images / concurrency⌉); ratio = measured / model; bound = measured / max(model, wall at 0 ms)`);
    console.log(
      'build    images  conc  latency  load   wall s  model s  ratio   bound  images/s  CPU ms/image  RSS MiB  req/image  429s  images in flight  requests in flight (avg/peak)',
    );
    const rows: Row[] = [];
    for (let rep = 0; rep < repeat; rep++) {
      for (const n of sizes) {
        const sbom = join(dir, `release-${n}.spdx`);
        writeFileSync(
          sbom,
          releaseSbom(
            'v1.32.0',
            all.slice(0, n).map((i) => i.reference.replace(registry.host, proxy.host)),
          ),
        );
        for (const latency of latencyMs > 0 ? [0, latencyMs] : [0]) {
          proxy.setDelay(latency);
          for (const concurrency of concurrencies) {
            for (const [build, runner] of builds) {
              const before = proxy.requests.length;
              const before429 = status429;
              const load = loadavg()[0]!;
              const run = await runOnce(runner, sbom, root, concurrency);
              const log = proxy.requests.slice(before);
              const requests: Partial<Record<Kind, number>> = {};
              for (const r of log) requests[kindOf(r)] = (requests[kindOf(r)] ?? 0) + 1;
              const flight = inFlight(log);
              const model = modelMs(n, concurrency, latency);
              const row: Row = {
                build,
                images: n,
                concurrency,
                latency,
                load: +load.toFixed(1),
                verified: run.verified,
                wallMs: run.wallMs,
                modelMs: model,
                ratio: latency > 0 ? +(run.wallMs / model).toFixed(2) : null,
                rep,
                boundRatio: null,
                imagesPerSecond: +((n * 1000) / run.wallMs).toFixed(1),
                cpuMsPerImage: +(run.cpuMs / n).toFixed(2),
                maxRssMiB: run.maxRssMiB,
                requestsPerImage: +(log.length / n).toFixed(2),
                requests,
                status429: status429 - before429,
                imagesInFlight: run.imagesInFlight ?? null,
                requestsInFlight: flight.average,
                peakRequestsInFlight: flight.peak,
              };
              const cpuBound = rows.find((r) => r.build === build && r.images === n && r.concurrency === concurrency && r.rep === rep && r.latency === 0);
              if (latency > 0 && cpuBound) row.boundRatio = +(run.wallMs / Math.max(model, cpuBound.wallMs)).toFixed(2);
              rows.push(row);
              console.log(
                [
                  build.padEnd(7),
                  String(n).padStart(6),
                  String(concurrency).padStart(5),
                  `${String(latency).padStart(4)} ms`,
                  load.toFixed(1).padStart(5),
                  (run.wallMs / 1000).toFixed(2).padStart(7),
                  (model / 1000).toFixed(2).padStart(7),
                  (row.ratio === null ? '-' : row.ratio.toFixed(2)).padStart(6),
                  (row.boundRatio === null ? '-' : row.boundRatio.toFixed(2)).padStart(6),
                  String(row.imagesPerSecond).padStart(8),
                  String(row.cpuMsPerImage).padStart(12),
                  String(run.maxRssMiB).padStart(7),
                  String(row.requestsPerImage).padStart(9),
                  String(row.status429).padStart(5),
                  String(run.imagesInFlight ?? '-').padStart(16),
                  `${flight.average} / ${flight.peak}`.padStart(16),
                ].join('  '),
              );
            }
          }
        }
      }
    }
    console.log('');
    // Sanity check of the chain: at concurrency 1, latency adds (round trips per image × latency) per image.
    for (const [build] of builds) {
      for (const n of latencyMs > 0 && concurrencies.includes(1) ? sizes : []) {
        const walls = (l: number) => rows.filter((r) => r.build === build && r.images === n && r.concurrency === 1 && r.latency === l).map((r) => r.wallMs);
        const roundTrips = (median(walls(latencyMs)) - median(walls(0))) / n / latencyMs;
        console.log(
          `${build}: ${n} images at concurrency 1: ${roundTrips.toFixed(2)} sequential round trips per image (the model: ${CHAIN}, and ${SETUP} for the batch)`,
        );
      }
    }
    // Medians per configuration.
    for (const n of sizes) {
      for (const concurrency of concurrencies) {
        for (const [build] of builds) {
          const same = rows.filter((r) => r.build === build && r.images === n && r.concurrency === concurrency && r.latency === latencyMs && r.ratio !== null);
          if (same.length === 0) continue;
          console.log(
            `${build}: ${n} images, concurrency ${concurrency}, ${latencyMs} ms: model ${(modelMs(n, concurrency, latencyMs) / 1000).toFixed(2)} s, ` +
              `measured ${same.map((r) => (r.wallMs / 1000).toFixed(2)).join(' / ')} s, ratio ${same.map((r) => r.ratio!.toFixed(2)).join(' / ')} (median ${median(same.map((r) => r.ratio!)).toFixed(2)}), ` +
              `to max(model, 0 ms wall) ${same.map((r) => r.boundRatio?.toFixed(2) ?? '-').join(' / ')}, load ${same.map((r) => r.load.toFixed(1)).join(' / ')}`,
          );
        }
      }
    }
    console.log(JSON.stringify(rows));
  } finally {
    await proxy.stop();
    await closePushers();
    await registry.stop();
  }
}

function median(values: readonly number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = Math.floor(sorted.length / 2);
  return sorted.length % 2 === 1 ? sorted[mid]! : (sorted[mid - 1]! + sorted[mid]!) / 2;
}

main().catch((err: unknown) => {
  console.error(err);
  process.exitCode = 1;
});
