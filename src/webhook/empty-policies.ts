/**
 * An empty policy set is not a policy set a webhook may enforce by accident. A ConfigMap that
 * was emptied or truncated loads "validly" with no policies; with `--no-match allow` (or
 * `warn`) every image would then be admitted, which is the "no policies" fallback the webhook
 * must never take. Unless the operator says empty is meant (`--allow-empty-policies`), such a
 * set is turned into a rejected one: at start-up the webhook stays not ready, on a reload the
 * last good set stays in force, and the metric and log say why.
 */
import { ImgverifyError } from '../index';
import type { PolicySet } from './policy-folder';

/** `set`, or the same set with an INVALID_POLICY error when it holds no policy and that is not allowed. */
export function refuseEmptyPolicySet(set: PolicySet, dir: string, allowEmpty: boolean): PolicySet {
  if (allowEmpty || set.errors.length > 0 || set.policies.length > 0) return set;
  const files = set.files.length > 0 ? `files ${set.files.join(', ')} hold no ClusterImagePolicy` : 'no policy files';
  return {
    ...set,
    errors: [
      new ImgverifyError(
        'INVALID_POLICY',
        `policy folder ${dir} has ${files}: an empty policy set is refused (it would leave every image to the --no-match setting); ` +
          'pass --allow-empty-policies if no policy is meant',
        { details: { dir, files: [...set.files] } },
      ),
    ],
  };
}
