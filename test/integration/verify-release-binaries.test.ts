/**
 * verify-release --kubernetes with the release's signed files, against local stand-ins for
 * dl.k8s.io and sbom.k8s.io (real HTTP on 127.0.0.1, selected with the IMGVERIFY_KUBERNETES_*
 * variables) and a Rekor API server: the SBOM's own signature (release.sig, release.cert) and the
 * binaries of a platform (bin/OS/ARCH/<name> with .sig and .cert, entries in Rekor), in the same
 * report as the images.
 */
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { hostPlatform, withBinariesDefault } from '../../src/cli/commands/verify-release';
import { KUBERNETES_BINARIES } from '../../src';
import { runCli } from '../support/cli';
import { closePushers, startRegistry, type RunningRegistry } from '../support/registry';
import { startRekorServer, type RunningRekorServer } from '../support/rekor-server';
import { pushRelease, releaseSbom, type ReleaseImage } from '../support/release';
import { createTestSigstore, signBlob, type TestSigstore } from '../support/sigstore';
import type { Json } from '../support/json';

const VERSION = 'v1.32.0';
const STAGING = 'krel-staging@k8s-releng-prod.iam.gserviceaccount.com';
const GOOGLE = 'https://accounts.google.com';

let registry: RunningRegistry;
let sigstore: TestSigstore;
let rekor: RunningRekorServer;
let images: ReleaseImage[];
let server: Server;
let base: string;
let rootFile: string;
/** path → body served by the stand-in for dl.k8s.io and sbom.k8s.io. */
const files = new Map<string, Buffer | string>();

function publishSigned(path: string, bytes: Buffer, signer: { email: string } = { email: STAGING }): void {
  const signed = signBlob(sigstore, bytes, { identity: signer, issuer: GOOGLE });
  files.set(path, bytes);
  files.set(`${path}.sig`, signed.sigFile);
  files.set(`${path}.cert`, signed.certFile!);
}

beforeAll(async () => {
  registry = await startRegistry();
  sigstore = createTestSigstore();
  images = await pushRelease(registry, sigstore, { version: VERSION, components: ['kube-apiserver'], architectures: ['amd64'], extras: [] });
  const sbom = releaseSbom(
    VERSION,
    images.map((i) => i.reference),
  );
  publishSigned(`/sbom/${VERSION}/release`, Buffer.from(sbom));
  // linux/amd64: every binary signed, except kube-proxy (signed by someone else), kubeadm (no
  // .sig) and mounter (not published in this release).
  for (const name of KUBERNETES_BINARIES.linux!) {
    const path = `/dl/release/${VERSION}/bin/linux/amd64/${name}`;
    const bytes = Buffer.from(`${name} ${VERSION} linux/amd64 ${'x'.repeat(100)}`);
    if (name === 'mounter') continue;
    if (name === 'kube-proxy') publishSigned(path, bytes, { email: 'someone@example.test' });
    else publishSigned(path, bytes);
    if (name === 'kubeadm') files.delete(`${path}.sig`);
  }
  // darwin/arm64: both clients signed; kubectl served as another file than the one signed.
  publishSigned(`/dl/release/${VERSION}/bin/darwin/arm64/kubectl-convert`, Buffer.from('kubectl-convert darwin'));
  publishSigned(`/dl/release/${VERSION}/bin/darwin/arm64/kubectl`, Buffer.from('kubectl darwin'));
  files.set(`/dl/release/${VERSION}/bin/darwin/arm64/kubectl`, Buffer.from('kubectl darwin, tampered'));
  rekor = await startRekorServer(sigstore.rekor);
  server = createServer((req, res) => {
    const body = files.get(req.url ?? '');
    if (body === undefined) res.writeHead(404).end();
    else res.writeHead(200).end(body);
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  const dir = mkdtempSync(join(tmpdir(), 'imgverify-k8s-bin-'));
  rootFile = join(dir, 'trusted_root.json');
  writeFileSync(rootFile, JSON.stringify(sigstore.trustedRoot));
}, 120_000);

afterAll(async () => {
  await new Promise((r) => server?.close(r));
  await rekor?.stop();
  await closePushers();
  await registry?.stop();
});

const env = () => ({ IMGVERIFY_KUBERNETES_SBOM_BASE_URL: `${base}/sbom`, IMGVERIFY_KUBERNETES_DL_BASE_URL: `${base}/dl` });
const args = (...extra: string[]) => ['verify-release', '--kubernetes', VERSION, '--trusted-root', rootFile, '--rekor-url', rekor.url, ...extra];

test('--binaries linux/amd64: images, the SBOM signature and every binary in one report', async () => {
  const r = await runCli(args('--binaries', 'linux/amd64', '-o', 'json'), env());
  const report = JSON.parse(r.stdout);
  expect(report.verified).toBe(images.length);
  expect(report.sbomSignature).toMatchObject({ name: 'sbom', status: 'verified', signer: { subject: STAGING, issuer: GOOGLE } });
  const byName = new Map<string, Json>(report.binaries.map((b: Json) => [b.name, b]));
  expect([...byName.keys()]).toEqual(KUBERNETES_BINARIES.linux!.map((n) => `linux/amd64/${n}`));
  expect(byName.get('linux/amd64/kubectl')).toMatchObject({
    status: 'verified',
    url: `${base}/dl/release/${VERSION}/bin/linux/amd64/kubectl`,
    signer: { subject: STAGING },
    rekorEntry: { uuid: expect.any(String) },
    sha256: expect.stringMatching(/^[0-9a-f]{64}$/),
  });
  expect(byName.get('linux/amd64/kube-proxy')).toMatchObject({
    status: 'failed',
    failure: { code: 'IDENTITY_MISMATCH' },
    signer: { subject: 'someone@example.test' },
  });
  expect(byName.get('linux/amd64/kubeadm')).toMatchObject({
    status: 'failed',
    failure: { code: 'NO_SIGNATURES', message: expect.stringContaining('no signature (.sig)') },
  });
  expect(byName.get('linux/amd64/mounter')).toMatchObject({ status: 'not-published' });
  expect(r.code).toBe(1);
});

test('text output: the binaries after the images table, with a count; a tampered binary fails', async () => {
  const r = await runCli(args('--binaries', 'darwin/arm64'), env());
  expect(r.stdout).toContain('SBOM signature: verified  sbom');
  expect(r.stdout).toMatch(/verified {2}darwin\/arm64\/kubectl-convert {2}sha256:[0-9a-f]{12}… {2}signed by krel-staging@/);
  // Rekor has no entry for the tampered bytes' digest: nothing vouches for them.
  expect(r.stdout).toMatch(/FAILED {4}darwin\/arm64\/kubectl {2}TLOG_ENTRY_MISSING: /);
  expect(r.stdout).toContain('2 binaries: 1 verified, 1 failed, 0 not published');
  expect(r.code).toBe(1);
});

test('a SBOM whose signature is by someone else: exit 1, even when every image verifies', async () => {
  const saved = { sig: files.get(`/sbom/${VERSION}/release.sig`)!, cert: files.get(`/sbom/${VERSION}/release.cert`)! };
  const other = signBlob(sigstore, Buffer.from(files.get(`/sbom/${VERSION}/release`)! as Buffer), {
    identity: { email: 'mallory@example.test' },
    issuer: GOOGLE,
  });
  files.set(`/sbom/${VERSION}/release.sig`, other.sigFile);
  files.set(`/sbom/${VERSION}/release.cert`, other.certFile!);
  try {
    const r = await runCli(args('-o', 'json'), env());
    const report = JSON.parse(r.stdout);
    expect(report.verified).toBe(images.length);
    expect(report.sbomSignature).toMatchObject({ status: 'failed', failure: { code: 'IDENTITY_MISMATCH' } });
    expect(r.code).toBe(1);
  } finally {
    files.set(`/sbom/${VERSION}/release.sig`, saved.sig);
    files.set(`/sbom/${VERSION}/release.cert`, saved.cert);
  }
});

test('an SBOM the publisher did not sign (older releases): reported as not published, not a failure', async () => {
  const saved = { sig: files.get(`/sbom/${VERSION}/release.sig`)!, cert: files.get(`/sbom/${VERSION}/release.cert`)! };
  files.delete(`/sbom/${VERSION}/release.sig`);
  files.delete(`/sbom/${VERSION}/release.cert`);
  try {
    const r = await runCli(args(), env());
    expect(r.stdout).toContain('SBOM signature: -         sbom  not published in this release');
    expect(r.code).toBe(0);
  } finally {
    files.set(`/sbom/${VERSION}/release.sig`, saved.sig);
    files.set(`/sbom/${VERSION}/release.cert`, saved.cert);
  }
});

test('Rekor down: the binaries are operational errors (exit 3), not verdicts', async () => {
  const down = await startRekorServer(sigstore.rekor);
  await down.stop();
  const r = await runCli(
    [
      'verify-release',
      '--kubernetes',
      VERSION,
      '--trusted-root',
      rootFile,
      '--rekor-url',
      down.url,
      '--binaries',
      'darwin/arm64',
      '--timeout',
      '5s',
      '-o',
      'json',
    ],
    env(),
  );
  const report = JSON.parse(r.stdout);
  expect(report.binaries.find((b: Json) => b.name === 'darwin/arm64/kubectl-convert')).toMatchObject({
    status: 'failed',
    failure: { code: 'FETCH_FAILED', category: 'operational' },
  });
  expect(r.code).toBe(3);
});

test.each([
  [['--binaries', 'plan9/amd64'], '--binaries: invalid platform "plan9/amd64"'],
  [['--sbom', 'x.spdx', '--binaries', 'linux/amd64'], '--binaries needs --kubernetes VERSION'],
])('usage errors (exit 2): %j', async (extra, message) => {
  const r = await runCli(extra[0] === '--sbom' ? ['verify-release', ...extra] : args(...extra), env());
  expect(r.code).toBe(2);
  expect(r.stderr).toContain(message);
});

test("--binaries without a value means this machine's platform", () => {
  expect(withBinariesDefault(['--kubernetes', 'v1', '--binaries'])).toEqual(['--kubernetes', 'v1', `--binaries=${hostPlatform()}`]);
  expect(withBinariesDefault(['--binaries', '--pin'])).toEqual([`--binaries=${hostPlatform()}`, '--pin']);
  expect(withBinariesDefault(['--binaries', 'linux/arm64'])).toEqual(['--binaries', 'linux/arm64']);
  expect(hostPlatform('linux', 'x64')).toBe('linux/amd64');
  expect(hostPlatform('win32', 'arm64')).toBe('windows/arm64');
  expect(hostPlatform('aix', 'ppc64')).toBe('linux/amd64');
});
