/**
 * Keeps the evaluator's policies in step with the policy folder: the first load, then every
 * valid change the watcher reports. An invalid edit keeps the set in force (an edit must not
 * switch enforcement off) and is remembered for /readyz; before any valid set the webhook
 * is not ready. So does an empty set (./empty-policies) and a file caught mid-write
 * (./partial-write).
 */
import type { ImgverifyError } from '../index';
import type { PolicyEvaluator } from './evaluate';
import type { TrustRootSet } from './trust-root-set';
import type { Logger } from './log';
import type { WebhookMetrics } from './metrics';
import { refuseEmptyPolicySet } from './empty-policies';
import { loadPolicyFolder, watchPolicies, type PolicySet, type PolicyUpdate } from './policy-folder';
import { refusePartialWrites } from './partial-write';
import { errorMessage } from '../util/describe';

export interface PolicyReloadOptions {
  readonly dir: string;
  /**
   * Runs before a valid set is put in force, and gives what the evaluator takes with it (the
   * set's TrustRoot documents, loaded). May take a moment: updates are applied one at a time.
   */
  readonly prepare?: (set: PolicySet) => Promise<{ readonly trustRoots?: TrustRootSet }>;
  readonly evaluator: PolicyEvaluator;
  /** More reasons a valid set does not load here (signaturePullSecrets without a Secret source). */
  readonly refuse?: (set: PolicySet) => readonly ImgverifyError[];
  readonly metrics: WebhookMetrics;
  readonly log: Logger;
  /** Accept a folder with no policies (default false: an empty set is rejected like an invalid one). */
  readonly allowEmpty?: boolean;
  /** See watchPolicies. */
  readonly debounceMs?: number;
  readonly pollIntervalMs?: number;
}

export interface PolicyReload {
  /** Why the folder's current content does not load (the errors, joined), if it does not. */
  readonly lastRejection: () => string | undefined;
  /** Stops watching. */
  readonly stop: () => void;
}

/** Loads the folder into the evaluator (valid or not, it resolves) and starts watching it. */
export async function startPolicyReload(options: PolicyReloadOptions): Promise<PolicyReload> {
  const { dir, evaluator, metrics, log } = options;
  let lastRejection: string | undefined;
  /** The set in force (a reload that looks like a file caught mid-write is compared with it). */
  let inForce: PolicySet | undefined;

  const activate = async (set: PolicySet, initial: boolean): Promise<void> => {
    const extra = options.prepare ? await options.prepare(set) : {};
    // A Fulcio or Rekor URL no trust root lists is a load error, like any in the files.
    const urlErrors = [...evaluator.serviceUrlErrors(set.policies, extra), ...(options.refuse?.(set) ?? [])];
    if (urlErrors.length > 0) {
      reject({ ...set, policies: [], trustRoots: [], errors: urlErrors }, initial);
      return;
    }
    evaluator.setPolicies(set, extra);
    inForce = set;
    lastRejection = undefined;
    metrics.ready.set(1);
    if (!initial) metrics.policyReloads.inc({ result: 'loaded' });
    log('info', initial ? 'policies loaded' : 'policies reloaded', {
      version: set.version,
      policies: set.policies.map((p) => p.name),
      files: set.files,
      warnings: set.warnings.map((w) => `${w.file}: document ${w.document}: ${w.path}: ${w.message}`),
    });
    for (const unusable of evaluator.unusableAuthorities()) log('warn', 'authority can never pass', unusable);
  };
  const reject = (set: PolicySet, initial: boolean): void => {
    lastRejection = set.errors.map((e) => e.message).join('; ');
    if (!initial) metrics.policyReloads.inc({ result: 'rejected' });
    log('error', evaluator.ready ? 'policy folder does not load; keeping the policies in force' : 'policy folder does not load; not ready', {
      dir,
      activeVersion: evaluator.version ?? null,
      errors: set.errors.map((e) => e.message),
    });
  };

  const guard = (set: PolicySet): PolicySet => refuseEmptyPolicySet(set, dir, options.allowEmpty === true);
  const initial = guard((await loadPolicyFolder(dir)).set);
  if (initial.errors.length === 0) await activate(initial, true);
  else reject(initial, true);
  // Updates are applied one at a time, in order (preparing a set may take a moment).
  let applying: Promise<void> = Promise.resolve();
  const onUpdate = (update: PolicyUpdate): void => {
    applying = applying
      .then(() => {
        // Compared with the set in force when the update's turn comes (updates apply in order).
        const set = guard(update.kind === 'loaded' ? refusePartialWrites(update.load, inForce) : update.set);
        return update.kind === 'loaded' && set.errors.length === 0 ? activate(set, false) : reject(set, false);
      })
      .catch((err: unknown) => log('error', 'applying a policy update failed', { error: errorMessage(err) }));
  };
  const stop = watchPolicies(dir, onUpdate, {
    ...(evaluator.version !== undefined ? { activeVersion: evaluator.version } : {}),
    ...(options.debounceMs !== undefined ? { debounceMs: options.debounceMs } : {}),
    ...(options.pollIntervalMs !== undefined ? { pollIntervalMs: options.pollIntervalMs } : {}),
  });
  return { lastRejection: () => lastRejection, stop };
}
