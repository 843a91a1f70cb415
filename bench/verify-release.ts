/**
 * Benchmark: verify a release's worth of images from an SBOM (issue: verify a whole release).
 *
 *   npm run bench:release -- [--sizes 40,400] [--concurrency 16] [--latency 50]
 *   npm run bench:release -- --sizes 400 --latency 0      (no injected latency: CPU-bound)
 *
 * Pushes the images (signed by the private test Sigstore) into a loopback docker-registry and
 * serves them through a delaying proxy. For each size, at concurrency 1 and at the default,
 * without and with the injected latency, a fresh process verifies every image the SBOM lists
 * (bench/release-runner.ts): wall time, images/s, peak RSS. From the proxy's request log and
 * the timings it derives the registry requests per image and the sequential round trips per
 * image, and compares the batch with the model  round trips × latency × images / concurrency.
 */
import { spawn } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { closePushers, startProxy, startRegistry } from '../test/support/registry';
import { pushSignedBatch, releaseSbom, RELEASE_ISSUER, RELEASE_SIGNER } from '../test/support/release';
import { createTestSigstore } from '../test/support/sigstore';

interface Run {
  images: number;
  verified: number;
  wallMs: number;
  /** CPU time (user + system) of the verifying process, its start-up included. */
  cpuMs: number;
  maxRssMiB: number;
}

/** Runs the measured process asynchronously: the proxy it talks to lives in this process. */
function runOnce(sbom: string, root: string, concurrency: number): Promise<Run> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [join(__dirname, 'release-runner.js'), sbom, root, String(concurrency), RELEASE_SIGNER, RELEASE_ISSUER]);
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    child.on('error', reject);
    child.on('close', (code) => {
      if (code !== 0) return reject(new Error(`runner failed (${code}): ${stderr}`));
      const run = JSON.parse(stdout.trim().split('\n').at(-1)!) as Run;
      if (run.verified !== run.images) return reject(new Error(`only ${run.verified}/${run.images} verified: ${stderr.slice(0, 2000)}`));
      resolve(run);
    });
  });
}

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: { sizes: { type: 'string', default: '40,400' }, concurrency: { type: 'string', default: '16' }, latency: { type: 'string', default: '50' } },
  });
  const sizes = values.sizes.split(',').map(Number);
  const defaultConcurrency = Number(values.concurrency);
  const latencyMs = Number(values.latency);

  const registry = await startRegistry();
  const proxy = await startProxy(registry);
  try {
    const sigstore = createTestSigstore();
    const dir = mkdtempSync(join(tmpdir(), 'imgverify-bench-release-'));
    const root = join(dir, 'trusted_root.json');
    writeFileSync(root, JSON.stringify(sigstore.trustedRoot));
    const all = await pushSignedBatch(registry, sigstore, Math.max(...sizes));

    console.log(`imgverify verify-release benchmark (${process.version}, loopback docker-registry via proxy; latency ${latencyMs} ms per request)`);
    console.log('images  conc  latency  wall s   images/s  CPU ms/image  peak RSS MiB  requests/image');
    const rows: Array<{ images: number; concurrency: number; latency: number; wallMs: number; imagesPerSecond: number; cpuMsPerImage: number; maxRssMiB: number; requestsPerImage: number }> = [];
    for (const n of sizes) {
      const sbom = join(dir, `release-${n}.spdx`);
      writeFileSync(sbom, releaseSbom('v1.32.0', all.slice(0, n).map((i) => i.reference.replace(registry.host, proxy.host))));
      for (const latency of latencyMs > 0 ? [0, latencyMs] : [0]) {
        proxy.setDelay(latency);
        for (const concurrency of [1, defaultConcurrency]) {
          const before = proxy.requests.length;
          const run = await runOnce(sbom, root, concurrency);
          const requests = (proxy.requests.length - before) / n;
          const row = {
            images: n,
            concurrency,
            latency,
            wallMs: run.wallMs,
            imagesPerSecond: +((n * 1000) / run.wallMs).toFixed(1),
            cpuMsPerImage: +(run.cpuMs / n).toFixed(2),
            maxRssMiB: run.maxRssMiB,
            requestsPerImage: +requests.toFixed(2),
          };
          rows.push(row);
          console.log(
            `${String(n).padStart(6)}  ${String(concurrency).padStart(4)}  ${String(latency).padStart(5)} ms  ${(run.wallMs / 1000).toFixed(2).padStart(6)}  ${String(row.imagesPerSecond).padStart(8)}  ${String(row.cpuMsPerImage).padStart(12)}  ${String(run.maxRssMiB).padStart(12)}  ${String(row.requestsPerImage).padStart(14)}`,
          );
        }
      }
    }
    // Sequential round trips per image: the extra time latency adds at concurrency 1, per image, per latency.
    console.log('');
    for (const n of latencyMs > 0 ? sizes : []) {
      const at = (c: number, l: number) => rows.find((r) => r.images === n && r.concurrency === c && r.latency === l);
      const roundTrips = (at(1, latencyMs)!.wallMs - at(1, 0)!.wallMs) / n / latencyMs;
      const model = (Math.round(roundTrips) * latencyMs * n) / defaultConcurrency;
      const actual = at(defaultConcurrency, latencyMs)!.wallMs;
      console.log(
        `${n} images: ${roundTrips.toFixed(2)} sequential round trips per image; model ${Math.round(roundTrips)} × ${latencyMs} ms × ${n} / ${defaultConcurrency} = ${(model / 1000).toFixed(2)} s, measured ${(actual / 1000).toFixed(2)} s (${((model / actual) * 100).toFixed(0)}% of the model)`,
      );
    }
    console.log(JSON.stringify(rows));
  } finally {
    await proxy.stop();
    await closePushers();
    await registry.stop();
  }
}

main().catch((err: unknown) => {
  console.error(err);
  process.exitCode = 1;
});
