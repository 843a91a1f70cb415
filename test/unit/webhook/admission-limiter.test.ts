import { AdmissionLimiter, type Release } from '../../../src/webhook/admission-limiter';

const limits = { maxConcurrent: 3, maxBytes: 1000, maxQueued: 2, smallBytes: 100 };

describe('AdmissionLimiter (issue 20.3)', () => {
  test('large bodies reserve their bytes; beyond the bytes they wait, and go in order as room is given back', async () => {
    const limiter = new AdmissionLimiter(limits);
    const a = (await limiter.acquire(600, 1000))!;
    expect(limiter.state).toEqual({ running: 1, bytes: 600, queued: 0 });
    const order: string[] = [];
    const b = limiter.acquire(600, 5000).then((r) => (order.push('b'), r));
    const c = limiter.acquire(300, 5000).then((r) => (order.push('c'), r));
    await new Promise((r) => setImmediate(r));
    // c would fit (900) but waits behind b: a large request is not starved.
    expect(limiter.state).toEqual({ running: 1, bytes: 600, queued: 2 });
    a();
    a(); // idempotent
    const [rb, rc] = await Promise.all([b, c]);
    expect(order).toEqual(['b', 'c']);
    expect(limiter.state).toEqual({ running: 2, bytes: 900, queued: 0 });
    rb!();
    rc!();
    expect(limiter.state).toEqual({ running: 0, bytes: 0, queued: 0 });
  });

  test('small bodies need only a slot, and pass large ones waiting for bytes', async () => {
    const limiter = new AdmissionLimiter(limits);
    const big = (await limiter.acquire(5000, 1000))!; // more than maxBytes: reserves all of it
    expect(limiter.state.bytes).toBe(1000);
    const waiting = limiter.acquire(500, 5000);
    const small = await limiter.acquire(50, 0);
    expect(small).toBeDefined();
    expect(limiter.state).toEqual({ running: 2, bytes: 1000, queued: 1 });
    big();
    const r = await waiting;
    expect(limiter.state).toEqual({ running: 2, bytes: 500, queued: 0 });
    small!();
    r!();
  });

  test('refused: when the wait runs out, when the queue is full, when there is no slot and no wait', async () => {
    const limiter = new AdmissionLimiter(limits);
    const held: Release[] = [];
    for (let i = 0; i < 3; i++) held.push((await limiter.acquire(10, 0))!);
    expect(await limiter.acquire(10, 0)).toBeUndefined();
    const timedOut = limiter.acquire(10, 20);
    const queued = limiter.acquire(10, 5000);
    expect(await limiter.acquire(10, 5000)).toBeUndefined(); // queue full (2)
    expect(await timedOut).toBeUndefined();
    expect(limiter.state.queued).toBe(1);
    held[0]!();
    expect(await queued).toBeDefined();
  });

  test('every change is reported (the metrics)', async () => {
    const seen: number[] = [];
    const limiter = new AdmissionLimiter(limits, (state) => seen.push(state.running));
    const r = (await limiter.acquire(10, 0))!;
    r();
    expect(seen).toEqual([1, 0]);
  });
});
