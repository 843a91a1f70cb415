/**
 * Admission decisions: the ClusterImagePolicies that match an image, evaluated against its
 * signatures, turned into allow / warn / deny with a reason a person can act on.
 *
 *   image ──► parse ──► matchPolicies ──(none)──► the no-match setting (allow | warn | deny)
 *                            (the image's globs, then `spec.match` on the admitted object: ./resource-match)
 *                            │
 *                            ▼
 *            resolve the tag to a digest, once per image per request (tags move; the
 *            backend may answer from tags it keeps resolved, ./tag-cache; a digest so
 *            answered that is denied is checked once against the registry: resolveAgain)
 *                            │
 *                            ▼
 *            per matching policy, cached by (digest, policy-set version, policy name,
 *            trust version; a failure also by the admitted object's credentials and the
 *            signaturePullSecrets read):
 *              authorities in order until one passes (OR):
 *                static pass|fail · keyless identities · key · attestations (every listed type)
 *                            │
 *                            ▼
 *            every matching policy must pass (AND); a failed `enforce` policy denies,
 *            a failed `warn` policy admits with a warning
 *
 * Fail closed throughout: an unparseable image, no loaded policy set, a registry error or
 * the deadline are failures with a reason, never a pass. Registry errors and timeouts are
 * "operational" failures: they deny in enforce mode and warn in warn mode, and are never
 * cached. No I/O here: the registry and the verifier come in through a VerificationBackend.
 */
import { abortable } from '../util/abort';
import { mapLimit } from '../util/pool';
import {
  abortedError,
  ImgverifyError,
  parseReference,
  toImgverifyError,
  trustMaterialVersion,
  withDigest,
  type ErrorCode,
  type ImageReference,
  type ImageVerificationResult,
  type SignatureResult,
  type TrustEntry,
  type TrustRootInput,
} from '../index';
import { prepareAuthority, type PreparedAuthority, type SourcePolicy } from './authority';
import type { EvaluationCredentials, SignatureReadOptions, VerificationBackend, VerificationSession } from './backend';
import { TtlCache, verdictKey } from './cache';
import { policyKey, type Authority, type ClusterImagePolicy } from './cluster-image-policy-types';
import { matchPolicies } from './glob';
import type { WebhookMetrics } from './metrics';
import {
  describePolicyFailure,
  NO_MATCH_ACTIONS,
  type AuthorityOutcome,
  type ImageDecision,
  type NoMatchAction,
  type PolicyOutcome,
  type Verdict,
} from './outcomes';
import type { PolicySet } from './policy-folder';
import { policyAppliesTo, type MatchedObject } from './resource-match';
import { candidateRoots, unknownServiceUrls } from './service-urls';
import type { TrustRootSet } from './trust-root-set';
import { errorMessage } from '../util/describe';

// --- Options -------------------------------------------------------------------------------

export interface PolicyEvaluatorOptions {
  readonly backend: VerificationBackend;
  /** For images no policy matches. Default `deny` (as policy-controller's no-match-policy). */
  readonly noMatch?: NoMatchAction | undefined;
  /** Deadline for evaluating the images of one request, in ms. Default 8000. */
  readonly timeoutMs?: number | undefined;
  /** How long a passing verdict is cached. Default 5 minutes; 0 disables the cache. */
  readonly cacheTtlMs?: number | undefined;
  /** How long a failing verdict (unsigned, wrong signer) is cached. Default 30 s, at most cacheTtlMs. */
  readonly negativeCacheTtlMs?: number | undefined;
  /** Most cached verdicts. Default 10 000. */
  readonly cacheSize?: number | undefined;
  /** Images of one request evaluated at once. Default 8. */
  readonly concurrency?: number | undefined;
  /** @internal The server's metrics (not part of the embedding API). */
  readonly metrics?: WebhookMetrics | undefined;
  /** Clock for the cache (tests). */
  readonly now?: (() => number) | undefined;
}

export type { EvaluationCredentials } from './backend';

/** Options of one `evaluate` call. */
export interface EvaluateOptions {
  /**
   * Deadline for this call, ms (default: the evaluator's). A shorter one is taken as what is
   * left of the evaluator's deadline (the webhook passes it after time spent waiting for room),
   * so a timeout's reason names the evaluator's deadline, the one the operator configured.
   */
  readonly timeoutMs?: number | undefined;
  /** Aborts the call: every unfinished image is then a failure with the signal's reason. */
  readonly signal?: AbortSignal | undefined;
  /**
   * The object the images belong to (its resource and labels), for policies with `spec.match`.
   * Without it such policies apply to every image (the stricter reading).
   */
  readonly object?: MatchedObject | undefined;
  /** The admitted object's pull secrets (default: the backend's own credentials only). */
  readonly credentials?: EvaluationCredentials | undefined;
  /**
   * The credentials of named Secrets of the admitted object's namespace, for authority sources
   * with `signaturePullSecrets` (decideAdmission: `PullSecretCredentials.forSecrets`). They read
   * that source's signature repository instead of `credentials`. Without it such a source
   * fails, and the failure is not cached.
   */
  readonly signatureSecrets?: SignatureSecrets | undefined;
  /**
   * The namespace of the object the images belong to: ImagePolicies of other namespaces do not
   * apply. Without it every ImagePolicy applies (the stricter reading).
   */
  readonly namespace?: string | undefined;
  /** A run of its own (an audit, a manifest check): its verdict cache instead of the evaluator's, its concurrency, no admission metrics. */
  readonly run?: VerificationRun | undefined;
}

/** The credentials of named Secrets of the admitted object's namespace (EvaluateOptions.signatureSecrets). */
export type SignatureSecrets = (names: readonly string[]) => EvaluationCredentials;

/** One evaluation's SignatureSecrets: each list of names asked for once. */
function onceByNames(secrets: SignatureSecrets | undefined): SignatureSecrets | undefined {
  if (!secrets) return undefined;
  const made = new Map<string, EvaluationCredentials>();
  return (names) => {
    const key = JSON.stringify(names);
    let found = made.get(key);
    if (!found) made.set(key, (found = secrets(names)));
    return found;
  };
}

/** The `signaturePullSecrets` lists of a policy's authorities' sources (empty lists left out). */
function secretLists(prepared: readonly PreparedAuthority[] | undefined): Array<readonly string[]> {
  return (prepared ?? []).flatMap((a) =>
    (a.prepared ?? []).flatMap((s) => (s.source && s.source.signaturePullSecrets.length > 0 ? [s.source.signaturePullSecrets] : [])),
  );
}

/**
 * A verification run apart from admissions (an audit): verdicts are shared within the run (each
 * distinct digest and policy verified once, failures included) and never with the admission
 * cache, so a run sees the registry as it is now (a signature deleted since is noticed, however
 * recently an admission passed the image: kyverno#7525). Images of one `evaluate` call are
 * evaluated `concurrency` at a time.
 */
export class VerificationRun {
  /** @internal Entries live as long as the run object (a run is minutes; the bound is only a safety net). */
  readonly cache = new TtlCache<PolicyOutcome>({ ttlMs: 24 * 60 * 60_000, maxEntries: 100_000 });
  constructor(readonly concurrency = 1) {
    if (!(Number.isInteger(concurrency) && concurrency >= 1)) throw new ImgverifyError('INVALID_OPTIONS', 'concurrency must be a positive integer');
  }
}

export const EVALUATOR_DEFAULTS: Readonly<{
  noMatch: NoMatchAction;
  timeoutMs: number;
  cacheTtlMs: number;
  negativeCacheTtlMs: number;
  cacheSize: number;
  concurrency: number;
}> = Object.freeze({
  noMatch: 'deny',
  timeoutMs: 8000,
  cacheTtlMs: 5 * 60_000,
  negativeCacheTtlMs: 30_000,
  cacheSize: 10_000,
  concurrency: 8,
});

/** Longest reason kept per authority: verifier messages can list every signature. */
const MAX_REASON_LENGTH = 600;

// --- The policy set in force --------------------------------------------------------------

interface ActiveSet {
  readonly version: string;
  readonly policies: readonly ClusterImagePolicy[];
  readonly authorities: ReadonlyMap<ClusterImagePolicy, readonly PreparedAuthority[]>;
  /**
   * Every trust source the authorities verify under (the backend's default trust and the
   * TrustRoots; composed roots and `ca-cert`s are built from them or fixed by the set): its
   * version (`trustMaterialVersion`) is part of each verdict's cache key, so a refreshed root
   * is never answered with a verdict reached under the one before.
   */
  readonly trust: readonly TrustRootInput[];
}

// --- Helpers -------------------------------------------------------------------------------

function truncate(text: string, max = MAX_REASON_LENGTH): string {
  const line = text.replace(/\s+/g, ' ').trim();
  return line.length <= max ? line : `${line.slice(0, max - 1)}…`;
}

/**
 * Whether a verified signature counts for an authority: `signatureFormat: bundle` accepts only
 * Sigstore bundles found as OCI referrers (cosign v3), `legacy` only cosign's `.sig`/`.att`
 * tags; without it, both (the verifier looks in both places).
 */
function formatAccepts(authority: Authority, signature: SignatureResult): boolean {
  if (authority.signatureFormat === 'bundle') return signature.source === 'referrer';
  if (authority.signatureFormat === 'legacy') return signature.source === 'sig-tag';
  return true;
}

const FORMAT_NAMES = { bundle: 'a Sigstore bundle (OCI referrer)', legacy: "cosign's legacy signature tag" } as const;

function signerText(result: ImageVerificationResult | undefined, signature?: SignatureResult): string {
  const sig = signature ?? result?.signatures.find((s) => s.verified);
  const signer = sig?.signer;
  if (!signer) return 'a valid signature';
  if (signer.publicKeySha256) return `a signature by key sha256:${signer.publicKeySha256.slice(0, 16)}…`;
  const claims = Object.entries(signer.verifiedClaims ?? {}).map(([k, v]) => `${k}=${v}`);
  return `a signature by ${signer.subject ?? '(no identity)'} (issuer ${signer.issuer ?? 'unknown'}${claims.length > 0 ? `; claims ${claims.join(', ')}` : ''})`;
}

/**
 * Failures that say the registry's answer was not the content asked for: bytes that do not
 * hash to their digest, a body cut short or over its bound, a manifest that is not JSON.
 * Nothing was learned about the image's signatures and the next request may get the right
 * bytes, so, like registry errors, they deny (or warn) but are never cached: cached, one bad
 * answer denied a signed image for the whole negative TTL (found by the soak benchmark).
 */
const BAD_ANSWER_CODES: ReadonlySet<ErrorCode> = new Set<ErrorCode>(['DIGEST_MISMATCH', 'MALFORMED_CONTENT', 'SIZE_LIMIT_EXCEEDED']);

/** Why an authority did not pass: the reason, its error code, and whether it is operational. */
interface Failure {
  readonly reason: string;
  readonly code?: ErrorCode;
  readonly operational: boolean;
}

function failureOf(err: ImgverifyError | undefined, fallback: string): Failure {
  if (!err) return { reason: fallback, operational: false };
  return { reason: `${err.message} [${err.code}]`, code: err.code, operational: err.category === 'operational' || BAD_ANSWER_CODES.has(err.code) };
}

/** The timeout error every unfinished verification of a request gets. */
function deadlineError(timeoutMs: number): ImgverifyError {
  return new ImgverifyError('REGISTRY_TIMEOUT', `verification did not finish within the webhook's ${timeoutMs} ms deadline`, {
    details: { timeoutMs },
  });
}

// --- The evaluator -------------------------------------------------------------------------

export class PolicyEvaluator {
  readonly noMatch: NoMatchAction;
  readonly timeoutMs: number;
  private readonly backend: VerificationBackend;
  private readonly cache: TtlCache<PolicyOutcome>;
  private readonly negativeTtlMs: number;
  private readonly concurrency: number;
  private readonly metrics?: WebhookMetrics;
  private active?: ActiveSet;

  constructor(options: PolicyEvaluatorOptions) {
    this.backend = options.backend;
    this.noMatch = options.noMatch ?? EVALUATOR_DEFAULTS.noMatch;
    if (!NO_MATCH_ACTIONS.includes(this.noMatch))
      throw new ImgverifyError('INVALID_OPTIONS', `noMatch must be allow, warn or deny, got ${String(this.noMatch)}`);
    this.timeoutMs = options.timeoutMs ?? EVALUATOR_DEFAULTS.timeoutMs;
    if (!(Number.isFinite(this.timeoutMs) && this.timeoutMs > 0))
      throw new ImgverifyError('INVALID_OPTIONS', `timeoutMs must be positive, got ${this.timeoutMs}`);
    const ttl = options.cacheTtlMs ?? EVALUATOR_DEFAULTS.cacheTtlMs;
    this.negativeTtlMs = Math.min(options.negativeCacheTtlMs ?? EVALUATOR_DEFAULTS.negativeCacheTtlMs, ttl);
    this.cache = new TtlCache({ ttlMs: ttl, maxEntries: options.cacheSize ?? EVALUATOR_DEFAULTS.cacheSize, ...(options.now ? { now: options.now } : {}) });
    this.concurrency = options.concurrency ?? EVALUATOR_DEFAULTS.concurrency;
    if (!(Number.isInteger(this.concurrency) && this.concurrency >= 1)) throw new ImgverifyError('INVALID_OPTIONS', `concurrency must be a positive integer`);
    if (options.metrics) this.metrics = options.metrics;
  }

  /** Whether a valid policy set is in force. */
  get ready(): boolean {
    return this.active !== undefined;
  }

  /** The version of the policy set in force (`sha256:...`), if any. */
  get version(): string | undefined {
    return this.active?.version;
  }

  get policies(): readonly ClusterImagePolicy[] {
    return this.active?.policies ?? [];
  }

  get cacheSize(): number {
    return this.cache.size;
  }

  /**
   * Puts a loaded policy set in force: compiles every authority once. Cached verdicts of
   * older versions can no longer be hit (the version is part of the key) and are dropped.
   * Throws INVALID_POLICY for a set with errors: the caller keeps the set it has.
   */
  setPolicies(set: Pick<PolicySet, 'policies' | 'version' | 'errors'>, options: { readonly trustRoots?: TrustRootSet } = {}): void {
    if (set.errors.length > 0) {
      throw new ImgverifyError('INVALID_POLICY', `the policy set has ${set.errors.length} error(s): ${set.errors[0]!.message}`);
    }
    if (this.active?.version === set.version) return;
    const authorities = new Map<ClusterImagePolicy, readonly PreparedAuthority[]>();
    for (const policy of set.policies)
      authorities.set(
        policy,
        policy.authorities.map((a) => prepareAuthority(this.backend, policy, a, options.trustRoots)),
      );
    const trust = [...(this.backend.defaultTrust?.() ?? []), ...(options.trustRoots?.all.map((r) => r.entry) ?? [])];
    this.active = Object.freeze({ version: set.version, policies: set.policies, authorities, trust });
    this.cache.clear();
    this.metrics?.policies.set(set.policies.length);
    this.metrics?.cacheEntries.set(0);
  }

  /**
   * Errors for authorities whose `keyless.url` / `ctlog.url` no trust root lists: the webhook's
   * default trust and `trustRoots` (./service-urls). Run before `setPolicies`, on the whole set
   * (folder mode) or one policy at a time; each error names the policy's field.
   */
  serviceUrlErrors(policies: readonly ClusterImagePolicy[], options: { readonly trustRoots?: TrustRootSet } = {}): ImgverifyError[] {
    return unknownServiceUrls(policies, candidateRoots((this.backend.defaultTrust?.() ?? []) as readonly TrustEntry[], options.trustRoots?.all ?? []));
  }

  /** Authorities that can never pass in the set in force, with why (to log at load). */
  unusableAuthorities(): Array<{ policy: string; authority: string; reason: string }> {
    const out: Array<{ policy: string; authority: string; reason: string }> = [];
    for (const [policy, list] of this.active?.authorities ?? []) {
      for (const a of list) if (a.unusable) out.push({ policy: policyKey(policy), authority: a.authority.name, reason: a.unusable });
    }
    return out;
  }

  /**
   * Decides every image, in input order (an image listed twice is evaluated once). Never
   * rejects: every failure is a decision with a reason. Answers within `timeoutMs`
   * (default: the evaluator's) even when the registry does not.
   */
  async evaluate(images: readonly string[], options: EvaluateOptions = {}): Promise<ImageDecision[]> {
    const timeoutMs = options.timeoutMs ?? this.timeoutMs;
    const controller = new AbortController();
    const timer = setTimeout(() => controller.abort(deadlineError(Math.max(timeoutMs, this.timeoutMs))), timeoutMs);
    const onOuterAbort = (): void => controller.abort(abortedError(options.signal?.reason));
    if (options.signal?.aborted) onOuterAbort();
    else options.signal?.addEventListener('abort', onOuterAbort, { once: true });
    try {
      const distinct = [...new Set(images)];
      const secrets = onceByNames(options.signatureSecrets);
      const decisions = await mapLimit(distinct, options.run?.concurrency ?? this.concurrency, (image) =>
        this.evaluateImage(image, options, secrets, controller.signal),
      );
      const byImage = new Map(distinct.map((image, i) => [image, decisions[i]!]));
      if (!options.run) {
        for (const decision of decisions) this.metrics?.verdicts.inc({ verdict: decision.verdict, matched: String(decision.matched) });
        this.metrics?.cacheEntries.set(this.cache.size);
      }
      return images.map((image) => byImage.get(image)!);
    } finally {
      clearTimeout(timer);
      options.signal?.removeEventListener('abort', onOuterAbort);
    }
  }

  private async evaluateImage(
    image: string,
    { object, namespace, run, credentials }: EvaluateOptions,
    secrets: SignatureSecrets | undefined,
    signal: AbortSignal,
  ): Promise<ImageDecision> {
    let ref: ImageReference;
    try {
      ref = parseReference(image);
    } catch (err) {
      const message = image === '' ? 'the container has no image' : errorMessage(err);
      return { image, verdict: 'denied', matched: false, policies: [], reason: `${image || '(empty)'}: ${message}` };
    }
    const active = this.active;
    if (!active) {
      return { image, verdict: 'denied', matched: false, policies: [], reason: `${image}: no valid ClusterImagePolicy set is loaded yet` };
    }
    const matched = matchPolicies(active.policies, ref).filter((policy) => policyAppliesTo(policy, object, namespace));
    if (matched.length === 0) return this.unmatched(image);

    let digest: string;
    const session = credentials ? this.backend.session(signal, credentials.credentials, credentials.fingerprint) : this.backend.session(signal);
    try {
      digest = ref.digest ?? (await abortable(session.resolve(ref), signal));
    } catch (err) {
      // Without a digest nothing can be verified: every matching policy fails, with the reason.
      const failure = failureOf(toImgverifyError(err), 'the tag could not be resolved');
      const outcomes = matched.map((policy): PolicyOutcome => ({
        policy: policyKey(policy),
        mode: policy.mode,
        passed: false,
        authorities: [],
        reason: `cannot resolve the image digest: ${truncate(failure.reason)}`,
        operational: failure.operational,
        cached: false,
      }));
      return this.decide(image, undefined, outcomes);
    }
    const outcomesFor = (d: string): Promise<PolicyOutcome[]> =>
      Promise.all(
        matched.map((policy) =>
          this.policyOutcome(active, policy, withDigest(ref, d), session, signal, { fingerprint: credentials?.fingerprint, secrets, run }),
        ),
      );
    const decision = this.decide(image, digest, await outcomesFor(digest));
    if (decision.verdict === 'allowed' || ref.digest !== undefined || !session.resolveAgain) return decision;
    // The tag's digest came from a resolution kept from before (tags kept resolved): a tag moved
    // to signed content must not be denied until the next refresh. Asked anew, a new digest is
    // verified in its own right (and is what /mutate pins); no answer keeps the first decision.
    let again: string | undefined;
    try {
      again = await abortable(session.resolveAgain(ref), signal);
    } catch {
      return decision;
    }
    return again === undefined || again === digest ? decision : this.decide(image, again, await outcomesFor(again));
  }

  private unmatched(image: string): ImageDecision {
    const base = { image, matched: false, policies: [] };
    switch (this.noMatch) {
      case 'allow':
        return { ...base, verdict: 'allowed' };
      case 'warn':
        return { ...base, verdict: 'warned', reason: `${image}: no ClusterImagePolicy matches the image (no-match setting: warn)` };
      case 'deny':
        return { ...base, verdict: 'denied', reason: `${image}: no ClusterImagePolicy matches the image (no-match setting: deny)` };
    }
  }

  /** AND over policies: a failed enforce policy denies, a failed warn policy warns. */
  private decide(image: string, digest: string | undefined, outcomes: readonly PolicyOutcome[]): ImageDecision {
    const failed = outcomes.filter((o) => !o.passed);
    const verdict: Verdict = failed.some((o) => o.mode === 'enforce') ? 'denied' : failed.length > 0 ? 'warned' : 'allowed';
    const reason = failed.length > 0 ? `${image}${digest ? ` (${digest})` : ''}: ${failed.map(describePolicyFailure).join('; ')}` : undefined;
    return {
      image,
      ...(digest ? { digest } : {}),
      verdict,
      matched: true,
      policies: outcomes,
      ...(reason !== undefined ? { reason } : {}),
      ...(digest && verdict !== 'denied' && !image.includes('@') ? { pinned: `${image}@${digest}` } : {}),
    };
  }

  /**
   * One policy's outcome for a digest: from the cache, joined in flight, or evaluated.
   *
   * With an admitted object's credentials (`fingerprint` names them), a pass is shared: it
   * says a signature verified, whoever fetched it. Everything else is the object's own: a
   * failure is cached under its credentials (with others, more may be readable: a signature
   * repository its pull secrets cannot read), and only evaluations with the same credentials
   * join one in flight (so an object never waits on, or gets, the answer fetched with another
   * object's pull secrets, nor lends its own). Operational failures (a registry refusing the
   * credentials included) are never kept. The same holds for the Secrets a policy's sources
   * name (`signaturePullSecrets`, read in the object's namespace): their fingerprints are part
   * of the key of a failure.
   */
  private async policyOutcome(
    active: ActiveSet,
    policy: ClusterImagePolicy,
    pinned: ImageReference,
    session: VerificationSession,
    signal: AbortSignal,
    { fingerprint, secrets, run }: { fingerprint: string | undefined; secrets: SignatureSecrets | undefined; run: VerificationRun | undefined },
  ): Promise<PolicyOutcome> {
    // A run (an audit) has a cache of its own, kept for the run: its failures too (each verified
    // once), and no admission metrics. Admissions keep failures for the negative TTL.
    const cache = run?.cache ?? this.cache;
    const negativeTtlMs = run ? undefined : this.negativeTtlMs;
    const metrics = run ? undefined : this.metrics;
    const trustVersion = trustMaterialVersion(active.trust);
    const shared = verdictKey(pinned.digest!, active.version, policyKey(policy), trustVersion);
    const lists = secretLists(active.authorities.get(policy));
    const secretKeys = lists.length === 0 ? [] : secrets ? lists.map((names) => secrets(names).fingerprint) : ['(no Secrets)'];
    const key = [shared, ...(fingerprint === undefined ? [] : [fingerprint]), ...secretKeys].join('\0');
    const pass = key === shared ? undefined : cache.get(shared);
    if (pass?.passed) {
      metrics?.cacheHits.inc();
      return { ...pass, cached: true };
    }
    const got = cache.getOrRun(
      key,
      () => this.runPolicy(active, policy, pinned, session, signal, secrets),
      // Operational failures are never kept, nor outcomes of a set or trust no longer in force.
      (outcome) => {
        if (outcome.operational || this.active !== active || trustMaterialVersion(active.trust) !== trustVersion) return false;
        if (!outcome.passed) return negativeTtlMs;
        if (key === shared) return undefined;
        cache.set(shared, outcome);
        return false;
      },
    );
    if (got.how === 'hit') {
      metrics?.cacheHits.inc();
      return { ...got.value, cached: true };
    }
    if (got.how === 'joined') metrics?.cacheHits.inc();
    else metrics?.cacheMisses.inc();
    try {
      const outcome = await abortable(got.value, signal);
      return got.how === 'joined' ? { ...outcome, cached: true } : outcome;
    } catch (err) {
      const failure = failureOf(toImgverifyError(err), 'verification failed');
      return {
        policy: policyKey(policy),
        mode: policy.mode,
        passed: false,
        authorities: [],
        reason: truncate(failure.reason),
        operational: true,
        cached: false,
      };
    }
  }

  /** OR over authorities, in order, stopping at the first that passes. */
  private async runPolicy(
    active: ActiveSet,
    policy: ClusterImagePolicy,
    pinned: ImageReference,
    session: VerificationSession,
    signal: AbortSignal,
    secrets: SignatureSecrets | undefined,
  ): Promise<PolicyOutcome> {
    const outcomes: AuthorityOutcome[] = [];
    for (const prepared of active.authorities.get(policy) ?? []) {
      const outcome = await this.runAuthority(prepared, pinned, session, signal, secrets);
      outcomes.push(outcome);
      if (outcome.passed) {
        return {
          policy: policyKey(policy),
          mode: policy.mode,
          passed: true,
          decidedBy: outcome.authority,
          authorities: outcomes,
          operational: false,
          cached: false,
        };
      }
    }
    return {
      policy: policyKey(policy),
      mode: policy.mode,
      passed: false,
      authorities: outcomes,
      // Had the registry answered, an authority that erred might have passed.
      operational: outcomes.some((o) => o.operational),
      cached: false,
    };
  }

  private async runAuthority(
    prepared: PreparedAuthority,
    pinned: ImageReference,
    session: VerificationSession,
    signal: AbortSignal,
    secrets: SignatureSecrets | undefined,
  ): Promise<AuthorityOutcome> {
    const { authority, kind } = prepared;
    const pass = (reason: string): AuthorityOutcome => ({ authority: authority.name, kind, passed: true, reason, operational: false });
    const fail = (f: Failure): AuthorityOutcome => ({
      authority: authority.name,
      kind,
      passed: false,
      reason: truncate(f.reason),
      ...(f.code ? { code: f.code } : {}),
      operational: f.operational,
    });

    if (authority.static) {
      if (authority.static.action === 'pass') return pass('static: pass');
      return fail({ reason: authority.static.message ? `static: fail: ${authority.static.message}` : 'static: fail', operational: false });
    }
    if (prepared.unusable || !prepared.prepared) return fail({ reason: prepared.unusable ?? 'the authority cannot be used', operational: false });
    const sources = prepared.prepared;
    // With several sources each is tried in turn; a failure then says which source it is about.
    const sourceName = ({ source }: SourcePolicy): string =>
      `${source?.oci ?? '(beside the image)'}${source?.tagPrefix !== undefined ? ` (tags ${source.tagPrefix}sha256-…)` : ''}`;
    const at = (s: SourcePolicy): string => (s.source?.oci !== undefined || s.source?.tagPrefix !== undefined ? ` in ${sourceName(s)}` : '');
    const combined = (failures: ReadonlyArray<{ source: SourcePolicy; failure: Failure }>): Failure =>
      failures.length === 1
        ? failures[0]!.failure
        : {
            reason: failures.map((f) => `source ${sourceName(f.source)}: ${f.failure.reason}`).join('; '),
            ...(failures[0]!.failure.code ? { code: failures[0]!.failure.code } : {}),
            operational: failures.some((f) => f.failure.operational),
          };
    // A source's signaturePullSecrets: the credentials its signature repository is read with,
    // or why it cannot be read (no Secrets here: operational, as a registry refusal is).
    const readWith = ({ source }: SourcePolicy): SignatureReadOptions | Failure => {
      const names = source?.signaturePullSecrets ?? [];
      if (names.length === 0) return {};
      if (secrets) return { signatureCredentials: secrets(names) };
      return {
        reason: `its signaturePullSecrets (${names.map((n) => JSON.stringify(n)).join(', ')}) are Secrets of the admitted object's namespace, and none can be read here (no object namespace, or no Secret source: cluster mode has one)`,
        operational: true,
      };
    };
    try {
      if (authority.attestations.length > 0) {
        const verified: string[] = [];
        for (const requirement of authority.attestations) {
          const failures: Array<{ source: SourcePolicy; failure: Failure }> = [];
          let passed: string | undefined;
          for (const source of sources) {
            const read = readWith(source);
            if ('reason' in read) {
              failures.push({ source, failure: read });
              continue;
            }
            const result = await abortable(
              session.verifyAttestations(pinned, source.prepared, {
                predicateType: requirement.predicateTypeURI,
                ...(requirement.policy ? { condition: requirement.policy.condition } : {}),
                ...read,
              }),
              signal,
            );
            const found = result.verified
              ? result.attestations.find((a) => a.predicateType === requirement.predicateTypeURI && formatAccepts(authority, a.signature))
              : undefined;
            if (found) {
              passed = `"${requirement.name}" (${signerText(result, found.signature)}${requirement.policy ? '; CEL condition satisfied' : ''}${at(source)})`;
              break;
            }
            failures.push({
              source,
              failure: result.verified
                ? {
                    reason: `no verified attestation of type ${requirement.predicateTypeURI} in ${FORMAT_NAMES[authority.signatureFormat!]}`,
                    operational: false,
                  }
                : failureOf(result.error, `no verified attestation of type ${requirement.predicateTypeURI}`),
            });
          }
          if (passed === undefined) {
            const failure = combined(failures);
            return fail({ ...failure, reason: `attestation "${requirement.name}" (${requirement.predicateTypeURI}): ${failure.reason}` });
          }
          verified.push(passed);
        }
        return pass(`attestations verified: ${verified.join(', ')}`);
      }
      const failures: Array<{ source: SourcePolicy; failure: Failure }> = [];
      for (const source of sources) {
        const read = readWith(source);
        if ('reason' in read) {
          failures.push({ source, failure: read });
          continue;
        }
        const result = await abortable(session.verify(pinned, source.prepared, read), signal);
        const accepted = result.signatures.find((sig) => sig.verified && formatAccepts(authority, sig));
        if (accepted) return pass(`verified: ${signerText(result, accepted)}${at(source)}`);
        failures.push({
          source,
          failure: result.verified
            ? {
                reason: `no verified signature in ${FORMAT_NAMES[authority.signatureFormat!]} (signatureFormat: ${authority.signatureFormat})`,
                operational: false,
              }
            : failureOf(result.error, 'no signature passed every check and the policy'),
        });
      }
      return fail(combined(failures));
    } catch (err) {
      return fail(failureOf(toImgverifyError(err), 'verification failed'));
    }
  }
}
