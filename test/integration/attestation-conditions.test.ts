/**
 * CEL conditions on attestations end to end, against a real registry: an image attested with a
 * GitHub Actions SLSA v1 provenance predicate (the real one of sigstore-js 2.0.0's npm release)
 * and a Kubernetes-style SLSA v0.1 predicate; `imgverify verify-attestation --policy FILE.cel`,
 * the library's `condition` option, and a ClusterImagePolicy `attestations[].policy` of type cel
 * through `imgverify policy test`.
 */
import { mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { compileAttestationCondition, createVerifier } from '../../src';
import { runCli } from '../support/cli';
import { closePushers, startRegistry, type RunningRegistry } from '../support/registry';
import { pushAttestations, pushTestImage } from '../support/signed-images';
import { createTestSigstore, type TestSigstore } from '../support/sigstore';

const ISSUER = 'https://accounts.example.test';
const SIGNER = 'release@example.test';
const SLSA1 = 'https://slsa.dev/provenance/v1';
const SLSA01 = 'https://slsa.dev/provenance/v0.1';

/** The provenance predicate of sigstore@2.0.0 on npm (GitHub Actions, SLSA v1), as the sigstore-go test bundle holds it. */
const GITHUB_PREDICATE = {
  buildDefinition: {
    buildType: 'https://slsa-framework.github.io/github-actions-buildtypes/workflow/v1',
    externalParameters: { workflow: { ref: 'refs/heads/main', repository: 'https://github.com/sigstore/sigstore-js', path: '.github/workflows/release.yml' } },
    internalParameters: { github: { event_name: 'push', repository_id: '495574555', repository_owner_id: '71096353' } },
    resolvedDependencies: [
      { uri: 'git+https://github.com/sigstore/sigstore-js@refs/heads/main', digest: { gitCommit: 'f0b49a04e5a62250e0f60fb128004a73110fe311' } },
    ],
  },
  runDetails: {
    builder: { id: 'https://github.com/actions/runner/github-hosted' },
    metadata: { invocationId: 'https://github.com/sigstore/sigstore-js/actions/runs/5904696764/attempts/1' },
  },
};

/** The predicate of the Kubernetes v1.23.0-alpha.4 release provenance (SLSA v0.1). */
const K8S_PREDICATE = {
  builder: { id: 'pkg:github/puerco/release@provenance' },
  recipe: {
    type: 'https://cloudbuild.googleapis.com/CloudBuildYaml@v1',
    definedInMaterial: 0,
    entryPoint: 'https://github.com/kubernetes/release/blob/master/gcb/stage/cloudbuild.yaml',
    arguments: { '--type=': 'alpha' },
  },
  materials: [{ uri: 'git+https://github.com/kubernetes/kubernetes', digest: { sha1: '94db9bed6b7c56420e722d1b15db4610c9cacd3f' } }],
};

let registry: RunningRegistry;
let sigstore: TestSigstore;
let dir: string;
let rootFile: string;
let image: string;

beforeAll(async () => {
  registry = await startRegistry();
  sigstore = createTestSigstore();
  dir = mkdtempSync(join(tmpdir(), 'imgverify-cel-'));
  rootFile = join(dir, 'trusted_root.json');
  writeFileSync(rootFile, JSON.stringify(sigstore.trustedRoot));
  const pushed = await pushTestImage(registry, 'cel/app', 'v1');
  const attest = (predicateType: string, predicate: unknown) =>
    sigstore.attestImage({
      digest: pushed.digest,
      repository: `${registry.host}/cel/app`,
      predicateType,
      predicate,
      identity: { email: SIGNER },
      issuer: ISSUER,
    });
  await pushAttestations(registry, 'cel/app', pushed.digest, [attest(SLSA1, GITHUB_PREDICATE), attest(SLSA01, K8S_PREDICATE)]);
  image = `${registry.host}/cel/app:v1`;
});

afterAll(async () => {
  await closePushers();
  await registry?.stop();
});

function file(name: string, text: string): string {
  const path = join(dir, name);
  writeFileSync(path, text);
  return path;
}

const flags = () => ['--certificate-identity', SIGNER, '--certificate-oidc-issuer', ISSUER, '--trusted-root', rootFile];

describe('imgverify verify-attestation --policy FILE.cel', () => {
  test('the conditions hold: verified, the statement printed', async () => {
    const policy = file(
      'github.cel',
      `// The release workflow of the sigstore-js repository, pinned by its ID, on a GitHub-hosted runner.
predicate.buildDefinition.externalParameters.workflow.repository == "https://github.com/sigstore/sigstore-js"
---
predicate.buildDefinition.internalParameters.github.repository_id == "495574555" &&
  predicate.runDetails.builder.id.startsWith("https://github.com/actions/runner/github-hosted")
`,
    );
    const r = await runCli(['verify-attestation', image, ...flags(), '--type', 'slsaprovenance1', '--policy', policy, '-o', 'json']);
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    const [result] = JSON.parse(r.stdout) as Array<{ attestations: Array<{ predicateType: string }> }>;
    expect(result!.attestations.map((a) => a.predicateType)).toEqual([SLSA1]);
  });

  test('a condition that is false: exit 1, ATTESTATION_CONDITION_FAILED naming the file and the expression', async () => {
    const policy = file('tags.cel', 'predicate.buildDefinition.externalParameters.workflow.ref.startsWith("refs/tags/")\n');
    const r = await runCli(['verify-attestation', image, ...flags(), '--type', 'slsaprovenance1', '--policy', policy, '-o', 'json']);
    expect(r.code).toBe(1);
    const [result] = JSON.parse(r.stdout) as Array<{ signatures: Array<{ failure?: { code: string; message: string } }> }>;
    const failure = result!.signatures.map((s) => s.failure).find((f) => f?.code === 'ATTESTATION_CONDITION_FAILED');
    expect(failure?.message).toContain(`${policy}: predicate.buildDefinition.externalParameters.workflow.ref.startsWith("refs/tags/") is false`);
  });

  test('without --type, a statement the condition does not fit (another predicate) does not count, the other does', async () => {
    const policy = file(
      'k8s.cel',
      'predicateType == "https://slsa.dev/provenance/v0.1" && predicate.materials.exists(m, m.uri == "git+https://github.com/kubernetes/kubernetes")\n',
    );
    const r = await runCli(['verify-attestation', image, ...flags(), '--policy', policy, '-o', 'json']);
    expect(r.code).toBe(0);
    const [result] = JSON.parse(r.stdout) as Array<{
      attestations: Array<{ predicateType: string }>;
      signatures: Array<{ verified: boolean; failure?: { code: string } }>;
    }>;
    expect(result!.attestations.map((a) => a.predicateType)).toEqual([SLSA01]);
    expect(result!.signatures.filter((s) => !s.verified).map((s) => s.failure?.code)).toEqual(['ATTESTATION_CONDITION_FAILED']);
  });

  test.each([
    ['syntax.cel', 'predicateType ==\n', /syntax\.cel:1:15: CEL: syntax error/],
    [
      'typo.cel',
      '// comment\npredicate.buildDefinition.externalParameters.workflow.repository == "x" &&\n  predicte.x == 1\n',
      /typo\.cel:3:3: CEL: undeclared reference to 'predicte'/,
    ],
  ])('a condition that does not compile: exit 2 before any registry work, with file, line and column (%s)', async (name, text, message) => {
    const r = await runCli(['verify-attestation', '127.0.0.1:9/none:v1', ...flags(), '--policy', file(name, text)]);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(message);
    expect(r.stderr).toContain('[INVALID_POLICY]');
  });

  test('CUE and Rego files are refused as such', async () => {
    const r = await runCli(['verify-attestation', image, ...flags(), '--policy', file('p.rego', 'package x')]);
    expect(r.code).toBe(2);
    expect(r.stderr).toContain('CUE and Rego policies are not supported');
  });
});

describe('an attestation nested 3000 deep (issue 20.4)', () => {
  let deepImage: string;
  /** 6 KB of JSON: 3000 levels of alternating arrays and objects. */
  const deepPredicate = (() => {
    let value: unknown = 'bottom';
    for (let i = 0; i < 3000; i++) value = i % 2 === 0 ? [value] : { x: value };
    return { nested: value };
  })();

  beforeAll(async () => {
    const pushed = await pushTestImage(registry, 'cel/deep', 'v1');
    const attest = (predicateType: string, predicate: unknown) =>
      sigstore.attestImage({
        digest: pushed.digest,
        repository: `${registry.host}/cel/deep`,
        predicateType,
        predicate,
        identity: { email: SIGNER },
        issuer: ISSUER,
      });
    await pushAttestations(registry, 'cel/deep', pushed.digest, [attest('https://example.test/deep/v1', deepPredicate), attest(SLSA1, GITHUB_PREDICATE)]);
    deepImage = `${registry.host}/cel/deep:v1`;
  });

  test('with a condition: that attestation fails with a clear reason, the other one counts (was INTERNAL_ERROR, exit 4, for the image)', async () => {
    const policy = file('deep.cel', 'predicate.runDetails.builder.id.startsWith("https://github.com/actions/runner/github-hosted")\n');
    const r = await runCli(['verify-attestation', deepImage, ...flags(), '--policy', policy, '-o', 'json']);
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    const [result] = JSON.parse(r.stdout) as Array<{
      attestations: Array<{ predicateType: string }>;
      signatures: Array<{ verified: boolean; failure?: { code: string; message: string } }>;
    }>;
    expect(result!.attestations.map((a) => a.predicateType)).toEqual([SLSA1]);
    const failures = result!.signatures.filter((s) => !s.verified).map((s) => s.failure);
    expect(failures).toEqual([
      expect.objectContaining({ code: 'ATTESTATION_CONDITION_FAILED', message: expect.stringContaining('nests objects and arrays more than 100 deep') }),
    ]);
  });

  test('-o json of the deep statement is bounded (indentation stops at 20 levels: was 32 MB)', async () => {
    const r = await runCli(['verify-attestation', deepImage, ...flags(), '--type', 'https://example.test/deep/v1', '-o', 'json']);
    expect(r.code).toBe(0);
    expect(r.stdout.length).toBeLessThan(100_000);
    const [result] = JSON.parse(r.stdout) as Array<{ attestations: Array<{ statement: { predicate: unknown } }> }>;
    expect(JSON.stringify(result!.attestations[0]!.statement.predicate)).toBe(JSON.stringify(deepPredicate));
  });
});

test('library: condition option, text or compiled once', async () => {
  const verifier = createVerifier({ trustedRoot: sigstore.trustedRoot });
  try {
    const policy = { subject: SIGNER, issuer: ISSUER };
    const pinned = compileAttestationCondition('predicate.buildDefinition.internalParameters.github.repository_id == "495574555"', { origin: 'repository-id' });
    const ok = await verifier.verifyAttestations(image, policy, { predicateType: 'slsaprovenance1', condition: pinned });
    expect(ok.verified).toBe(true);
    const bad = await verifier.verifyAttestations(image, policy, {
      predicateType: 'slsaprovenance1',
      condition: ['true', 'predicate.runDetails.builder.id.endsWith("self-hosted")'],
    });
    expect(bad.verified).toBe(false);
    const failed = bad.signatures.find((s) => s.failure?.code === 'ATTESTATION_CONDITION_FAILED');
    expect(failed?.failure?.message).toContain('condition[1]: predicate.runDetails.builder.id.endsWith("self-hosted") is false');
    expect(failed?.signer?.subject).toBe(SIGNER);
    await expect(verifier.verifyAttestations(image, policy, { condition: 'predicateType ==' })).rejects.toMatchObject({ code: 'INVALID_POLICY' });
  } finally {
    await verifier.close();
  }
});

describe('ClusterImagePolicy attestations[].policy {type: cel} through imgverify policy test', () => {
  function policies(name: string, expression: string): string {
    const folder = join(dir, name);
    mkdirSync(folder, { recursive: true });
    writeFileSync(
      join(folder, 'policy.yaml'),
      `apiVersion: policy.sigstore.dev/v1beta1
kind: ClusterImagePolicy
metadata: {name: provenance}
spec:
  images: [{glob: "${registry.host}/cel/**"}]
  authorities:
    - name: release
      keyless:
        identities: [{issuer: "${ISSUER}", subject: "${SIGNER}"}]
      attestations:
        - name: slsa
          predicateType: slsaprovenance1
          policy:
            type: cel
            data: |
              ${expression}
`,
    );
    return folder;
  }

  test('a satisfied condition admits the image', async () => {
    const folder = policies('ok', 'predicate.buildDefinition.internalParameters.github.repository_id == "495574555"');
    const r = await runCli(['policy', 'test', '--policies', folder, '--trusted-root', rootFile, image]);
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    expect(r.stdout).toContain('CEL condition satisfied');
  });

  test('an unsatisfied condition denies it with the reason', async () => {
    const folder = policies('bad', 'predicate.buildDefinition.internalParameters.github.repository_id == "1"');
    const r = await runCli(['policy', 'test', '--policies', folder, '--trusted-root', rootFile, image]);
    expect(r.code).toBe(1);
    expect(r.stdout).toContain(
      'does not satisfy the condition policy.yaml: spec.authorities[0].attestations[0].policy.data: predicate.buildDefinition.internalParameters.github.repository_id == "1" is false',
    );
  });

  test('a condition that does not compile: the folder does not load (exit 2), the error names the path and position', async () => {
    const folder = policies('broken', 'predicate.buildDefinition ==');
    const r = await runCli(['policy', 'test', '--policies', folder, '--trusted-root', rootFile, image]);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/policy\.yaml: document 0 \(line 1\): spec\.authorities\[0\]\.attestations\[0\]\.policy\.data:1:\d+: CEL: syntax error/);
  });

  test.each([
    [
      'a constant regular expression that does not compile',
      'predicate.runDetails.builder.id.matches("(")',
      ':1:41: CEL: the regular expression does not compile (RE2)',
    ],
    [
      'a wrong argument type',
      'predicate.runDetails.builder.id.startsWith(1)',
      ":1:32: CEL: found no matching overload for 'startsWith' applied to 'dyn.(int)'",
    ],
    ['a result that is not a boolean', 'size(subject)', ":1:1: CEL: the expression's result is int, not bool"],
  ])('%s: reported when the folder loads (exit 2), not at every admission (issue 20.18)', async (_what, data, message) => {
    const r = await runCli(['policy', 'test', '--policies', policies(`load-${data.length}`, data), '--trusted-root', rootFile, image]);
    expect(r.code).toBe(2);
    expect(r.stderr).toContain(`policy.yaml: document 0 (line 1): spec.authorities[0].attestations[0].policy.data${message}`);
  });
});
