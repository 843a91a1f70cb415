/**
 * The ClusterImagePolicy fields a policy-controller user relies on, end to end: real
 * AdmissionReviews over TLS to the running webhook, images and signatures in a real registry,
 * signed by the private test Sigstore whose Rekor answers to policy-controller's e2e URL
 * (`http://rekor.rekor-system.svc`):
 *   - a key authority without ctlog admits a key signature that has no log entry
 *     (`cosign sign --key --tlog-upload=false`, policy-controller's e2e cip-key-no-rekor.yaml);
 *     with ctlog the entry is required; keyless stays strict;
 *   - key.hashAlgorithm: signatures made with SHA-224/256/384/512 pass only under their hash;
 *   - keyless.insecureIgnoreSCT: a certificate without an SCT passes only where it is set;
 *   - source[].oci: signatures stored in another repository;
 *   - spec.match: the admitted resource and the object's own labels (a Deployment's, not its
 *     pod template's);
 *   - ctlog.url / keyless.url naming the private instance that --trusted-root lists select it;
 *     with two roots, only the one that lists the URL verifies; a URL no root lists keeps the
 *     folder from loading, naming the field.
 */
import { generateKeyPairSync, type KeyObject } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { trustRootFromJSON } from '../../../src';
import { loadPolicies, PolicyEvaluator, VerifierBackend, type ImageDecision } from '../../../src/webhook';
import { startWebhookServer, type RunningWebhookServer } from '../../../src/webhook/server';
import { closePushers, startRegistry, type RunningRegistry, type TestCa } from '../../support/registry';
import { pushSignatures, pushTestImage } from '../../support/signed-images';
import { createTestSigstore, type CosignLayer, type SigningHashName, type TestSigstore } from '../../support/sigstore';
import { admissionReview, servingCertificate, WebhookClient, workload, writeConfigMap } from './helpers';

const ISSUER = 'https://accounts.example.test';
const SIGNER = 'release@example.test';
/** policy-controller's e2e Rekor and Fulcio (its test/e2e_test_cluster_image_policy*.sh). */
const PRIVATE_REKOR = 'http://rekor.rekor-system.svc';
const PRIVATE_FULCIO = 'http://fulcio.fulcio-system.svc';

let registry: RunningRegistry;
let sigstore: TestSigstore;
let other: TestSigstore;
let ca: TestCa;
let work: string;
let trustedRootPath: string;
let certFile: string;
let keyFile: string;
const keys = generateKeyPairSync('ec', { namedCurve: 'P-256' });
const keyPem = keys.publicKey.export({ type: 'spki', format: 'pem' }).toString();

let counter = 0;

/**
 * Pushes `<prefix>-<n>:v1` with the signatures `sign` makes, into the image's repository or
 * `where.repository`, under cosign's tag or with `where.tagPrefix` before it.
 */
async function image(prefix: string, sign: (digest: string) => CosignLayer[], where: { repository?: string; tagPrefix?: string } = {}): Promise<string> {
  const repository = `${prefix}-${++counter}`;
  const pushed = await pushTestImage(registry, repository, 'v1');
  const layers = sign(pushed.digest);
  if (layers.length > 0) await pushSignatures(registry, where.repository ?? repository, pushed.digest, layers, where.tagPrefix);
  return `${registry.host}/${repository}:v1`;
}

const keySigned =
  (opts: { tlog: boolean; hash?: SigningHashName; privateKey?: KeyObject }) =>
  (digest: string): CosignLayer[] => [
    sigstore.signImageWithKey({ digest, privateKey: opts.privateKey ?? keys.privateKey, tlog: opts.tlog, ...(opts.hash ? { hash: opts.hash } : {}) }),
  ];
const keylessSigned =
  (opts: { tlog?: boolean; by?: TestSigstore } = {}) =>
  (digest: string): CosignLayer[] => [(opts.by ?? sigstore).signImage({ digest, identity: { email: SIGNER }, issuer: ISSUER, tlog: opts.tlog ?? true })];

function cip(name: string, glob: string, spec: Record<string, unknown>): string {
  return `${JSON.stringify({ apiVersion: 'policy.sigstore.dev/v1beta1', kind: 'ClusterImagePolicy', metadata: { name }, spec: { images: [{ glob }], ...spec } }, null, 2)}\n`;
}

const IDENTITY = { identities: [{ issuer: ISSUER, subject: SIGNER }] };
const HASHES: readonly SigningHashName[] = ['sha224', 'sha256', 'sha384', 'sha512'];

function policies(): Record<string, string> {
  const host = registry.host;
  return {
    // policy-controller's e2e cip-key-no-rekor.yaml: a key, no ctlog.
    'key-no-rekor.yaml': cip('key-no-rekor', `${host}/nolog-*`, { authorities: [{ key: { data: keyPem } }] }),
    'key-rekor.yaml': cip('key-rekor', `${host}/logged-*`, { authorities: [{ key: { data: keyPem }, ctlog: { url: PRIVATE_REKOR } }] }),
    'keyless.yaml': cip('keyless', `${host}/keyless-*`, { authorities: [{ keyless: { url: PRIVATE_FULCIO, ...IDENTITY }, ctlog: { url: PRIVATE_REKOR } }] }),
    ...Object.fromEntries(
      HASHES.map((hash) => [`hash-${hash}.yaml`, cip(`hash-${hash}`, `${host}/${hash}-*`, { authorities: [{ key: { data: keyPem, hashAlgorithm: hash } }] })]),
    ),
    // policy-controller's e2e cip-key-and-keyless-ignore-sct.yaml: a Fulcio without a CT log.
    'no-sct.yaml': cip('no-sct', `${host}/nosct-*`, { authorities: [{ keyless: { insecureIgnoreSCT: true, ...IDENTITY } }] }),
    'sct.yaml': cip('sct', `${host}/sct-*`, { authorities: [{ keyless: IDENTITY }] }),
    'source.yaml': cip('source', `${host}/sourced-*`, { authorities: [{ keyless: IDENTITY, source: [{ oci: `${host}/signatures` }] }] }),
    // policy-controller's e2e cip-keyless-with-source-prefix-tag.yaml (without its CUE attestation).
    'prefix.yaml': cip('prefix', `${host}/prefixed-*`, { authorities: [{ keyless: IDENTITY, source: [{ tagPrefix: 'sigprefix' }] }] }),
    // spec.match: a policy that fails whatever it applies to, beside one that passes every image.
    'match.yaml': cip('match-team-a', `${host}/match-*`, {
      match: [{ group: 'apps', version: 'v1', resource: 'deployments', selector: { matchLabels: { team: 'a' } } }],
      authorities: [{ static: { action: 'fail', message: 'team a deployments are frozen' } }],
    }),
    'match-pass.yaml': cip('match-pass', `${host}/match-*`, { authorities: [{ static: { action: 'pass' } }] }),
  };
}

const started: Array<{ server: RunningWebhookServer; client: WebhookClient }> = [];

async function startServer(files: Record<string, string>) {
  const dir = mkdtempSync(join(work, 'policies-'));
  writeConfigMap(dir, files);
  const server = await startWebhookServer({
    policiesDir: dir,
    tlsCertFile: certFile,
    tlsKeyFile: keyFile,
    port: 0,
    host: '127.0.0.1',
    trustedRoot: trustedRootPath,
    registry: { dockerConfigPath: false, retries: 1, retryBaseDelayMs: 50 },
    timeoutMs: 8000,
    cacheTtlMs: 0,
    policyPollIntervalMs: 0,
    tlsPollIntervalMs: 0,
    log: () => undefined,
  });
  const client = new WebhookClient(server.url, ca.certPem);
  started.push({ server, client });
  return { server, client };
}

let client: WebhookClient;

beforeAll(async () => {
  work = mkdtempSync(join(tmpdir(), 'imgverify-pc-fields-'));
  registry = await startRegistry();
  ({ ca, certFile, keyFile } = await servingCertificate(work, 'imgverify fields test CA'));
  sigstore = createTestSigstore({ organization: 'private.test', rekor: { baseUrl: PRIVATE_REKOR } });
  other = createTestSigstore({ organization: 'other.test' });
  trustedRootPath = join(work, 'trusted_root.json');
  // The private instance's Fulcio answers at policy-controller's e2e URL too (a root's `uri` is data, not signed).
  const root = structuredClone(sigstore.trustedRoot);
  root.certificateAuthorities[0]!.uri = PRIVATE_FULCIO;
  writeFileSync(trustedRootPath, JSON.stringify(root));
  ({ client } = await startServer(policies()));
});

afterAll(async () => {
  for (const s of started) {
    await s.client.close();
    await s.server.close();
  }
  await closePushers();
  await registry?.stop();
  if (work) rmSync(work, { recursive: true, force: true });
});

async function admit(ref: string, kind: 'Pod' | 'Deployment' = 'Pod', object?: Record<string, unknown>) {
  return client.review('/validate', admissionReview(kind, 'CREATE', object ?? workload(kind, { containers: [ref] })));
}

describe('a key authority without ctlog (cosign sign --key --tlog-upload=false)', () => {
  test('admits a key signature with no Rekor entry', async () => {
    const answer = await admit(await image('nolog', keySigned({ tlog: false })));
    expect(answer.status?.message).toBeUndefined();
    expect(answer.allowed).toBe(true);
  });

  test('still refuses a signature by another key', async () => {
    const intruder = generateKeyPairSync('ec', { namedCurve: 'P-256' });
    const answer = await admit(await image('nolog', keySigned({ tlog: false, privateKey: intruder.privateKey })));
    expect(answer.allowed).toBe(false);
    expect(answer.status?.message).toContain('[SIGNATURE_INVALID]');
  });

  test('with ctlog the same unlogged signature is denied, a logged one admitted', async () => {
    const unlogged = await admit(await image('logged', keySigned({ tlog: false })));
    expect(unlogged.allowed).toBe(false);
    expect(unlogged.status?.message).toContain('[TLOG_ENTRY_MISSING]');
    const logged = await admit(await image('logged', keySigned({ tlog: true })));
    expect(logged.status?.message).toBeUndefined();
    expect(logged.allowed).toBe(true);
  });

  test('keyless stays strict: a keyless signature without a log entry is denied', async () => {
    const unlogged = await admit(await image('keyless', keylessSigned({ tlog: false })));
    expect(unlogged.allowed).toBe(false);
    expect(unlogged.status?.message).toContain('[TLOG_ENTRY_MISSING]');
    const logged = await admit(await image('keyless', keylessSigned()));
    expect(logged.status?.message).toBeUndefined();
    expect(logged.allowed).toBe(true);
  });
});

describe('key.hashAlgorithm', () => {
  test.each(HASHES)('a signature made with %s is admitted under that hash and no other', async (made) => {
    for (const named of HASHES) {
      // Each policy governs its own repositories (`<hash>-*`): the image signed with `made` under each.
      const answer = await admit(await image(named, keySigned({ tlog: false, hash: made })));
      expect([made, named, answer.allowed]).toEqual([made, named, made === named]);
      if (made !== named) expect(answer.status?.message).toContain('[SIGNATURE_INVALID]');
    }
  });
});

describe('keyless.insecureIgnoreSCT', () => {
  test('a certificate without an SCT passes only under insecureIgnoreSCT: true', async () => {
    const noSct = (digest: string): CosignLayer[] => [sigstore.signImage({ digest, identity: { email: SIGNER }, issuer: ISSUER, defect: 'no-sct' })];
    const waived = await admit(await image('nosct', noSct));
    expect(waived.status?.message).toBeUndefined();
    expect(waived.allowed).toBe(true);
    const strict = await admit(await image('sct', noSct));
    expect(strict.allowed).toBe(false);
    expect(strict.status?.message).toContain('[SCT_INVALID]');
  });
});

describe('source[].oci', () => {
  test('signatures stored in another repository admit the image', async () => {
    const answer = await admit(await image('sourced', keylessSigned(), { repository: 'signatures' }));
    expect(answer.status?.message).toBeUndefined();
    expect(answer.allowed).toBe(true);
  });

  test('a signature beside the image does not count when the policy says where they are', async () => {
    const answer = await admit(await image('sourced', keylessSigned()));
    expect(answer.allowed).toBe(false);
    expect(answer.status?.message).toContain('[NO_SIGNATURES]');
    expect(answer.status?.message).toContain('signatures:sha256-');
  });
});

describe('source[].tagPrefix', () => {
  test("signatures under the prefixed tag admit the image; under cosign's plain tag they do not count", async () => {
    const prefixed = await admit(await image('prefixed', keylessSigned(), { tagPrefix: 'sigprefix' }));
    expect(prefixed.status?.message).toBeUndefined();
    expect(prefixed.allowed).toBe(true);
    const plain = await admit(await image('prefixed', keylessSigned()));
    expect(plain.allowed).toBe(false);
    expect(plain.status?.message).toContain(':sigprefixsha256-');
  });
});

describe("spec.match: the admitted resource and the object's own labels", () => {
  let ref: string;
  beforeAll(async () => {
    ref = await image('match', () => []);
  });

  const deployment = (objectLabels: Record<string, string>, templateLabels: Record<string, string>) => {
    const d = workload('Deployment', { containers: [ref] }) as {
      metadata: { labels: Record<string, string> };
      spec: { template: { metadata: { labels: Record<string, string> } } };
    };
    d.metadata.labels = objectLabels;
    d.spec.template.metadata.labels = templateLabels;
    return d;
  };

  test('a Deployment labelled team=a is selected', async () => {
    const answer = await admit(ref, 'Deployment', deployment({ team: 'a' }, {}));
    expect(answer.allowed).toBe(false);
    expect(answer.status?.message).toContain('team a deployments are frozen');
  });

  test('a Deployment whose pod template (not the Deployment) is labelled team=a is not', async () => {
    const answer = await admit(ref, 'Deployment', deployment({ team: 'b' }, { team: 'a' }));
    expect(answer.status?.message).toBeUndefined();
    expect(answer.allowed).toBe(true);
  });

  test('a Pod labelled team=a is not a Deployment', async () => {
    const pod = workload('Pod', { containers: [ref] }) as { metadata: { labels: Record<string, string> } };
    pod.metadata.labels = { team: 'a' };
    const answer = await admit(ref, 'Pod', pod);
    expect(answer.allowed).toBe(true);
  });
});

describe('ctlog.url and keyless.url name trust roots', () => {
  test('a URL no trust root lists keeps the folder from loading, naming the field', async () => {
    const { client: bad } = await startServer({
      'policy.yaml': cip('unknown-rekor', `${registry.host}/**`, { authorities: [{ keyless: IDENTITY, ctlog: { url: 'https://rekor.elsewhere.test' } }] }),
    });
    const ready = await bad.get('/readyz');
    expect(ready.status).toBe(503);
    expect(ready.text).toContain(
      'policy.yaml: document 0 (line 1): spec.authorities[0].ctlog.url: no trust root of the webhook lists the Rekor URL "https://rekor.elsewhere.test"',
    );
    expect(ready.text).toContain(PRIVATE_REKOR);
  });

  test("with two roots, the URL selects the one that lists it: the other instance's signature no longer passes", async () => {
    const dir = mkdtempSync(join(work, 'two-roots-'));
    const files = {
      'any.yaml': cip('any-root', `${registry.host}/tworoots-any-*`, { authorities: [{ keyless: IDENTITY }] }),
      'private.yaml': cip('private-rekor', `${registry.host}/tworoots-private-*`, { authorities: [{ keyless: IDENTITY, ctlog: { url: PRIVATE_REKOR } }] }),
    };
    writeConfigMap(dir, files);
    const set = await loadPolicies(dir);
    expect(set.errors).toEqual([]);
    const backend = new VerifierBackend({
      trustedRoot: [trustRootFromJSON(other.trustedRoot, 'other'), trustRootFromJSON(sigstore.trustedRoot, 'private')],
      registry: { dockerConfigPath: false },
    });
    try {
      const evaluator = new PolicyEvaluator({ backend, cacheTtlMs: 0, timeoutMs: 20_000 });
      expect(evaluator.serviceUrlErrors(set.policies)).toEqual([]);
      evaluator.setPolicies(set);
      const verdicts = async (prefix: string): Promise<ImageDecision[]> =>
        evaluator.evaluate([await image(prefix, keylessSigned({ by: other })), await image(prefix, keylessSigned())]);
      // Without a URL both roots verify; with the private Rekor's, only the private root does.
      expect((await verdicts('tworoots-any')).map((d) => d.verdict)).toEqual(['allowed', 'allowed']);
      const [byOther, byPrivate] = await verdicts('tworoots-private');
      expect(byPrivate!.verdict).toBe('allowed');
      expect(byOther!.verdict).toBe('denied');
      expect(byOther!.policies[0]!.authorities[0]!.code).toBe('CERTIFICATE_CHAIN_INVALID');
    } finally {
      await backend.close();
    }
  });
});
