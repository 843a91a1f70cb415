/**
 * Issue 18.2: the admitted object's credentials travel with its evaluation, and the verdict
 * cache keeps them apart. A pass is about the image's signatures, not about who fetched them,
 * so it is shared; a failure is kept per credentials (with other credentials more may be
 * readable); an operational failure (a registry refusing the credentials) is never kept; and
 * an evaluation only joins one in flight with the same credentials. The backend here decides
 * what is readable from the credentials each session carries.
 */
import { generateKeyPairSync } from 'node:crypto';
import { ImgverifyError } from '../../../src/errors';
import type { CredentialCandidate } from '../../../src/registry/auth/credential-types';
import type { CallCredentials } from '../../../src/registry/types';
import { formatReference } from '../../../src/reference';
import type { ImageVerificationResult } from '../../../src/verify/types';
import type { PreparedPolicy } from '../../../src/verify/verifier';
import type { VerificationBackend, VerificationSession } from '../../../src/webhook/backend';
import { PolicyEvaluator, type EvaluationCredentials } from '../../../src/webhook/evaluate';
import { parsePolicyObject } from '../../../src/webhook/policy-documents';

const DIGEST = `sha256:${'a'.repeat(64)}`;
const KEY = generateKeyPairSync('ec', { namedCurve: 'P-256' }).publicKey.export({ type: 'spki', format: 'pem' }).toString();
const IMAGE = 'private.test/app:v1';

/** Credentials whose lookup answers one named candidate (or none). */
function objectCredentials(name: string | undefined, fingerprint: string): EvaluationCredentials {
  const candidates: CredentialCandidate[] = name ? [{ credentials: { username: name, password: 'pw' }, source: `Secret team/${name}` }] : [];
  const credentials: CallCredentials = { lookup: () => Promise.resolve({ candidates, searched: 'test' }) };
  return { credentials, fingerprint };
}

/**
 * The image is readable with `reader` or `signer` credentials; its signature only with
 * `signer` (a signature repository the `reader` secret cannot read: "no signatures").
 */
class CredentialAwareBackend implements VerificationBackend {
  sessions: Array<string | undefined> = [];
  verifyCalls = 0;
  delayMs = 0;

  prepare(): PreparedPolicy {
    return {} as PreparedPolicy;
  }

  session(signal: AbortSignal, credentials?: CallCredentials): VerificationSession {
    const who = async (): Promise<string | undefined> => {
      const found = credentials ? await credentials.lookup('private.test', 'app', signal) : undefined;
      const first = found?.candidates[0]?.credentials;
      return first && 'username' in first ? first.username : undefined;
    };
    const sessionIndex = this.sessions.push(undefined) - 1;
    const refused = (user: string | undefined) =>
      new ImgverifyError('REGISTRY_AUTH_FAILED', `private.test refused the request (credentials: ${user ?? 'none'})`);
    return {
      resolve: async () => {
        const user = await who();
        this.sessions[sessionIndex] = user;
        if (user !== 'reader' && user !== 'signer') throw refused(user);
        return DIGEST;
      },
      verify: async (pinned): Promise<ImageVerificationResult> => {
        this.verifyCalls++;
        if (this.delayMs > 0) await new Promise((r) => setTimeout(r, this.delayMs));
        const user = await who();
        this.sessions[sessionIndex] = user;
        const base = { image: formatReference(pinned), reference: formatReference(pinned), digest: pinned.digest!, pinnedReference: formatReference(pinned) };
        if (user !== 'reader' && user !== 'signer') return { ...base, verified: false, signatures: [], error: refused(user) };
        if (user === 'reader') return { ...base, verified: false, signatures: [], error: new ImgverifyError('NO_SIGNATURES', 'no signatures found') };
        const signer = { publicKeySha256: 'ab'.repeat(32) };
        return { ...base, verified: true, signer, signatures: [{ source: 'sig-tag', location: 'x', verified: true, signer, trustRoot: 'test' }] };
      },
      verifyAttestations: () => Promise.reject(new Error('not used')),
    };
  }
}

function evaluator(backend: VerificationBackend): PolicyEvaluator {
  const result = parsePolicyObject(
    {
      apiVersion: 'policy.sigstore.dev/v1beta1',
      kind: 'ClusterImagePolicy',
      metadata: { name: 'private' },
      spec: { images: [{ glob: 'private.test/**' }], authorities: [{ name: 'k', key: { data: KEY } }] },
    },
    { file: 'p.yaml', document: 0 },
  );
  if (result.errors.length > 0) throw result.errors[0]!;
  const e = new PolicyEvaluator({ backend, timeoutMs: 2000 });
  e.setPolicies({ policies: result.policies, version: 'sha256:v1', errors: [] });
  return e;
}

describe("evaluation with an admitted object's credentials", () => {
  it("each session carries the object's credentials; an evaluation without them carries none", async () => {
    const backend = new CredentialAwareBackend();
    const e = evaluator(backend);
    const [signed] = await e.evaluate([IMAGE], { credentials: objectCredentials('signer', 'fp-signer') });
    expect(signed!.verdict).toBe('allowed');
    const [bare] = await e.evaluate(['private.test/app:v2']);
    expect(bare!.verdict).toBe('denied');
    expect(bare!.reason).toContain('REGISTRY_AUTH_FAILED');
    expect(backend.sessions).toEqual(['signer', undefined]);
  });

  it('a pass is shared: it says a signature verified, whoever fetched it', async () => {
    const backend = new CredentialAwareBackend();
    const e = evaluator(backend);
    await e.evaluate([IMAGE], { credentials: objectCredentials('signer', 'fp-signer') });
    // Another object that can read the image (its tag resolves with its own credentials).
    const [other] = await e.evaluate([IMAGE], { credentials: objectCredentials('reader', 'fp-reader') });
    expect(other!.verdict).toBe('allowed');
    expect(other!.policies[0]!.cached).toBe(true);
    expect(backend.verifyCalls).toBe(1);
  });

  it('a failure is kept per credentials: never served to an object with other credentials', async () => {
    const backend = new CredentialAwareBackend();
    const e = evaluator(backend);
    const [reader] = await e.evaluate([IMAGE], { credentials: objectCredentials('reader', 'fp-reader') });
    expect(reader!.verdict).toBe('denied');
    expect(reader!.reason).toContain('no signatures found');
    // The same credentials: the failure is cached (not an operational one).
    const [again] = await e.evaluate([IMAGE], { credentials: objectCredentials('reader', 'fp-reader') });
    expect(again!.policies[0]!.cached).toBe(true);
    expect(backend.verifyCalls).toBe(1);
    // Other credentials, which can read the signature: evaluated anew, and pass.
    const [signer] = await e.evaluate([IMAGE], { credentials: objectCredentials('signer', 'fp-signer') });
    expect(signer!.verdict).toBe('allowed');
    expect(signer!.policies[0]!.cached).toBe(false);
    expect(backend.verifyCalls).toBe(2);
  });

  it('an operational failure (the registry refused the credentials) is never cached', async () => {
    const backend = new CredentialAwareBackend();
    const e = evaluator(backend);
    for (let i = 0; i < 2; i++) {
      const [d] = await e.evaluate(['private.test/app@' + DIGEST], { credentials: objectCredentials('stranger', 'fp-stranger') });
      expect(d!.verdict).toBe('denied');
      expect(d!.policies[0]).toMatchObject({ operational: true, cached: false });
    }
    expect(backend.verifyCalls).toBe(2);
    expect(e.cacheSize).toBe(0);
  });

  it('an evaluation joins one in flight only with the same credentials', async () => {
    const backend = new CredentialAwareBackend();
    backend.delayMs = 100;
    const e = evaluator(backend);
    const pinned = `private.test/app@${DIGEST}`;
    const [stranger, signer, signer2] = await Promise.all([
      e.evaluate([pinned], { credentials: objectCredentials('stranger', 'fp-stranger') }),
      e.evaluate([pinned], { credentials: objectCredentials('signer', 'fp-signer') }),
      e.evaluate([pinned], { credentials: objectCredentials('signer', 'fp-signer') }),
    ]);
    // The stranger's refusal is its own; the signer's pass its own; the second signer joined the first.
    expect(stranger[0]!.verdict).toBe('denied');
    expect(signer[0]!.verdict).toBe('allowed');
    expect(signer2[0]).toMatchObject({ verdict: 'allowed', policies: [expect.objectContaining({ cached: true })] });
    expect(backend.verifyCalls).toBe(2);
  });
});
