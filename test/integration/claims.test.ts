/**
 * Certificate claims end to end, against a real registry: an image signed by a GitHub Actions
 * workflow (test Fulcio, every Fulcio extension), verified with the claim flags of `imgverify
 * verify`, a ClusterImagePolicy with claims through `imgverify policy test`, and the library.
 */
import { mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createVerifier } from '../../src';
import { runCli } from '../support/cli';
import { closePushers, startRegistry, type RunningRegistry } from '../support/registry';
import { pushSignatures, pushTestImage } from '../support/signed-images';
import { createTestSigstore, GITHUB_ACTIONS_ISSUER, type TestSigstore } from '../support/sigstore';
import type { JsonObject } from '../support/json';

const WORKFLOW = 'https://github.com/org/app/.github/workflows/release.yml@refs/tags/v1.2.0';
let registry: RunningRegistry;
let sigstore: TestSigstore;
let dir: string;
let rootFile: string;
let image: string;

beforeAll(async () => {
  registry = await startRegistry();
  sigstore = createTestSigstore();
  dir = mkdtempSync(join(tmpdir(), 'imgverify-claims-'));
  rootFile = join(dir, 'trusted_root.json');
  writeFileSync(rootFile, JSON.stringify(sigstore.trustedRoot));
  const pushed = await pushTestImage(registry, 'org/app', 'v1.2.0');
  const layer = sigstore.signImage({
    digest: pushed.digest,
    github: {
      repository: 'org/app',
      workflowPath: '.github/workflows/release.yml',
      ref: 'refs/tags/v1.2.0',
      repositoryId: '495574555',
      repositoryOwnerId: '71096353',
    },
  });
  await pushSignatures(registry, 'org/app', pushed.digest, [layer]);
  image = `${registry.host}/org/app:v1.2.0`;
});

afterAll(async () => {
  await closePushers();
  await registry?.stop();
});

const identity = () => ['--certificate-identity', WORKFLOW, '--certificate-oidc-issuer', GITHUB_ACTIONS_ISSUER, '--trusted-root', rootFile];

describe('imgverify verify with claim flags', () => {
  test('cosign GitHub flags and v2 claim flags all match: verified, the checked claims in the verdict line', async () => {
    const r = await runCli([
      'verify',
      image,
      ...identity(),
      '--certificate-github-workflow-repository',
      'org/app',
      '--certificate-github-workflow-trigger',
      'push',
      '--source-repository-identifier',
      '495574555',
      '--source-repository-ref-regexp',
      '^refs/tags/v1\\.',
      '--runner-environment',
      'github-hosted',
    ]);
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    expect(r.stdout).toContain(
      'githubWorkflowTrigger=push, githubWorkflowRepository=org/app, runnerEnvironment=github-hosted, sourceRepositoryRef=refs/tags/v1.2.0, sourceRepositoryIdentifier=495574555',
    );
  });

  test('JSON: every claim of the certificate by name, and the ones the policy checked', async () => {
    const r = await runCli(['verify', image, ...identity(), '--source-repository-identifier', '495574555', '-o', 'json']);
    expect(r.code).toBe(0);
    const [result] = JSON.parse(r.stdout) as Array<{ signatures: Array<{ signer: JsonObject }> }>;
    const signer = result!.signatures[0]!.signer;
    expect(signer.claims).toMatchObject({
      githubWorkflowRepository: 'org/app',
      githubWorkflowRef: 'refs/tags/v1.2.0',
      sourceRepositoryURI: 'https://github.com/org/app',
      sourceRepositoryIdentifier: '495574555',
      sourceRepositoryOwnerIdentifier: '71096353',
      runnerEnvironment: 'github-hosted',
    });
    expect(signer.verifiedClaims).toEqual({ sourceRepositoryIdentifier: '495574555' });
  });

  test('another repository ID (a re-created repository of the same name): CLAIM_MISMATCH, claims still reported', async () => {
    const r = await runCli(['verify', image, ...identity(), '--source-repository-identifier', '1', '-o', 'json']);
    expect(r.code).toBe(1);
    const [result] = JSON.parse(r.stdout) as Array<JsonObject>;
    expect(result!.error).toMatchObject({ code: 'CLAIM_MISMATCH', category: 'verification' });
    expect(result!.error.message).toContain('sourceRepositoryIdentifier claim "495574555" does not: expected "1"');
    expect(result!.signatures[0].failure).toMatchObject({ code: 'CLAIM_MISMATCH', details: { claim: 'sourceRepositoryIdentifier', actual: '495574555' } });
    expect(result!.signatures[0].signer.claims.sourceRepositoryIdentifier).toBe('495574555');
    expect(result!.signatures[0].signer.verifiedClaims).toBeUndefined();
  });

  test('a claim the certificate lacks: CLAIM_MISSING naming it', async () => {
    const r = await runCli(['verify', image, ...identity(), '--deployment-environment', 'production']);
    expect(r.code).toBe(1);
    expect(r.stdout).toContain('has no deploymentEnvironment claim (extension 1.3.6.1.4.1.57264.1.23)');
    expect(r.stdout).toContain('[CLAIM_MISSING]');
  });

  test.each([
    [['--source-repository-ref', 'a', '--source-repository-ref-regexp', 'b'], 'give only one of --source-repository-ref and --source-repository-ref-regexp'],
    [['--source-repository-ref-regexp', '('], 'invalid RE2'],
  ])('flag errors are usage errors (exit 2): %j', async (extra, message) => {
    const r = await runCli(['verify', image, ...identity(), ...extra]);
    expect(r.code).toBe(2);
    expect(r.stderr).toContain(message);
  });

  test('claim flags with --key: exit 2', async () => {
    const keyFile = join(dir, 'key.pem');
    writeFileSync(keyFile, sigstore.rekor.publicKey.export({ type: 'spki', format: 'pem' }));
    const r = await runCli(['verify', image, '--key', keyFile, '--source-repository-ref', 'x']);
    expect(r.code).toBe(2);
    expect(r.stderr).toContain('a key has no certificate');
  });
});

test('library: claims in the policy, claims in the result', async () => {
  const verifier = createVerifier({ trustedRoot: sigstore.trustedRoot });
  try {
    const ok = await verifier.verify(image, {
      subjectRegExp: '^https://github\\.com/org/app/',
      issuer: GITHUB_ACTIONS_ISSUER,
      claims: { sourceRepositoryIdentifier: '495574555' },
      claimsRegExp: { sourceRepositoryRef: '^refs/tags/' },
    });
    expect(ok.verified).toBe(true);
    expect(ok.signatures[0]!.signer!.verifiedClaims).toEqual({ sourceRepositoryRef: 'refs/tags/v1.2.0', sourceRepositoryIdentifier: '495574555' });
    const bad = await verifier.verify(image, { subject: WORKFLOW, issuer: GITHUB_ACTIONS_ISSUER, claims: { runnerEnvironment: 'self-hosted' } });
    expect(bad.error?.code).toBe('CLAIM_MISMATCH');
  } finally {
    await verifier.close();
  }
});

describe('ClusterImagePolicy keyless.identities[].claims through imgverify policy test', () => {
  function policies(name: string, claims: string): string {
    const folder = join(dir, name);
    mkdirSync(folder, { recursive: true });
    writeFileSync(
      join(folder, 'policy.yaml'),
      `apiVersion: policy.sigstore.dev/v1beta1
kind: ClusterImagePolicy
metadata: {name: github-release}
spec:
  images: [{glob: "${registry.host}/org/**"}]
  authorities:
    - name: release-workflow
      keyless:
        identities:
          - issuer: ${GITHUB_ACTIONS_ISSUER}
            subjectRegExp: ^https://github\\.com/org/app/\\.github/workflows/release\\.yml@refs/tags/
${claims}
`,
    );
    return folder;
  }

  test('matching claims: allowed, the decision names the checked claims', async () => {
    const folder = policies('cip-ok', '            claims: {sourceRepositoryIdentifier: "495574555", runnerEnvironment: github-hosted}');
    const r = await runCli(['policy', 'test', '--policies', folder, '--trusted-root', rootFile, image]);
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    expect(r.stdout).toContain('claims runnerEnvironment=github-hosted, sourceRepositoryIdentifier=495574555');
  });

  test('a claim that does not match: denied with CLAIM_MISMATCH', async () => {
    const folder = policies('cip-bad', '            claimsRegExp: {sourceRepositoryOwnerIdentifier: "^1$"}');
    const r = await runCli(['policy', 'test', '--policies', folder, '--trusted-root', rootFile, image, '-o', 'json']);
    expect(r.code).toBe(1);
    const out = JSON.parse(r.stdout) as { decisions: Array<{ verdict: string; policies: Array<{ authorities: Array<{ code: string; reason: string }> }> }> };
    expect(out.decisions[0]!.verdict).toBe('denied');
    expect(out.decisions[0]!.policies[0]!.authorities[0]).toMatchObject({ code: 'CLAIM_MISMATCH' });
    expect(out.decisions[0]!.policies[0]!.authorities[0]!.reason).toContain('sourceRepositoryOwnerIdentifier claim "71096353"');
  });
});
