import { connectionsForImages, mapConcurrent } from '../../../src/util/pool';

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

test('never runs more than `concurrency` at once, and yields every result', async () => {
  let running = 0;
  let peak = 0;
  const out: number[] = [];
  for await (const v of mapConcurrent([...Array(20).keys()], 3, async (i) => {
    running++;
    peak = Math.max(peak, running);
    await sleep((i * 7) % 5);
    running--;
    return i;
  })) {
    out.push(v);
  }
  expect(peak).toBe(3);
  expect(out.sort((a, b) => a - b)).toEqual([...Array(20).keys()]);
});

test('yields in completion order', async () => {
  const out: number[] = [];
  for await (const v of mapConcurrent([30, 1, 15], 3, async (ms) => (await sleep(ms), ms))) out.push(v);
  expect(out).toEqual([1, 15, 30]);
});

test('accepts async iterables', async () => {
  async function* gen() {
    yield 1;
    yield 2;
  }
  const out: number[] = [];
  for await (const v of mapConcurrent(gen(), 1, async (x) => x * 2)) out.push(v);
  expect(out).toEqual([2, 4]);
});

test('rejects a bad concurrency', async () => {
  await expect(mapConcurrent([1], 0, async (x) => x).next()).rejects.toThrow(RangeError);
});

test('connectionsForImages: two per image in flight, from 32 to 1024', () => {
  expect([1, 16, 17, 64, 512, 513, 10_000].map(connectionsForImages)).toEqual([32, 32, 34, 128, 1024, 1024, 1024]);
});
