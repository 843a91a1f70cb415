/**
 * The built CLI with TUF-backed trust: `imgverify initialize` against a real TUF repository
 * served over HTTP (test/support/tuf.ts, holding the private test Sigstore's trusted root), then
 * the verifying commands with no --trusted-root, online and with the server stopped; `trust
 * show`; several --trusted-root files. Run `npm run build` first (`npm test` does).
 */
import { mkdtempSync, readFileSync, readlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { runBuiltCli } from '../support/cli';
import { closePushers, startRegistry, type RunningRegistry } from '../support/registry';
import { pushSignatures, pushTestImage } from '../support/signed-images';
import { createTestSigstore, legacyLayerToBundle, type TestSigstore } from '../support/sigstore';
import { serveTufRepository, TestTufRepository, type ServedRepository } from '../support/tuf';

const ISSUER = 'https://accounts.example.test';
const SIGNER = 'release@example.test';
const POLICY = ['--certificate-identity', SIGNER, '--certificate-oidc-issuer', ISSUER];

let registry: RunningRegistry;
let sigstore: TestSigstore;
let image: string;
let work: string;

beforeAll(async () => {
  registry = await startRegistry();
  sigstore = createTestSigstore({ organization: 'tuf-cli.test' });
  const pushed = await pushTestImage(registry, 'tuf/app', 'v1');
  await pushSignatures(registry, 'tuf/app', pushed.digest, [sigstore.signImage({ digest: pushed.digest, identity: { email: SIGNER }, issuer: ISSUER })]);
  image = `${registry.host}/tuf/app:v1`;
  work = mkdtempSync(join(tmpdir(), 'imgverify-cli-tuf-'));
});
afterAll(async () => {
  await closePushers();
  await registry?.stop();
});

/** A fresh repository and server, a user whose cache folder is under `home`. */
async function setup(
  options: { timestampExpiresIn?: number } = {},
): Promise<{ repo: TestTufRepository; served: ServedRepository; env: NodeJS.ProcessEnv; rootFile: string; cache: string }> {
  const repo = new TestTufRepository({ 'trusted_root.json': sigstore.trustedRoot });
  if (options.timestampExpiresIn !== undefined) repo.publish({ timestampExpiresIn: options.timestampExpiresIn });
  const served = await serveTufRepository(repo);
  const home = mkdtempSync(join(work, 'home-'));
  const rootFile = join(home, 'root.json');
  writeFileSync(rootFile, repo.root(1));
  return { repo, served, env: { XDG_CACHE_HOME: join(home, 'cache') }, rootFile, cache: join(home, 'cache', 'imgverify', 'tuf') };
}

test("initialize, then verify / verify-bundle / trust show use the mirror's trusted root with no --trusted-root", async () => {
  const { served, env, rootFile, cache } = await setup();
  try {
    const init = await runBuiltCli(['initialize', '--mirror', served.url, '--root', rootFile], env);
    expect(init.stderr).toBe('');
    expect(init.code).toBe(0);
    expect(init.stdout).toContain(`mirror     ${served.url}`);
    expect(init.stdout).toMatch(/timestamp {2}version 1, expires /);
    expect(init.stdout).toContain(`cache      ${cache}`);

    const verify = await runBuiltCli(['verify', image, ...POLICY, '--output', 'json'], env);
    expect(verify.stderr).toBe('');
    expect(verify.code).toBe(0);
    expect(JSON.parse(verify.stdout)[0].signatures[0].trustRoot).toBe(`TUF ${served.url}`);

    const layer = sigstore.signImage({ digest: `sha256:${'ab'.repeat(32)}`, identity: { email: SIGNER }, issuer: ISSUER });
    const bundle = join(work, 'payload.sigstore.json');
    const payload = join(work, 'payload.json');
    writeFileSync(bundle, JSON.stringify(legacyLayerToBundle(layer)));
    writeFileSync(payload, layer.payload);
    const viaBundle = await runBuiltCli(['verify-bundle', '--bundle', bundle, ...POLICY, payload], env);
    expect(viaBundle.code).toBe(0);

    const show = await runBuiltCli(['trust', 'show'], env);
    expect(show.code).toBe(0);
    expect(show.stdout).toContain(`TUF: TUF ${served.url}`);
    expect(show.stdout).toMatch(/certificate authorities:\n {4}https:\/\/fulcio\.sigstore\.test \(tuf-cli\.test \/ sigstore\)/);
    const json = JSON.parse((await runBuiltCli(['trust', 'show', '--output', 'json'], env)).stdout);
    expect(json.roots[0]).toMatchObject({ kind: 'tuf', tuf: { mirror: served.url, root: { version: 1 }, timestamp: { version: 1 } } });
    expect(json.roots[0].transparencyLogs).toHaveLength(1);
    // The metadata expires in 7 days at most (the timestamp): trust show warns.
    expect(json.roots[0].warnings[0]).toMatch(/expires at .* within 7 days/);

    // The server stopped: a fresh cache needs no mirror.
    await served.stop();
    expect((await runBuiltCli(['verify', image, ...POLICY], env)).code).toBe(0);
    // A cache last updated two days ago is due for a refresh; the mirror does not answer: the
    // cached, still valid metadata is used, and stderr says so.
    const link = join(cache, readlinkSync(join(cache, 'current')), 'state.json');
    const state = JSON.parse(readFileSync(link, 'utf8'));
    writeFileSync(link, JSON.stringify({ ...state, updatedAt: new Date(Date.now() - 2 * 86_400_000).toISOString() }));
    const stale = await runBuiltCli(['verify', image, ...POLICY], env);
    expect(stale.code).toBe(0);
    expect(stale.stderr).toMatch(/^warning: .*TUF_MIRROR_UNREACHABLE.*using the cached TUF metadata/);
    // --offline never asks: no warning.
    const offline = await runBuiltCli(['verify', image, ...POLICY, '--offline'], env);
    expect(offline.code).toBe(0);
    expect(offline.stderr).toBe('');
  } finally {
    await served.stop();
  }
});

test('expired metadata and the mirror stopped: the verifying commands stop with exit 3 (TUF_METADATA_EXPIRED), --offline too', async () => {
  // Long enough for initialize to finish on a loaded machine; then wait for the expiry itself.
  const { repo, served, env, rootFile } = await setup({ timestampExpiresIn: 15_000 });
  expect((await runBuiltCli(['initialize', '--mirror', served.url, '--root', rootFile], env)).code).toBe(0);
  await served.stop();
  await repo.timestampExpired();
  for (const extra of [[], ['--offline']]) {
    const r = await runBuiltCli(['verify', image, ...POLICY, ...extra], env);
    expect(r.code).toBe(3);
    expect(r.stderr).toMatch(/expired .*\[TUF_METADATA_EXPIRED\]/);
  }
});

test('initialize: bad data is exit 1, an unreachable mirror exit 3, an unknown mirror without --root exit 2', async () => {
  const { repo, served, env, rootFile, cache } = await setup();
  try {
    expect((await runBuiltCli(['initialize', '--mirror', served.url, '--root', rootFile], env)).code).toBe(0);
    const before = readlinkSync(join(cache, 'current'));
    repo.tamper('timestamp.json', (j) => (j.signed.version = 99));
    const bad = await runBuiltCli(['initialize', '--mirror', served.url], env);
    expect(bad.code).toBe(1);
    expect(bad.stderr).toMatch(/\[TUF_METADATA_INVALID\]/);
    expect(readlinkSync(join(cache, 'current'))).toBe(before);
    expect((await runBuiltCli(['initialize', '--mirror', 'http://127.0.0.1:9', '--root', rootFile, '--timeout', '2s'], env)).code).toBe(3);
    const noRoot = await runBuiltCli(['initialize', '--mirror', 'https://tuf.example.test'], env);
    expect(noRoot.code).toBe(2);
    expect(noRoot.stderr).toMatch(/--root/);
  } finally {
    await served.stop();
  }
});

test('--tuf-cache naming an empty folder is a usage error; the help says where the cache lives', async () => {
  const r = await runBuiltCli(['verify', image, ...POLICY, '--tuf-cache', join(work, 'nothing-here')]);
  expect(r.code).toBe(2);
  expect(r.stderr).toMatch(/TUF_NOT_INITIALIZED/);
  for (const command of ['initialize', 'verify', 'trust']) {
    expect((await runBuiltCli([command, '--help'])).stdout).toContain('~/.cache/imgverify/tuf');
  }
});

test('several --trusted-root files: the signature verifies under the one that knows it, and the result names it', async () => {
  const other = join(work, 'other-root.json');
  const mine = join(work, 'mine-root.json');
  writeFileSync(other, JSON.stringify(sigstore.untrustedRoot()));
  writeFileSync(mine, JSON.stringify(sigstore.trustedRoot));
  const r = await runBuiltCli(['verify', image, ...POLICY, '--trusted-root', other, '--trusted-root', mine, '--output', 'json']);
  expect(r.code).toBe(0);
  expect(JSON.parse(r.stdout)[0].signatures[0].trustRoot).toBe(mine);
  const alone = await runBuiltCli(['verify', image, ...POLICY, '--trusted-root', other]);
  expect(alone.code).toBe(1);
  expect(alone.stdout).toMatch(/CERTIFICATE_CHAIN_INVALID/);
  const shown = JSON.parse((await runBuiltCli(['trust', 'show', '--trusted-root', other, '--trusted-root', mine, '--output', 'json'])).stdout);
  expect(shown.roots.map((root: { source: string; kind: string }) => [root.kind, root.source])).toEqual([
    ['file', other],
    ['file', mine],
  ]);
});
