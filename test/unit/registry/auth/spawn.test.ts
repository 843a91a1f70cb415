/**
 * Credential programs run bounded (src/registry/auth/spawn.ts): found only in absolute PATH
 * directories (issue 20.13), stopped as a process group with their pipes closed, and answered
 * as soon as the program itself has exited even when a child of it holds the pipes (issue 20.5).
 */
import { chmodSync, existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { BoundedRunError, findOnPath, runBounded } from '../../../../src/registry/auth/spawn';
import { isAlive as alive, within } from '../../../support/processes';

let dir: string;
beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'imgverify-spawn-'));
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

function script(name: string, body: string): string {
  const path = join(dir, name);
  writeFileSync(path, `#!/bin/sh\n${body}\n`);
  chmodSync(path, 0o755);
  return path;
}

const run = (program: string, extra: Partial<Parameters<typeof runBounded>[0]> = {}) =>
  runBounded({ program, args: [], env: { PATH: '/usr/bin:/bin' }, input: '', timeoutMs: 20_000, maxOutputBytes: 1024, ...extra });

test('a program that answers and exits while its child holds the pipes: the answer comes at once, and the child goes', async () => {
  const pidFile = join(dir, 'child.pid');
  const program = script('answers-and-leaves', `sleep 100 &\necho $! > ${pidFile}\nprintf '{"ok":true}'\nexit 0`);
  const result = await run(program);
  expect(result).toMatchObject({ code: 0 });
  expect(result.stdout.toString()).toBe('{"ok":true}');
  const child = Number(readFileSync(pidFile, 'utf8'));
  expect(await within(5000, () => !alive(child))).toBe(true);
});

test('a program whose child hangs: the signal stops the whole group', async () => {
  const pidFile = join(dir, 'hang.pid');
  const program = script('hangs', `sleep 100 &\necho $! > ${pidFile}\nwait`);
  const stop = new AbortController();
  const pending = run(program, { signal: stop.signal });
  expect(await within(5000, () => existsSync(pidFile))).toBe(true);
  stop.abort();
  await expect(pending).rejects.toBeInstanceOf(BoundedRunError);
  expect(await within(5000, () => !alive(Number(readFileSync(pidFile, 'utf8'))))).toBe(true);
});

test('findOnPath: absolute directories only (empty and relative PATH entries are the working directory)', () => {
  const program = script('docker-credential-here', 'exit 0');
  expect(findOnPath('docker-credential-here', `/nonexistent:${dir}`)).toBe(program);
  const cwd = process.cwd();
  process.chdir(dir);
  try {
    expect(findOnPath('docker-credential-here', '/nonexistent:')).toBeUndefined();
    expect(findOnPath('docker-credential-here', '/nonexistent:.')).toBeUndefined();
    expect(findOnPath('docker-credential-here', `/nonexistent:../${dir.split('/').pop()}`)).toBeUndefined();
  } finally {
    process.chdir(cwd);
  }
  expect(findOnPath('docker-credential-here', undefined)).toBeUndefined();
});
