/** Processes a test started, looked at from outside: alive or not, and waiting until a condition holds. */

/** Whether a process exists (signal 0 probes it without touching it). */
export function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

/** Polls `check` every 25 ms for up to `ms`; its last answer. */
export async function within(ms: number, check: () => boolean): Promise<boolean> {
  for (const end = Date.now() + ms; Date.now() < end; await new Promise((r) => setTimeout(r, 25))) if (check()) return true;
  return check();
}
