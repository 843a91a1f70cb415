/**
 * Benchmark: verify N signed images from a loopback registry.
 *
 *   npm run bench -- [--images N] [--concurrency C] [--cold-runs K]
 *
 * Pushes N images, each with a keyless cosign signature minted by the private test Sigstore,
 * into a real docker-registry on 127.0.0.1, then measures:
 *   - warm verifier: one verifier (connections, tokens, trust material reused), images one at
 *     a time: median and p90 per-image time;
 *   - throughput: all N images at concurrency C through `verifyMany`: images/s;
 *   - cold process: `node dist/cli/main.js verify IMAGE` as a new process, K times: median
 *     wall time (process start, module load, trust root parse, registry round trips).
 * Prints a table and a JSON line. Numbers go in docs/benchmarks.md.
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { createVerifier } from '../src';
import { closePushers, startRegistry } from '../test/support/registry';
import { pushSignatures, pushTestImage } from '../test/support/signed-images';
import { createTestSigstore } from '../test/support/sigstore';

const ISSUER = 'https://accounts.example.test';
const SIGNER = 'release@example.test';
// Compiled to build/tools/bench/: the repository root is three levels up.
const CLI = resolve(__dirname, '..', '..', '..', 'dist', 'cli', 'main.js');

function percentile(values: number[], p: number): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))]!;
}

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: { images: { type: 'string', default: '100' }, concurrency: { type: 'string', default: '8' }, 'cold-runs': { type: 'string', default: '10' } },
  });
  const n = Number(values.images);
  const concurrency = Number(values.concurrency);
  const coldRuns = Number(values['cold-runs']);

  const registry = await startRegistry();
  try {
    const sigstore = createTestSigstore();
    const dir = mkdtempSync(join(tmpdir(), 'imgverify-bench-'));
    const rootFile = join(dir, 'trusted_root.json');
    writeFileSync(rootFile, JSON.stringify(sigstore.trustedRoot));

    const pushStart = performance.now();
    const refs: string[] = [];
    for (let i = 0; i < n; i++) {
      const repo = `bench/img-${i}`;
      const image = await pushTestImage(registry, repo, 'v1');
      await pushSignatures(registry, repo, image.digest, [sigstore.signImage({ digest: image.digest, identity: { email: SIGNER }, issuer: ISSUER })]);
      refs.push(`${registry.host}/${repo}:v1`);
    }
    const pushMs = performance.now() - pushStart;
    const policy = { subject: SIGNER, issuer: ISSUER };

    // Warm verifier, one image at a time (after one warm-up verification).
    const verifier = createVerifier({ trustedRoot: rootFile });
    const prepared = verifier.preparePolicy(policy);
    const warmup = await verifier.verify(refs[0]!, prepared);
    if (!warmup.verified) throw new Error(`benchmark image did not verify: ${warmup.error?.message}`);
    const perImage: number[] = [];
    for (const ref of refs) {
      const t = performance.now();
      const r = await verifier.verify(ref, prepared);
      perImage.push(performance.now() - t);
      if (!r.verified) throw new Error(`${ref}: ${r.error?.message}`);
    }

    // Throughput at the given concurrency, with a fresh verifier (cold connections and caches).
    const fresh = createVerifier({ trustedRoot: rootFile });
    const t0 = performance.now();
    let ok = 0;
    for await (const r of fresh.verifyMany(refs, fresh.preparePolicy(policy), { concurrency })) if (r.verified) ok++;
    const batchMs = performance.now() - t0;
    if (ok !== n) throw new Error(`only ${ok}/${n} verified in the batch`);
    await Promise.all([verifier.close(), fresh.close()]);

    // Cold process: the CLI, one image per process.
    const cold: number[] = [];
    for (let i = 0; i < coldRuns; i++) {
      const t = performance.now();
      const p = spawnSync(
        process.execPath,
        [CLI, 'verify', refs[i % n]!, '--certificate-identity', SIGNER, '--certificate-oidc-issuer', ISSUER, '--trusted-root', rootFile],
        {
          encoding: 'utf8',
        },
      );
      cold.push(performance.now() - t);
      if (p.status !== 0) throw new Error(`CLI run failed (${p.status}): ${p.stdout}${p.stderr}`);
    }

    const result = {
      node: process.version,
      images: n,
      concurrency,
      pushSeconds: +(pushMs / 1000).toFixed(1),
      warmMedianMs: +percentile(perImage, 50).toFixed(2),
      warmP90Ms: +percentile(perImage, 90).toFixed(2),
      batchSeconds: +(batchMs / 1000).toFixed(2),
      imagesPerSecond: +((n * 1000) / batchMs).toFixed(1),
      coldProcessMedianMs: +percentile(cold, 50).toFixed(0),
      coldRuns,
    };
    console.log(`imgverify verify benchmark (${result.node}, loopback docker-registry, ${n} images)`);
    console.log(`  warm verifier, sequential   median ${result.warmMedianMs} ms/image   p90 ${result.warmP90Ms} ms`);
    console.log(`  fresh verifier, concurrency ${concurrency}   ${result.imagesPerSecond} images/s   (${result.batchSeconds} s for ${n})`);
    console.log(`  cold process (CLI)          median ${result.coldProcessMedianMs} ms/image over ${coldRuns} runs`);
    console.log(JSON.stringify(result));
  } finally {
    await closePushers();
    await registry.stop();
  }
}

main().catch((err: unknown) => {
  console.error(err);
  process.exitCode = 1;
});
