import { ImgverifyError, parseReference, type CallCredentials, type ImageReference } from '../../../src/index';
import { TagCache, type TagRefresher, type TagRefreshResult } from '../../../src/webhook/tag-cache';

const D1 = `sha256:${'1'.repeat(64)}`;
const D2 = `sha256:${'2'.repeat(64)}`;
const ref = parseReference('registry.test/team/app:v1');

/** The registry as the cache sees it: where each tag points now, and every request made. */
class FakeRegistry {
  tags = new Map<string, string>([['registry.test/team/app:v1', D1]]);
  readonly foreground: string[] = [];
  readonly background: Array<{ image: string; credentials: CallCredentials | undefined }> = [];
  failWith: ImgverifyError | undefined;
  /** A refresh waits on this, when set. */
  hold: Promise<void> | undefined;

  private lookup(r: ImageReference): string {
    if (this.failWith) throw this.failWith;
    const digest = this.tags.get(`${r.registry}/${r.repository}:${r.tag}`);
    if (!digest) throw new ImgverifyError('IMAGE_NOT_FOUND', 'no such tag');
    return digest;
  }

  now(r: ImageReference = ref): () => Promise<string> {
    return async () => {
      this.foreground.push(`${r.repository}:${r.tag}`);
      return this.lookup(r);
    };
  }

  readonly refresher: TagRefresher = async (r, signal, credentials) => {
    this.background.push({ image: `${r.repository}:${r.tag}`, credentials });
    if (this.hold) await this.hold;
    signal.throwIfAborted();
    return this.lookup(r);
  };
}

/** Lets promise callbacks run (refreshes settle) without moving the clock. */
const settle = async (): Promise<void> => {
  for (let i = 0; i < 5; i++) await Promise.resolve();
};

/** Moves the clock in steps of one second, letting refreshes settle in between (as real time would). */
const advance = async (ms: number): Promise<void> => {
  for (let left = ms; left > 0; left -= 1000) {
    jest.advanceTimersByTime(Math.min(1000, left));
    await settle();
  }
};

describe('TagCache', () => {
  let registry: FakeRegistry;
  let refreshes: TagRefreshResult[];
  let lookups: string[];
  let cache: TagCache;
  const make = (options: { maxAgeMs?: number; idleMs?: number; maxEntries?: number; concurrency?: number } = {}) =>
    new TagCache({ maxAgeMs: 30_000, ...options, onRefresh: (r) => refreshes.push(r), onLookup: (r) => lookups.push(r) }, registry.refresher);

  beforeEach(() => {
    jest.useFakeTimers();
    registry = new FakeRegistry();
    refreshes = [];
    lookups = [];
    cache = make();
  });
  afterEach(() => {
    cache.close();
    jest.useRealTimers();
  });

  it('answers a tag resolved less than maxAge ago without asking the registry', async () => {
    expect(await cache.digest(ref, {}, registry.now())).toBe(D1);
    jest.advanceTimersByTime(19_000);
    expect(await cache.digest(ref, {}, registry.now())).toBe(D1);
    expect(registry.foreground).toHaveLength(1);
    expect(registry.background).toHaveLength(0);
    expect(lookups).toEqual(['miss', 'hit']);
  });

  it('refreshes an asked-for tag in the background at 2/3 of maxAge, so a moved tag is seen within maxAge without an admission waiting', async () => {
    await cache.digest(ref, {}, registry.now());
    registry.tags.set('registry.test/team/app:v1', D2);
    // Before the refresh the last resolution still counts (it is younger than maxAge).
    jest.advanceTimersByTime(15_000);
    expect(await cache.digest(ref, {}, registry.now())).toBe(D1);
    jest.advanceTimersByTime(6_000);
    await settle();
    expect(registry.background).toHaveLength(1);
    expect(refreshes).toEqual(['moved']);
    expect(await cache.digest(ref, {}, registry.now())).toBe(D2);
    expect(registry.foreground).toHaveLength(1);
  });

  it('never uses a resolution older than maxAge: while refreshes fail, the next admission asks the registry itself', async () => {
    await cache.digest(ref, {}, registry.now());
    registry.failWith = new ImgverifyError('REGISTRY_ERROR', 'the registry answered 503');
    jest.advanceTimersByTime(29_000);
    await settle();
    expect(refreshes.length).toBeGreaterThan(0);
    expect(refreshes.every((r) => r === 'failed')).toBe(true);
    // Still within the bound: the last digest.
    expect(await cache.digest(ref, {}, registry.now())).toBe(D1);
    jest.advanceTimersByTime(1_000);
    // Past it: the admission's own request, and its failure (fail closed).
    await expect(cache.digest(ref, {}, registry.now())).rejects.toThrow('503');
    registry.failWith = undefined;
    registry.tags.set('registry.test/team/app:v1', D2);
    expect(await cache.digest(ref, {}, registry.now())).toBe(D2);
    expect(registry.foreground).toHaveLength(3);
  });

  it.each(['IMAGE_NOT_FOUND', 'REGISTRY_AUTH_FAILED'] as const)('drops a tag at once when a refresh says %s', async (code) => {
    await cache.digest(ref, {}, registry.now());
    registry.failWith = new ImgverifyError(code, 'gone');
    jest.advanceTimersByTime(21_000);
    await settle();
    expect(refreshes).toEqual(['dropped']);
    expect(cache.size).toBe(0);
    await expect(cache.digest(ref, {}, registry.now())).rejects.toThrow('gone');
  });

  it('stops refreshing a tag nobody asked for within idleMs', async () => {
    cache.close();
    cache = make({ idleMs: 60_000 });
    await cache.digest(ref, {}, registry.now());
    await advance(59_000);
    const refreshed = registry.background.length;
    expect(refreshed).toBeGreaterThanOrEqual(2);
    await advance(120_000);
    expect(registry.background.length).toBe(refreshed);
    expect(cache.size).toBe(0);
  });

  it('keeps resolutions per credential scope: one made with an object’s pull secrets serves only that scope', async () => {
    const secretA: CallCredentials = { lookup: async () => ({ candidates: [], searched: 'test' }) };
    expect(await cache.digest(ref, { fingerprint: 'ns-a/regcred', credentials: secretA }, registry.now())).toBe(D1);
    // Another scope (another namespace, or none) resolves for itself.
    await cache.digest(ref, { fingerprint: 'ns-b/default' }, registry.now());
    await cache.digest(ref, {}, registry.now());
    expect(registry.foreground).toHaveLength(3);
    expect(cache.size).toBe(3);
    // Each scope's refresh carries that scope's credentials.
    jest.advanceTimersByTime(21_000);
    await settle();
    expect(registry.background.map((b) => b.credentials)).toEqual(expect.arrayContaining([secretA, undefined, undefined]));
    expect(registry.background).toHaveLength(3);
  });

  it('shares one foreground resolution between concurrent admissions of a scope', async () => {
    let release!: () => void;
    const gate = new Promise<void>((r) => (release = r));
    const slow = async (): Promise<string> => {
      registry.foreground.push('slow');
      await gate;
      return D1;
    };
    const a = cache.digest(ref, {}, slow);
    const b = cache.digest(ref, {}, registry.now());
    release();
    expect(await Promise.all([a, b])).toEqual([D1, D1]);
    expect(registry.foreground).toEqual(['slow']);
  });

  it('a joiner whose leader failed on its own deadline resolves for itself', async () => {
    const leader = new AbortController();
    let fail!: (err: Error) => void;
    const leading = cache.digest(ref, {}, () => new Promise<string>((_, reject) => (fail = reject)), leader.signal);
    const joiner = cache.digest(ref, {}, registry.now());
    leader.abort(new ImgverifyError('REGISTRY_TIMEOUT', 'leader deadline'));
    fail(new ImgverifyError('REGISTRY_TIMEOUT', 'leader deadline'));
    await expect(leading).rejects.toThrow('leader deadline');
    expect(await joiner).toBe(D1);
  });

  it('an admission whose resolution expired joins the refresh in flight', async () => {
    await cache.digest(ref, {}, registry.now());
    // The refreshes at 20 s and 22 s fail; the one at 24 s is still on its way at 30 s.
    registry.failWith = new ImgverifyError('REGISTRY_ERROR', 'the registry answered 503');
    await advance(23_000);
    expect(refreshes).toEqual(['failed', 'failed']);
    registry.failWith = undefined;
    let release!: () => void;
    registry.hold = new Promise<void>((r) => (release = r));
    registry.tags.set('registry.test/team/app:v1', D2);
    await advance(7_500);
    expect(registry.background).toHaveLength(3);
    const waiting = cache.digest(ref, {}, registry.now());
    release();
    expect(await waiting).toBe(D2);
    expect(registry.foreground).toHaveLength(1);
  });

  it('holds at most maxEntries tags, the least recently asked-for leaving first', async () => {
    cache.close();
    cache = make({ maxEntries: 2 });
    const refs = ['a', 'b', 'c'].map((name) => parseReference(`registry.test/team/${name}:v1`));
    for (const r of refs) registry.tags.set(`${r.registry}/${r.repository}:v1`, D1);
    await cache.digest(refs[0]!, {}, registry.now(refs[0]));
    await cache.digest(refs[1]!, {}, registry.now(refs[1]));
    await cache.digest(refs[0]!, {}, registry.now(refs[0]));
    await cache.digest(refs[2]!, {}, registry.now(refs[2]));
    expect(cache.size).toBe(2);
    registry.foreground.length = 0;
    await cache.digest(refs[0]!, {}, registry.now(refs[0]));
    await cache.digest(refs[1]!, {}, registry.now(refs[1]));
    expect(registry.foreground).toEqual(['team/b:v1']);
  });

  it('refreshes at most `concurrency` tags at once', async () => {
    cache.close();
    cache = make({ concurrency: 2 });
    let release!: () => void;
    registry.hold = new Promise<void>((r) => (release = r));
    for (const name of ['a', 'b', 'c', 'd']) {
      const r = parseReference(`registry.test/team/${name}:v1`);
      registry.tags.set(`${r.registry}/${r.repository}:v1`, D1);
      await cache.digest(r, {}, registry.now(r));
    }
    jest.advanceTimersByTime(22_000);
    expect(registry.background).toHaveLength(2);
    release();
    await settle();
    jest.advanceTimersByTime(2_000);
    expect(registry.background).toHaveLength(4);
  });

  it('says whether an answer was kept from before (lookup); resolveAgain asks the registry now and keeps the newer answer', async () => {
    expect(await cache.lookup(ref, {}, registry.now())).toEqual({ digest: D1, kept: false });
    expect(await cache.lookup(ref, {}, registry.now())).toEqual({ digest: D1, kept: true });
    registry.tags.set('registry.test/team/app:v1', D2);
    expect(await cache.resolveAgain(ref, {}, registry.now())).toBe(D2);
    expect(registry.foreground).toHaveLength(2);
    expect(await cache.lookup(ref, {}, registry.now())).toEqual({ digest: D2, kept: true });
    expect(registry.foreground).toHaveLength(2);
    expect(lookups).toEqual(['miss', 'hit', 'miss', 'hit']);
  });

  it('refuses nonsense options', () => {
    expect(() => make({ maxAgeMs: 0 })).toThrow('maxAgeMs must be a positive number');
    expect(() => make({ maxEntries: 1.5 })).toThrow('maxEntries must be a positive integer');
  });
});
