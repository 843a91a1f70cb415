/**
 * Where a verifier's trust comes from: fixed trust roots (the embedded public-good root, a
 * `trusted_root.json` file or object), or providers whose root can change while a process
 * runs (a TUF-backed root refreshed periodically, ./tuf-root.ts). A verifier may hold several;
 * a signature verifies when it passes every check within one of them.
 */
import { createHash } from 'node:crypto';
import { TrustedRoot } from '@sigstore/protobuf-specs';
import { ImgverifyError } from '../errors';
import { publicGoodTrustRoot } from './embedded';
import { trustRootFromFile, trustRootFromJSON, type LoadedTrustRoot } from './trusted-root';

/**
 * Trust material that may be replaced while a process runs (e.g. `TufTrustRoot`, refreshed by
 * TUF). `current()` is read at every verification: a verifier holding a provider uses the
 * latest root without being re-created.
 */
export interface TrustRootProvider {
  /** Where the trust comes from, for messages and results. */
  readonly source: string;
  /** The trust root in force now. */
  current(): LoadedTrustRoot;
}

/** One trust root as the library takes it: a `trusted_root.json` path, its parsed JSON, a loaded root or a provider. */
export type TrustRootInput = string | LoadedTrustRoot | TrustRootProvider | object;

/** A loaded trust root or a provider: what a verifier holds for each trust source. */
export type TrustEntry = LoadedTrustRoot | TrustRootProvider;

export function isTrustRootProvider(value: unknown): value is TrustRootProvider {
  return (
    typeof value === 'object' &&
    value !== null &&
    typeof (value as { current?: unknown }).current === 'function' &&
    typeof (value as { source?: unknown }).source === 'string'
  );
}

function isLoadedTrustRoot(value: object): value is LoadedTrustRoot {
  return 'material' in value && 'trustedRoot' in value && 'source' in value;
}

/** @internal Loads what each input names, once (files are read and parsed here). */
export function trustEntries(input: TrustRootInput | readonly TrustRootInput[] | undefined): readonly TrustEntry[] {
  if (input === undefined) return [publicGoodTrustRoot()];
  const list = Array.isArray(input) ? (input as readonly TrustRootInput[]) : [input];
  if (list.length === 0) throw new ImgverifyError('INVALID_OPTIONS', 'trustedRoot: give at least one trust root (or none for the embedded public-good root)');
  return list.map((item, i) => {
    if (typeof item === 'string') return trustRootFromFile(item);
    if (typeof item !== 'object' || item === null) {
      throw new ImgverifyError(
        'INVALID_OPTIONS',
        `trustedRoot${list.length > 1 ? `[${i}]` : ''} must be a path, a trusted root object, a loaded root or a provider`,
      );
    }
    if (isTrustRootProvider(item) || isLoadedTrustRoot(item)) return item;
    return trustRootFromJSON(item, list.length > 1 ? `object #${i + 1}` : 'object');
  });
}

/**
 * @internal The roots in force for a list of entries, as one array whose identity changes only
 * when a provider hands out a new root (prepared policies are cached by it).
 */
export class ActiveTrust {
  private snapshot: readonly LoadedTrustRoot[] = [];

  constructor(readonly entries: readonly TrustEntry[]) {}

  current(): readonly LoadedTrustRoot[] {
    const now = this.entries.map((e) => (isTrustRootProvider(e) ? e.current() : e));
    if (now.length !== this.snapshot.length || now.some((root, i) => root !== this.snapshot[i])) this.snapshot = Object.freeze(now);
    return this.snapshot;
  }
}

/** Whether two lists hold the same roots, in order. */
export function sameRoots(a: readonly LoadedTrustRoot[], b: readonly LoadedTrustRoot[]): boolean {
  return a.length === b.length && a.every((root, i) => root === b[i]);
}

/** Content digests of loaded roots, computed once per root object. */
const ROOT_DIGESTS = new WeakMap<LoadedTrustRoot, string>();

function rootDigest(root: LoadedTrustRoot): string {
  let digest = ROOT_DIGESTS.get(root);
  if (digest === undefined) {
    // The trusted root as its canonical JSON (protobuf-specs' field order): the material, not where it came from.
    digest = createHash('sha256')
      .update(JSON.stringify(TrustedRoot.toJSON(root.trustedRoot)))
      .digest('hex');
    ROOT_DIGESTS.set(root, digest);
  }
  return digest;
}

/**
 * A version of the trust material in force for these trust sources now: `sha256:<hex>` over the
 * content of each one's current root, in order. It changes whenever a provider (a TUF root
 * after a refresh, a composed root whose part changed) hands out a root with other content, and
 * is the same in every process holding the same material, so verdicts cached under one trust
 * can be keyed by it. A provider that cannot give its root now (expired TUF metadata, a mirror
 * never reached) counts by its error code: verifications under it fail until it recovers. A
 * path or trusted-root JSON counts by its text (a verifier loads it once).
 */
export function trustMaterialVersion(sources: readonly TrustRootInput[]): string {
  const hash = createHash('sha256');
  for (const source of sources) {
    let part: string;
    if (typeof source === 'string') part = `path:${source}`;
    else if (isTrustRootProvider(source)) {
      try {
        part = `root:${rootDigest(source.current())}`;
      } catch (err) {
        part = `unavailable:${err instanceof ImgverifyError ? err.code : 'error'}`;
      }
    } else if (typeof source === 'object' && source !== null && isLoadedTrustRoot(source)) part = `root:${rootDigest(source)}`;
    else part = `json:${JSON.stringify(source)}`;
    hash.update(part).update('\n');
  }
  return `sha256:${hash.digest('hex')}`;
}
