/**
 * policy-controller's own test corpus through imgverify's loader, as a team switching from it
 * would apply it (the files are in fixtures/policy-controller, from its commit f925c0c):
 *   - every policy it admits (`valid/`, `e2e/`, `tester/`) that uses no CUE, Rego or KMS loads:
 *     the folder loader, its TrustRoots, the Fulcio and Rekor URLs checked against the webhook's
 *     trust (the public-good root and a root for policy-controller's e2e Sigstore, as its e2e
 *     scaffolding installs), and every authority compiles; the ones that are not loaded are
 *     listed below with why, and the list is checked against what the documents contain;
 *   - every policy it refuses (`invalid/`) is refused, the messages naming each field path its
 *     `# ERROR:` lines give (what its `kubectl create` test, test/e2e_test_policy_crd.sh, greps);
 *   - its TrustRoots (test/testdata/trustroot, with the e2e templates filled in as its scripts do)
 *     and the SigstoreKeys of pkg/apis/config/testdata load.
 *
 * Counts (the before figures are main at 47eeebd, measured the same way): of the 50 policies
 * policy-controller admits, 25 use CUE or Rego and 7 more KMS keys; of the other 18, 7 loaded
 * before (and two of those could never pass: a key hash other than SHA-256, a key without a log
 * entry), 16 load now in a policy folder and 2 read Kubernetes Secrets (refused in a policy
 * folder, naming exactly those fields); those 2 load as cluster objects where their Secrets
 * exist. Of the 33 invalid ones, 17 were refused naming every field path of their ERROR
 * lines (24 naming at least one), 33 now.
 */
import { generateKeyPairSync } from 'node:crypto';
import { readdirSync, readFileSync } from 'node:fs';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parse as parseYaml } from 'yaml';
import { trustRootFromJSON } from '../../../src/trust/trusted-root';
import { publicGoodTrustRoot } from '../../../src/trust/embedded';
import { loadPolicies, PolicyEvaluator, signaturePullSecretErrors, TrustRootSet, VerifierBackend, parseClusterImagePolicies } from '../../../src/webhook';
import { loadPolicyObject } from '../../../src/webhook/policy-objects';
import { fixturePath } from '../../support/fixtures';
import { createTestSigstore } from '../../support/sigstore';

const CORPUS = ['policy-controller', 'test', 'testdata', 'policy-controller'];
const TRUSTROOTS = ['policy-controller', 'test', 'testdata', 'trustroot'];

function corpusFiles(dir: string): string[] {
  return readdirSync(fixturePath(...CORPUS, dir))
    .filter((f) => f.endsWith('.yaml'))
    .sort()
    .map((f) => `${dir}/${f}`);
}
const read = (file: string): string => readFileSync(fixturePath(...CORPUS, ...file.split('/')), 'utf8');

/**
 * The policies policy-controller admits that imgverify does not load, and why: what it refuses
 * on purpose (CUE and Rego are not evaluated; KMS keys are separate work), and what is not a
 * policy. Checked against the documents below: a file that gains or loses one of these shows up.
 */
const NOT_LOADED: Readonly<Record<string, string>> = {
  'valid/v1beta1-valid-keylessref-awskms.yaml': 'KMS',
  'valid/v1beta1-valid-keyref-awskms.yaml': 'KMS',
  'valid/v1beta1-valid-policy-glob.yaml': 'KMS',
  'valid/v1beta1-valid-policy.yaml': 'CUE/Rego, KMS',
  'valid/valid-keylessref-awskms.yaml': 'KMS',
  'valid/valid-keyref-awskms.yaml': 'KMS',
  'valid/valid-policy-glob.yaml': 'KMS',
  'valid/valid-policy-hash-algo.yaml': 'CUE/Rego, KMS',
  'valid/valid-policy-keyless-ignore-sct.yaml': 'KMS',
  'valid/valid-policy-match-resource-label.yaml': 'CUE/Rego, KMS',
  'valid/valid-policy-match-resource.yaml': 'CUE/Rego, KMS',
  'valid/valid-policy.yaml': 'CUE/Rego, KMS',
  'e2e/cip-config-file-policy-fails.yaml': 'CUE/Rego',
  'e2e/cip-config-file-policy-from-configmap.yaml': 'CUE/Rego',
  'e2e/cip-config-file-policy.yaml': 'CUE/Rego',
  'e2e/cip-include-objectmeta-fails.yaml': 'CUE/Rego',
  'e2e/cip-include-objectmeta.yaml': 'CUE/Rego',
  'e2e/cip-include-spec-fails.yaml': 'CUE/Rego',
  'e2e/cip-include-spec.yaml': 'CUE/Rego',
  'e2e/cip-include-typemeta.yaml': 'CUE/Rego',
  'e2e/cip-key-with-attestations-no-rekor.yaml': 'CUE/Rego',
  'e2e/cip-key-with-attestations-rego.yaml': 'CUE/Rego',
  'e2e/cip-key-with-attestations.yaml': 'CUE/Rego',
  'e2e/cip-keyless-with-attestations-rego.yaml': 'CUE/Rego',
  'e2e/cip-keyless-with-attestations.yaml': 'CUE/Rego',
  'e2e/cip-keyless-with-source-prefix-tag.yaml': 'CUE/Rego',
  'e2e/cip-keyless-with-trustroot-remote-with-attestations.yaml': 'CUE/Rego',
  'e2e/cip-keyless-with-trustroot-repository-with-attestations.yaml': 'CUE/Rego',
  'e2e/cip-keyless-with-trustroot-with-attestations.yaml': 'CUE/Rego',
  'e2e/cip-policy-from-url.yaml': 'CUE/Rego',
  'e2e/cip-requires-two-signatures-and-two-attestations-rego.yaml': 'CUE/Rego',
  'e2e/cip-requires-two-signatures-and-two-attestations.yaml': 'CUE/Rego',
  'e2e/test-deployment.yaml': 'not a policy (a Deployment the e2e scripts apply)',
};

type Doc = Record<string, unknown>;
const asList = (v: unknown): Doc[] => (Array.isArray(v) ? (v as Doc[]) : []);
const asDoc = (v: unknown): Doc => (typeof v === 'object' && v !== null && !Array.isArray(v) ? (v as Doc) : {});

/** Why a document is not loaded, read from the document itself (not from imgverify's errors). */
function reasonsOf(text: string): string | undefined {
  const doc = asDoc(parseYaml(text));
  if (doc['kind'] === 'Deployment') return 'not a policy (a Deployment the e2e scripts apply)';
  const spec = asDoc(doc['spec']);
  const authorities = asList(spec['authorities']);
  const policyTypes = [asDoc(spec['policy'])['type'], ...authorities.flatMap((a) => asList(a['attestations']).map((att) => asDoc(att['policy'])['type']))];
  const cueRego = policyTypes.some((t) => t === 'cue' || t === 'rego') || spec['policy'] !== undefined;
  const kms = authorities.some((a) => asDoc(a['key'])['kms'] !== undefined || asDoc(asDoc(a['keyless'])['ca-cert'])['kms'] !== undefined);
  const reasons = [...(cueRego ? ['CUE/Rego'] : []), ...(kms ? ['KMS'] : [])];
  return reasons.length > 0 ? reasons.join(', ') : undefined;
}

/**
 * Policies that read Kubernetes Secrets (`key.secretRef`, `ca-cert.secretRef`, `source[].
 * signaturePullSecrets`): those are read when the webhook reads the cluster, which a policy
 * folder is not; there they are refused naming exactly those fields (the secretRefs by the
 * parser, which has no Secrets of the webhook's namespace; signaturePullSecrets, Secrets of the
 * admitted object's namespace, when the folder's set is put in force: signaturePullSecretErrors).
 */
const NEEDS_SECRETS: Readonly<Record<string, { readonly parse: readonly string[]; readonly folder: readonly string[] }>> = {
  'valid/valid-keyless-with-source.yaml': {
    parse: ['spec.authorities[0].keyless.ca-cert.secretRef'],
    folder: ['spec.authorities[0].source[0].signaturePullSecrets'],
  },
  'e2e/cip-key-secret.yaml': { parse: ['spec.authorities[0].key.secretRef'], folder: [] },
};

const ADMITTED = [...corpusFiles('valid'), ...corpusFiles('e2e'), ...corpusFiles('tester')];
const LOADED = ADMITTED.filter((f) => NOT_LOADED[f] === undefined && NEEDS_SECRETS[f] === undefined);

test('the corpus: 50 policies policy-controller admits (and a Deployment), 33 it refuses; 16 load in a policy folder, 2 more from the cluster', () => {
  expect(ADMITTED).toHaveLength(51);
  expect(Object.keys(NOT_LOADED)).toHaveLength(33);
  expect(corpusFiles('invalid')).toHaveLength(33);
  expect(LOADED).toHaveLength(16);
});

test('the list of policies not loaded is what the documents say (CUE/Rego, KMS, not a policy)', () => {
  const computed = Object.fromEntries(ADMITTED.flatMap((f) => (reasonsOf(read(f)) !== undefined ? [[f, reasonsOf(read(f))!]] : [])));
  expect(computed).toEqual(NOT_LOADED);
});

const pathsOf = (errors: ReadonlyArray<{ details?: unknown }>): string[] => [...new Set(errors.map((e) => (e.details as { path: string }).path))].sort();

test.each(Object.entries(NEEDS_SECRETS))('%s reads Secrets: in a policy folder it is refused naming only those fields', (file, paths) => {
  const result = parseClusterImagePolicies(read(file), file);
  expect(result.policies).toEqual([]);
  expect(pathsOf(result.errors)).toEqual([...paths.parse].sort());
  // The same document without its secretRefs: only signaturePullSecrets keep it from a folder.
  const doc = asDoc(parseYaml(read(file)));
  const authority = asList(asDoc(doc['spec'])['authorities'])[0]!;
  if (asDoc(authority['key'])['secretRef'] !== undefined) authority['key'] = { data: SECRET_VALUES['cip-secret'] };
  if (asDoc(authority['keyless'])['ca-cert'] !== undefined) asDoc(authority['keyless'])['ca-cert'] = { data: SECRET_VALUES['ca-cert-secret'] };
  const inline = parseClusterImagePolicies(JSON.stringify(doc), `${file}.json`);
  expect(inline.errors.map((e) => e.message)).toEqual([]);
  expect(pathsOf(signaturePullSecretErrors(inline.policies, 'a policy folder'))).toEqual([...paths.folder].sort());
});

// --- Valid policies ---------------------------------------------------------------------------

/** policy-controller's e2e Sigstore (its scaffolding's Fulcio and Rekor URLs), as a trust root of the webhook. */
const e2eSigstore = createTestSigstore({ organization: 'policy-controller-e2e.test', rekor: { baseUrl: 'http://rekor.rekor-system.svc' } });
const b64 = (text: string): string => Buffer.from(text).toString('base64');
const pem = (der: string, label = 'CERTIFICATE'): string => `-----BEGIN ${label}-----\n${der.match(/.{1,64}/g)!.join('\n')}\n-----END ${label}-----\n`;

function e2eRoot() {
  const root = structuredClone(e2eSigstore.trustedRoot);
  root.certificateAuthorities[0]!.uri = 'http://fulcio.fulcio-system.svc';
  return trustRootFromJSON(root, 'policy-controller e2e');
}

/** The TrustRoot e2e templates filled in as policy-controller's e2e scripts do (sed over the placeholders). */
function filledTrustRoot(name: string): string {
  const root = e2eSigstore.trustedRoot;
  const chain = (certs: Array<{ rawBytes: string }>): string => b64(certs.map((c) => pem(c.rawBytes)).join(''));
  const values: Record<string, string> = {
    FULCIO_CERT_CHAIN: chain(root.certificateAuthorities[0]!.certChain.certificates),
    REKOR_PUBLIC_KEY: b64(pem(root.tlogs[0]!.publicKey.rawBytes, 'PUBLIC KEY')),
    CTFE_PUBLIC_KEY: b64(pem(root.ctlogs[0]!.publicKey.rawBytes, 'PUBLIC KEY')),
    TSA_CERT_CHAIN: chain(root.timestampAuthorities[0]!.certChain.certificates),
    TSA_URL: 'https://tsa.example.com',
    TUF_MIRROR: 'https://tuf.example.com',
    ROOT_JSON: b64('{"signed":{},"signatures":[]}'),
    REPOSITORY: b64('not read by a parse'),
  };
  return readFileSync(fixturePath(...TRUSTROOTS, 'e2e', name), 'utf8').replace(
    /\b(FULCIO_CERT_CHAIN|REKOR_PUBLIC_KEY|CTFE_PUBLIC_KEY|TSA_CERT_CHAIN|TSA_URL|TUF_MIRROR|ROOT_JSON|REPOSITORY)\b/g,
    (m) => values[m]!,
  );
}

/** The Secrets the policies that read them name, as their e2e scripts create them (a key, a CA chain of the e2e Sigstore). */
const SECRET_VALUES: Readonly<Record<string, string>> = {
  'cip-secret': generateKeyPairSync('ec', { namedCurve: 'P-256' }).publicKey.export({ type: 'spki', format: 'pem' }).toString(),
  'ca-cert-secret': e2eSigstore.trustedRoot.certificateAuthorities[0]!.certChain.certificates.map((c) => pem(c.rawBytes)).join(''),
};

/** The TrustRoots an e2e policy is applied with (its scripts apply them beside it). */
const COMPANIONS: Readonly<Record<string, string>> = { 'e2e/cip-key-tsa.yaml': 'with-tsa.yaml' };

describe('every valid policy without CUE, Rego or KMS loads as the webhook loads its folder', () => {
  let work: string;
  let backend: VerifierBackend;
  beforeAll(() => {
    work = mkdtempSync(join(tmpdir(), 'imgverify-pc-corpus-'));
    backend = new VerifierBackend({ trustedRoot: [publicGoodTrustRoot(), e2eRoot()], registry: { dockerConfigPath: false } });
  });
  afterAll(async () => {
    await backend.close();
    rmSync(work, { recursive: true, force: true });
  });

  test.each(LOADED)('%s', async (file) => {
    const dir = join(work, file.replace(/\W/g, '_'));
    mkdirSync(dir);
    writeFileSync(join(dir, 'policy.yaml'), read(file));
    const companion = COMPANIONS[file];
    if (companion) writeFileSync(join(dir, 'trust-root.yaml'), filledTrustRoot(companion));
    const set = await loadPolicies(dir);
    expect(set.errors.map((e) => e.message)).toEqual([]);
    expect(set.policies).toHaveLength(1);
    const trustRoots = new TrustRootSet({ cacheDir: join(dir, 'cache'), offline: true });
    expect(await trustRoots.load(set.trustRoots)).toEqual([]);
    const evaluator = new PolicyEvaluator({ backend });
    expect(evaluator.serviceUrlErrors(set.policies, { trustRoots }).map((e) => e.message)).toEqual([]);
    evaluator.setPolicies(set, { trustRoots });
    expect(evaluator.unusableAuthorities()).toEqual([]);
  });

  // As the cluster source loads them: the secretRefs read from the webhook's namespace, where
  // the e2e scripts create those Secrets; signaturePullSecrets are read at admission, in the
  // admitted object's namespace (test/integration/webhook/signature-pull-secrets.test.ts).
  test.each(Object.keys(NEEDS_SECRETS))('%s loads as a cluster object where its Secrets exist', (file) => {
    const lookup = ({ name }: { name: string }) =>
      SECRET_VALUES[name] !== undefined ? { value: SECRET_VALUES[name] } : { error: `Secret ${JSON.stringify(name)} not found`, missing: true as const };
    const result = loadPolicyObject('ClusterImagePolicy', parseYaml(read(file)), file, lookup);
    expect(result.errors.map((e) => e.message)).toEqual([]);
    expect(result.policies).toHaveLength(1);
    const evaluator = new PolicyEvaluator({ backend });
    expect(evaluator.serviceUrlErrors(result.policies).map((e) => e.message)).toEqual([]);
    evaluator.setPolicies({ policies: result.policies, version: `sha256:${file}`, errors: [] });
    expect(evaluator.unusableAuthorities()).toEqual([]);
    if (file === 'valid/valid-keyless-with-source.yaml') {
      expect(result.policies[0]!.authorities[0]!.sources).toEqual([{ signaturePullSecrets: ['examplePullSecret'] }]);
    }
  });
});

// --- Invalid policies -------------------------------------------------------------------------

/**
 * The field paths an `# ERROR:` line names (`spec.authorities[0].key.data`, and the partial
 * `keyless.identities`). Compared without case: policy-controller spells `secretRef` `secretref`
 * in its one-of messages (knative lower-cases nothing; its code passes "secretref"), imgverify
 * the field's real name.
 */
function errorPaths(line: string): string[] {
  return line.match(/[A-Za-z0-9_-]+(?:\[\d+\])?(?:\.[A-Za-z0-9_-]+(?:\[\d+\])?)+/g) ?? [];
}

describe('every invalid policy is refused, naming the field paths policy-controller names', () => {
  test.each(corpusFiles('invalid'))('%s', (file) => {
    const text = read(file);
    const expected = text
      .split('\n')
      .filter((l) => l.includes('ERROR:'))
      .map((l) => l.slice(l.indexOf('ERROR:') + 'ERROR:'.length).trim());
    expect(expected.length).toBeGreaterThan(0);
    const result = parseClusterImagePolicies(text, file);
    expect(result.policies).toEqual([]);
    const messages = result.errors.map((e) => e.message.toLowerCase()).join('\n');
    const missing = expected.flatMap(errorPaths).filter((path) => !messages.includes(path.toLowerCase()));
    expect({ file, missing, messages: result.errors.map((e) => e.message) }).toEqual({ file, missing: [], messages: expect.any(Array) });
  });
});

// --- TrustRoots -------------------------------------------------------------------------------

describe("policy-controller's TrustRoots", () => {
  test('valid/valid-sigstore-keys.yaml loads and lists its services', async () => {
    const result = parseClusterImagePolicies(readFileSync(fixturePath(...TRUSTROOTS, 'valid', 'valid-sigstore-keys.yaml'), 'utf8'), 'valid-sigstore-keys.yaml');
    expect(result.errors).toEqual([]);
    const set = new TrustRootSet({ cacheDir: tmpdir(), offline: true });
    expect(await set.load(result.trustRoots)).toEqual([]);
    const root = trustRootOf(set, 'bring-your-own-sigstore-keys');
    expect(root.trustedRoot.tlogs.map((l) => l.baseUrl)).toEqual(['https://rekor.example.com']);
    expect(root.trustedRoot.certificateAuthorities.map((c) => c.uri)).toEqual(['https://fulcio.example.com']);
  });

  test.each(['bring-your-own-keys.yaml', 'with-tsa.yaml', 'with-remote.yaml', 'with-repository.yaml'])(
    'e2e/%s, filled in as the e2e scripts do, parses',
    (name) => {
      const result = parseClusterImagePolicies(filledTrustRoot(name), name);
      expect(result.errors.map((e) => e.message)).toEqual([]);
      expect(result.trustRoots).toHaveLength(1);
    },
  );

  test('e2e/bring-your-own-keys.yaml and with-tsa.yaml become trust (sigstoreKeys)', async () => {
    for (const name of ['bring-your-own-keys.yaml', 'with-tsa.yaml']) {
      const { trustRoots } = parseClusterImagePolicies(filledTrustRoot(name), name);
      const set = new TrustRootSet({ cacheDir: tmpdir(), offline: true });
      expect(await set.load(trustRoots)).toEqual([]);
    }
  });

  test("pkg/apis/config/testdata/config-sigstore-keys.yaml: its SigstoreKeys entry (trusted_root.json's message without the mediaType) loads", () => {
    const configMap = asDoc(
      parseYaml(readFileSync(fixturePath('policy-controller', 'pkg', 'apis', 'config', 'testdata', 'config-sigstore-keys.yaml'), 'utf8')),
    );
    const example = asDoc(configMap['data'])['_example'];
    if (typeof example !== 'string') throw new Error('config-sigstore-keys.yaml: no _example entry');
    const json = example.slice(example.indexOf('{'), example.lastIndexOf('}') + 1);
    const keys = JSON.parse(json) as object;
    const root = trustRootFromJSON({ mediaType: 'application/vnd.dev.sigstore.trustedroot+json;version=0.1', ...keys }, 'my-custom-sigstore-keys');
    expect(root.trustedRoot.tlogs.map((l) => l.baseUrl)).toEqual(['https://rekor.example.com']);
    expect(root.trustedRoot.timestampAuthorities).toHaveLength(1);
  });
});

function trustRootOf(set: TrustRootSet, name: string) {
  const entry = set.get(name)!.entry;
  return 'current' in entry ? entry.current() : entry;
}
