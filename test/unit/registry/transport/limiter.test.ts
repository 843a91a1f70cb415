/** The per-registry cap on requests in flight: FIFO waiting, halving on 429, Retry-After, recovery. */
import { RegistryLimiter, type Slot } from '../../../../src/registry/transport/limiter';

const settled = async (): Promise<void> => {
  for (let i = 0; i < 5; i++) await Promise.resolve();
};

describe('RegistryLimiter', () => {
  afterEach(() => jest.useRealTimers());

  test('at most the cap in flight per registry; the rest start in arrival order as slots are released', async () => {
    const limiter = new RegistryLimiter(2);
    const started: number[] = [];
    const slots: Slot[] = [];
    const all = [0, 1, 2, 3, 4].map((i) =>
      limiter.acquire('r.test').then((slot) => {
        started.push(i);
        slots.push(slot);
      }),
    );
    // Another registry has its own cap.
    await limiter.acquire('other.test');
    await settled();
    expect(started).toEqual([0, 1]);
    expect(limiter.load('r.test')).toEqual({ cap: 2, inFlight: 2, waiting: 3 });
    slots[0]!.release();
    slots[0]!.release(); // twice is once
    await settled();
    expect(started).toEqual([0, 1, 2]);
    slots[1]!.release();
    slots[2]!.release();
    await settled();
    expect(started).toEqual([0, 1, 2, 3, 4]);
    await Promise.all(all);
  });

  test('a 429 halves the cap once per round, not once per request sent under the old cap', async () => {
    const limiter = new RegistryLimiter(32);
    const round = await Promise.all(Array.from({ length: 8 }, () => limiter.acquire('r.test')));
    for (const slot of round) slot.throttled();
    expect(limiter.load('r.test').cap).toBe(16);
    for (const slot of round) slot.release();
    // A request sent under the new cap that is refused again halves it again.
    const next = await limiter.acquire('r.test');
    next.throttled();
    next.release();
    expect(limiter.load('r.test').cap).toBe(8);
    for (let i = 0; i < 20; i++) {
      const s = await limiter.acquire('r.test');
      s.throttled();
      s.release();
    }
    expect(limiter.load('r.test').cap).toBe(1);
  });

  test('answers raise the cap back by one per round of answers, up to the connection limit', async () => {
    const limiter = new RegistryLimiter(8);
    const first = await limiter.acquire('r.test');
    first.throttled();
    first.release();
    expect(limiter.load('r.test').cap).toBe(4);
    const answer = async (): Promise<void> => {
      const s = await limiter.acquire('r.test');
      s.answered();
      s.release();
    };
    for (let i = 0; i < 4; i++) await answer();
    expect(limiter.load('r.test').cap).toBe(5);
    for (let i = 0; i < 100; i++) await answer();
    expect(limiter.load('r.test').cap).toBe(8);
  });

  test("Retry-After holds the registry's new requests until then", async () => {
    jest.useFakeTimers({ now: 1_000_000 });
    const limiter = new RegistryLimiter(4);
    const refused = await limiter.acquire('r.test');
    refused.throttled();
    refused.pause(1000);
    refused.release();
    expect(limiter.load('r.test')).toMatchObject({ cap: 2, pausedUntil: 1_001_000 });
    let started = false;
    const waiting = limiter.acquire('r.test').then((slot) => {
      started = true;
      return slot;
    });
    const elsewhere = await limiter.acquire('other.test');
    elsewhere.release();
    await jest.advanceTimersByTimeAsync(999);
    expect(started).toBe(false);
    await jest.advanceTimersByTimeAsync(1);
    expect(started).toBe(true);
    (await waiting).release();
  });

  test('a request whose deadline passes while it waits leaves the queue with its reason and takes no slot', async () => {
    const limiter = new RegistryLimiter(1);
    const held = await limiter.acquire('r.test');
    const controller = new AbortController();
    const waiting = limiter.acquire('r.test', controller.signal);
    const after = limiter.acquire('r.test');
    controller.abort(new Error('deadline'));
    await expect(waiting).rejects.toThrow('deadline');
    expect(limiter.load('r.test')).toEqual({ cap: 1, inFlight: 1, waiting: 1 });
    held.release();
    (await after).release();
    expect(limiter.load('r.test')).toEqual({ cap: 1, inFlight: 0, waiting: 0 });
    await expect(limiter.acquire('r.test', AbortSignal.abort(new Error('already')))).rejects.toThrow('already');
  });

  test('when the last request held by Retry-After gives up, no timer is left behind', async () => {
    jest.useFakeTimers({ now: 1_000_000 });
    const limiter = new RegistryLimiter(4);
    const refused = await limiter.acquire('r.test');
    refused.pause(10_000);
    refused.release();
    const controller = new AbortController();
    const waiting = limiter.acquire('r.test', controller.signal);
    expect(jest.getTimerCount()).toBe(1);
    controller.abort(new Error('deadline'));
    await expect(waiting).rejects.toThrow('deadline');
    expect(jest.getTimerCount()).toBe(0);
  });
});
