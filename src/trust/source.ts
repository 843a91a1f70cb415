/**
 * Where a verifier's trust comes from: fixed trust roots (the embedded public-good root, a
 * `trusted_root.json` file or object), or providers whose root can change while a process
 * runs (a TUF-backed root refreshed periodically, ./tuf-root.ts). A verifier may hold several;
 * a signature verifies when it passes every check within one of them.
 */
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
  return typeof value === 'object' && value !== null && typeof (value as { current?: unknown }).current === 'function' && typeof (value as { source?: unknown }).source === 'string';
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
      throw new ImgverifyError('INVALID_OPTIONS', `trustedRoot${list.length > 1 ? `[${i}]` : ''} must be a path, a trusted root object, a loaded root or a provider`);
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
