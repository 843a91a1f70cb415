/**
 * Trust that stays current: the `trusted_root.json` target of a TUF repository (the Sigstore
 * public-good one by default), updated with `tuf-js` — every TUF rule (root rotation walked
 * forward, signatures and thresholds, rollback and freeze checks, target hashes and lengths)
 * is `tuf-js`'s; this module only decides when to update. The cache on disk (version folders
 * and a `current` link) is ./tuf-cache; the root an initialization starts from, ./tuf-initial-root.
 *
 * An update runs in a staging folder seeded with a copy of the current metadata (so rollbacks
 * are caught against it) and replaces `current` with one rename once everything verified:
 * a failed update (bad signature, rollback, wrong target hash, a mirror serving garbage or
 * not answering) leaves the cache in use untouched. Reading the cache verifies it again,
 * offline, with the same rules (expiry included).
 */
import { createHash, randomBytes } from 'node:crypto';
import { existsSync } from 'node:fs';
import { mkdir, readFile, rm } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import type { Updater } from 'tuf-js';
import { ImgverifyError, type ErrorCode } from '../errors';
import { trustRootFromText, type LoadedTrustRoot } from './trusted-root';
import {
  checkVersion,
  copyVersion,
  currentVersion,
  defaultTufCacheDir,
  ensureCacheDir,
  isStale,
  newStaging,
  publish,
  roleStatus,
  TUF_ROLES,
  tufCacheState,
  writeNewFile,
  type CacheVersion,
} from './tuf-cache';
import { LengthError, MemoryFetcher, MirrorFetcher, OfflineFetcher, type WireFailure } from './tuf-fetcher';
import { checkRootShape, embeddedRoot, PUBLIC_GOOD_TUF_MIRROR, readInitialRoot } from './tuf-initial-root';
import type { TrustRootProvider } from './source';
import { describeValue, errorMessage } from '../util/describe';
import { baseUrlProblem, displayBaseUrl, relativePathProblem } from '../util/url';
import { checkUrl } from '../net/web-client';

export { defaultTufCacheDir, hasTufCache } from './tuf-cache';
export { PUBLIC_GOOD_TUF_MIRROR } from './tuf-initial-root';

const TRUSTED_ROOT_TARGET = 'trusted_root.json';
/** After this long, a cached update is refreshed from the mirror (when it answers). */
export const DEFAULT_TUF_MAX_AGE_MS = 24 * 60 * 60 * 1000;
const DEFAULT_TIMEOUT_MS = 15_000;

export interface TufOptions {
  /** The TUF repository (default: the Sigstore public-good mirror). */
  readonly mirror?: string | undefined;
  /**
   * Where targets are, relative to the mirror (default `targets`), as policy-controller's
   * TrustRoot `targets`.
   */
  readonly targets?: string | undefined;
  /**
   * The initial trusted `root.json` (a path, an http(s) URL, or its bytes), for `initialize`
   * and for a cache that has none yet. Default: the root that ships in `@sigstore/tuf` for the
   * public-good mirror; another mirror needs one.
   */
  readonly root?: string | Buffer | undefined;
  /** The cache folder (default `defaultTufCacheDir()`). */
  readonly cacheDir?: string | undefined;
  /** Never touch the network: use the cache as it is (it must still be valid). */
  readonly offline?: boolean | undefined;
  /** Per request, ms (default 15 s). */
  readonly timeoutMs?: number | undefined;
  /** Refresh from the mirror when the last update is older than this (default 24 h), or metadata expired. */
  readonly maxAgeMs?: number | undefined;
}

/** A TUF role's metadata as verified: its version and when it expires. */
export interface TufRoleStatus {
  readonly version: number;
  readonly expires: string;
}

/** What a TUF-backed trust root holds. */
export interface TufStatus {
  readonly mirror: string;
  readonly cacheDir: string;
  /** When the metadata was last updated from the mirror (ISO 8601). */
  readonly updatedAt: string;
  readonly root: TufRoleStatus;
  readonly timestamp: TufRoleStatus;
  readonly snapshot: TufRoleStatus;
  readonly targets: TufRoleStatus;
  /** The earliest expiry: after it the cache cannot be used without an update. */
  readonly expires: string;
  /** SHA-256 of the `trusted_root.json` target, hex. */
  readonly trustedRootSha256: string;
}

/** The outcome of a refresh that did not throw. */
export interface TufRefreshResult {
  /** A new update from the mirror is in use. */
  readonly updated: boolean;
  /** Why the cached metadata is still in use, when a refresh was due but failed (the mirror did not answer, or answered with bad data). */
  readonly warning?: string;
}

function normalizeMirror(mirror: string): string {
  const problem = typeof mirror === 'string' ? baseUrlProblem(mirror) : 'not a string';
  if (problem) throw new ImgverifyError('INVALID_OPTIONS', `TUF mirror ${displayBaseUrl(mirror)}: ${problem}`);
  checkUrl(mirror, 'TUF mirror'); // plain http only on loopback, said now rather than as "did not answer"
  return mirror.replace(/\/+$/, '');
}

function targetsUrl(mirror: string, targets: string | undefined): string {
  const problem = targets === undefined ? undefined : typeof targets === 'string' ? relativePathProblem(targets) : 'not a string';
  if (problem) throw new ImgverifyError('INVALID_OPTIONS', `TUF targets ${describeValue(targets)}: ${problem}`);
  const path = (targets ?? 'targets').replace(/^\/+|\/+$/g, '');
  return path === '' ? mirror : `${mirror}/${path}`;
}

function tufError(code: ErrorCode, message: string, details: Record<string, unknown>, cause?: unknown): ImgverifyError {
  return new ImgverifyError(code, message, { details, ...(cause !== undefined ? { cause } : {}) });
}

// --- Verifying ---------------------------------------------------------------------------------

function statusOf(version: CacheVersion, cacheDir: string, trustedRoot: Buffer): TufStatus {
  const roles = {
    root: roleStatus(version.dir, 'root'),
    timestamp: roleStatus(version.dir, 'timestamp'),
    snapshot: roleStatus(version.dir, 'snapshot'),
    targets: roleStatus(version.dir, 'targets'),
  };
  const expires = Object.values(roles)
    .map((r) => r.expires)
    .sort((a, b) => Date.parse(a) - Date.parse(b))[0]!;
  return {
    mirror: version.state.mirror,
    cacheDir,
    updatedAt: version.state.updatedAt,
    ...roles,
    expires,
    trustedRootSha256: createHash('sha256').update(trustedRoot).digest('hex'),
  };
}

type Fetchers = MirrorFetcher | OfflineFetcher | MemoryFetcher;

/** Runs tuf-js on a metadata folder: refresh, then the trusted_root.json target (downloaded unless cached and matching). */
async function runUpdater(dir: string, mirror: string, targets: string, fetcher: Fetchers, forceCache: boolean): Promise<Buffer> {
  // tuf-js (and its dependencies) loaded when a TUF update or check runs: not on every import.
  // eslint-disable-next-line @typescript-eslint/no-require-imports -- loaded when first needed (start-up cost)
  const updater: Updater = new (require('tuf-js') as typeof import('tuf-js')).Updater({
    metadataDir: join(dir, 'metadata'),
    metadataBaseUrl: mirror,
    targetDir: join(dir, 'targets'),
    targetBaseUrl: targets,
    fetcher,
    forceCache,
  });
  await updater.refresh();
  const info = await updater.getTargetInfo(TRUSTED_ROOT_TARGET);
  if (!info) throw new TargetMissing(`the signed targets of ${mirror} have no ${TRUSTED_ROOT_TARGET}`);
  const path = (await updater.findCachedTarget(info)) ?? (await updater.downloadTarget(info));
  return readFile(path);
}

class TargetMissing extends Error {
  override name = 'TargetMissing';
}

/** A failed tuf-js run, as an ImgverifyError: offline, mirror not answering, or bad data. */
function classify(err: unknown, fetcher: Fetchers, mirror: string, action: string): ImgverifyError {
  if (err instanceof ImgverifyError) return err;
  const wire: WireFailure | undefined = fetcher.failures[0];
  const details = { mirror };
  const why = errorMessage(err);
  if (wire?.kind === 'offline')
    return tufError(
      'TUF_METADATA_EXPIRED',
      `${action}: the cached TUF metadata of ${mirror} needs an update, and the mirror may not be asked (offline): ${why}`,
      details,
      err,
    );
  if (wire && !(err instanceof LengthError)) {
    return tufError(
      'TUF_MIRROR_UNREACHABLE',
      `${action}: the TUF mirror ${mirror} did not answer as a TUF repository: ${wire.message}`,
      { ...details, url: wire.url },
      err,
    );
  }
  return tufError(
    'TUF_METADATA_INVALID',
    `${action}: the TUF metadata from ${mirror} does not verify: ${why} (${(err as Error)?.name ?? 'error'})`,
    details,
    err,
  );
}

/** The verified trust root of a cache version, checked offline with tuf-js (signatures, expiry, target hash). */
async function verifyCached(version: CacheVersion, cacheDir: string): Promise<{ root: LoadedTrustRoot; status: TufStatus }> {
  const { dir, state } = version;
  const now = Date.now();
  // Only what an update writes (no links, bounded sizes) is handed to tuf-js.
  checkVersion(version);
  for (const role of TUF_ROLES) {
    let expires: string;
    try {
      expires = roleStatus(dir, role).expires;
    } catch (err) {
      throw tufError(
        'TUF_METADATA_INVALID',
        `the TUF cache ${cacheDir} is damaged (${role}.json): ${errorMessage(err)}`,
        { mirror: state.mirror, cacheDir },
        err,
      );
    }
    if (Date.parse(expires) <= now) {
      throw tufError(
        'TUF_METADATA_EXPIRED',
        `the cached TUF ${role} metadata of ${state.mirror} expired at ${expires}: update it (imgverify initialize, or a mirror that answers)`,
        {
          mirror: state.mirror,
          cacheDir,
          role,
          expires,
        },
      );
    }
  }
  const fetcher = new OfflineFetcher(join(dir, '.scratch'));
  let bytes: Buffer;
  try {
    bytes = await runUpdater(dir, state.mirror, state.targetsUrl, fetcher, true);
  } catch (err) {
    throw classify(err, fetcher, state.mirror, `reading the TUF cache ${cacheDir}`);
  }
  const root = trustRootFromText(bytes, `TUF ${state.mirror}`);
  return { root, status: statusOf(version, cacheDir, bytes) };
}

interface UpdateSpec {
  readonly cacheDir: string;
  readonly mirror: string;
  readonly targetsUrl: string;
  readonly timeoutMs: number;
  /** Start from this root (given by the user, or the one that ships) ... */
  readonly initialRoot?: Buffer;
  /**
   * ... and/or from this cache version's metadata (with `initialRoot`, its root.json is
   * replaced by it): the versions it holds are the floor the mirror's may not go below.
   */
  readonly from?: CacheVersion;
}

/** The version of each role a cache version holds (those that read), the floor of an update from it. */
function versionFloors(version: CacheVersion | undefined): Map<string, number> {
  const floors = new Map<string, number>();
  if (!version) return floors;
  for (const role of TUF_ROLES) {
    try {
      floors.set(role, roleStatus(version.dir, role).version);
    } catch {
      // Unreadable: no floor from it (tuf-js ignores such a file too).
    }
  }
  return floors;
}

/**
 * An update from the mirror into a new cache version; the cache in use is untouched unless it
 * succeeds. Started from the cached metadata, tuf-js refuses a mirror that serves older versions
 * (its rollback checks); and whatever the update started from (a root given to `initialize`
 * that the cached metadata does not verify under), no role may end below the version the cache
 * already trusts.
 */
async function update(spec: UpdateSpec, action: string): Promise<CacheVersion> {
  const staging = await newStaging(spec.cacheDir);
  const fetcher = new MirrorFetcher(join(staging, '.scratch'), spec.timeoutMs, 'imgverify');
  try {
    if (spec.from) await copyVersion(spec.from, staging);
    if (spec.initialRoot) {
      const rootPath = join(staging, 'metadata', 'root.json');
      await rm(rootPath, { force: true });
      await writeNewFile(rootPath, spec.initialRoot);
    }
    const floors = versionFloors(spec.from);
    let bytes: Buffer;
    try {
      bytes = await runUpdater(staging, spec.mirror, spec.targetsUrl, fetcher, false);
    } catch (err) {
      throw classify(err, fetcher, spec.mirror, action);
    }
    for (const [role, floor] of floors) {
      const now = roleStatus(staging, role).version;
      if (now < floor) {
        throw tufError(
          'TUF_METADATA_INVALID',
          `${action}: rollback refused: the ${role} metadata verified is version ${now}, older than version ${floor} that the cache ${spec.cacheDir} already trusts ` +
            '(to trust a repository that started over, use a new --tuf-cache folder)',
          { mirror: spec.mirror, role, version: now, cached: floor },
        );
      }
    }
    try {
      trustRootFromText(bytes, `TUF ${spec.mirror}`);
    } catch (err) {
      throw tufError(
        'TUF_METADATA_INVALID',
        `${action}: the ${TRUSTED_ROOT_TARGET} target of ${spec.mirror} is signed but is not a usable trusted root: ${errorMessage(err)}`,
        { mirror: spec.mirror },
        err,
      );
    }
    await rm(join(staging, '.scratch'), { recursive: true, force: true });
    return await publish(spec.cacheDir, staging, { format: 1, mirror: spec.mirror, targetsUrl: spec.targetsUrl, updatedAt: new Date().toISOString() });
  } catch (err) {
    await rm(staging, { recursive: true, force: true });
    throw err;
  } finally {
    await fetcher.close();
  }
}

/**
 * Runs `fn` on the current version; when it fails because that version was removed meanwhile
 * (another process published a newer one and pruned it), starts over once on the version now
 * current.
 */
async function withCurrentVersion<T>(cacheDir: string, fn: (version: CacheVersion) => Promise<T>, hint = ''): Promise<T> {
  const first = currentVersionOrThrow(cacheDir, hint);
  try {
    return await fn(first);
  } catch (err) {
    const now = currentVersion(cacheDir);
    if (existsSync(first.dir) || !now || now.dir === first.dir) throw err;
    return fn(now);
  }
}

/** The current version; TUF_NOT_INITIALIZED when there is none, saying whether the cache is missing or damaged. */
function currentVersionOrThrow(cacheDir: string, hint = ''): CacheVersion {
  const version = currentVersion(cacheDir);
  if (version) return version;
  const state = tufCacheState(cacheDir);
  if (state === 'not a folder')
    throw new ImgverifyError('INVALID_OPTIONS', `the TUF cache folder ${cacheDir} cannot be used: it is not a folder`, { details: { cacheDir } });
  if (state === 'damaged') {
    throw tufError(
      'TUF_NOT_INITIALIZED',
      `the TUF cache ${cacheDir} is damaged (no readable current version): it is not used, and no other trust is used in its place; ` +
        `run imgverify initialize${hint} to rebuild it, or remove the folder`,
      { cacheDir, state: 'damaged' },
    );
  }
  throw tufError('TUF_NOT_INITIALIZED', `no TUF metadata is cached in ${cacheDir}: run imgverify initialize${hint} first`, { cacheDir });
}

// --- The public API ------------------------------------------------------------------------------

interface Resolved {
  readonly cacheDir: string;
  readonly mirror: string;
  readonly targetsUrl: string;
  readonly timeoutMs: number;
  readonly maxAgeMs: number;
  readonly offline: boolean;
}

/** Longest per-request timeout (as the registry client's `timeoutMs`). */
const MAX_TIMEOUT_MS = 3_600_000;

function resolveOptions(options: TufOptions): Resolved {
  const mirror = normalizeMirror(options.mirror ?? PUBLIC_GOOD_TUF_MIRROR);
  const timeoutMs = options.timeoutMs ?? DEFAULT_TIMEOUT_MS;
  if (typeof timeoutMs !== 'number' || !Number.isSafeInteger(timeoutMs) || timeoutMs < 1 || timeoutMs > MAX_TIMEOUT_MS) {
    throw new ImgverifyError('INVALID_OPTIONS', `timeoutMs must be an integer from 1 to ${MAX_TIMEOUT_MS}, got ${describeValue(timeoutMs)}`);
  }
  const maxAgeMs = options.maxAgeMs ?? DEFAULT_TUF_MAX_AGE_MS;
  if (typeof maxAgeMs !== 'number' || !(maxAgeMs >= 0) || !Number.isFinite(maxAgeMs)) {
    throw new ImgverifyError('INVALID_OPTIONS', `maxAgeMs must be a number of milliseconds from 0, got ${describeValue(maxAgeMs)}`);
  }
  if (options.cacheDir !== undefined && (typeof options.cacheDir !== 'string' || options.cacheDir === '')) {
    throw new ImgverifyError('INVALID_OPTIONS', `cacheDir must be a folder path, got ${describeValue(options.cacheDir)}`);
  }
  return {
    cacheDir: resolve(options.cacheDir ?? defaultTufCacheDir()),
    mirror,
    targetsUrl: targetsUrl(mirror, options.targets),
    timeoutMs,
    maxAgeMs,
    offline: options.offline === true,
  };
}

/**
 * A trust root kept current by TUF: `current()` is the verified `trusted_root.json` of the
 * mirror, `refresh()` updates it when due (a long-running process calls it periodically). Pass
 * it as `trustedRoot` to `createVerifier`: verifiers read it at every verification.
 */
export class TufTrustRoot implements TrustRootProvider {
  readonly source: string;
  private root: LoadedTrustRoot;
  private state: TufStatus;
  private refreshing: Promise<TufRefreshResult> | undefined;

  /** @internal */
  constructor(
    private readonly options: Resolved,
    loaded: { root: LoadedTrustRoot; status: TufStatus },
    /** Warnings of the load (a refresh that was due and failed). */
    readonly warnings: readonly string[] = [],
  ) {
    this.source = `TUF ${options.mirror}`;
    this.root = loaded.root;
    this.state = loaded.status;
  }

  /**
   * The verified trusted root. Once the TUF metadata has expired (no refresh succeeded in
   * time), throws TUF_METADATA_EXPIRED: a verifier then reports that error for every image
   * (fail closed) until a refresh succeeds.
   */
  current(): LoadedTrustRoot {
    if (this.expiresMs <= Date.now()) {
      throw tufError('TUF_METADATA_EXPIRED', `the TUF metadata of ${this.options.mirror} expired at ${this.state.expires} and was not refreshed`, {
        mirror: this.options.mirror,
        expires: this.state.expires,
      });
    }
    return this.root;
  }

  private get expiresMs(): number {
    return Date.parse(this.state.expires);
  }

  /** Versions and expiry of the metadata in use, and when it was last updated. */
  status(): TufStatus {
    return this.state;
  }

  /**
   * Updates from the mirror when the last update is older than `maxAgeMs` or metadata expired
   * (always with `force`). A mirror that does not answer, or answers with data that does not
   * verify, leaves the current root in use (the result says why) while the cached metadata is
   * valid; once it has expired, throws TUF_METADATA_EXPIRED. Concurrent calls share one update.
   */
  refresh(options: { force?: boolean } = {}): Promise<TufRefreshResult> {
    this.refreshing ??= this.doRefresh(options.force === true).finally(() => (this.refreshing = undefined));
    return this.refreshing;
  }

  private async doRefresh(force: boolean): Promise<TufRefreshResult> {
    const { cacheDir } = this.options;
    return withCurrentVersion(cacheDir, async (version) => {
      if (this.options.offline || (!force && !isStale(version, this.options.maxAgeMs))) {
        // Another process may have updated the cache; an expired one throws TUF_METADATA_EXPIRED.
        if (version.state.updatedAt !== this.state.updatedAt || Date.parse(this.state.expires) <= Date.now()) this.adopt(await verifyCached(version, cacheDir));
        return { updated: false };
      }
      const outcome = await updateOrKeep(this.options, version);
      this.adopt(outcome.loaded);
      return { updated: outcome.updated, ...(outcome.warning !== undefined ? { warning: outcome.warning } : {}) };
    });
  }

  private adopt(loaded: { root: LoadedTrustRoot; status: TufStatus }): void {
    this.root = loaded.root;
    this.state = loaded.status;
  }
}

/**
 * `imgverify initialize`: a TUF update against the mirror, from the given root (else the
 * cache's own root for the same mirror, else the root that ships in `@sigstore/tuf` for the
 * public-good mirror), verified and cached. Fails with TUF_METADATA_INVALID (bad data),
 * TUF_MIRROR_UNREACHABLE, TRUST_ROOT_INVALID (the root given) or INVALID_OPTIONS, leaving the
 * cache in use untouched.
 */
export async function initializeTuf(options: TufOptions = {}): Promise<TufTrustRoot> {
  const resolved = resolveOptions(options);
  if (resolved.offline) throw new ImgverifyError('INVALID_OPTIONS', 'initialize updates from the mirror: it cannot be offline');
  const { cacheDir, mirror } = resolved;
  let initialRoot: Buffer | undefined;
  if (options.root !== undefined) {
    initialRoot = await readInitialRoot(options.root, resolved.timeoutMs);
    checkRootShape(initialRoot, Buffer.isBuffer(options.root) ? '(bytes)' : options.root);
  }
  const run = async (existing: CacheVersion | undefined): Promise<CacheVersion> => {
    // The cached metadata of the same mirror seeds the update, a given root or not: the mirror
    // may not serve versions below what the cache already trusts.
    const from = existing && existing.state.mirror === mirror ? existing : undefined;
    const root = initialRoot ?? (from ? undefined : embeddedRoot(mirror));
    if (!root && !from) {
      throw new ImgverifyError('INVALID_OPTIONS', `no root ships for the TUF mirror ${mirror}: give its initial root.json (--root FILE|URL)`, {
        details: { mirror },
      });
    }
    return update(
      { cacheDir, mirror, targetsUrl: resolved.targetsUrl, timeoutMs: resolved.timeoutMs, ...(root ? { initialRoot: root } : {}), ...(from ? { from } : {}) },
      `initializing from ${mirror}`,
    );
  };
  const version = currentVersion(cacheDir) ? await withCurrentVersion(cacheDir, run) : await run(undefined);
  return new TufTrustRoot(resolved, await verifyCached(version, cacheDir));
}

/**
 * The trust root of an initialized TUF cache: updated from the mirror first when due (the
 * last update older than `maxAgeMs`, or metadata expired) and not `offline`. When the mirror
 * does not answer or answers with bad data, the cached metadata is used while still valid, and
 * `warnings` says so; expired, TUF_METADATA_EXPIRED (operational). An uninitialized cache is
 * TUF_NOT_INITIALIZED.
 */
export async function loadTufTrustRoot(options: TufOptions = {}): Promise<TufTrustRoot> {
  const resolved = resolveOptions(options);
  const hint = options.cacheDir ? ' --tuf-cache DIR' : '';
  return withCurrentVersion(
    resolved.cacheDir,
    async (version) => {
      if (options.mirror !== undefined && version.state.mirror !== resolved.mirror) {
        throw new ImgverifyError(
          'INVALID_OPTIONS',
          `the TUF cache ${resolved.cacheDir} holds ${version.state.mirror}, not ${resolved.mirror}: run imgverify initialize --mirror ${resolved.mirror}`,
        );
      }
      const used: Resolved = { ...resolved, mirror: version.state.mirror, targetsUrl: version.state.targetsUrl };
      if (used.offline || !isStale(version, used.maxAgeMs)) return new TufTrustRoot(used, await verifyCached(version, used.cacheDir));
      const outcome = await updateOrKeep(used, version);
      return new TufTrustRoot(used, outcome.loaded, outcome.warning !== undefined ? [outcome.warning] : []);
    },
    hint,
  );
}

/**
 * An update from the mirror; when it fails, the cached metadata while it is still valid (with
 * a warning saying why), else TUF_METADATA_EXPIRED naming both failures.
 */
async function updateOrKeep(
  options: Resolved,
  version: CacheVersion,
): Promise<{ loaded: { root: LoadedTrustRoot; status: TufStatus }; updated: boolean; warning?: string }> {
  const { cacheDir, mirror } = options;
  let error: ImgverifyError;
  try {
    const next = await update({ cacheDir, mirror, targetsUrl: options.targetsUrl, timeoutMs: options.timeoutMs, from: version }, `refreshing ${mirror}`);
    return { loaded: await verifyCached(next, cacheDir), updated: true };
  } catch (err) {
    error = err instanceof ImgverifyError ? err : tufError('TUF_METADATA_INVALID', `refreshing ${mirror}: ${errorMessage(err)}`, { mirror }, err);
  }
  let cached: { root: LoadedTrustRoot; status: TufStatus };
  try {
    cached = await verifyCached(version, cacheDir);
  } catch (expired) {
    if (expired instanceof ImgverifyError && expired.code === 'TUF_METADATA_EXPIRED') {
      throw tufError(
        'TUF_METADATA_EXPIRED',
        `${expired.message}; the update failed: ${error.message} [${error.code}]`,
        { ...expired.details, update: error.code },
        error,
      );
    }
    throw expired;
  }
  const warning = `${error.message} [${error.code}]; using the cached TUF metadata (timestamp version ${cached.status.timestamp.version}, valid until ${cached.status.expires})`;
  return { loaded: cached, updated: false, warning };
}

/**
 * A TUF repository held in memory (policy-controller's TrustRoot `repository`: a tarball of
 * the repository, for air-gapped clusters): verified from `root` with tuf-js, no network.
 * `files` maps paths inside the repository (`root.json`, `timestamp.json`, `targets/…`) to bytes.
 */
export async function trustRootFromTufRepository(
  root: Buffer,
  files: ReadonlyMap<string, Buffer>,
  options: { readonly source: string; readonly scratchDir: string; readonly targets?: string },
): Promise<{ root: LoadedTrustRoot; status: Omit<TufStatus, 'cacheDir' | 'mirror' | 'updatedAt'> }> {
  checkRootShape(root, options.source);
  const base = 'tuf-repository://repository';
  const byUrl = new Map([...files].map(([path, bytes]) => [`${base}/${path.replace(/^\/+/, '')}`, bytes]));
  await ensureCacheDir(options.scratchDir);
  const dir = join(options.scratchDir, `repository-${randomBytes(6).toString('hex')}`);
  await mkdir(dir, { mode: 0o700 });
  const fetcher = new MemoryFetcher(join(dir, '.scratch'), byUrl);
  try {
    await mkdir(join(dir, 'metadata'));
    await mkdir(join(dir, 'targets'));
    await writeNewFile(join(dir, 'metadata', 'root.json'), root);
    let bytes: Buffer;
    try {
      bytes = await runUpdater(dir, base, targetsUrl(base, options.targets), fetcher, false);
    } catch (err) {
      const failure = fetcher.failures[0];
      const why = failure ? failure.message.replace(`${base}/`, '') : errorMessage(err);
      throw tufError('TUF_METADATA_INVALID', `${options.source}: the TUF repository does not verify: ${why}`, { source: options.source }, err);
    }
    const loaded = trustRootFromText(bytes, options.source);
    const status = statusOf({ dir, state: { format: 1, mirror: base, targetsUrl: base, updatedAt: new Date().toISOString() } }, dir, bytes);
    const { cacheDir: _c, mirror: _m, updatedAt: _u, ...rest } = status;
    return { root: loaded, status: rest };
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}
