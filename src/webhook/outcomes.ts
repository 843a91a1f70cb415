/**
 * What policy evaluation decides, per authority, per policy and per image, and the admission
 * answer for a set of image decisions (`summarize`).
 */
import type { ErrorCode } from '../index';
import type { PolicyMode } from './cluster-image-policy-types';

export type NoMatchAction = 'allow' | 'warn' | 'deny';
export const NO_MATCH_ACTIONS: readonly NoMatchAction[] = ['allow', 'warn', 'deny'];
export type Verdict = 'allowed' | 'warned' | 'denied';
export type AuthorityKind = 'keyless' | 'key' | 'static';

export interface AuthorityOutcome {
  readonly authority: string;
  readonly kind: AuthorityKind;
  readonly passed: boolean;
  /** What was verified (passed) or why not. */
  readonly reason: string;
  /** The error code of a failure, when it has one. */
  readonly code?: ErrorCode;
  /** A registry error, a timeout or a corrupt registry answer: nothing was learned about the image (never cached). */
  readonly operational: boolean;
}

export interface PolicyOutcome {
  /** The policy's name; an ImagePolicy's is `namespace/name`. */
  readonly policy: string;
  readonly mode: PolicyMode;
  readonly passed: boolean;
  /** The authority that passed. */
  readonly decidedBy?: string;
  /** The authorities evaluated, in order (evaluation stops at the first that passes). */
  readonly authorities: readonly AuthorityOutcome[];
  /** Why the policy failed when no authority could be evaluated (tag not resolved, deadline). */
  readonly reason?: string;
  /** Failed only because of registry errors or the deadline (not cached). */
  readonly operational: boolean;
  /** Answered from the cache (or by joining the same evaluation in flight). */
  readonly cached: boolean;
}

export interface ImageDecision {
  /** The image as written in the workload. */
  readonly image: string;
  /** The manifest digest the decision is about, when it was resolved. */
  readonly digest?: string;
  readonly verdict: Verdict;
  /** Whether any policy matched the image (false: the no-match setting decided). */
  readonly matched: boolean;
  readonly policies: readonly PolicyOutcome[];
  /** Why the image is denied or warned about: one line, naming the image. */
  readonly reason?: string;
  /**
   * The image to run, pinned to the verified digest (`repo:tag@sha256:...`), when policies
   * matched, the image was admitted and its digest is known. Absent for unmatched images
   * (nothing was verified, so nothing is resolved).
   */
  readonly pinned?: string;
}

/** One line on why a policy failed: its reason, then each authority evaluated and why it did not pass. */
export function describePolicyFailure(outcome: PolicyOutcome): string {
  const parts = outcome.authorities.map((a) => `authority "${a.authority}" (${a.kind}): ${a.reason}`);
  if (outcome.reason !== undefined) parts.unshift(outcome.reason);
  return `policy "${outcome.policy}"${outcome.mode === 'warn' ? ' (warn mode)' : ''}: ${parts.join('; ') || 'no authority passed'}`;
}

/** Why an image is denied or warned about, without the image and digest its `reason` starts with (for lists that name the image already). */
export function decisionReason(decision: Pick<ImageDecision, 'image' | 'digest' | 'reason'>): string | undefined {
  const prefix = `${decision.image}${decision.digest ? ` (${decision.digest})` : ''}: `;
  return decision.reason?.startsWith(prefix) ? decision.reason.slice(prefix.length) : decision.reason;
}

// --- Summaries for responses ---------------------------------------------------------------

export interface AdmissionSummary {
  readonly allowed: boolean;
  /** For a denial: names each denied image and why. */
  readonly message?: string;
  /** warn-mode failures and no-match warnings, one per image. */
  readonly warnings: readonly string[];
}

/** The admission answer for a set of image decisions. */
export function summarize(decisions: readonly ImageDecision[]): AdmissionSummary {
  const unique = [...new Map(decisions.map((d) => [d.image, d])).values()];
  const denied = unique.filter((d) => d.verdict === 'denied');
  const warnings = unique.filter((d) => d.verdict === 'warned').map((d) => `imgverify: ${d.reason ?? d.image}`);
  if (denied.length === 0) return { allowed: true, warnings };
  const message = `imgverify denied ${denied.length} of ${unique.length} image${unique.length === 1 ? '' : 's'}: ${denied.map((d) => d.reason ?? d.image).join(' | ')}`;
  return { allowed: false, message, warnings };
}
