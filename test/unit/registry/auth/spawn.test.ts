/**
 * Credential programs run bounded (src/registry/auth/spawn.ts): found only in absolute PATH
 * directories (issue 20.13), stopped as a process group with their pipes closed, and answered
 * as soon as the program itself has exited even when a child of it holds the pipes (issue 20.5).
 */
import { chmodSync, existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { BoundedRunError, findOnPath, runBounded } from '../../../../src/registry/auth/spawn';

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

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

async function until(check: () => boolean, ms: number): Promise<boolean> {
  for (const end = Date.now() + ms; Date.now() < end; await new Promise((r) => setTimeout(r, 25))) if (check()) return true;
  return check();
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
  expect(await until(() => !alive(child), 5000)).toBe(true);
});

test('a program whose child hangs: the signal stops the whole group', async () => {
  const pidFile = join(dir, 'hang.pid');
  const program = script('hangs', `sleep 100 &\necho $! > ${pidFile}\nwait`);
  const stop = new AbortController();
  const pending = run(program, { signal: stop.signal });
  expect(await until(() => existsSync(pidFile), 5000)).toBe(true);
  stop.abort();
  await expect(pending).rejects.toBeInstanceOf(BoundedRunError);
  expect(await until(() => !alive(Number(readFileSync(pidFile, 'utf8'))), 5000)).toBe(true);
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
