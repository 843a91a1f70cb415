/**
 * The runtime and bundler matrix (issue 21, docs/runtimes.md): the packed package, used by the
 * probe program test/support/runtime-probe.cjs, under
 *   - Node.js (this one),
 *   - Bun and Deno (the npm packages `bun` and `deno`, devDependencies),
 *   - an esbuild bundle and an ncc bundle, each run by Node from a folder with no node_modules,
 * gives the same answers: a Sigstore bundle verified against the embedded public-good root; the
 * real Kubernetes release `.sig` with its Rekor SET verified through an injected registry
 * reader; and an image in a real registry (Debian's docker-registry on 127.0.0.1) signed by
 * the test Sigstore. No fast path is off (imgverify warns when one is) and the bundlers warn
 * about nothing.
 *
 * No leg is ever skipped: a runtime or bundler that is missing (npm ci installs them) fails its
 * leg, saying so, here and in CI alike. Node.js is the one running jest: 22 under `npm test`,
 * 24 when .ci/run runs jest again on Node 24.
 */
import { execFileSync, spawnSync } from 'node:child_process';
import { copyFileSync, existsSync, mkdirSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { buildSync } from 'esbuild';
import { FIXTURES_DIR } from '../support/fixtures';
import { installPacked, PROJECT_ROOT } from '../support/packed-package';
import { closePushers, startRegistry, type RunningRegistry } from '../support/registry';
import { pushSignatures, pushTestImage } from '../support/signed-images';
import { createTestSigstore } from '../support/sigstore';

const BIN = join(PROJECT_ROOT, 'node_modules', '.bin');
const SUBJECT = 'release@example.test';
const ISSUER = 'https://accounts.example.test';

let work: string;
let app: string;
let registry: RunningRegistry | undefined;
let image: { ref: string; digest: string };
let probeEnv: NodeJS.ProcessEnv;

beforeAll(async () => {
  work = mkdtempSync(join(tmpdir(), 'imgverify-runtimes-'));
  app = installPacked(work).app;
  copyFileSync(join(__dirname, '..', 'support', 'runtime-probe.cjs'), join(app, 'probe.cjs'));

  registry = await startRegistry();
  const sigstore = createTestSigstore();
  const pushed = await pushTestImage(registry, 'runtimes/app', 'v1');
  await pushSignatures(registry, 'runtimes/app', pushed.digest, [
    sigstore.signImage({ digest: pushed.digest, dockerReference: `${registry.host}/runtimes/app`, identity: { email: SUBJECT }, issuer: ISSUER }),
  ]);
  image = { ref: `${registry.host}/runtimes/app:v1`, digest: pushed.digest };
  const trustedRoot = join(work, 'trusted_root.json');
  writeFileSync(trustedRoot, JSON.stringify(sigstore.trustedRoot));
  probeEnv = {
    PATH: process.env.PATH,
    HOME: work,
    NO_COLOR: '1',
    IMGVERIFY_PROBE_FIXTURES: FIXTURES_DIR,
    IMGVERIFY_PROBE_IMAGE: image.ref,
    IMGVERIFY_PROBE_TRUSTED_ROOT: trustedRoot,
    IMGVERIFY_PROBE_SUBJECT: SUBJECT,
    IMGVERIFY_PROBE_ISSUER: ISSUER,
    // Deno: its cache in the work folder, no update check, no prompt.
    DENO_DIR: join(work, 'deno'),
    DENO_NO_UPDATE_CHECK: '1',
    DENO_NO_PROMPT: '1',
  };
}, 300_000);

afterAll(async () => {
  await closePushers();
  await registry?.stop();
  if (work) rmSync(work, { recursive: true, force: true });
});

/** A runtime or bundler from node_modules (a devDependency); its absence fails the leg, never skips it. */
function installed(path: string): string {
  if (!existsSync(path))
    throw new Error(`${path} is missing: the runtime matrix needs it (a devDependency, installed by npm ci); this leg fails rather than skips`);
  return path;
}

/** Runs the probe; its JSON lines by check, and its stderr. */
function probe(command: string, args: readonly string[], cwd: string): { results: Record<string, Record<string, unknown>>; stderr: string } {
  const p = spawnSync(command, args, { cwd, env: probeEnv, encoding: 'utf8', timeout: 120_000 });
  if (p.status !== 0) throw new Error(`${command} ${args.join(' ')} exited ${p.status}: ${p.stderr}${p.error ? ` (${p.error.message})` : ''}`);
  const results = Object.fromEntries(
    p.stdout
      .trim()
      .split('\n')
      .map((line) => JSON.parse(line) as Record<string, unknown>)
      .map((r) => [r.check as string, r]),
  );
  return { results, stderr: p.stderr };
}

function expectEveryCheckPasses({ results, stderr }: ReturnType<typeof probe>): void {
  expect(results).toEqual({
    bundle: { check: 'bundle', verified: true, signer: 'https://github.com/trailofbits/rfc8785.py/.github/workflows/release.yml@refs/tags/v0.1.2' },
    sig: {
      check: 'sig',
      verified: true,
      signer: 'krel-trust@k8s-releng-prod.iam.gserviceaccount.com',
      pinned: 'registry.k8s.io/cluster-api/cluster-api-controller@sha256:f34016d3a494f9544a16137c9bba49d8756c574a0a1baf96257903409ef82f77',
    },
    registry: { check: 'registry', verified: true, signer: SUBJECT, pinned: image.ref.replace(/:v1$/, `:v1@${image.digest}`) },
  });
  // No fast path is off (the certificate cache, for one, says so when it is).
  expect(stderr).not.toContain('ImgverifyWarning');
}

/** A fresh folder outside any node_modules tree, holding only `files`. */
function isolated(name: string, files: ReadonlyArray<[from: string, to: string]>): string {
  const dir = mkdtempSync(join(tmpdir(), `imgverify-${name}-`));
  for (const [from, to] of files) copyFileSync(from, join(dir, to));
  return dir;
}

test(`Node.js ${process.version}`, () => {
  expectEveryCheckPasses(probe(process.execPath, ['probe.cjs'], app));
});

test('Bun (npm package bun)', () => {
  expectEveryCheckPasses(probe(installed(join(BIN, 'bun')), ['probe.cjs'], app));
});

test('Deno (npm package deno; node_modules as installed by npm; permissions: read, env, net)', () => {
  expectEveryCheckPasses(
    probe(installed(join(BIN, 'deno')), ['run', '--node-modules-dir=manual', '--allow-read', '--allow-env', '--allow-net', 'probe.cjs'], app),
  );
});

test('an esbuild bundle, run from a folder with no node_modules; esbuild warns about nothing', () => {
  const outfile = join(work, 'esbuild', 'probe.cjs');
  const result = buildSync({
    absWorkingDir: app,
    entryPoints: ['probe.cjs'],
    bundle: true,
    platform: 'node',
    format: 'cjs',
    target: 'node22',
    outfile,
    logLevel: 'silent',
  });
  expect(result.errors).toEqual([]);
  expect(result.warnings).toEqual([]);
  const dir = isolated('esbuild', [[outfile, 'probe.cjs']]);
  try {
    expectEveryCheckPasses(probe(process.execPath, ['probe.cjs'], dir));
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('an ncc bundle (one file, no stray copies of dependencies), run from a folder with no node_modules', () => {
  const out = join(work, 'ncc');
  mkdirSync(out, { recursive: true });
  execFileSync(
    process.execPath,
    [installed(join(PROJECT_ROOT, 'node_modules', '@vercel', 'ncc', 'dist', 'ncc', 'cli.js')), 'build', 'probe.cjs', '-o', out, '--quiet'],
    {
      cwd: app,
      encoding: 'utf8',
      env: { ...process.env, NO_COLOR: '1' },
    },
  );
  expect(readdirSync(out)).toEqual(['index.cjs']);
  const dir = isolated('ncc', [[join(out, 'index.cjs'), 'probe.cjs']]);
  try {
    expectEveryCheckPasses(probe(process.execPath, ['probe.cjs'], dir));
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}, 180_000);
