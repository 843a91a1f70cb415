/**
 * Issue 18.2: `authorities[].source[].signaturePullSecrets`. The Secrets a source names are read
 * in the admitted object's namespace (in-memory Secrets here, through PullSecretCredentials) and
 * their credentials go with that source's signature reads, not with the tag resolution; a
 * failure is cached per those Secrets (namespace and names), an evaluation without Secrets to
 * read fails without being cached, and a pass stays shared. The backend decides what is
 * readable from the credentials each call carries.
 */
import { generateKeyPairSync } from 'node:crypto';
import { ImgverifyError } from '../../../src/errors';
import type { CallCredentials } from '../../../src/registry/types';
import { formatReference } from '../../../src/reference';
import type { ImageVerificationResult } from '../../../src/verify/types';
import type { PreparedPolicy } from '../../../src/verify/verifier';
import type { AttestationsResult, PrepareOptions, SignatureReadOptions, VerificationBackend, VerificationSession } from '../../../src/webhook/backend';
import type { AdmissionRequest } from '../../../src/webhook/admission';
import { decideAdmission } from '../../../src/webhook/decide';
import { PolicyEvaluator, type EvaluateOptions } from '../../../src/webhook/evaluate';
import { parsePolicyObject } from '../../../src/webhook/policy-documents';
import { PullSecretCredentials } from '../../../src/webhook/pull-secrets';
import type { Json } from '../../support/json';
import { dockerConfigSecret, MemoryObjectSource } from '../../support/pull-secrets';

const DIGEST = `sha256:${'b'.repeat(64)}`;
const KEY = generateKeyPairSync('ec', { namedCurve: 'P-256' }).publicKey.export({ type: 'spki', format: 'pem' }).toString();
const IMAGE = `images.test/org/app@${DIGEST}`;
const SIGS = 'sigs.test/org/signatures';
const SIG_READER = { username: 'sig-reader', password: 'sig-reader-pw' };

interface Call {
  readonly kind: 'resolve' | 'verify' | 'attestations';
  /** The user the session's (object's) credentials offer for sigs.test, if any. */
  readonly session?: string;
  /** The user the call's signature credentials offer for sigs.test, if any (none: not given). */
  readonly signatures?: string | null;
  /** The signature repository the prepared policy reads (its source's oci). */
  readonly repository?: string;
}

/**
 * The signature repository is readable only with `sig-reader`; with the `wrong-reader` it is
 * readable and holds no signature of the image; with nothing it refuses (operational).
 */
class SignatureRepositoryBackend implements VerificationBackend {
  readonly calls: Call[] = [];
  private readonly repositories = new WeakMap<PreparedPolicy, string | undefined>();

  prepare(_policy: unknown, _trust?: unknown, options: PrepareOptions = {}): PreparedPolicy {
    const prepared = {} as PreparedPolicy;
    this.repositories.set(prepared, options.signatureRepository);
    return prepared;
  }

  session(signal: AbortSignal, credentials?: CallCredentials): VerificationSession {
    const userOf = async (c: CallCredentials | undefined): Promise<string | undefined> => {
      const found = c ? await c.lookup('sigs.test', 'org/signatures', signal) : undefined;
      const first = found?.candidates[0]?.credentials;
      return first && 'username' in first ? first.username : undefined;
    };
    const read = async (
      kind: Call['kind'],
      pinned: Parameters<VerificationSession['verify']>[0],
      policy: PreparedPolicy,
      options: SignatureReadOptions | undefined,
    ) => {
      const session = await userOf(credentials);
      const signatures = options?.signatureCredentials ? ((await userOf(options.signatureCredentials.credentials)) ?? null) : undefined;
      const repository = this.repositories.get(policy);
      this.calls.push({ kind, ...(session ? { session } : {}), ...(signatures !== undefined ? { signatures } : {}), ...(repository ? { repository } : {}) });
      // The signature repository is read with the signature credentials when given, else the session's.
      const user = signatures !== undefined ? signatures : session;
      const base = { image: formatReference(pinned), reference: formatReference(pinned), digest: pinned.digest!, pinnedReference: formatReference(pinned) };
      const signer = { publicKeySha256: 'cd'.repeat(32) };
      if (user === 'sig-reader') {
        const signatures = [{ source: 'sig-tag' as const, location: 'x', verified: true as const, signer, trustRoot: 'test' }];
        return { ...base, verified: true, signer, signatures } satisfies ImageVerificationResult;
      }
      if (user === 'wrong-reader')
        return {
          ...base,
          verified: false,
          signatures: [],
          error: new ImgverifyError('NO_SIGNATURES', `no signatures found in ${repository ?? 'the image repository'}`),
        } satisfies ImageVerificationResult;
      return {
        ...base,
        verified: false,
        signatures: [],
        error: new ImgverifyError('REGISTRY_AUTH_FAILED', `sigs.test refused the request (credentials: ${user ?? 'none'})`),
      } satisfies ImageVerificationResult;
    };
    return {
      resolve: async () => {
        this.calls.push({ kind: 'resolve', ...((await userOf(credentials)) ? { session: (await userOf(credentials))! } : {}) });
        return DIGEST;
      },
      verify: (pinned, policy, options): Promise<ImageVerificationResult> => read('verify', pinned, policy, options),
      verifyAttestations: async (pinned, policy, options): Promise<AttestationsResult> => {
        const result = await read('attestations', pinned, policy, options);
        return { ...result, attestations: result.verified ? [{ predicateType: options.predicateType, signature: result.signatures[0]! }] : [] };
      },
    };
  }
}

function cip(name: string, authorities: Json[]): Json {
  return {
    apiVersion: 'policy.sigstore.dev/v1beta1',
    kind: 'ClusterImagePolicy',
    metadata: { name },
    spec: { images: [{ glob: 'images.test/**' }], authorities },
  };
}

const withSecrets = (secrets: string[], extra: Json = {}): Json => ({
  name: 'signed',
  key: { data: KEY },
  source: [{ oci: SIGS, signaturePullSecrets: secrets.map((name) => ({ name })) }],
  ...(extra as object),
});

function evaluatorWith(backend: VerificationBackend, ...policies: Json[]): PolicyEvaluator {
  const parsed = policies.map((p, i) => parsePolicyObject(p, { file: 'p.yaml', document: i }));
  const errors = parsed.flatMap((r) => r.errors);
  if (errors.length > 0) throw errors[0]!;
  const e = new PolicyEvaluator({ backend, timeoutMs: 2000 });
  e.setPolicies({ policies: parsed.flatMap((r) => r.policies), version: 'sha256:v1', errors: [] });
  return e;
}

/** The options decideAdmission gives for an object admitted in `namespace`. */
function inNamespace(pull: PullSecretCredentials, namespace: string): EvaluateOptions {
  return { signatureSecrets: (names) => pull.forSecrets(namespace, names) };
}

let source: MemoryObjectSource;
let pull: PullSecretCredentials;
beforeEach(() => {
  source = new MemoryObjectSource();
  pull = new PullSecretCredentials(source);
});

describe('signaturePullSecrets in the evaluation', () => {
  it("the source's Secrets, read in the object's namespace, go with its signature reads only", async () => {
    source.setSecret('team', 'sigs', dockerConfigSecret({ 'sigs.test': SIG_READER }));
    const backend = new SignatureRepositoryBackend();
    const e = evaluatorWith(backend, cip('signed', [withSecrets(['sigs'])]));
    const [decision] = await e.evaluate(['images.test/org/app:v1'], inNamespace(pull, 'team'));
    expect(decision).toMatchObject({ verdict: 'allowed', digest: DIGEST });
    // The tag was resolved with the session's (the object's) credentials, not the Secret's.
    expect(backend.calls).toEqual([{ kind: 'resolve' }, { kind: 'verify', signatures: 'sig-reader', repository: SIGS }]);
    expect(source.reads).toEqual(['Secret team/sigs']);
  });

  it("only in the object's namespace: a Secret of another namespace is not read", async () => {
    source.setSecret('team', 'sigs', dockerConfigSecret({ 'sigs.test': SIG_READER }));
    const backend = new SignatureRepositoryBackend();
    const e = evaluatorWith(backend, cip('signed', [withSecrets(['sigs'])]));
    const [decision] = await e.evaluate([IMAGE], inNamespace(pull, 'other'));
    expect(decision!.verdict).toBe('denied');
    expect(decision!.reason).toContain('REGISTRY_AUTH_FAILED');
    expect(backend.calls).toEqual([{ kind: 'verify', signatures: null, repository: SIGS }]);
    expect(source.reads).toEqual(['Secret other/sigs']);
  });

  it("in place of the object's credentials: the object's pull secret is not used for that repository", async () => {
    source.setSecret('team', 'sigs', dockerConfigSecret({ 'sigs.test': { username: 'wrong-reader', password: 'x' } }));
    const backend = new SignatureRepositoryBackend();
    const e = evaluatorWith(backend, cip('signed', [withSecrets(['sigs'])]));
    const objectCredentials = pull.forSecrets('team', ['object-pull-secret']);
    source.setSecret('team', 'object-pull-secret', dockerConfigSecret({ 'sigs.test': SIG_READER }));
    const [decision] = await e.evaluate([IMAGE], { ...inNamespace(pull, 'team'), credentials: objectCredentials });
    expect(decision!.verdict).toBe('denied');
    expect(backend.calls).toEqual([{ kind: 'verify', session: 'sig-reader', signatures: 'wrong-reader', repository: SIGS }]);
  });

  it("sources without signaturePullSecrets read with the session's credentials, as before", async () => {
    const backend = new SignatureRepositoryBackend();
    const e = evaluatorWith(backend, cip('plain', [{ name: 'k', key: { data: KEY }, source: [{ oci: SIGS }] }]));
    source.setSecret('team', 'regcred', dockerConfigSecret({ 'sigs.test': SIG_READER }));
    const [decision] = await e.evaluate([IMAGE], { ...inNamespace(pull, 'team'), credentials: pull.forSecrets('team', ['regcred']) });
    expect(decision!.verdict).toBe('allowed');
    expect(backend.calls).toEqual([{ kind: 'verify', session: 'sig-reader', repository: SIGS }]);
  });

  it('several sources: each with its own Secrets, tried in order', async () => {
    source.setSecret('team', 'wrong', dockerConfigSecret({ 'sigs.test': { username: 'wrong-reader', password: 'x' } }));
    source.setSecret('team', 'right', dockerConfigSecret({ 'sigs.test': SIG_READER }));
    const backend = new SignatureRepositoryBackend();
    const authority = {
      name: 'k',
      key: { data: KEY },
      source: [
        { oci: SIGS, signaturePullSecrets: [{ name: 'wrong' }] },
        { oci: `${SIGS}-2`, signaturePullSecrets: [{ name: 'right' }] },
      ],
    };
    const e = evaluatorWith(backend, cip('two', [authority]));
    const [decision] = await e.evaluate([IMAGE], inNamespace(pull, 'team'));
    expect(decision!.verdict).toBe('allowed');
    expect(decision!.policies[0]!.authorities[0]!.reason).toContain(`in ${SIGS}-2`);
    expect(backend.calls).toEqual([
      { kind: 'verify', signatures: 'wrong-reader', repository: SIGS },
      { kind: 'verify', signatures: 'sig-reader', repository: `${SIGS}-2` },
    ]);
  });

  it('attestations are read with them too', async () => {
    source.setSecret('team', 'sigs', dockerConfigSecret({ 'sigs.test': SIG_READER }));
    const backend = new SignatureRepositoryBackend();
    const e = evaluatorWith(
      backend,
      cip('attested', [withSecrets(['sigs'], { attestations: [{ name: 'prov', predicateType: 'https://slsa.dev/provenance/v1' }] })]),
    );
    const [decision] = await e.evaluate([IMAGE], inNamespace(pull, 'team'));
    expect(decision!.verdict).toBe('allowed');
    expect(backend.calls).toEqual([{ kind: 'attestations', signatures: 'sig-reader', repository: SIGS }]);
  });
});

describe('signaturePullSecrets and the verdict cache', () => {
  it("a failure is cached per the Secrets read (namespace and names): another namespace's Secret is read anew", async () => {
    source.setSecret('a', 'sigs', dockerConfigSecret({ 'sigs.test': { username: 'wrong-reader', password: 'x' } }));
    source.setSecret('b', 'sigs', dockerConfigSecret({ 'sigs.test': SIG_READER }));
    const backend = new SignatureRepositoryBackend();
    const e = evaluatorWith(backend, cip('signed', [withSecrets(['sigs'])]));
    const [a] = await e.evaluate([IMAGE], inNamespace(pull, 'a'));
    expect(a!.verdict).toBe('denied');
    expect(a!.policies[0]).toMatchObject({ operational: false, cached: false });
    const [again] = await e.evaluate([IMAGE], inNamespace(pull, 'a'));
    expect(again!.policies[0]!.cached).toBe(true);
    const [b] = await e.evaluate([IMAGE], inNamespace(pull, 'b'));
    expect(b).toMatchObject({ verdict: 'allowed', policies: [expect.objectContaining({ cached: false })] });
    expect(backend.calls).toHaveLength(2);
  });

  it('a pass is shared: it says a signature verified, whoever read it', async () => {
    source.setSecret('b', 'sigs', dockerConfigSecret({ 'sigs.test': SIG_READER }));
    const backend = new SignatureRepositoryBackend();
    const e = evaluatorWith(backend, cip('signed', [withSecrets(['sigs'])]));
    expect((await e.evaluate([IMAGE], inNamespace(pull, 'b')))[0]!.verdict).toBe('allowed');
    const [a] = await e.evaluate([IMAGE], inNamespace(pull, 'a'));
    expect(a).toMatchObject({ verdict: 'allowed', policies: [expect.objectContaining({ cached: true })] });
    expect(backend.calls).toHaveLength(1);
  });

  it('a refusal (no Secret yet) is operational and never cached: the Secret counts once created', async () => {
    const backend = new SignatureRepositoryBackend();
    const e = evaluatorWith(backend, cip('signed', [withSecrets(['sigs'])]));
    const [first] = await e.evaluate([IMAGE], inNamespace(pull, 'team'));
    expect(first!.policies[0]).toMatchObject({ passed: false, operational: true, cached: false });
    expect(e.cacheSize).toBe(0);
    source.setSecret('team', 'sigs', dockerConfigSecret({ 'sigs.test': SIG_READER }));
    pull.forget('Secret', 'team', 'sigs');
    expect((await e.evaluate([IMAGE], inNamespace(pull, 'team')))[0]!.verdict).toBe('allowed');
  });

  it('without Secrets to read (no signatureSecrets) such a source fails, names them, and is not cached', async () => {
    const backend = new SignatureRepositoryBackend();
    const e = evaluatorWith(backend, cip('signed', [withSecrets(['sigs', 'more'])]));
    for (let i = 0; i < 2; i++) {
      const [d] = await e.evaluate([IMAGE]);
      expect(d!.verdict).toBe('denied');
      expect(d!.policies[0]).toMatchObject({ operational: true, cached: false });
      expect(d!.reason).toContain('its signaturePullSecrets ("sigs", "more") are Secrets of the admitted object\'s namespace, and none can be read here');
    }
    expect(backend.calls).toEqual([]);
    expect(e.cacheSize).toBe(0);
  });
});

describe("decideAdmission reads them in the request's namespace", () => {
  function request(namespace: string | undefined): AdmissionRequest {
    return {
      uid: 'u1',
      kind: { group: '', version: 'v1', kind: 'Pod' },
      resource: { group: '', version: 'v1', resource: 'pods' },
      operation: 'CREATE',
      ...(namespace !== undefined ? { namespace } : {}),
      object: { apiVersion: 'v1', kind: 'Pod', metadata: { name: 'p' }, spec: { containers: [{ name: 'c', image: IMAGE }] } },
      oldObject: null,
      dryRun: false,
    };
  }

  it('a Pod in team: Secret team/sigs', async () => {
    source.setSecret('team', 'sigs', dockerConfigSecret({ 'sigs.test': SIG_READER }));
    const e = evaluatorWith(new SignatureRepositoryBackend(), cip('signed', [withSecrets(['sigs'])]));
    const decision = await decideAdmission(e, request('team'), false, new AbortController().signal, undefined, pull);
    expect(decision.review.response.allowed).toBe(true);
    expect(source.reads).toContain('Secret team/sigs');
  });

  it('without a Secret source the source fails (a webhook whose folder has no objectCredentials does not load such a policy)', async () => {
    const e = evaluatorWith(new SignatureRepositoryBackend(), cip('signed', [withSecrets(['sigs'])]));
    const decision = await decideAdmission(e, request('team'), false, new AbortController().signal);
    expect(decision.review.response.allowed).toBe(false);
    expect(decision.review.response.status?.message).toContain('none can be read here');
  });
});

// A Secret that the policy names is used only as a credential: its content never appears in a reason.
test("the Secret's password never appears in a decision", async () => {
  source.setSecret('team', 'sigs', dockerConfigSecret({ 'sigs.test': { username: 'nobody', password: 'do-not-show-me' } }));
  const e = evaluatorWith(new SignatureRepositoryBackend(), cip('signed', [withSecrets(['sigs'])]));
  const [d] = await e.evaluate([IMAGE], inNamespace(pull, 'team'));
  expect(d!.verdict).toBe('denied');
  expect(JSON.stringify(d)).not.toContain('do-not-show-me');
});
