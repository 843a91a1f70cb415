/**
 * The policy folder: a directory of ClusterImagePolicy files, usually a ConfigMap mounted
 * by the kubelet, and a watcher that reloads it.
 *
 * A mounted ConfigMap looks like this; every update writes a new timestamped directory and
 * swaps the `..data` symlink in one rename, so readers never see half an update:
 *
 *   policies/
 *     ..2024_05_01_10_00_00.123/   registry-k8s-io.yaml  ghcr.yaml
 *     ..data -> ..2024_05_01_10_00_00.123
 *     registry-k8s-io.yaml -> ..data/registry-k8s-io.yaml
 *     ghcr.yaml -> ..data/ghcr.yaml
 *
 * Names starting with "." and directories are skipped; symlinks are followed. When `..data`
 * exists, files are read from the directory it points to (resolved once), so a load is a
 * consistent snapshot even while the kubelet swaps. Every other file must be `.yaml`,
 * `.yml` or `.json`: a policy file with another name is an error, not silently skipped
 * (a skipped policy is a policy not enforced).
 *
 * A load is all or nothing: with any error, `policies` is empty and the caller keeps the
 * set it has. The watcher only ever hands over complete, valid sets.
 */
import { createHash } from 'node:crypto';
import { readdir, readFile, realpath, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { ImgverifyError } from '../index';
import type { ClusterImagePolicy } from './cluster-image-policy-types';
import type { PolicyWarning } from './crd-document';
import { parseClusterImagePolicies } from './policy-documents';
import { duplicateNames, duplicateTrustRootNames, unknownTrustRootRefs } from './policy-set';
import type { TrustRootDocument } from './trust-root-types';
import { watchFolders } from './watch';
import { errorMessage } from '../util/describe';

/** ConfigMaps are at most 1 MiB; a bigger policy file is a mistake. */
export const MAX_POLICY_FILE_BYTES = 1024 * 1024;
const POLICY_FILE = /\.(?:ya?ml|json)$/i;
const CONFIGMAP_DATA_LINK = '..data';

export interface PolicySet {
  /** All policies, in file-name then document order; empty when `errors` is not. */
  readonly policies: readonly ClusterImagePolicy[];
  /** The TrustRoot documents (empty when `errors` is not). */
  readonly trustRoots: readonly TrustRootDocument[];
  /** `sha256:<hex>` over the file names and contents read: equal versions, equal policies. */
  readonly version: string;
  /** ImgverifyError(INVALID_POLICY), each naming file, document and field path. */
  readonly errors: readonly ImgverifyError[];
  readonly warnings: readonly PolicyWarning[];
  /** The policy files read, by name. */
  readonly files: readonly string[];
}

/** What a policy file looked like when read, for ./partial-write (a file caught mid-write). */
interface PolicyFileShape {
  /** Zero bytes, or white space only. */
  readonly blank: boolean;
  /** The YAML stream ends with a document separator (`---`) and no document after it (comments and blank lines aside). */
  readonly trailingSeparator: boolean;
}

/** A load of the folder with the shape of each file read (internal: the watcher and ./policy-reload use it). */
export interface PolicyFolderLoad {
  readonly set: PolicySet;
  readonly shapes: ReadonlyMap<string, PolicyFileShape>;
  /** Read from a mounted ConfigMap's `..data`, which the kubelet swaps in one rename: never half written. */
  readonly atomic: boolean;
}

/** Whether the last line that is not blank or a comment is a bare document separator. */
function endsWithSeparator(text: string): boolean {
  const lines = text.split(/\r?\n/);
  for (let i = lines.length - 1; i >= 0; i--) {
    const line = lines[i]!;
    if (/^\s*(?:#.*)?$/.test(line)) continue;
    return /^---[ \t]*(?:#.*)?$/.test(line);
  }
  return false;
}

function folderError(message: string, details: Record<string, unknown>, cause?: unknown): ImgverifyError {
  return new ImgverifyError('INVALID_POLICY', message, { details, ...(cause !== undefined ? { cause } : {}) });
}

function isMissing(err: unknown): boolean {
  return (err as NodeJS.ErrnoException | undefined)?.code === 'ENOENT';
}

/** Where the files are: the `..data` target of a mounted ConfigMap, else the folder itself. */
async function contentDirectory(dir: string): Promise<string> {
  try {
    const target = await realpath(join(dir, CONFIGMAP_DATA_LINK));
    if ((await stat(target)).isDirectory()) return target;
  } catch (err) {
    if (!isMissing(err)) throw err;
  }
  return dir;
}

async function loadOnce(dir: string): Promise<PolicyFolderLoad> {
  const errors: ImgverifyError[] = [];
  const warnings: PolicyWarning[] = [];
  const policies: ClusterImagePolicy[] = [];
  const trustRoots: TrustRootDocument[] = [];
  const files: string[] = [];
  const shapes = new Map<string, PolicyFileShape>();
  const hash = createHash('sha256');

  let source: string;
  let names: string[];
  try {
    source = await contentDirectory(dir);
    names = (await readdir(source)).filter((name) => !name.startsWith('.')).sort();
  } catch (err) {
    const message = `cannot read policy folder ${dir}: ${errorMessage(err)}`;
    hash.update(`error\0${message}`);
    return {
      set: { policies: [], trustRoots: [], version: `sha256:${hash.digest('hex')}`, errors: [folderError(message, { dir }, err)], warnings, files },
      shapes,
      atomic: false,
    };
  }

  for (const name of names) {
    const path = join(source, name);
    const info = await stat(path); // follows symlinks; a dangling one throws (retried by loadPolicies)
    if (info.isDirectory()) continue;
    if (!POLICY_FILE.test(name)) {
      errors.push(folderError(`${name}: not a policy file: names must end in .yaml, .yml or .json`, { file: name }));
      hash.update(`skipped\0${name}\0`);
      continue;
    }
    if (info.size > MAX_POLICY_FILE_BYTES) {
      errors.push(folderError(`${name}: policy file is ${info.size} bytes, more than ${MAX_POLICY_FILE_BYTES}`, { file: name }));
      hash.update(`oversized\0${name}\0${info.size}\0`);
      continue;
    }
    const bytes = await readFile(path);
    hash.update(`file\0${name}\0${bytes.length}\0`).update(bytes);
    files.push(name);
    const text = bytes.toString('utf8');
    shapes.set(name, { blank: text.trim() === '', trailingSeparator: endsWithSeparator(text) });
    const result = parseClusterImagePolicies(text, name);
    errors.push(...result.errors);
    warnings.push(...result.warnings);
    policies.push(...result.policies);
    trustRoots.push(...result.trustRoots);
  }
  errors.push(...duplicateNames(policies), ...duplicateTrustRootNames(trustRoots));
  errors.push(...unknownTrustRootRefs(policies, new Set(trustRoots.map((t) => t.name))));
  return {
    set: {
      policies: errors.length > 0 ? [] : policies,
      trustRoots: errors.length > 0 ? [] : trustRoots,
      version: `sha256:${hash.digest('hex')}`,
      errors,
      warnings,
      files,
    },
    shapes,
    atomic: source !== dir,
  };
}

/**
 * Reads every policy file of a folder. Never throws: problems are in `errors`. A file that
 * vanishes mid-read (a ConfigMap swap) makes it start over, a few times at most.
 */
export async function loadPolicies(dir: string): Promise<PolicySet> {
  return (await loadPolicyFolder(dir)).set;
}

/** @internal loadPolicies, with the shape of each file read. */
export async function loadPolicyFolder(dir: string): Promise<PolicyFolderLoad> {
  let lastError: unknown;
  for (let attempt = 0; attempt < 3; attempt++) {
    try {
      return await loadOnce(dir);
    } catch (err) {
      lastError = err;
      if (!isMissing(err)) break;
    }
  }
  const message = `cannot read policy folder ${dir}: ${errorMessage(lastError)}`;
  const set: PolicySet = {
    policies: [],
    trustRoots: [],
    version: `sha256:${createHash('sha256').update(`error\0${message}`).digest('hex')}`,
    errors: [folderError(message, { dir }, lastError)],
    warnings: [],
    files: [],
  };
  return { set, shapes: new Map(), atomic: false };
}

// --- Watching --------------------------------------------------------------------------

export type PolicyUpdate =
  /** A valid set that differs from the active one (or follows a rejected one): switch to it. `load`: with each file's shape, for ./partial-write. */
  | { readonly kind: 'loaded'; readonly set: PolicySet; readonly load: PolicyFolderLoad }
  /** The folder changed but does not load: keep enforcing `activeVersion` (undefined if none yet). */
  | { readonly kind: 'rejected'; readonly set: PolicySet; readonly activeVersion: string | undefined };

export interface WatchPoliciesOptions {
  /** Quiet time after the last file-system event before reloading. Default 250 ms. */
  readonly debounceMs?: number;
  /** Reload this often even without events (missed events, re-created folders). Default 30 s; 0 disables. */
  readonly pollIntervalMs?: number;
  /** Version the caller already enforces (from its own loadPolicies): not reported again. */
  readonly activeVersion?: string;
}

/**
 * Watches a policy folder and reports changes: `loaded` with a complete valid set, or
 * `rejected` when the new content does not load (the caller keeps the previous set, as a
 * webhook must: an invalid edit must not switch enforcement off). The current state is
 * loaded and reported right away (unless it is `options.activeVersion`). The same failure
 * is reported once, not at every event. Returns a function that stops watching; no
 * callback runs after it returns. `onChange` must not throw: an exception from it is
 * rethrown asynchronously.
 */
export function watchPolicies(dir: string, onChange: (update: PolicyUpdate) => void, options: WatchPoliciesOptions = {}): () => void {
  let activeVersion = options.activeVersion;
  let lastFailure: string | undefined;
  let closed = false;

  const report = (update: PolicyUpdate): void => {
    if (closed) return;
    try {
      onChange(update);
    } catch (err) {
      process.nextTick(() => {
        throw err;
      });
    }
  };

  const reload = async (): Promise<void> => {
    const load = await loadPolicyFolder(dir);
    const { set } = load;
    if (closed) return;
    if (set.errors.length > 0) {
      const failure = `${set.version}\0${set.errors.map((e) => e.message).join('\0')}`;
      if (failure !== lastFailure) {
        lastFailure = failure;
        report({ kind: 'rejected', set, activeVersion });
      }
    } else if (set.version !== activeVersion || lastFailure !== undefined) {
      activeVersion = set.version;
      lastFailure = undefined;
      report({ kind: 'loaded', set, load });
    }
  };

  // The folder itself: a ConfigMap update shows up as events on `..data` and the
  // timestamped directories; an edit in a plain folder as events on the file. A folder that
  // does not exist (yet) is reported by the load, and watched once it does.
  const stop = watchFolders([dir], reload, {
    debounceMs: options.debounceMs,
    pollIntervalMs: options.pollIntervalMs,
    runAtStart: true,
  });
  return () => {
    closed = true;
    stop();
  };
}
