/**
 * A policy file caught half-written must not load as a smaller valid set. A mounted ConfigMap
 * changes atomically (the kubelet swaps `..data`), but a plain folder is written by editors,
 * `kubectl cp`, config agents: a reload can read a file that is being rewritten. The two shapes
 * such a read takes and a valid set cannot tell apart:
 *
 *   - a file truncated to zero bytes (opened with O_TRUNC, not written yet);
 *   - a YAML stream cut at a document boundary: `doc1\n---\n` with `doc2` still to come.
 *
 * The rule, applied to a reload of a plain folder (a mounted ConfigMap is swapped in one rename:
 * never half written) against the set in force: a file that held documents
 * (ClusterImagePolicies, TrustRoots) in that set, and now is blank (zero bytes or white space
 * only) or ends with a bare `---` while some of its documents are gone, makes the reload a
 * rejected one: the set in force stays, the log, `/readyz` and
 * `imgverify_policy_reloads_total{result="rejected"}` say why, and the next change is loaded as
 * usual (the writer finishing the file).
 *
 * A deliberate removal still takes effect: the file rewritten without the policy (not ending in
 * `---`), or deleted (a deletion is atomic), or reduced to a comment. What this cannot tell from
 * a deliberate edit is a cut that happens to leave a complete, valid file with no trailing
 * separator; writers that cannot rename atomically should end each document with `---` only
 * when another follows.
 */
import { ImgverifyError } from '../index';
import type { PolicyFolderLoad, PolicySet } from './policy-folder';

/** `kind/name` of every document of the set, by file. */
function documentsByFile(set: Pick<PolicySet, 'policies' | 'trustRoots'>): Map<string, Set<string>> {
  const out = new Map<string, Set<string>>();
  const add = (file: string, id: string): void => {
    let ids = out.get(file);
    if (!ids) out.set(file, (ids = new Set()));
    ids.add(id);
  };
  for (const p of set.policies) add(p.source.file, `ClusterImagePolicy/${p.name}`);
  for (const t of set.trustRoots) add(t.source.file, `TrustRoot/${t.name}`);
  return out;
}

/**
 * The set of `load`, or the same set with an INVALID_POLICY error per file that looks caught
 * mid-write (see the module comment) against `inForce`, the set in force (none at start:
 * nothing to compare with). A mounted ConfigMap (swapped atomically) is never half written.
 */
export function refusePartialWrites(load: PolicyFolderLoad, inForce: Pick<PolicySet, 'policies' | 'trustRoots'> | undefined): PolicySet {
  const { set, shapes } = load;
  if (!inForce || load.atomic || set.errors.length > 0) return set;
  const before = documentsByFile(inForce);
  const now = documentsByFile(set);
  const errors: ImgverifyError[] = [];
  for (const [file, shape] of shapes) {
    const had = before.get(file);
    if (!had) continue;
    const kept = now.get(file) ?? new Set<string>();
    const lost = [...had].filter((id) => !kept.has(id));
    if (lost.length === 0) continue;
    const details = { file, lost };
    if (shape.blank) {
      errors.push(
        new ImgverifyError(
          'INVALID_POLICY',
          `${file}: the file is empty but held ${lost.join(', ')}: taken as caught while being written; keeping the policies in force ` +
            '(to remove every policy of a file, delete the file or leave a comment in it)',
          { details },
        ),
      );
    } else if (shape.trailingSeparator) {
      errors.push(
        new ImgverifyError(
          'INVALID_POLICY',
          `${file}: ends with a document separator "---" and no document after it, and no longer holds ${lost.join(', ')}: ` +
            'taken as caught while being written; keeping the policies in force (to remove them, drop the trailing "---")',
          { details },
        ),
      );
    }
  }
  return errors.length === 0 ? set : { ...set, policies: [], trustRoots: [], errors };
}
