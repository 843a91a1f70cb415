/**
 * Benchmark: TUF-backed trust against a local mirror.
 *
 *   npm run bench:trust -- [--runs K]
 *
 * Serves a real TUF repository (test/support/tuf.ts: root, targets, snapshot and timestamp
 * signed with Ed25519 and ECDSA keys, holding the private test Sigstore's trusted_root.json)
 * over HTTP on 127.0.0.1 and a signed image from a real docker-registry, then measures, K times
 * each, median and p90:
 *   - `imgverify initialize --mirror URL --root FILE` as a new process (fresh cache each run);
 *   - a refresh in process (`TufTrustRoot.refresh({ force: true })`: timestamp, snapshot and
 *     targets fetched and verified, the new cache version published) after a new publication;
 *   - the start of a verifying command: `imgverify verify IMAGE` as a new process with the
 *     cached TUF root (no network to the mirror: the cache is fresh) vs `--trusted-root FILE`
 *     (the same root from a file) vs the embedded public-good root (`imgverify trust show`
 *     with no cache, as `verify` cannot verify a test image with it).
 * Prints a table and a JSON line. Numbers go in docs/benchmarks.md.
 */
import { spawn } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { initializeTuf, loadTufTrustRoot, trustRootFromFile } from '../src';
import { closePushers, startRegistry } from '../test/support/registry';
import { pushSignatures, pushTestImage } from '../test/support/signed-images';
import { createTestSigstore } from '../test/support/sigstore';
import { serveTufRepository, TestTufRepository } from '../test/support/tuf';

const ISSUER = 'https://accounts.example.test';
const SIGNER = 'release@example.test';
const CLI = resolve(__dirname, '..', '..', '..', 'dist', 'cli', 'main.js');

function stats(values: number[]): { median: number; p90: number } {
  const sorted = [...values].sort((a, b) => a - b);
  const at = (p: number): number => sorted[Math.min(sorted.length - 1, Math.floor(p * sorted.length))]!;
  const round = (ms: number): number => (ms < 20 ? Math.round(ms * 10) / 10 : Math.round(ms));
  return { median: round(at(0.5)), p90: round(at(0.9)) };
}

/** Wall time of a CLI process (asynchronous: the mirror and the registry are served by this process). */
async function timeProcess(args: string[], env: NodeJS.ProcessEnv): Promise<number> {
  const started = process.hrtime.bigint();
  const child = spawn(process.execPath, [CLI, ...args], {
    env: { PATH: process.env.PATH, HOME: '/nonexistent', DOCKER_CONFIG: '/nonexistent', ...env },
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  let stderr = '';
  child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
  const code = await new Promise<number | null>((resolve) => child.on('close', resolve));
  const ms = Number(process.hrtime.bigint() - started) / 1e6;
  if (code !== 0) throw new Error(`imgverify ${args.join(' ')} exited ${code}: ${stderr}`);
  return ms;
}

async function main(): Promise<void> {
  const { values } = parseArgs({ options: { runs: { type: 'string', default: '10' } } });
  const runs = Number(values.runs);
  const sigstore = createTestSigstore();
  const repo = new TestTufRepository({ 'trusted_root.json': sigstore.trustedRoot });
  const served = await serveTufRepository(repo);
  const registry = await startRegistry();
  try {
    const image = await pushTestImage(registry, 'bench/trust', 'v1');
    await pushSignatures(registry, 'bench/trust', image.digest, [sigstore.signImage({ digest: image.digest, identity: { email: SIGNER }, issuer: ISSUER })]);
    const ref = `${registry.host}/bench/trust:v1`;
    const work = mkdtempSync(join(tmpdir(), 'imgverify-bench-trust-'));
    const rootFile = join(work, 'root.json');
    writeFileSync(rootFile, repo.root(1));
    const trustedRootFile = join(work, 'trusted_root.json');
    writeFileSync(trustedRootFile, JSON.stringify(sigstore.trustedRoot));

    const initialize: number[] = [];
    for (let i = 0; i < runs; i++)
      initialize.push(await timeProcess(['initialize', '--mirror', served.url, '--root', rootFile, '--tuf-cache', join(work, `init-${i}`)], {}));

    const cacheDir = join(work, 'cache');
    const tuf = await initializeTuf({ mirror: served.url, root: repo.root(1), cacheDir });
    const refresh: number[] = [];
    for (let i = 0; i < runs; i++) {
      repo.publish();
      const started = process.hrtime.bigint();
      const result = await tuf.refresh({ force: true });
      refresh.push(Number(process.hrtime.bigint() - started) / 1e6);
      if (!result.updated) throw new Error('refresh did not update');
    }

    // In process: reading the cached TUF root (tuf-js verifies the cached metadata offline)
    // against reading the same trusted root from a file.
    const loadTuf: number[] = [];
    const loadFile: number[] = [];
    for (let i = 0; i < runs * 5; i++) {
      let started = process.hrtime.bigint();
      await loadTufTrustRoot({ cacheDir, offline: true });
      loadTuf.push(Number(process.hrtime.bigint() - started) / 1e6);
      started = process.hrtime.bigint();
      trustRootFromFile(trustedRootFile);
      loadFile.push(Number(process.hrtime.bigint() - started) / 1e6);
    }

    const policy = ['--certificate-identity', SIGNER, '--certificate-oidc-issuer', ISSUER];
    const before = served.requests.length;
    const verifyTuf: number[] = [];
    const verifyFile: number[] = [];
    const showTuf: number[] = [];
    const showEmbedded: number[] = [];
    for (let i = 0; i < runs; i++) {
      verifyTuf.push(await timeProcess(['verify', ref, ...policy, '--tuf-cache', cacheDir], {}));
      verifyFile.push(await timeProcess(['verify', ref, ...policy, '--trusted-root', trustedRootFile], {}));
      showTuf.push(await timeProcess(['trust', 'show', '--tuf-cache', cacheDir], {}));
      showEmbedded.push(await timeProcess(['trust', 'show'], {}));
    }
    if (served.requests.length !== before) throw new Error('a verifying command asked the mirror although the cache is fresh');

    const rows: Array<[string, { median: number; p90: number }]> = [
      ['imgverify initialize (new process, fresh cache)', stats(initialize)],
      ['refresh in process (new timestamp/snapshot/targets)', stats(refresh)],
      ['load cached TUF root in process (tuf-js, offline)', stats(loadTuf)],
      ['load trusted_root.json file in process', stats(loadFile)],
      ['imgverify verify, cached TUF root (new process)', stats(verifyTuf)],
      ['imgverify verify, --trusted-root FILE (new process)', stats(verifyFile)],
      ['imgverify trust show, cached TUF root (new process)', stats(showTuf)],
      ['imgverify trust show, embedded root (new process)', stats(showEmbedded)],
    ];
    for (const [name, s] of rows) console.log(`${name.padEnd(56)} median ${String(s.median).padStart(5)} ms   p90 ${String(s.p90).padStart(5)} ms`);
    console.log(JSON.stringify({ runs, node: process.version, results: Object.fromEntries(rows) }));
  } finally {
    await served.stop();
    await closePushers();
    await registry.stop();
  }
}

main().catch((err: unknown) => {
  console.error(err);
  process.exitCode = 1;
});
