/**
 * A registry and signatures in memory, for evaluation tests: tags resolve to digests, digests
 * have signers, and verification compares the signers with the policy. The real verifier and
 * registry are exercised in test/integration/webhook.
 */
import { generateKeyPairSync } from 'node:crypto';
import { ImgverifyError } from '../../../src/errors';
import type { ImageReference } from '../../../src/reference';
import { publicGoodTrustRoot } from '../../../src/trust/embedded';
import type { TrustRootInput } from '../../../src/trust/source';
import { formatReference } from '../../../src/reference';
import type { ImageVerificationResult } from '../../../src/verify/types';
import type { PreparedPolicy } from '../../../src/verify/verifier';
import type { VerificationPolicy } from '../../../src/policy/policy';
import type { AttestationsResult, PrepareOptions, VerificationBackend, VerificationSession } from '../../../src/webhook/backend';

export const ISSUER = 'https://issuer.test';
export const D1 = `sha256:${'1'.repeat(64)}`;
export const D2 = `sha256:${'2'.repeat(64)}`;
export const D3 = `sha256:${'3'.repeat(64)}`;

export const releaseKey = generateKeyPairSync('ec', { namedCurve: 'P-256' }).publicKey.export({ type: 'spki', format: 'pem' }).toString();
export const otherKey = generateKeyPairSync('ec', { namedCurve: 'P-256' }).publicKey.export({ type: 'spki', format: 'pem' }).toString();

export type Signer = { subject: string; issuer: string } | { key: string };

/** A registry and signatures in memory; verification compares signers with the policy. */
export class FakeBackend implements VerificationBackend {
  tags = new Map<string, string>([
    ['registry.test/app:v1', D1],
    ['registry.test/other:v1', D2],
    ['elsewhere.test/tool:v1', D3],
  ]);
  signatures = new Map<string, Signer[]>([
    [D1, [{ subject: 'release@example.test', issuer: ISSUER }]],
    [D2, [{ key: releaseKey }]],
    [D3, []],
  ]);
  attestations = new Map<string, string[]>();
  /** Signatures stored in another repository (a policy's `source[].oci`), by repository and digest. */
  elsewhere = new Map<string, Map<string, Signer[]>>();
  /** What each prepare() was asked for. */
  prepared: Array<{ policy: VerificationPolicy; signatureRepository?: string }> = [];
  resolveCalls = 0;
  verifyCalls = 0;
  /** Makes every registry call fail (or hang, with 'hang'). */
  failure: ImgverifyError | 'hang' | undefined;

  prepare(policy: VerificationPolicy, _trust?: unknown, options: PrepareOptions = {}): PreparedPolicy {
    this.prepared.push({ policy, ...(options.signatureRepository !== undefined ? { signatureRepository: options.signatureRepository } : {}) });
    return { compiled: policy, checks: {}, repository: options.signatureRepository } as unknown as PreparedPolicy;
  }

  /** The public-good root: what `ctlog.url: https://rekor.sigstore.dev` selects. */
  defaultTrust(): readonly TrustRootInput[] {
    return [publicGoodTrustRoot()];
  }

  private signaturesOf(prepared: PreparedPolicy, digest: string): Signer[] | undefined {
    const repository = (prepared as unknown as { repository?: string }).repository;
    return repository === undefined ? this.signatures.get(digest) : this.elsewhere.get(repository)?.get(digest);
  }

  private async registry(signal: AbortSignal): Promise<void> {
    await Promise.resolve();
    if (this.failure === 'hang') {
      await new Promise((_, reject) => signal.addEventListener('abort', () => reject(signal.reason as Error), { once: true }));
    }
    if (this.failure instanceof ImgverifyError) throw this.failure;
  }

  private matches(policy: VerificationPolicy, signer: Signer): boolean {
    if ('publicKey' in policy) return 'key' in signer && signer.key === policy.publicKey;
    if (!('identities' in policy) || 'key' in signer) return false;
    return policy.identities.some((id) => id.subject === signer.subject && id.issuer === signer.issuer);
  }

  private result(pinned: ImageReference, policy: VerificationPolicy, signers: Signer[] | undefined): ImageVerificationResult {
    const base = { image: formatReference(pinned), reference: formatReference(pinned), digest: pinned.digest!, pinnedReference: formatReference(pinned) };
    if (!signers || signers.length === 0) {
      return { ...base, verified: false, signatures: [], error: new ImgverifyError('NO_SIGNATURES', `no signatures found for ${base.reference}`) };
    }
    const good = signers.find((s) => this.matches(policy, s));
    if (good) {
      const signer = 'key' in good ? { publicKeySha256: 'ab'.repeat(32) } : { subject: good.subject, issuer: good.issuer };
      return { ...base, verified: true, signer, signatures: [{ source: 'sig-tag', location: 'x', verified: true, signer, trustRoot: 'test' }] };
    }
    const code = 'publicKey' in policy ? 'KEY_MISMATCH' : 'IDENTITY_MISMATCH';
    return { ...base, verified: false, signatures: [], error: new ImgverifyError(code, `signed by someone else, not ${JSON.stringify(policy)}`) };
  }

  session(signal: AbortSignal): VerificationSession {
    return {
      resolve: async (ref) => {
        this.resolveCalls++;
        await this.registry(signal);
        const digest = this.tags.get(formatReference(ref));
        if (!digest) throw new ImgverifyError('IMAGE_NOT_FOUND', `${formatReference(ref)} not found`);
        return digest;
      },
      verify: async (pinned, prepared) => {
        this.verifyCalls++;
        await this.registry(signal);
        return this.result(pinned, (prepared as unknown as { compiled: VerificationPolicy }).compiled, this.signaturesOf(prepared, pinned.digest!));
      },
      verifyAttestations: async (pinned, prepared, { predicateType }): Promise<AttestationsResult> => {
        this.verifyCalls++;
        await this.registry(signal);
        const types = this.attestations.get(pinned.digest!) ?? [];
        const result = this.result(pinned, (prepared as unknown as { compiled: VerificationPolicy }).compiled, this.signaturesOf(prepared, pinned.digest!));
        if (!result.verified) return { ...result, attestations: [] };
        if (!types.includes(predicateType)) {
          return {
            ...result,
            verified: false,
            signer: undefined,
            attestations: [],
            error: new ImgverifyError('NO_SIGNATURES', `no attestations of type ${predicateType}`),
          };
        }
        return { ...result, attestations: [{ predicateType, signature: result.signatures[0]! }] };
      },
    };
  }
}
