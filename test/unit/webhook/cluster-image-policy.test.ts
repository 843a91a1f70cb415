/**
 * ClusterImagePolicy documents: the model read, policy-controller's defaults and validation
 * rules, every error naming file, document and field, the unsupported fields, and imgverify's
 * extensions (certificate claims, CEL attestation conditions).
 */
import { generateKeyPairSync } from 'node:crypto';
import { ImgverifyError } from '../../../src/errors';
import { indent, K8S_POLICY, KEYLESS, messages, parse, withAuthority } from './policy-text';

const { publicKey, privateKey } = generateKeyPairSync('ec', { namedCurve: 'P-256' });
const PUBLIC_PEM = publicKey.export({ type: 'spki', format: 'pem' }).toString();
const PRIVATE_PEM = privateKey.export({ type: 'pkcs8', format: 'pem' }).toString();

function expectError(text: string, path: string, fragment: string | RegExp = ''): void {
  const result = parse(text);
  expect(result.policies).toEqual([]);
  const hit = result.errors.find((e) => (e.details as { path?: string } | undefined)?.path === path);
  if (!hit) throw new Error(`no error at ${path}; got:\n${result.errors.map((e) => e.message).join('\n')}`);
  expect(hit).toBeInstanceOf(ImgverifyError);
  expect(hit.code).toBe('INVALID_POLICY');
  expect(hit.message).toMatch(typeof fragment === 'string' ? new RegExp(fragment.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')) : fragment);
}

describe('parseClusterImagePolicies: the model', () => {
  it('reads a keyless policy with policy-controller defaults', () => {
    const result = parse(K8S_POLICY, 'k8s.yaml');
    expect(result.errors).toEqual([]);
    expect(result.warnings).toEqual([]);
    expect(result.policies).toEqual([
      {
        name: 'registry-k8s-io',
        apiVersion: 'policy.sigstore.dev/v1beta1',
        images: [{ glob: 'registry.k8s.io/**' }],
        authorities: [
          {
            name: 'authority-0',
            keyless: {
              identities: [{ issuer: 'https://accounts.google.com', subject: 'krel-trust@k8s-releng-prod.iam.gserviceaccount.com' }],
            },
            attestations: [],
            requiresTlog: true,
          },
        ],
        mode: 'enforce',
        source: { file: 'k8s.yaml', document: 0, line: 2 },
      },
    ]);
    expect(Object.isFrozen(result.policies[0])).toBe(true);
  });

  it('reads key, static and attestation authorities, warn mode and signatureFormat', () => {
    const text = `
apiVersion: policy.sigstore.dev/v1alpha1
kind: ClusterImagePolicy
metadata: {name: mixed}
spec:
  mode: warn
  images: [{glob: "ghcr.io/org/*"}, {glob: "quay.io/org/**"}]
  authorities:
    - name: release-key
      key:
        hashAlgorithm: SHA512
        data: |
${indent(PUBLIC_PEM, 10)}
      ctlog:
        url: https://rekor.sigstore.dev/
      signatureFormat: bundle
    - name: sidecars
      static: {action: fail, message: "no sidecars"}
    - name: provenance
      keyless:
        url: https://fulcio.sigstore.dev
        identities: [{issuerRegExp: ".*", subject: "someone@example.com"}]
      attestations:
        - {name: slsa, predicateType: slsaprovenance1}
        - {name: sbom, predicateType: "https://example.com/sbom/v1"}
`;
    const result = parse(text);
    expect(result.errors).toEqual([]);
    const [policy] = result.policies;
    expect(policy!.apiVersion).toBe('policy.sigstore.dev/v1alpha1');
    expect(policy!.mode).toBe('warn');
    expect(policy!.authorities[0]).toEqual({
      name: 'release-key',
      key: { data: expect.stringContaining('BEGIN PUBLIC KEY'), hashAlgorithm: 'sha512' },
      attestations: [],
      ctlog: { url: 'https://rekor.sigstore.dev/' },
      requiresTlog: true,
      signatureFormat: 'bundle',
    });
    expect(policy!.authorities[1]).toEqual({ name: 'sidecars', static: { action: 'fail', message: 'no sidecars' }, attestations: [], requiresTlog: false });
    expect(policy!.authorities[2]!.attestations).toEqual([
      { name: 'slsa', predicateType: 'slsaprovenance1', predicateTypeURI: 'https://slsa.dev/provenance/v1' },
      { name: 'sbom', predicateType: 'https://example.com/sbom/v1', predicateTypeURI: 'https://example.com/sbom/v1' },
    ]);
  });
});

describe('errors name file, document and path', () => {
  it('reports an unknown field', () => {
    const text = `---\n${K8S_POLICY}---\n${withAuthority(`${KEYLESS}\n  rekorURL: x`)}`;
    const result = parse(text, 'policies.yaml');
    expect(result.policies).toEqual([]);
    const line = text.split('\n').indexOf('apiVersion: policy.sigstore.dev/v1beta1', 3) + 1;
    expect(result.errors.map((e) => e.message)).toEqual([`policies.yaml: document 1 (line ${line}): spec.authorities[0].keyless.rekorURL: unknown field`]);
    expect(result.errors[0]!.details).toEqual({ file: 'policies.yaml', document: 1, line, path: 'spec.authorities[0].keyless.rekorURL' });
  });

  it.each([
    ['top level', `${K8S_POLICY}extra: 1\n`, 'extra'],
    ['metadata', K8S_POLICY.replace('  labels:', '  colour: red\n  labels:'), 'metadata.colour'],
    ['spec', `${K8S_POLICY}  imagez: []\n`, 'spec.imagez'],
    ['image', K8S_POLICY.replace('- glob: "registry.k8s.io/**"', '- glob: "registry.k8s.io/**"\n      regex: x'), 'spec.images[0].regex'],
    ['identity', K8S_POLICY.replace('subject: krel', 'email: x\n            subject: krel'), 'spec.authorities[0].keyless.identities[0].email'],
    ['authority', withAuthority(`${KEYLESS}\ntrust: all`), 'spec.authorities[0].trust'],
    ['static', withAuthority('static: {action: pass, reason: x}'), 'spec.authorities[0].static.reason'],
    ['attestation', withAuthority(`${KEYLESS}\nattestations: [{name: a, predicateType: vuln, strict: true}]`), 'spec.authorities[0].attestations[0].strict'],
  ])('unknown field in %s', (_where, text, path) => {
    expectError(text, path, 'unknown field');
  });

  it('collects every problem of a document, not only the first', () => {
    const text = withAuthority('keyless: {identities: [{issuer: a}], foo: 1}', 'mode: sometimes');
    expect(messages(text)).toEqual([
      'policy.yaml: document 0 (line 2): spec.authorities[0].keyless.foo: unknown field',
      'policy.yaml: document 0 (line 2): spec.authorities[0].keyless.identities[0]: missing field(s): one of spec.authorities[0].keyless.identities[0].subject, spec.authorities[0].keyless.identities[0].subjectRegExp is required',
      'policy.yaml: document 0 (line 2): spec.mode: unsupported mode "sometimes": expected enforce or warn',
    ]);
  });
});

describe('unsupported policy-controller fields are errors', () => {
  const cases: Array<[string, string, string, string]> = [
    ['CIP-level CUE policy', withAuthority(KEYLESS, 'policy:\n  type: cue\n  data: "x"'), 'spec.policy', 'CUE/Rego'],
    [
      'rfc3161timestamp without trustRootRef',
      withAuthority(`${KEYLESS}\nrfc3161timestamp: {}`),
      'spec.authorities[0].rfc3161timestamp.trustRootRef',
      'TrustRoot',
    ],
    ['key.kms', withAuthority('key: {kms: "gcpkms://projects/p/locations/global/keyRings/r/cryptoKeys/k"}'), 'spec.authorities[0].key.kms', 'KMS'],
    ['key.secretRef', withAuthority('key: {secretRef: {name: cosign-pub}}'), 'spec.authorities[0].key.secretRef', 'Secrets'],
    [
      'keyless.ca-cert that is not PEM',
      withAuthority('keyless:\n  ca-cert: {data: x}\n  identities: [{issuer: a, subject: b}]'),
      'spec.authorities[0].keyless.ca-cert.data',
      'no PEM certificate',
    ],
    [
      'keyless.ca-cert in a Secret',
      withAuthority('keyless:\n  ca-cert: {secretRef: {name: ca}}\n  identities: [{issuer: a, subject: b}]'),
      'spec.authorities[0].keyless.ca-cert.secretRef',
      'in a policy folder put the PEM chain in ca-cert.data',
    ],
    ['ctlog: {} on keyless (tlog disabled upstream)', withAuthority(`${KEYLESS}\nctlog: {}`), 'spec.authorities[0].ctlog', 'disables transparency-log'],
    [
      'attestation CUE policy',
      withAuthority(`${KEYLESS}\nattestations: [{name: a, predicateType: vuln, policy: {type: cue, data: x}}]`),
      'spec.authorities[0].attestations[0].policy.type',
      'CUE/Rego',
    ],
    [
      'attestation Rego policy',
      withAuthority(`${KEYLESS}\nattestations: [{name: a, predicateType: vuln, policy: {type: rego, data: x}}]`),
      'spec.authorities[0].attestations[0].policy.type',
      'use type: cel',
    ],
    [
      'a remote attestation policy',
      withAuthority(`${KEYLESS}\nattestations: [{name: a, predicateType: vuln, policy: {type: cel, remote: {url: "https://x"}}}]`),
      'spec.authorities[0].attestations[0].policy.remote',
      'only policy.type and policy.data',
    ],
    [
      'includeSpec',
      withAuthority(`${KEYLESS}\nattestations: [{name: a, predicateType: vuln, policy: {type: cel, data: "true", includeSpec: true}}]`),
      'spec.authorities[0].attestations[0].policy.includeSpec',
      'spec-including',
    ],
  ];
  test.each(cases)('%s', (_name, text, path, fragment) => {
    expectError(text, path, fragment);
  });

  it('accepts trustRootRef on keyless, ctlog (any Rekor URL then) and rfc3161timestamp', () => {
    const text = withAuthority(
      'keyless:\n  trustRootRef: mine\n  url: https://fulcio.internal\n  identities: [{issuer: a, subject: b}]\nctlog: {url: "https://rekor.internal", trustRootRef: logs}\nrfc3161timestamp: {trustRootRef: tsa}',
    );
    const result = parse(text);
    expect(result.errors).toEqual([]);
    expect(result.warnings).toEqual([]);
    expect(result.policies[0]!.authorities[0]).toMatchObject({
      trustRootRefs: { keyless: 'mine', ctlog: 'logs', rfc3161timestamp: 'tsa' },
      ctlog: { url: 'https://rekor.internal' },
    });
    expect(result.policies[0]!.authorities[0]!.keyless).not.toHaveProperty('trustRootRef');
  });

  it('accepts insecureIgnoreSCT: true with a warning (policy-controller: no SCT check for that authority)', () => {
    const result = parse(withAuthority('keyless:\n  insecureIgnoreSCT: true\n  identities: [{issuer: a, subject: b}]'));
    expect(result.errors).toEqual([]);
    expect(result.policies[0]!.authorities[0]!.keyless).toMatchObject({ insecureIgnoreSCT: true });
    expect(result.warnings).toEqual([
      expect.objectContaining({ path: 'spec.authorities[0].keyless.insecureIgnoreSCT', message: expect.stringContaining('without a verified embedded SCT') }),
    ]);
  });

  it('accepts insecureIgnoreSCT: false (the default)', () => {
    expect(parse(withAuthority('keyless:\n  insecureIgnoreSCT: false\n  identities: [{issuer: a, subject: b}]')).errors).toEqual([]);
  });

  it('keeps a written Fulcio or Rekor URL as written (the trust roots that list it are found when the set is put in force)', () => {
    const result = parse(
      withAuthority('keyless:\n  url: https://fulcio.internal\n  identities: [{issuer: a, subject: b}]\nctlog: {url: "http://rekor.rekor-system.svc"}'),
    );
    expect(result.errors).toEqual([]);
    expect(result.warnings).toEqual([]);
    expect(result.policies[0]!.authorities[0]).toMatchObject({
      keyless: { url: 'https://fulcio.internal' },
      ctlog: { url: 'http://rekor.rekor-system.svc' },
      requiresTlog: true,
    });
  });
});

describe("policy-controller's validation rules", () => {
  it.each([
    [
      'no authority kind',
      withAuthority('name: nothing'),
      'spec.authorities[0]',
      'expected exactly one, got neither: spec.authorities[0].key, spec.authorities[0].keyless, spec.authorities[0].static',
    ],
    [
      'key and keyless',
      withAuthority(`${KEYLESS}\nkey: {data: x}`),
      'spec.authorities[0]',
      'got both: spec.authorities[0].key, spec.authorities[0].keyless, spec.authorities[0].static (key and keyless set)',
    ],
    ['keyless and static', withAuthority(`${KEYLESS}\nstatic: {action: pass}`), 'spec.authorities[0]', '(keyless and static set)'],
    [
      'static with attestations',
      withAuthority('static: {action: pass}\nattestations: [{name: a, predicateType: vuln}]'),
      'spec.authorities[0]',
      'got both: spec.authorities[0].static, spec.authorities[0].attestations',
    ],
    [
      'static with ctlog',
      withAuthority('static: {action: pass}\nctlog: {url: "https://rekor.sigstore.dev"}'),
      'spec.authorities[0]',
      'got both: spec.authorities[0].static, spec.authorities[0].ctlog',
    ],
    [
      'static with a source',
      withAuthority('static: {action: pass}\nsource: [{oci: registry.example.com/sigs}]'),
      'spec.authorities[0]',
      'got both: spec.authorities[0].static, spec.authorities[0].source',
    ],
    ['static without action', withAuthority('static: {}'), 'spec.authorities[0].static.action', 'missing field'],
    ['static with a bad action', withAuthority('static: {action: allow}'), 'spec.authorities[0].static.action', 'expected pass or fail'],
    [
      'keyless without identities',
      withAuthority('keyless: {url: "https://fulcio.sigstore.dev"}'),
      'spec.authorities[0].keyless.identities',
      'at least one identity',
    ],
    ['keyless with empty identities', withAuthority('keyless: {identities: []}'), 'spec.authorities[0].keyless.identities', 'at least one identity'],
    [
      'identity without issuer',
      withAuthority('keyless: {identities: [{subject: a}]}'),
      'spec.authorities[0].keyless.identities[0]',
      'missing field(s): one of spec.authorities[0].keyless.identities[0].issuer, spec.authorities[0].keyless.identities[0].issuerRegExp is required',
    ],
    [
      'identity without subject',
      withAuthority('keyless: {identities: [{issuerRegExp: a}]}'),
      'spec.authorities[0].keyless.identities[0]',
      'one of spec.authorities[0].keyless.identities[0].subject, spec.authorities[0].keyless.identities[0].subjectRegExp is required',
    ],
    [
      'issuer and issuerRegExp',
      withAuthority('keyless: {identities: [{issuer: a, issuerRegExp: b, subject: c}]}'),
      'spec.authorities[0].keyless.identities[0]',
      'got both',
    ],
    [
      'empty strings count as absent',
      withAuthority('keyless: {identities: [{issuer: "", subject: c}]}'),
      'spec.authorities[0].keyless.identities[0]',
      'one of spec.authorities[0].keyless.identities[0].issuer',
    ],
    [
      'an invalid RE2 expression',
      withAuthority('keyless: {identities: [{issuer: a, subjectRegExp: "("}]}'),
      'spec.authorities[0].keyless.identities[0].subjectRegExp',
      'not a valid RE2',
    ],
    [
      'a Perl-only construct (lookahead)',
      withAuthority('keyless: {identities: [{issuer: a, subjectRegExp: "a(?=b)"}]}'),
      'spec.authorities[0].keyless.identities[0].subjectRegExp',
      'not a valid RE2',
    ],
    [
      'a backreference',
      withAuthority('keyless: {identities: [{issuerRegExp: "(a)\\\\1", subject: b}]}'),
      'spec.authorities[0].keyless.identities[0].issuerRegExp',
      'not a valid RE2',
    ],
    [
      'a relative Fulcio URL',
      withAuthority('keyless: {url: fulcio, identities: [{issuer: a, subject: b}]}'),
      'spec.authorities[0].keyless.url',
      'not an absolute URL',
    ],
    [
      'key without data',
      withAuthority('key: {hashAlgorithm: sha256}'),
      'spec.authorities[0].key',
      'expected exactly one, got neither: spec.authorities[0].key.data, spec.authorities[0].key.kms, spec.authorities[0].key.secretRef',
    ],
    [
      'key data and kms',
      withAuthority(`key:\n  kms: "gcpkms://k"\n  data: |\n${indent(PUBLIC_PEM, 4)}`),
      'spec.authorities[0].key',
      'got both: spec.authorities[0].key.data, spec.authorities[0].key.kms',
    ],
    [
      'keyless url and ca-cert',
      withAuthority(`keyless:\n  url: https://fulcio.internal\n  ca-cert: {data: x}\n  identities: [{issuer: a, subject: b}]`),
      'spec.authorities[0].keyless',
      'expected exactly one, got both: spec.authorities[0].keyless.ca-cert, spec.authorities[0].keyless.url',
    ],
    ['key data that is not a key', withAuthority('key: {data: "---some key data----"}'), 'spec.authorities[0].key.data', 'not a PEM public key'],
    ['a private key', withAuthority(`key:\n  data: |\n${indent(PRIVATE_PEM, 4)}`), 'spec.authorities[0].key.data', 'not a PEM public key'],
    [
      'an unknown hash algorithm',
      withAuthority(`key:\n  hashAlgorithm: md5\n  data: |\n${indent(PUBLIC_PEM, 4)}`),
      'spec.authorities[0].key.hashAlgorithm',
      'unsupported hash algorithm',
    ],
    [
      'attestation without name',
      withAuthority(`${KEYLESS}\nattestations: [{predicateType: vuln}]`),
      'spec.authorities[0].attestations[0].name',
      'missing field',
    ],
    [
      'attestation without predicateType',
      withAuthority(`${KEYLESS}\nattestations: [{name: a}]`),
      'spec.authorities[0].attestations[0].predicateType',
      'missing field',
    ],
    [
      'an unknown short predicate type',
      withAuthority(`${KEYLESS}\nattestations: [{name: a, predicateType: sbom}]`),
      'spec.authorities[0].attestations[0].predicateType',
      'unsupported predicate type',
    ],
    [
      'a predicate type without scheme',
      withAuthority(`${KEYLESS}\nattestations: [{name: a, predicateType: cosign.sigstore.dev/attestation/v1}]`),
      'spec.authorities[0].attestations[0].predicateType',
      'unsupported predicate type',
    ],
    [
      'duplicate attestation names',
      withAuthority(`${KEYLESS}\nattestations: [{name: a, predicateType: vuln}, {name: a, predicateType: spdx}]`),
      'spec.authorities[0].attestations[1].name',
      'duplicate attestation name',
    ],
    ['an unknown signatureFormat', withAuthority(`${KEYLESS}\nsignatureFormat: v3`), 'spec.authorities[0].signatureFormat', 'expected legacy or bundle'],
    ['a bad mode', withAuthority(KEYLESS, 'mode: audit'), 'spec.mode', 'unsupported mode'],
    ['no images', K8S_POLICY.replace(/ {2}images:\n {4}- glob: "registry.k8s.io\/\*\*"\n/, ''), 'spec.images', 'at least one image glob'],
    ['empty images', K8S_POLICY.replace(/ {2}images:\n {4}- glob: "registry.k8s.io\/\*\*"\n/, '  images: []\n'), 'spec.images', 'at least one image glob'],
    ['an image without glob', K8S_POLICY.replace('- glob: "registry.k8s.io/**"', '- {}'), 'spec.images[0].glob', 'missing field'],
    ['an invalid glob', K8S_POLICY.replace('registry.k8s.io/**', '$FOO*'), 'spec.images[0].glob', 'invalid image glob'],
    ['no authorities (fail-on-empty-authorities)', K8S_POLICY.replace(/ {2}authorities:[\s\S]*$/, ''), 'spec.authorities', 'at least one authority'],
    [
      'duplicate authority names',
      `${K8S_POLICY}    - name: authority-0\n      static: {action: pass}\n`,
      'spec.authorities[1].name',
      'duplicate authority name',
    ],
    ['a missing name', K8S_POLICY.replace('  name: registry-k8s-io\n', ''), 'metadata.name', 'missing field'],
    ['an invalid name', K8S_POLICY.replace('name: registry-k8s-io', 'name: Registry_K8s'), 'metadata.name', 'RFC 1123'],
    ['another kind', K8S_POLICY.replace('kind: ClusterImagePolicy', 'kind: ImageVerifier'), 'kind', 'only ClusterImagePolicy, ImagePolicy and TrustRoot'],
    [
      'an ImagePolicy in the ClusterImagePolicy group',
      K8S_POLICY.replace('kind: ClusterImagePolicy', 'kind: ImagePolicy'),
      'apiVersion',
      'expected policy.imgverify.dev/v1alpha1',
    ],
    ['another apiVersion', K8S_POLICY.replace('policy.sigstore.dev/v1beta1', 'policy.sigstore.dev/v1'), 'apiVersion', 'unsupported apiVersion'],
    ['no spec', 'apiVersion: policy.sigstore.dev/v1beta1\nkind: ClusterImagePolicy\nmetadata: {name: a}\n', 'spec', 'missing field'],
    ['a wrong type', K8S_POLICY.replace('- glob: "registry.k8s.io/**"', '- glob: 42'), 'spec.images[0].glob', 'expected a string, got number 42'],
    ['a list where a mapping belongs', withAuthority('keyless: [a]'), 'spec.authorities[0].keyless', 'expected a mapping, got a list'],
  ])('%s', (_name, text, path, fragment) => {
    expectError(text, path, fragment);
  });

  it('accepts every cosign short predicate type and resolves it', () => {
    const names = ['slsaprovenance', 'slsaprovenance02', 'slsaprovenance1', 'link', 'spdx', 'spdxjson', 'cyclonedx', 'vuln', 'openvex', 'custom'];
    const list = names.map((n) => `{name: ${n}, predicateType: ${n}}`).join(', ');
    const result = parse(withAuthority(`${KEYLESS}\nattestations: [${list}]`));
    expect(result.errors).toEqual([]);
    expect(result.policies[0]!.authorities[0]!.attestations.map((a) => a.predicateTypeURI)).toEqual([
      'https://slsa.dev/provenance/v0.2',
      'https://slsa.dev/provenance/v0.2',
      'https://slsa.dev/provenance/v1',
      'https://in-toto.io/Link/v1',
      'https://spdx.dev/Document',
      'https://spdx.dev/Document',
      'https://cyclonedx.org/bom',
      'https://cosign.sigstore.dev/attestation/vuln/v1',
      'https://openvex.dev/ns',
      'https://cosign.sigstore.dev/attestation/v1',
    ]);
  });

  it('warns about the legacy "*" and "*/*" globs', () => {
    const result = parse(K8S_POLICY.replace('"registry.k8s.io/**"', '"*"'));
    expect(result.errors).toEqual([]);
    expect(result.warnings[0]).toMatchObject({ path: 'spec.images[0].glob', message: expect.stringContaining('index.docker.io/library/*') });
  });
});

describe('imgverify extension: certificate claims in keyless identities', () => {
  const claimsAuthority = (identity: string) => `
keyless:
  identities:
    - issuer: https://token.actions.githubusercontent.com
      subjectRegExp: ^https://github\\.com/org/app/
${indent(identity, 6)}
`;

  it('reads claims and claimsRegExp by name', () => {
    const result = parse(
      withAuthority(
        claimsAuthority(
          'claims: {sourceRepositoryIdentifier: "495574555", runnerEnvironment: github-hosted}\nclaimsRegExp: {sourceRepositoryRef: ^refs/tags/v}',
        ),
      ),
    );
    expect(result.errors).toEqual([]);
    expect(result.policies[0]!.authorities[0]!.keyless!.identities[0]).toEqual({
      issuer: 'https://token.actions.githubusercontent.com',
      subjectRegExp: '^https://github\\.com/org/app/',
      claims: { sourceRepositoryIdentifier: '495574555', runnerEnvironment: 'github-hosted' },
      claimsRegExp: { sourceRepositoryRef: '^refs/tags/v' },
    });
  });

  it.each([
    ['an unknown claim', 'claims: {repositoryId: "1"}', 'spec.authorities[0].keyless.identities[0].claims.repositoryId', 'unknown certificate claim'],
    [
      'a claim that is not a string',
      'claims: {sourceRepositoryIdentifier: 495574555}',
      'spec.authorities[0].keyless.identities[0].claims.sourceRepositoryIdentifier',
      'expected a non-empty string',
    ],
    [
      'a claim in both',
      'claims: {sourceRepositoryRef: a}\nclaimsRegExp: {sourceRepositoryRef: b}',
      'spec.authorities[0].keyless.identities[0].claimsRegExp.sourceRepositoryRef',
      'got both',
    ],
    [
      'an invalid regexp',
      'claimsRegExp: {sourceRepositoryRef: "("}',
      'spec.authorities[0].keyless.identities[0].claimsRegExp.sourceRepositoryRef',
      'not a valid RE2',
    ],
    ['claims that are a list', 'claims: [a]', 'spec.authorities[0].keyless.identities[0].claims', 'expected a mapping'],
  ])('%s is a load error naming the path', (_what, identity, path, fragment) => {
    expectError(withAuthority(claimsAuthority(identity)), path, fragment);
  });
});

describe('attestations[].policy: {type: cel, data}', () => {
  it('compiles the expression at load', () => {
    const result = parse(
      withAuthority(
        `${KEYLESS}\nattestations:\n  - name: provenance\n    predicateType: slsaprovenance1\n    policy:\n      type: cel\n      data: |\n        predicate.buildDefinition.externalParameters.workflow.repository == "https://github.com/org/app"`,
      ),
    );
    expect(result.errors).toEqual([]);
    const requirement = result.policies[0]!.authorities[0]!.attestations[0]!;
    expect(requirement.policy).toMatchObject({ type: 'cel', data: expect.stringContaining('workflow.repository') });
    expect(requirement.policy!.condition.origin).toBe('policy.yaml: spec.authorities[0].attestations[0].policy.data');
  });

  it.each([
    ['a syntax error', 'predicateType ==', ':1:15: CEL: syntax error'],
    ['an undeclared field', 'predicat.builder.id == "x"', ":1:1: CEL: undeclared reference to 'predicat'"],
    ['an unknown function', 'subject.exists(s, s.name.endsWit("x"))', "undeclared function 'endsWit'"],
  ])('%s is a load error with the position in the expression', (_what, expression, fragment) => {
    expectError(
      withAuthority(`${KEYLESS}\nattestations: [{name: a, predicateType: vuln, policy: {type: cel, data: '${expression.replace(/'/g, "''")}'}}]`),
      'spec.authorities[0].attestations[0].policy.data',
      fragment,
    );
  });

  it('a policy without data or type is a load error', () => {
    expectError(
      withAuthority(`${KEYLESS}\nattestations: [{name: a, predicateType: vuln, policy: {type: cel}}]`),
      'spec.authorities[0].attestations[0].policy.data',
      'missing field',
    );
    expectError(
      withAuthority(`${KEYLESS}\nattestations: [{name: a, predicateType: vuln, policy: {data: "true"}}]`),
      'spec.authorities[0].attestations[0].policy.type',
      'missing field',
    );
  });
});

describe('spec.match', () => {
  const withMatch = (match: string) => withAuthority(KEYLESS, `match:\n${indent(match, 2)}`);

  it('reads resources and label selectors', () => {
    const result = parse(
      withMatch(`- {group: apps, version: v1, resource: deployments, selector: {matchLabels: {app.kubernetes.io/team: a}}}
- version: "*"
  resource: pods
  selector:
    matchExpressions:
      - {key: env, operator: In, values: [prod, stage]}
      - {key: legacy, operator: DoesNotExist}`),
    );
    expect(result.errors).toEqual([]);
    expect(result.warnings).toEqual([]);
    expect(result.policies[0]!.match).toEqual([
      { group: 'apps', version: 'v1', resource: 'deployments', selector: { matchLabels: { 'app.kubernetes.io/team': 'a' }, matchExpressions: [] } },
      {
        group: '',
        version: '*',
        resource: 'pods',
        selector: {
          matchLabels: {},
          matchExpressions: [
            { key: 'env', operator: 'In', values: ['prod', 'stage'] },
            { key: 'legacy', operator: 'DoesNotExist', values: [] },
          ],
        },
      },
    ]);
  });

  it('an empty list is no match at all', () => {
    expect(parse(withMatch('[]')).policies[0]!.match).toBeUndefined();
  });

  it.each([
    [
      'an unknown resource (policy-controller: invalid value: apple: spec.match[0].resource)',
      '- {resource: apple, version: v1}',
      'spec.match[0].resource',
      'invalid value "apple": unsupported resource name',
    ],
    ['a selector with no resource type', '- selector: {matchLabels: {a: b}}', 'spec.match[0].selector', 'requires a resource type'],
    ['an unknown field', '- {resource: pods, version: v1, kind: Pod}', 'spec.match[0].kind', 'unknown field'],
    [
      'an unknown operator',
      '- {resource: pods, version: v1, selector: {matchExpressions: [{key: a, operator: Equals, values: [b]}]}}',
      'spec.match[0].selector.matchExpressions[0].operator',
      'expected one of In, NotIn, Exists, DoesNotExist',
    ],
    [
      'In without values',
      '- {resource: pods, version: v1, selector: {matchExpressions: [{key: a, operator: In}]}}',
      'spec.match[0].selector.matchExpressions[0].values',
      'needs at least one value',
    ],
    [
      'Exists with values',
      '- {resource: pods, version: v1, selector: {matchExpressions: [{key: a, operator: Exists, values: [b]}]}}',
      'spec.match[0].selector.matchExpressions[0].values',
      'takes no values',
    ],
    [
      'an invalid label key',
      '- {resource: pods, version: v1, selector: {matchLabels: {"-a": b}}}',
      'spec.match[0].selector.matchLabels.-a',
      'invalid label key',
    ],
    [
      'an invalid label key prefix',
      '- {resource: pods, version: v1, selector: {matchLabels: {"Example.COM/a": b}}}',
      'spec.match[0].selector.matchLabels.Example.COM/a',
      'prefix',
    ],
    [
      'an invalid label value',
      '- {resource: pods, version: v1, selector: {matchLabels: {a: "b c"}}}',
      'spec.match[0].selector.matchLabels.a',
      'invalid label value',
    ],
    [
      'a label value that is not a string',
      '- {resource: pods, version: v1, selector: {matchLabels: {a: 1}}}',
      'spec.match[0].selector.matchLabels.a',
      'expected a string label value, got number 1',
    ],
    ['a list where a mapping belongs', '- [pods]', 'spec.match[0]', 'expected a mapping'],
  ])('%s is a load error naming the path', (_what, match, path, fragment) => {
    expectError(withMatch(match), path, fragment);
  });

  it('warns about an entry that can match nothing (the resource and version are compared exactly)', () => {
    const result = parse(withMatch('- {group: apps, version: v1}\n- {resource: pods}'));
    expect(result.errors).toEqual([]);
    expect(result.warnings.map((w) => w.path)).toEqual(['spec.match[0].resource', 'spec.match[1].version']);
  });
});

describe('source[]', () => {
  it('reads the repositories, in order', () => {
    const result = parse(
      withAuthority(`${KEYLESS}\nsource: [{oci: registry.example.com/org/signatures}, {oci: "ghcr.io/org/sigs", tagPrefix: sig-}, {tagPrefix: sigprefix}, {}]`),
    );
    expect(result.errors).toEqual([]);
    expect(result.policies[0]!.authorities[0]!.sources).toEqual([
      { oci: 'registry.example.com/org/signatures', signaturePullSecrets: [] },
      { oci: 'ghcr.io/org/sigs', signaturePullSecrets: [], tagPrefix: 'sig-' },
      { signaturePullSecrets: [], tagPrefix: 'sigprefix' },
      { signaturePullSecrets: [] },
    ]);
  });

  it.each([
    ['a registry alone', 'registry.example.com', 'a registry alone names no repository'],
    ['a tag', 'registry.example.com/sigs:latest', 'without tag or digest'],
    ['a digest', `registry.example.com/sigs@sha256:${'a'.repeat(64)}`, 'without tag or digest'],
    ['not a name', 'Registry.example.com/UPPER', 'not a repository name'],
  ])('%s is refused', (_what, oci, fragment) => {
    expectError(withAuthority(`${KEYLESS}\nsource: [{oci: "${oci}"}]`), 'spec.authorities[0].source[0].oci', fragment);
  });

  it.each(['-sig', 'a/b', 'x'.repeat(54)])('a tag prefix no tag could start with (%j) is refused', (prefix) => {
    expectError(withAuthority(`${KEYLESS}\nsource: [{tagPrefix: "${prefix}"}]`), 'spec.authorities[0].source[0].tagPrefix', 'a tag prefix is letters');
  });

  it("reads signaturePullSecrets: names of Secrets (as policy-controller, any name; read at admission in the object's namespace)", () => {
    const result = parse(
      withAuthority(`${KEYLESS}\nsource: [{oci: registry.example.com/sigs, signaturePullSecrets: [{name: sigs}, {name: examplePullSecret}, {name: sigs}]}]`),
    );
    expect(result.errors).toEqual([]);
    expect(result.policies[0]!.authorities[0]!.sources).toEqual([
      { oci: 'registry.example.com/sigs', signaturePullSecrets: ['sigs', 'examplePullSecret', 'sigs'] },
    ]);
  });

  it('a pull secret without a name is refused', () => {
    expectError(
      withAuthority(`${KEYLESS}\nsource: [{signaturePullSecrets: [{}]}]`),
      'spec.authorities[0].source[0].signaturePullSecrets[0].name',
      'missing field',
    );
  });
});

describe('a key authority and the transparency log', () => {
  const KEY = `key:\n  data: |\n${indent(PUBLIC_PEM, 4)}`;

  it('without ctlog needs no log entry, and says so at load', () => {
    const result = parse(withAuthority(KEY));
    expect(result.errors).toEqual([]);
    expect(result.policies[0]!.authorities[0]).toMatchObject({ requiresTlog: false });
    expect(result.policies[0]!.authorities[0]).not.toHaveProperty('ctlog');
    expect(result.warnings).toEqual([expect.objectContaining({ path: 'spec.authorities[0]', message: expect.stringContaining('need no log entry') })]);
  });

  it('ctlog: {} is the same (policy-controller: no Rekor client and no keys, no check)', () => {
    const result = parse(withAuthority(`${KEY}\nctlog: {}`));
    expect(result.errors).toEqual([]);
    expect(result.policies[0]!.authorities[0]).toMatchObject({ requiresTlog: false });
    expect(result.warnings).toEqual([expect.objectContaining({ path: 'spec.authorities[0].ctlog' })]);
  });

  it.each([
    ['a ctlog url', 'ctlog: {url: "https://rekor.sigstore.dev"}'],
    ['a ctlog trustRootRef', 'ctlog: {trustRootRef: logs}'],
    ['a timestamp authority', 'rfc3161timestamp: {trustRootRef: tsa}'],
  ])('with %s, the entry (or timestamp) stays required', (_what, extra) => {
    const result = parse(withAuthority(`${KEY}\n${extra}`));
    expect(result.errors).toEqual([]);
    expect(result.warnings).toEqual([]);
    expect(result.policies[0]!.authorities[0]).toMatchObject({ requiresTlog: true });
  });
});
