/**
 * Running a credential program (a docker credential helper, a kubelet credential provider
 * plugin) bounded in time and output: one spawn path for both, so a fix to how such a
 * program is run or stopped applies to both.
 *
 * The program runs in its own process group, and the whole group is killed when its time is
 * up, its output passes the bound, or the caller's signal aborts (a shell script's children
 * die with it). Its stdout is collected up to the bound; its stderr is drained and dropped
 * (it may echo secrets). Nothing here quotes either in a message.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { accessSync, constants, statSync } from 'node:fs';
import { delimiter, isAbsolute, join } from 'node:path';

/** After the program exits, how long its pipes may stay open (a child of it holding them) before its group is killed. */
const EXIT_GRACE_MS = 200;

/**
 * The program's path in the absolute directories of `path` (a PATH value), or undefined.
 * Empty and relative entries (the working directory) are skipped, as Go's exec.LookPath does
 * (ErrDot): a program planted in the working directory is never run.
 */
export function findOnPath(program: string, path: string | undefined): string | undefined {
  for (const dir of (path ?? '').split(delimiter)) {
    if (dir === '' || !isAbsolute(dir)) continue;
    const candidate = join(dir, program);
    try {
      if (!statSync(candidate).isFile()) continue;
      accessSync(candidate, constants.X_OK);
      return candidate;
    } catch {
      // not there, or not executable: the next directory
    }
  }
  return undefined;
}

export interface BoundedRun {
  /** The program: a path, or a name found on `env.PATH`. */
  readonly program: string;
  readonly args: readonly string[];
  readonly env: Readonly<Record<string, string | undefined>>;
  /** Written to stdin, which is then closed. */
  readonly input: string;
  readonly timeoutMs: number;
  readonly maxOutputBytes: number;
  /** Stops the program early (a request's deadline). */
  readonly signal?: AbortSignal;
}

export interface BoundedResult {
  /** The exit status, or null when a signal ended it. */
  readonly code: number | null;
  readonly signal: NodeJS.Signals | null;
  readonly stdout: Buffer;
}

/** Why a run gave no result: `why` is ready for a message and never quotes the program's output. */
export class BoundedRunError extends Error {
  constructor(
    readonly kind: 'not-found' | 'spawn' | 'timeout' | 'output' | 'aborted',
    readonly why: string,
    options?: { cause?: unknown },
  ) {
    super(why, options);
    this.name = 'BoundedRunError';
  }
}

/** Kills the program's process group (it was started as a group leader), or the program alone. */
function killGroup(child: ChildProcess): void {
  try {
    if (child.pid !== undefined && process.platform !== 'win32') process.kill(-child.pid, 'SIGKILL');
    else child.kill('SIGKILL');
  } catch {
    // Already gone; a last attempt on the child itself.
    child.kill('SIGKILL');
  }
}

/** Runs the program; rejects with BoundedRunError when it cannot be run or its bounds are hit. */
export function runBounded(run: BoundedRun): Promise<BoundedResult> {
  if (run.signal?.aborted) return Promise.reject(new BoundedRunError('aborted', 'the request was aborted before it ran'));
  return new Promise((resolve, reject) => {
    let settled = false;
    const finish = (err: BoundedRunError | undefined, value?: BoundedResult): void => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      clearTimeout(grace);
      run.signal?.removeEventListener('abort', onAbort);
      // Whatever is left of its group goes, and its pipes are closed: nothing outlives the answer.
      killGroup(child);
      child.stdin.destroy();
      child.stdout.destroy();
      child.stderr.destroy();
      if (err) reject(err);
      else resolve(value!);
    };
    let grace: NodeJS.Timeout | undefined;
    const child = spawn(run.program, [...run.args], {
      env: { ...run.env },
      stdio: ['pipe', 'pipe', 'pipe'],
      shell: false,
      // Its own process group, so that stopping it stops what it started.
      detached: process.platform !== 'win32',
    });
    const stop = (kind: 'timeout' | 'output' | 'aborted', why: string): void => {
      killGroup(child);
      finish(new BoundedRunError(kind, why));
    };
    const timer = setTimeout(() => stop('timeout', `no answer within ${run.timeoutMs} ms`), run.timeoutMs);
    timer.unref();
    const onAbort = (): void => stop('aborted', 'stopped: the request it was run for ended (deadline or cancellation)');
    run.signal?.addEventListener('abort', onAbort, { once: true });

    const stdout: Buffer[] = [];
    let size = 0;
    child.stdout.on('data', (chunk: Buffer) => {
      if (settled) return;
      size += chunk.length;
      if (size > run.maxOutputBytes) {
        stop('output', `more than ${run.maxOutputBytes} bytes of output`);
        return;
      }
      stdout.push(chunk);
    });
    child.stderr.on('data', () => undefined);
    child.stdin.on('error', () => undefined);
    child.on('error', (err: NodeJS.ErrnoException) => {
      if (err.code === 'ENOENT') finish(new BoundedRunError('not-found', 'not found', { cause: err }));
      else finish(new BoundedRunError('spawn', `cannot be run (${err.code ?? err.message})`, { cause: err }));
    });
    // 'close' waits for the pipes, which a child of the program may hold (a script that ran
    // `sleep 100` without exec): after the program's own exit, a short grace for its output,
    // then the answer with what came.
    child.on('exit', (code, signal) => {
      grace = setTimeout(() => finish(undefined, { code, signal, stdout: Buffer.concat(stdout) }), EXIT_GRACE_MS);
    });
    child.on('close', (code, signal) => finish(undefined, { code, signal, stdout: Buffer.concat(stdout) }));
    child.stdout.on('error', () => undefined);
    child.stderr.on('error', () => undefined);
    child.stdin.end(run.input);
  });
}
