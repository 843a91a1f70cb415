/**
 * verify-release against a Kubernetes-release-shaped registry: per-arch images and multi-arch
 * indexes signed by the test Sigstore, a few unsigned or signed by someone else, listed in an
 * SBOM in the `bom` tool's tag-value dialect (served over http on loopback, and from a file).
 */
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createVerifier } from '../../src';
import { verifySbomImages } from '../../src/release/verify-sbom';
import { runBuiltCli, runCli } from '../support/cli';
import { closePushers, startProxy, startRegistry, type RunningProxy, type RunningRegistry } from '../support/registry';
import { pushTestImage } from '../support/signed-images';
import { KUBERNETES_RELEASE, pushRelease, RELEASE_ISSUER, RELEASE_SIGNER, releaseSbom, type ReleaseImage } from '../support/release';
import { createTestSigstore, type TestSigstore } from '../support/sigstore';
import type { Json } from '../support/json';

let registry: RunningRegistry;
let sigstore: TestSigstore;
let images: ReleaseImage[];
let dir: string;
let sbomFile: string;
let rootFile: string;
let server: Server;
let sbomBase: string;

const SIGNING = {
  'kube-proxy-arm64:v1.32.0': 'unsigned',
  'conformance-s390x:v1.32.0': 'other-identity',
  'etcd:3.5.16-0': 'payload-other-digest',
} as const;

beforeAll(async () => {
  registry = await startRegistry();
  sigstore = createTestSigstore();
  images = await pushRelease(registry, sigstore, { ...KUBERNETES_RELEASE, signing: SIGNING });
  dir = mkdtempSync(join(tmpdir(), 'imgverify-release-'));
  sbomFile = join(dir, 'release.spdx');
  const sbom = releaseSbom(
    'v1.32.0',
    images.map((i) => i.reference),
  );
  writeFileSync(sbomFile, sbom);
  rootFile = join(dir, 'trusted_root.json');
  writeFileSync(rootFile, JSON.stringify(sigstore.trustedRoot));
  server = createServer((req, res) => {
    if (req.url === '/v1.32.0/release') {
      res.writeHead(200, { 'content-type': 'text/spdx' }).end(sbom);
    } else {
      res.writeHead(404).end();
    }
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  sbomBase = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
}, 120_000);

afterAll(async () => {
  await new Promise((r) => server?.close(r));
  await closePushers();
  await registry?.stop();
});

const identity = () => ['--certificate-identity', RELEASE_SIGNER, '--certificate-oidc-issuer', RELEASE_ISSUER, '--trusted-root', rootFile];
const bad = (i: ReleaseImage) => i.signing !== 'signed';

test('the registry holds the release shape: 5 components × 3 arches + 5 indexes + 3 extras', () => {
  expect(images).toHaveLength(5 * 3 + 5 + 3);
  expect(
    images
      .filter(bad)
      .map((i) => `${i.repository}:${i.tag}`)
      .sort(),
  ).toEqual(Object.keys(SIGNING).sort());
});

test('--sbom FILE: every image verified or reported with its reason; exit 1', async () => {
  const r = await runBuiltCli(['verify-release', '--sbom', sbomFile, ...identity(), '--output', 'json']);
  const report = JSON.parse(r.stdout);
  expect(report.images).toBe(images.length);
  expect(report.verified).toBe(images.length - 3);
  const byRef = new Map<string, Json>(report.results.map((x: Json) => [x.image, x]));
  for (const image of images) {
    const result = byRef.get(image.reference);
    expect(result).toBeDefined();
    expect(result.digest).toBe(image.digest);
    expect(result.verified).toBe(!bad(image));
  }
  expect(byRef.get(`${registry.host}/kube-proxy-arm64:v1.32.0`).error.code).toBe('NO_SIGNATURES');
  expect(byRef.get(`${registry.host}/conformance-s390x:v1.32.0`).error.code).toBe('IDENTITY_MISMATCH');
  expect(byRef.get(`${registry.host}/etcd:3.5.16-0`).error.code).toBe('PAYLOAD_DIGEST_MISMATCH');
  expect(r.code).toBe(1);
  // Not a terminal: plain progress lines on stderr, one per image.
  expect(r.stderr.split('\n').filter((l) => /^\[\d+\/23\] /.test(l))).toHaveLength(23);
});

test('text output: a summary table with image, digest, verdict, signer and reason', async () => {
  const r = await runCli(['verify-release', '--sbom', sbomFile, ...identity()]);
  const lines = r.stdout.trim().split('\n');
  expect(lines[0]).toMatch(/^IMAGE\s+DIGEST\s+VERDICT\s+SIGNER\s+REASON$/);
  const apiserver = lines.find((l) => l.startsWith(`${registry.host}/kube-apiserver-amd64:v1.32.0 `))!;
  expect(apiserver).toMatch(/sha256:[0-9a-f]{12}…\s+verified\s+krel-trust@/);
  const proxy = lines.find((l) => l.startsWith(`${registry.host}/kube-proxy-arm64:v1.32.0 `))!;
  expect(proxy).toMatch(/FAILED\s+NO_SIGNATURES: no signatures found/);
  expect(lines.at(-2)).toBe('23 images: 20 verified, 3 failed, 0 could not be checked');
  expect(lines.at(-1)).toBe(`policy: subject "${RELEASE_SIGNER}" issued by "${RELEASE_ISSUER}"`);
  expect(r.code).toBe(1);
});

test('claim flags add to the --kubernetes preset identity; the report names the claims checked', async () => {
  const r = await runCli(['verify-release', '--kubernetes', 'v1.32.0', '--trusted-root', rootFile, '--build-trigger', 'push', '-o', 'json'], {
    IMGVERIFY_KUBERNETES_SBOM_BASE_URL: sbomBase,
  });
  const report = JSON.parse(r.stdout);
  expect(report.policy).toBe(`subject "${RELEASE_SIGNER}" issued by "${RELEASE_ISSUER}" with buildTrigger "push"`);
  // The release service account's certificates carry no workload claims.
  const apiserver = report.results.find((x: Json) => x.image === `${registry.host}/kube-apiserver-amd64:v1.32.0`);
  expect(apiserver.error.code).toBe('CLAIM_MISSING');
  expect(apiserver.signatures[0].signer.subject).toBe(RELEASE_SIGNER);
  expect(r.code).toBe(1);
});

test('--kubernetes VERSION fetches the SBOM and uses the release identity; --pin prints digests', async () => {
  const r = await runBuiltCli(['verify-release', '--kubernetes', 'v1.32.0', '--trusted-root', rootFile, '--pin'], {
    IMGVERIFY_KUBERNETES_SBOM_BASE_URL: sbomBase,
  });
  const pins = r.stdout.trim().split('\n');
  expect(pins).toHaveLength(20);
  for (const image of images.filter((i) => !bad(i))) expect(pins).toContain(`${image.reference}@${image.digest}`);
  expect(r.stderr).toContain('23 images: 20 verified, 3 failed');
  expect(r.code).toBe(1);
});

test('all good: exit 0', async () => {
  const good = join(dir, 'good.spdx');
  writeFileSync(
    good,
    releaseSbom(
      'v1.32.0',
      images.filter((i) => !bad(i)).map((i) => i.reference),
    ),
  );
  const r = await runCli(['verify-release', '--sbom', good, ...identity(), '--concurrency', '3']);
  expect(r.code).toBe(0);
});

test('an SBOM that lists no images is a usage error with its own code (exit 2, SBOM_NO_IMAGES)', async () => {
  const empty = join(dir, 'empty.spdx');
  writeFileSync(
    empty,
    [
      'SPDXVersion: SPDX-2.3',
      'SPDXID: SPDXRef-DOCUMENT',
      'DocumentName: t',
      'DocumentNamespace: https://example.com/t',
      'Creator: Tool: t',
      'PackageName: left-pad',
      'SPDXID: SPDXRef-Package-left-pad',
      '',
    ].join('\n'),
  );
  const r = await runCli(['verify-release', '--sbom', empty, ...identity()]);
  expect(r.code).toBe(2);
  expect(r.stderr).toMatch(/lists no container images \[SBOM_NO_IMAGES\]/);
});

test('a malformed SBOM is refused with its line number before any registry work', async () => {
  const broken = join(dir, 'broken.spdx');
  writeFileSync(broken, 'SPDXVersion: SPDX-2.2\nthis line is not tag value\n');
  const r = await runCli(['verify-release', '--sbom', broken, ...identity()]);
  expect(r.code).toBe(2);
  expect(r.stderr).toContain('SBOM_INVALID');
  expect(r.stderr).toMatch(/line 2/);
});

test('an unreachable SBOM URL is an operational error (exit 3)', async () => {
  const r = await runCli(['verify-release', '--sbom', `${sbomBase}/nope`, ...identity()]);
  expect(r.code).toBe(3);
  expect(r.stderr).toContain('FETCH_FAILED');
});

test('library: verifySbomImages yields results as they complete', async () => {
  const verifier = createVerifier({ trustedRoot: rootFile });
  try {
    const run = verifySbomImages(
      verifier,
      releaseSbom(
        'v1.32.0',
        images.map((i) => i.reference),
      ),
      { subject: RELEASE_SIGNER, issuer: RELEASE_ISSUER },
      { concurrency: 4 },
    );
    expect(run.images).toHaveLength(23);
    let count = 0;
    let verified = 0;
    for await (const result of run.results) {
      count++;
      if (result.verified) verified++;
    }
    expect(count).toBe(23);
    expect(verified).toBe(20);
  } finally {
    await verifier.close();
  }
});

/**
 * Issue 9.3 (found by a security review): --registry-username/--registry-password used to go
 * to every registry the SBOM names, and an SBOM is untrusted input (often fetched from a URL):
 * a hostile SBOM collected the password. Flag credentials now go only to the registries named
 * with --registry-credentials-host.
 */
describe('flag credentials go only to registries named on the command line', () => {
  let named: RunningRegistry;
  let foreign: RunningRegistry;
  let recorder: RunningProxy;
  let sbomPath: string;
  let namedRef: string;
  let foreignRef: string;
  const user = { username: 'release-bot', password: 'not-for-strangers' };
  beforeAll(async () => {
    [named, foreign] = await Promise.all([startRegistry({ auth: 'htpasswd', users: [user] }), startRegistry({ auth: 'htpasswd', users: [user] })]);
    // The registry only the SBOM names, behind a proxy that records every request's headers.
    recorder = await startProxy(foreign);
    const [a, b] = await Promise.all([
      pushRelease(named, sigstore, { ...KUBERNETES_RELEASE, components: ['kube-apiserver'], architectures: ['amd64'], extras: [] }),
      pushTestImage(foreign, 'collector/app', 'v1'),
    ]);
    namedRef = a[0]!.reference;
    foreignRef = `${recorder.host}/collector/app:v1`;
    void b;
    sbomPath = join(dir, 'two-registries.spdx');
    writeFileSync(sbomPath, releaseSbom('v1.32.0', [namedRef, foreignRef]));
  }, 120_000);
  afterAll(async () => {
    await recorder?.stop();
    await closePushers();
    await named?.stop();
    await foreign?.stop();
  });

  test('without --registry-credentials-host, flag credentials are a usage error (exit 2), before any request', async () => {
    const r = await runCli(['verify-release', '--sbom', sbomPath, ...identity(), '--registry-username', user.username, '--registry-password', user.password]);
    expect(r.code).toBe(2);
    expect(r.stderr).toContain('--registry-username needs --registry-credentials-host HOST');
    expect(recorder.requests).toHaveLength(0);
  });

  test('the named registry gets them; the registry only the SBOM names gets no Authorization header', async () => {
    const r = await runCli([
      'verify-release',
      '--sbom',
      sbomPath,
      ...identity(),
      '--output',
      'json',
      '--registry-username',
      user.username,
      '--registry-password',
      user.password,
      '--registry-credentials-host',
      named.host,
    ]);
    const report = JSON.parse(r.stdout);
    const byRef = new Map<string, Json>(report.results.map((x: Json) => [x.image, x]));
    expect(byRef.get(namedRef).verified).toBe(true);
    expect(byRef.get(foreignRef).error.code).toBe('REGISTRY_AUTH_FAILED');
    expect(recorder.requests.length).toBeGreaterThan(0);
    expect(recorder.requests.filter((q) => q.headers.authorization !== undefined)).toEqual([]);
    expect(JSON.stringify(recorder.requests.map((q) => q.headers))).not.toContain(Buffer.from(`${user.username}:${user.password}`).toString('base64'));
    expect(r.code).toBe(3);
  });

  test('a malformed --registry-credentials-host is a usage error', async () => {
    const r = await runCli([
      'verify-release',
      '--sbom',
      sbomPath,
      ...identity(),
      '--registry-username',
      'u',
      '--registry-password',
      'p',
      '--registry-credentials-host',
      'https://x/y',
    ]);
    expect(r.code).toBe(2);
    expect(r.stderr).toContain('is not a registry host');
  });
});
