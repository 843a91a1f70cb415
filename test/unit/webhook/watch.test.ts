/**
 * watchFolders: the debounced folder watcher behind the policy folder and the serving
 * certificate. Real folders and real file-system events; waits are for events, not timings.
 */
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { watchFolders } from '../../../src/webhook/watch';

let root: string;
const stops: Array<() => void> = [];

beforeEach(() => {
  root = mkdtempSync(join(tmpdir(), 'imgverify-watch-'));
});

afterEach(() => {
  for (const stop of stops.splice(0)) stop();
  rmSync(root, { recursive: true, force: true });
});

function watch(...args: Parameters<typeof watchFolders>): () => void {
  const stop = watchFolders(...args);
  stops.push(stop);
  return stop;
}

async function until(condition: () => boolean, what: string, timeoutMs = 10_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
}

const pause = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

test('a burst of changes is one run after the quiet time', async () => {
  let runs = 0;
  watch([root], () => void runs++, { debounceMs: 150, pollIntervalMs: 0 });
  for (let i = 0; i < 5; i++) writeFileSync(join(root, `f${i}`), 'x');
  await until(() => runs > 0, 'a run');
  await pause(400);
  expect(runs).toBe(1);
});

test('runAtStart runs once right away; without it nothing runs until a change', async () => {
  let eager = 0;
  let lazy = 0;
  watch([root], () => void eager++, { debounceMs: 20, pollIntervalMs: 0, runAtStart: true });
  watch([root], () => void lazy++, { debounceMs: 20, pollIntervalMs: 0 });
  await until(() => eager === 1, 'the first run');
  await pause(100);
  expect(lazy).toBe(0);
  writeFileSync(join(root, 'a'), 'x');
  await until(() => lazy === 1 && eager === 2, 'runs after a change');
});

test('the poll runs without events', async () => {
  let runs = 0;
  watch([join(root, 'quiet')], () => void runs++, { debounceMs: 20, pollIntervalMs: 30 });
  await until(() => runs >= 3, 'three polls');
});

test('runs never overlap: a change during a run makes exactly one more run after it', async () => {
  let active = 0;
  let maxActive = 0;
  let runs = 0;
  let release: () => void = () => undefined;
  watch(
    [root],
    async () => {
      runs++;
      active++;
      maxActive = Math.max(maxActive, active);
      if (runs === 1) await new Promise<void>((resolve) => (release = resolve));
      active--;
    },
    { debounceMs: 10, pollIntervalMs: 0, runAtStart: true },
  );
  await until(() => runs === 1, 'the first run');
  for (let i = 0; i < 3; i++) {
    writeFileSync(join(root, `f${i}`), 'x');
    await pause(50); // each change debounced on its own, all while the first run is busy
  }
  release();
  await until(() => runs === 2 && active === 0, 'the second run');
  await pause(100);
  expect(runs).toBe(2);
  expect(maxActive).toBe(1);
});

test('a folder that does not exist yet is told once, and polled until it does', async () => {
  const later = join(root, 'later');
  const errors: string[] = [];
  let runs = 0;
  watch([later], () => void runs++, {
    debounceMs: 20,
    pollIntervalMs: 40,
    onWatchError: (dir, err) => errors.push(`${dir}: ${(err as NodeJS.ErrnoException).code}`),
  });
  await until(() => runs >= 3, 'polls');
  expect(errors).toEqual([`${later}: ENOENT`]);
  mkdirSync(later);
  writeFileSync(join(later, 'a'), 'x');
  await until(() => runs >= 6, 'more polls');
  expect(errors).toEqual([`${later}: ENOENT`]);
});

test('after stop nothing runs: no pending debounce, no poll, no event', async () => {
  let runs = 0;
  const stop = watch([root], () => void runs++, { debounceMs: 100, pollIntervalMs: 30 });
  writeFileSync(join(root, 'a'), 'x'); // a debounced run pending, a poll due soon
  await pause(20);
  stop();
  const before = runs;
  writeFileSync(join(root, 'b'), 'x');
  await pause(300);
  expect(runs).toBe(before);
});
