/** Runs the CLI in-process (fast) or as a real child process (exit codes, stdout as users see it). */
import { spawn } from 'node:child_process';
import { resolve } from 'node:path';
import { run } from '../../src/cli/run';
import type { CommandIO } from '../../src/cli/io';

export interface CliResult {
  code: number;
  stdout: string;
  stderr: string;
}

/** `stdin`: what `-f -` reads (absent: standard input cannot be read, as `readStdin` is not given). */
export async function runCli(argv: string[], env: NodeJS.ProcessEnv = {}, stdin?: string): Promise<CliResult> {
  let stdout = '';
  let stderr = '';
  const io: CommandIO = {
    stdout: (t) => void (stdout += t),
    stderr: (t) => void (stderr += t),
    env: { HOME: '/nonexistent', DOCKER_CONFIG: '/nonexistent', ...env },
    isTTY: false,
    ...(stdin !== undefined ? { readStdin: async () => Buffer.from(stdin) } : {}),
  };
  const code = await run(argv, io);
  return { code, stdout, stderr };
}

export const BUILT_CLI = resolve(__dirname, '..', '..', 'dist', 'cli', 'main.js');

/** Runs the built CLI (`dist/cli/main.js`, from `npm run build`) with the current Node binary. */
export function runBuiltCli(argv: string[], env: NodeJS.ProcessEnv = {}, timeoutMs = 60_000, stdin?: string): Promise<CliResult> {
  return new Promise((resolvePromise, reject) => {
    const child = spawn(process.execPath, [BUILT_CLI, ...argv], {
      env: { PATH: process.env.PATH, HOME: '/nonexistent', DOCKER_CONFIG: '/nonexistent', ...env },
      stdio: ['pipe', 'pipe', 'pipe'],
    });
    // Without `stdin` the child sees it closed at once (an empty standard input).
    child.stdin.end(stdin ?? '');
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
    child.on('error', reject);
    child.on('close', (code) => {
      clearTimeout(timer);
      resolvePromise({ code: code ?? -1, stdout, stderr });
    });
  });
}
