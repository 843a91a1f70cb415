/**
 * verify-blob against a Rekor v1 REST API over real HTTP (test/support/rekor-server.ts) serving
 * the private test Sigstore's log: files signed as the Kubernetes release binaries are (a base64
 * `.sig`, a base64-of-PEM `.cert`, the entry only in Rekor), cosign's bundle JSON, Sigstore
 * bundles, keys; and a Rekor that lies in each way it can (an entry for another artifact, a bad
 * inclusion proof, a bad SET, a bad checkpoint, another integration time, another UUID) or is down.
 */
import { createHash } from 'node:crypto';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createVerifier, ImgverifyError, type ImageVerifier, type VerificationPolicy } from '../../src';
import { runCli } from '../support/cli';
import { startRekorServer, type RekorBehaviour, type RunningRekorServer } from '../support/rekor-server';
import { startSilentServer } from '../support/silent-server';
import { createTestSigstore, generateKeyPair, publicKeyPem, signBlob, GITHUB_ACTIONS_ISSUER, type SignedBlob, type TestSigstore } from '../support/sigstore';
import { errorMessage } from '../../src/util/describe';
import { verified } from '../support/verify';

const KREL = 'krel-staging@k8s-releng-prod.iam.gserviceaccount.com';
const GOOGLE = 'https://accounts.google.com';
const POLICY: VerificationPolicy = { subject: KREL, issuer: GOOGLE };

let sigstore: TestSigstore;
let rekor: RunningRekorServer;
let verifier: ImageVerifier;
let dir: string;
let rootFile: string;
let kubectl: SignedBlob;
let files: { artifact: string; sig: string; cert: string; bundle: string; sigstoreBundle: string };
let web: Server;
let webUrl: string;

beforeAll(async () => {
  sigstore = createTestSigstore();
  // Other artifacts in the log first, so that a lying index has something else to offer.
  signBlob(sigstore, Buffer.from('kubeadm binary'), { identity: { email: KREL }, issuer: GOOGLE });
  kubectl = signBlob(sigstore, Buffer.from('kubectl binary, v1.32.0 linux/amd64'), { identity: { email: KREL }, issuer: GOOGLE });
  signBlob(sigstore, Buffer.from('kubelet binary'), { identity: { email: KREL }, issuer: GOOGLE });
  rekor = await startRekorServer(sigstore.rekor);
  verifier = createVerifier({ trustedRoot: sigstore.trustedRoot });
  dir = mkdtempSync(join(tmpdir(), 'imgverify-blob-'));
  rootFile = join(dir, 'trusted_root.json');
  writeFileSync(rootFile, JSON.stringify(sigstore.trustedRoot));
  files = {
    artifact: join(dir, 'kubectl'),
    sig: join(dir, 'kubectl.sig'),
    cert: join(dir, 'kubectl.cert'),
    bundle: join(dir, 'kubectl.bundle'),
    sigstoreBundle: join(dir, 'kubectl.sigstore.json'),
  };
  writeFileSync(files.artifact, kubectl.artifact);
  writeFileSync(files.sig, kubectl.sigFile);
  writeFileSync(files.cert, kubectl.certFile!);
  writeFileSync(files.bundle, kubectl.cosignBundle);
  writeFileSync(files.sigstoreBundle, JSON.stringify(kubectl.sigstoreBundle));
  web = createServer((req, res) => {
    if (req.url === '/release/kubectl.sig') res.writeHead(200).end(kubectl.sigFile);
    else if (req.url === '/release/kubectl.cert') res.writeHead(302, { location: '/cdn/kubectl.cert' }).end();
    else if (req.url === '/cdn/kubectl.cert') res.writeHead(200).end(kubectl.certFile);
    else res.writeHead(404).end();
  });
  await new Promise<void>((r) => web.listen(0, '127.0.0.1', r));
  webUrl = `http://127.0.0.1:${(web.address() as AddressInfo).port}`;
});

afterAll(async () => {
  await rekor?.stop();
  await new Promise((r) => web?.close(r));
  await verifier?.close();
});

beforeEach(() => {
  rekor.behaviour = 'honest';
});

const material = () => ({ signature: kubectl.sigFile, certificate: kubectl.certFile! });

describe('library: verifyBlob', () => {
  test('a .sig and .cert without a bundle: the entry is found in Rekor and verified', async () => {
    const before = rekor.requests.length;
    const result = await verifier.verifyBlob(kubectl.artifact, material(), POLICY, { rekorUrl: rekor.url }).then(verified);
    expect(result.signer).toMatchObject({ subject: KREL, issuer: GOOGLE });
    expect(result.tlog?.logIndex).toBe(kubectl.rekorEntry!.logIndex);
    expect(result.rekorEntry).toEqual({ uuid: kubectl.rekorEntry!.uuid, url: `${rekor.url}/api/v1/log/entries/${kubectl.rekorEntry!.uuid}` });
    expect(result.content).toEqual({ kind: 'message-signature', digest: `sha256:${createHash('sha256').update(kubectl.artifact).digest('hex')}` });
    expect(rekor.requests.slice(before)).toEqual(['POST /api/v1/index/retrieve', `GET /api/v1/log/entries/${kubectl.rekorEntry!.uuid}`]);
  });

  test('the entry with its SET only (no inclusion proof) verifies too', async () => {
    rekor.behaviour = 'set-only';
    await expect(verifier.verifyBlob(kubectl.artifact, material(), POLICY, { rekorUrl: rekor.url }).then(verified)).resolves.toMatchObject({
      signer: { subject: KREL },
    });
  });

  test.each<[RekorBehaviour, string, RegExp]>([
    ['other-artifact', 'TLOG_BODY_MISMATCH', /none of the 2 Rekor entries .* verifies this signature/],
    ['bad-proof', 'TLOG_INCLUSION_PROOF_INVALID', /inclusion proof/i],
    ['bad-set', 'TLOG_INCLUSION_PROMISE_INVALID', /signed entry timestamp/i],
    ['bad-checkpoint', 'TLOG_INCLUSION_PROOF_INVALID', /checkpoint|inclusion proof/i],
    ['other-time', 'TLOG_INCLUSION_PROMISE_INVALID', /signed entry timestamp/i],
    ['wrong-uuid', 'TLOG_ENTRY_MISSING', /not the entry asked for|under another UUID/],
    ['garbage', 'TLOG_ENTRY_MISSING', /not JSON/],
  ])('a Rekor that lies (%s) is not believed: %s', async (behaviour, code, message) => {
    rekor.behaviour = behaviour;
    const err = await verifier
      .verifyBlob(kubectl.artifact, material(), POLICY, { rekorUrl: rekor.url })
      .then(verified)
      .catch((e: unknown) => e);
    expect(err).toMatchObject({ code, category: 'verification' });
    expect(errorMessage(err)).toMatch(message);
  });

  test('a Rekor that answers 503, and one that is down: FETCH_FAILED (operational), never a verdict', async () => {
    rekor.behaviour = 'unavailable';
    await expect(verifier.verifyBlob(kubectl.artifact, material(), POLICY, { rekorUrl: rekor.url }).then(verified)).rejects.toMatchObject({
      code: 'FETCH_FAILED',
      category: 'operational',
      message: expect.stringContaining('HTTP 503'),
    });
    const down = await startRekorServer(sigstore.rekor);
    await down.stop();
    await expect(verifier.verifyBlob(kubectl.artifact, material(), POLICY, { rekorUrl: down.url, timeoutMs: 5000 }).then(verified)).rejects.toMatchObject({
      code: 'FETCH_FAILED',
      message: expect.stringContaining('connection refused'),
    });
  });

  test("aborted while Rekor does not answer: ImgverifyError ABORTED, not the signal's raw DOMException (issue 20.8)", async () => {
    const silent = await startSilentServer();
    try {
      const during = await verifier.verifyBlob(kubectl.artifact, material(), POLICY, { rekorUrl: `http://${silent.host}`, signal: AbortSignal.timeout(300) });
      expect(during.error).toBeInstanceOf(ImgverifyError);
      expect(during).toMatchObject({
        verified: false,
        error: { code: 'ABORTED', category: 'operational', message: expect.stringContaining('aborted due to timeout') },
      });
      const before = await verifier.verifyBlob(kubectl.artifact, material(), POLICY, { rekorUrl: `http://${silent.host}`, signal: AbortSignal.abort() });
      expect(before).toMatchObject({ verified: false, error: { code: 'ABORTED' } });
    } finally {
      await silent.stop();
    }
  });

  test('the index lists first an entry the log answers 404 for: the next entry is still looked at, and verifies (issue 20.18)', async () => {
    rekor.behaviour = 'stale-first';
    const result = verified(await verifier.verifyBlob(kubectl.artifact, material(), POLICY, { rekorUrl: rekor.url }));
    expect(result.signer.subject).toBe(KREL);
    expect(rekor.requests.some((r) => r.endsWith(`/entries/${'f'.repeat(64)}`))).toBe(true);
  });

  test('an entry that cannot be read, and none that verifies: FETCH_FAILED (no verdict), not a verification failure', async () => {
    rekor.behaviour = 'stale-first';
    const other = signBlob(sigstore, Buffer.from('signed by someone else'), { identity: { email: 'other@example.test' }, issuer: GOOGLE });
    const result = await verifier.verifyBlob(other.artifact, { signature: other.sigFile, certificate: other.certFile! }, POLICY, { rekorUrl: rekor.url });
    expect(result).toMatchObject({ verified: false, error: { code: 'FETCH_FAILED', category: 'operational' } });
  });

  test('an index answer over its bound: SIZE_LIMIT_EXCEEDED saying what and where, in words (the message was garbled) (issue 20.18)', async () => {
    rekor.behaviour = 'huge-index';
    const err = await verifier
      .verifyBlob(kubectl.artifact, material(), POLICY, { rekorUrl: rekor.url })
      .then(verified)
      .catch((e: unknown) => e);
    const sha256 = createHash('sha256').update(kubectl.artifact).digest('hex');
    expect(err).toMatchObject({
      code: 'SIZE_LIMIT_EXCEEDED',
      message: `the Rekor index search for sha256:${sha256} from ${rekor.url}/api/v1/index/retrieve is larger than 262144 bytes`,
    });
  });

  test('an artifact Rekor has no entry for: TLOG_ENTRY_MISSING', async () => {
    const err = await verifier
      .verifyBlob(Buffer.from('another file'), material(), POLICY, { rekorUrl: rekor.url })
      .then(verified)
      .catch((e: unknown) => e);
    expect(err).toMatchObject({ code: 'TLOG_ENTRY_MISSING', message: expect.stringContaining('has no entry for the artifact') });
  });

  test('a tampered file whose digest Rekor knows (another signed file) fails on the signature or body, not "verified"', async () => {
    const other = signBlob(sigstore, Buffer.from('evil'), { identity: { email: KREL }, issuer: GOOGLE });
    const err = await verifier
      .verifyBlob(other.artifact, material(), POLICY, { rekorUrl: rekor.url })
      .then(verified)
      .catch((e: unknown) => e);
    expect((err as { category?: string }).category).toBe('verification');
  });

  test('the policy is applied to the certificate; the signer and its claims are in the failure', async () => {
    const err = await verifier
      .verifyBlob(kubectl.artifact, material(), { subject: 'krel-trust@k8s-releng-prod.iam.gserviceaccount.com', issuer: GOOGLE }, { rekorUrl: rekor.url })
      .then(verified)
      .catch((e: unknown) => e);
    expect(err).toMatchObject({ code: 'IDENTITY_MISMATCH', details: { signer: { subject: KREL } } });
  });

  test("cosign's bundle JSON and a Sigstore bundle verify offline, without Rekor", async () => {
    const before = rekor.requests.length;
    await expect(verifier.verifyBlob(kubectl.artifact, { bundle: kubectl.cosignBundle }, POLICY, { offline: true }).then(verified)).resolves.toMatchObject({
      signer: { subject: KREL },
    });
    await expect(
      verifier.verifyBlob(kubectl.artifact, { bundle: JSON.stringify(kubectl.sigstoreBundle) }, POLICY, { offline: true }).then(verified),
    ).resolves.toMatchObject({ signer: { subject: KREL } });
    expect(rekor.requests.length).toBe(before);
  });

  test('offline without a bundle: refused, saying why', async () => {
    await expect(verifier.verifyBlob(kubectl.artifact, material(), POLICY, { offline: true }).then(verified)).rejects.toMatchObject({
      code: 'INVALID_OPTIONS',
      message: expect.stringContaining('offline'),
    });
  });

  test('--key: a key-signed blob, its entry found in Rekor; another key fails', async () => {
    const { privateKey, publicKey } = generateKeyPair('ecdsa-p256');
    const signed = signBlob(sigstore, Buffer.from('release notes'), { privateKey });
    await expect(
      verifier.verifyBlob(signed.artifact, { signature: signed.sigFile }, { publicKey: publicKeyPem(publicKey) }, { rekorUrl: rekor.url }).then(verified),
    ).resolves.toMatchObject({ signer: { publicKeySha256: expect.any(String) } });
    const other = generateKeyPair('ecdsa-p256').publicKey;
    await expect(
      verifier.verifyBlob(signed.artifact, { signature: signed.sigFile }, { publicKey: publicKeyPem(other) }, { rekorUrl: rekor.url }).then(verified),
    ).rejects.toMatchObject({ category: 'verification' });
  });

  test('GitHub Actions claims on a blob', async () => {
    const signed = signBlob(sigstore, Buffer.from('tool.tar.gz'), {
      github: { repository: 'org/tool', workflowPath: '.github/workflows/release.yml', ref: 'refs/tags/v2', repositoryId: '42' },
    });
    const policy = { subjectRegExp: '^https://github\\.com/org/tool/', issuer: GITHUB_ACTIONS_ISSUER, claims: { sourceRepositoryIdentifier: '42' } };
    const ok = await verifier
      .verifyBlob(signed.artifact, { signature: signed.sigFile, certificate: signed.certFile! }, policy, { rekorUrl: rekor.url })
      .then(verified);
    expect(ok.signer.verifiedClaims).toEqual({ sourceRepositoryIdentifier: '42' });
    await expect(
      verifier.verifyBlob(signed.artifact, { bundle: signed.cosignBundle }, { ...policy, claims: { sourceRepositoryIdentifier: '43' } }).then(verified),
    ).rejects.toMatchObject({ code: 'CLAIM_MISMATCH' });
  });

  test('malformed material is SIGNATURE_MALFORMED, before any request', async () => {
    const before = rekor.requests.length;
    await expect(
      verifier.verifyBlob(kubectl.artifact, { signature: kubectl.sigFile, certificate: 'not a certificate' }, POLICY, { rekorUrl: rekor.url }).then(verified),
    ).rejects.toMatchObject({ code: 'SIGNATURE_MALFORMED' });
    await expect(
      verifier.verifyBlob(kubectl.artifact, { signature: '%%%', certificate: kubectl.certFile! }, POLICY, { rekorUrl: rekor.url }).then(verified),
    ).rejects.toMatchObject({ code: 'SIGNATURE_MALFORMED' });
    expect(rekor.requests.length).toBe(before);
  });
});

describe('imgverify verify-blob', () => {
  const identity = () => ['--certificate-identity', KREL, '--certificate-oidc-issuer', GOOGLE, '--trusted-root', rootFile];

  test('as the Kubernetes docs verify kubectl: exit 0, one verdict line', async () => {
    const r = await runCli(['verify-blob', files.artifact, '--signature', files.sig, '--certificate', files.cert, ...identity(), '--rekor-url', rekor.url]);
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(
      new RegExp(
        `^VERIFIED  ${files.artifact.replace(/[/.]/g, '\\$&')}  signed by ${KREL} \\(issuer ${GOOGLE}\\), signed at .*, log index ${kubectl.rekorEntry!.logIndex} \\(entry found in Rekor\\)\\n$`,
      ),
    );
  });

  test('--signature and --certificate by URL (a redirect followed), --output json', async () => {
    const r = await runCli([
      'verify-blob',
      files.artifact,
      '--signature',
      `${webUrl}/release/kubectl.sig`,
      '--certificate',
      `${webUrl}/release/kubectl.cert`,
      ...identity(),
      '--rekor-url',
      rekor.url,
      '-o',
      'json',
    ]);
    expect(r.code).toBe(0);
    const out = JSON.parse(r.stdout);
    expect(out).toMatchObject({
      artifact: files.artifact,
      verified: true,
      signer: { subject: KREL, issuer: GOOGLE },
      rekorEntry: { uuid: kubectl.rekorEntry!.uuid },
      content: { kind: 'message-signature' },
    });
  });

  test('--bundle (cosign sign-blob --bundle) and a Sigstore bundle, --offline', async () => {
    for (const bundle of [files.bundle, files.sigstoreBundle]) {
      const r = await runCli(['verify-blob', files.artifact, '--bundle', bundle, ...identity(), '--offline']);
      expect(r.code).toBe(0);
    }
  });

  test('a lying Rekor: exit 1 with the check that failed', async () => {
    rekor.behaviour = 'bad-proof';
    const r = await runCli(['verify-blob', files.artifact, '--signature', files.sig, '--certificate', files.cert, ...identity(), '--rekor-url', rekor.url]);
    expect(r.code).toBe(1);
    expect(r.stdout).toMatch(/^FAILED .*\[TLOG_INCLUSION_PROOF_INVALID\]/);
  });

  test('Rekor unavailable: exit 3', async () => {
    rekor.behaviour = 'unavailable';
    const r = await runCli(['verify-blob', files.artifact, '--signature', files.sig, '--certificate', files.cert, ...identity(), '--rekor-url', rekor.url]);
    expect(r.code).toBe(3);
    expect(r.stdout).toMatch(/^ERROR .*\[FETCH_FAILED\]/);
  });

  test.each([
    [['--offline'], '--offline: a signature without a bundle carries no transparency-log entry'],
    [['--bundle', 'x.json'], 'give either --bundle or --signature'],
    [['--signature', 'missing.sig'], '--signature: cannot read missing.sig'],
    [['--rekor-url', 'http://rekor.example.com'], 'refusing plain http'],
  ])('usage errors (exit 2): %j', async (extra, message) => {
    const args = [
      'verify-blob',
      files.artifact,
      ...(extra[0] === '--signature' ? [] : ['--signature', files.sig]),
      '--certificate',
      files.cert,
      ...identity(),
      ...extra,
    ];
    const r = await runCli(args);
    expect(r.code).toBe(2);
    expect(r.stderr).toContain(message);
  });

  test('--help lists cosign flags', async () => {
    const r = await runCli(['verify-blob', '--help']);
    expect(r.code).toBe(0);
    for (const flag of [
      '--signature',
      '--certificate',
      '--certificate-chain',
      '--bundle',
      '--key',
      '--rekor-url',
      '--offline',
      '--certificate-github-workflow-repository',
      '--source-repository-identifier',
    ]) {
      expect(r.stdout).toContain(flag);
    }
  });
});
