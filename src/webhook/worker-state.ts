/**
 * What the primary of a webhook with several workers (./workers.ts) hands its workers, as data
 * (structured clone over the cluster's IPC channel): the policy set in force and the trust it is
 * verified under. Only the primary reads the policy source and TUF mirrors; a worker never does.
 *
 *   primary: PolicySet + TrustRootSet + default trust ──► TransferredState (plain data)
 *   worker:  TransferredState ──► the same policies (CEL conditions compiled again), and trust
 *            providers (TransferredTrustRoot) that the worker's evaluator and backend hold;
 *            a later state updates them in place, as a TUF refresh updates a TufTrustRoot.
 *
 * Trust travels as the trusted root's canonical JSON (protobuf-specs' `TrustedRoot.toJSON`),
 * parsed again by the worker with the library's own checks; a root the primary cannot use
 * travels as its error, so the worker fails closed with the same reason.
 */
import { TrustedRoot } from '@sigstore/protobuf-specs';
import { createHash } from 'node:crypto';
import {
  compileAttestationCondition,
  ImgverifyError,
  isTrustRootProvider,
  trustRootFromJSON,
  type ErrorCode,
  type LoadedTrustRoot,
  type TrustEntry,
  type TrustRootProvider,
} from '../index';
import type { ClusterImagePolicy } from './cluster-image-policy-types';
import type { PolicySet } from './policy-folder';
import { TrustRootSet, type ResolvedTrustRoot } from './trust-root-set';
import { errorMessage } from '../util/describe';

/** One trust root as data: its canonical JSON, or why it cannot be used now. */
export interface TransferredTrust {
  readonly source: string;
  readonly json?: unknown;
  readonly error?: { readonly code: ErrorCode; readonly message: string };
}

/** Everything a worker needs to decide as the primary would. */
export interface TransferredState {
  /** The policy set version (undefined before the first set is in force). */
  readonly version?: string;
  readonly policies: readonly ClusterImagePolicy[];
  /** The set's TrustRoots, by name. */
  readonly trustRoots: ReadonlyArray<{ readonly name: string; readonly trust: TransferredTrust }>;
  /** The backend's default trust, in order. */
  readonly defaults: readonly TransferredTrust[];
}

/** A trust entry as data, as it is now (a provider's current root). */
function transferTrust(entry: TrustEntry, source = entry.source): TransferredTrust {
  let root: LoadedTrustRoot;
  try {
    root = isTrustRootProvider(entry) ? entry.current() : entry;
  } catch (err) {
    const code: ErrorCode = err instanceof ImgverifyError ? err.code : 'TRUST_ROOT_INVALID';
    return { source, error: { code, message: err instanceof ImgverifyError ? err.message : errorMessage(err) } };
  }
  return { source, json: TrustedRoot.toJSON(root.trustedRoot) };
}

/**
 * A trust root the primary sends: `current()` is the root of the latest update (parsed once per
 * distinct content), or throws the primary's reason it cannot be used.
 */
export class TransferredTrustRoot implements TrustRootProvider {
  private root: LoadedTrustRoot | undefined;
  private error: ImgverifyError;
  private digest: string | undefined;

  constructor(
    readonly source: string,
    initial?: TransferredTrust,
  ) {
    this.error = new ImgverifyError('TRUST_ROOT_INVALID', `${source}: not received from the webhook's primary process yet`);
    if (initial) this.update(initial);
  }

  current(): LoadedTrustRoot {
    if (this.root === undefined) throw this.error;
    return this.root;
  }

  /** Takes the primary's latest view of this root; the same content keeps the same root object. */
  update(trust: TransferredTrust): void {
    if (trust.json === undefined) {
      this.root = undefined;
      this.digest = undefined;
      this.error = new ImgverifyError(trust.error?.code ?? 'TRUST_ROOT_INVALID', trust.error?.message ?? `${this.source}: no trust material`);
      return;
    }
    const digest = createHash('sha256').update(JSON.stringify(trust.json)).digest('hex');
    if (digest === this.digest && this.root !== undefined) return;
    try {
      this.root = trustRootFromJSON(trust.json, this.source);
      this.digest = digest;
    } catch (err) {
      this.root = undefined;
      this.digest = undefined;
      this.error = err instanceof ImgverifyError ? err : new ImgverifyError('TRUST_ROOT_INVALID', `${this.source}: ${errorMessage(err)}`);
    }
  }
}

/**
 * The state of a primary: its policy set (if one is in force), the TrustRoots that set was put
 * in force with, and the default trust, each root as it is now.
 */
export function transferState(
  set: Pick<PolicySet, 'version' | 'policies'> | undefined,
  trustRoots: ReadonlyArray<Pick<ResolvedTrustRoot, 'name' | 'entry'>>,
  defaults: readonly TrustEntry[],
): TransferredState {
  return {
    ...(set ? { version: set.version } : {}),
    policies: set?.policies ?? [],
    trustRoots: trustRoots.map((r) => ({ name: r.name, trust: transferTrust(r.entry, `TrustRoot ${r.name}`) })),
    defaults: defaults.map((entry) => transferTrust(entry)),
  };
}

/**
 * The policies of a transferred state, ready to evaluate: the CEL conditions of attestation
 * requirements compiled again (a compiled condition is the library's own object; only its text
 * travels). They compiled in the primary, so they compile here.
 */
export function receivedPolicies(policies: readonly ClusterImagePolicy[]): ClusterImagePolicy[] {
  return policies.map((policy) => ({
    ...policy,
    authorities: policy.authorities.map((authority) => ({
      ...authority,
      attestations: authority.attestations.map((requirement) =>
        requirement.policy
          ? {
              ...requirement,
              policy: {
                ...requirement.policy,
                condition: compileAttestationCondition(requirement.policy.condition.expression, { origin: requirement.policy.condition.origin }),
              },
            }
          : requirement,
      ),
    })),
  }));
}

/** A worker's trust, kept in step with the primary's: one provider per TrustRoot name and per default. */
export class ReceivedTrust {
  private readonly byName = new Map<string, TransferredTrustRoot>();
  readonly defaults: readonly TransferredTrustRoot[];

  constructor(defaults: readonly TransferredTrust[]) {
    this.defaults = defaults.map((d) => new TransferredTrustRoot(d.source, d));
  }

  /** Updates every root from a state; returns the TrustRoots of its set, as a TrustRootSet over the providers. */
  update(state: TransferredState): TrustRootSet {
    state.defaults.forEach((d, i) => this.defaults[i]?.update(d));
    const entries = state.trustRoots.map(({ name, trust }) => {
      let provider = this.byName.get(name);
      if (provider === undefined || provider.source !== trust.source) this.byName.set(name, (provider = new TransferredTrustRoot(trust.source)));
      provider.update(trust);
      return { name, entry: provider, lastRefresh: Date.now() };
    });
    for (const name of [...this.byName.keys()]) if (!state.trustRoots.some((t) => t.name === name)) this.byName.delete(name);
    return TrustRootSet.of(entries);
  }
}
