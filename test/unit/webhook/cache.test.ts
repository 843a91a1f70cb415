import { TtlCache, verdictKey } from '../../../src/webhook/cache';

function clock(start = 0) {
  let now = start;
  return { now: () => now, advance: (ms: number) => void (now += ms) };
}

describe('TtlCache', () => {
  test('returns a value until its TTL passes, then forgets it', () => {
    const c = clock();
    const cache = new TtlCache<string>({ ttlMs: 1000, maxEntries: 10, now: c.now });
    cache.set('a', 'A');
    c.advance(999);
    expect(cache.get('a')).toBe('A');
    c.advance(1);
    expect(cache.get('a')).toBeUndefined();
    expect(cache.size).toBe(0);
  });

  test('a per-entry TTL shorter than the cache TTL applies; a longer one is capped', () => {
    const c = clock();
    const cache = new TtlCache<string>({ ttlMs: 1000, maxEntries: 10, now: c.now });
    cache.set('short', 'S', 100);
    cache.set('long', 'L', 60_000);
    c.advance(100);
    expect(cache.get('short')).toBeUndefined();
    expect(cache.get('long')).toBe('L');
    c.advance(900);
    expect(cache.get('long')).toBeUndefined();
  });

  test('is bounded: the least recently used entry goes first', () => {
    const cache = new TtlCache<number>({ ttlMs: 1000, maxEntries: 3 });
    cache.set('a', 1);
    cache.set('b', 2);
    cache.set('c', 3);
    expect(cache.get('a')).toBe(1); // a is now the most recently used
    cache.set('d', 4);
    expect(cache.size).toBe(3);
    expect(cache.get('b')).toBeUndefined();
    expect([cache.get('a'), cache.get('c'), cache.get('d')]).toEqual([1, 3, 4]);
  });

  test('overwriting a key keeps one entry with the new value and a fresh TTL', () => {
    const c = clock();
    const cache = new TtlCache<number>({ ttlMs: 100, maxEntries: 3, now: c.now });
    cache.set('a', 1);
    c.advance(90);
    cache.set('a', 2);
    c.advance(90);
    expect(cache.get('a')).toBe(2);
    expect(cache.size).toBe(1);
  });

  test('a zero TTL or size stores nothing (cache disabled)', () => {
    const noTtl = new TtlCache<number>({ ttlMs: 0, maxEntries: 10 });
    noTtl.set('a', 1);
    expect(noTtl.get('a')).toBeUndefined();
    const noSize = new TtlCache<number>({ ttlMs: 1000, maxEntries: 0 });
    noSize.set('a', 1);
    expect(noSize.size).toBe(0);
  });

  test('prune and clear remove entries', () => {
    const c = clock();
    const cache = new TtlCache<number>({ ttlMs: 100, maxEntries: 10, now: c.now });
    cache.set('old', 1);
    c.advance(50);
    cache.set('new', 2);
    c.advance(60);
    cache.prune();
    expect(cache.size).toBe(1);
    cache.clear();
    expect(cache.size).toBe(0);
  });

  test('rejects nonsensical options', () => {
    expect(() => new TtlCache({ ttlMs: -1, maxEntries: 1 })).toThrow(RangeError);
    expect(() => new TtlCache({ ttlMs: 1, maxEntries: 1.5 })).toThrow(RangeError);
  });
});

describe('TtlCache.getOrRun', () => {
  /** A run the test settles by hand, counting how often it was started. */
  function manual<V>() {
    let resolve!: (v: V) => void;
    let reject!: (e: unknown) => void;
    let runs = 0;
    const run = (): Promise<V> => {
      runs++;
      return new Promise<V>((res, rej) => {
        resolve = res;
        reject = rej;
      });
    };
    return { run, resolve: (v: V) => resolve(v), reject: (e: unknown) => reject(e), runs: () => runs };
  }

  test('concurrent callers for one key share one run; once settled, the value is a hit', async () => {
    const cache = new TtlCache<string>({ ttlMs: 1000, maxEntries: 10 });
    const m = manual<string>();
    const first = cache.getOrRun('k', m.run, () => undefined);
    const second = cache.getOrRun('k', m.run, () => undefined);
    expect(first.how).toBe('run');
    expect(second.how).toBe('joined');
    expect(m.runs()).toBe(1);
    m.resolve('V');
    await expect(first.value).resolves.toBe('V');
    await expect(second.value).resolves.toBe('V');
    expect(cache.getOrRun('k', m.run, () => undefined)).toEqual({ how: 'hit', value: 'V' });
    expect(m.runs()).toBe(1);
  });

  test('keeps a value for the TTL ttlFor gives, or not at all when it says false', async () => {
    const c = clock();
    const cache = new TtlCache<string>({ ttlMs: 1000, maxEntries: 10, now: c.now });
    await cache.getOrRun(
      'short',
      () => Promise.resolve('S'),
      () => 100,
    ).value;
    await cache.getOrRun(
      'never',
      () => Promise.resolve('N'),
      () => false,
    ).value;
    expect(cache.get('never')).toBeUndefined();
    expect(cache.get('short')).toBe('S');
    c.advance(100);
    expect(cache.get('short')).toBeUndefined();
    expect(
      cache.getOrRun(
        'never',
        () => Promise.resolve('again'),
        () => false,
      ).how,
    ).toBe('run');
  });

  test('a rejected run is not kept and is not joined afterwards', async () => {
    const cache = new TtlCache<string>({ ttlMs: 1000, maxEntries: 10 });
    const m = manual<string>();
    const first = cache.getOrRun('k', m.run, () => undefined);
    const joined = cache.getOrRun('k', m.run, () => undefined);
    m.reject(new Error('registry down'));
    await expect(first.value).rejects.toThrow('registry down');
    await expect(joined.value).rejects.toThrow('registry down');
    expect(cache.size).toBe(0);
    const retry = cache.getOrRun(
      'k',
      () => Promise.resolve('ok'),
      () => undefined,
    );
    expect(retry.how).toBe('run');
    await expect(retry.value).resolves.toBe('ok');
  });

  test('clear() forgets entries; a run in flight goes on and keeps its value', async () => {
    const cache = new TtlCache<string>({ ttlMs: 1000, maxEntries: 10 });
    const m = manual<string>();
    const flight = cache.getOrRun('k', m.run, () => undefined);
    cache.clear();
    expect(cache.getOrRun('k', m.run, () => undefined).how).toBe('joined');
    m.resolve('V');
    await flight.value;
    expect(cache.get('k')).toBe('V');
  });
});

describe('verdictKey', () => {
  test('differs when the digest, the policy-set version, the policy or the trust version differ', () => {
    const d1 = `sha256:${'a'.repeat(64)}`;
    const d2 = `sha256:${'b'.repeat(64)}`;
    const keys = new Set([
      verdictKey(d1, 'sha256:v1', 'p', 'sha256:t1'),
      verdictKey(d2, 'sha256:v1', 'p', 'sha256:t1'),
      verdictKey(d1, 'sha256:v2', 'p', 'sha256:t1'),
      verdictKey(d1, 'sha256:v1', 'q', 'sha256:t1'),
      verdictKey(d1, 'sha256:v1', 'p', 'sha256:t2'),
    ]);
    expect(keys.size).toBe(5);
    expect(verdictKey(d1, 'sha256:v1', 'p', 'sha256:t1')).toBe(verdictKey(d1, 'sha256:v1', 'p', 'sha256:t1'));
  });
});
