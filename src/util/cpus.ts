/**
 * The CPUs this process may use: os.availableParallelism() (the CPUs it may be scheduled on:
 * its affinity mask), bounded by the CPU quota of its cgroup (a Kubernetes CPU limit), which
 * Node does not look at. A container limited to 1 CPU on a 16-core node sees 16 from Node; the
 * webhook's default --workers must be 1 there, not 16 processes throttled into one core.
 *
 *   cgroup v2: /proc/self/cgroup "0::/PATH"  ─► /sys/fs/cgroup/PATH/cpu.max "QUOTA PERIOD" (or "max"),
 *              and every ancestor's cpu.max up to /sys/fs/cgroup (the tightest counts)
 *   cgroup v1: /proc/self/cgroup "N:…cpu…:/PATH" ─► /sys/fs/cgroup/cpu[,cpuacct]/PATH/cpu.cfs_quota_us
 *              and cpu.cfs_period_us (quota -1: none), and every ancestor's up to the mount
 *
 * QUOTA/PERIOD CPUs, rounded down (a limit of 1.5 CPUs serves best with one worker: a second
 * would be throttled half the time) and at least 1. Inside a cgroup namespace (a container) the
 * path is "/" and the files are at the mount's root, which is also looked at.
 */
import { readFileSync } from 'node:fs';
import { availableParallelism } from 'node:os';

/** Reads a small text file; undefined when it cannot be read. */
export type ReadText = (path: string) => string | undefined;

function readText(path: string): string | undefined {
  try {
    return readFileSync(path, 'utf8');
  } catch {
    return undefined;
  }
}

/** The cgroup CPU quota in CPUs (fractional), or undefined when none applies. */
export function cgroupCpuQuota(read: ReadText = readText): number | undefined {
  const self = read('/proc/self/cgroup');
  if (self === undefined) return undefined;
  const quotas: number[] = [];
  for (const line of self.split('\n')) {
    const m = /^\d+:([^:]*):(\/.*)$/.exec(line.trim());
    if (!m) continue;
    const [, controllers, path] = m as unknown as [string, string, string];
    if (controllers === '') {
      for (const dir of ancestors('/sys/fs/cgroup', path)) {
        const q = parseCpuMax(read(`${dir}/cpu.max`));
        if (q !== undefined) quotas.push(q);
      }
    } else if (controllers.split(',').includes('cpu')) {
      for (const mount of ['/sys/fs/cgroup/cpu', '/sys/fs/cgroup/cpu,cpuacct', '/sys/fs/cgroup/cpuacct,cpu']) {
        for (const dir of ancestors(mount, path)) {
          const q = quotaOf(read(`${dir}/cpu.cfs_quota_us`), read(`${dir}/cpu.cfs_period_us`));
          if (q !== undefined) quotas.push(q);
        }
      }
    }
  }
  return quotas.length > 0 ? Math.min(...quotas) : undefined;
}

/** The CPUs this process may use (see above); at least 1. */
export function usableCpus(read: ReadText = readText, parallelism: number = availableParallelism()): number {
  const quota = cgroupCpuQuota(read);
  const cpus = quota === undefined ? parallelism : Math.min(parallelism, Math.floor(quota));
  return Math.max(1, cpus);
}

/** `mount/path`, then each parent directory up to `mount` itself. */
function ancestors(mount: string, path: string): string[] {
  const parts = path.split('/').filter((p) => p !== '' && p !== '.' && p !== '..');
  const dirs: string[] = [];
  for (let n = parts.length; n >= 0; n--) dirs.push([mount, ...parts.slice(0, n)].join('/'));
  return dirs;
}

/** cgroup v2 `cpu.max`: "QUOTA PERIOD" or "max PERIOD". */
function parseCpuMax(text: string | undefined): number | undefined {
  const [quota, period] = (text ?? '').trim().split(/\s+/);
  return quotaOf(quota, period ?? '100000');
}

function quotaOf(quotaText: string | undefined, periodText: string | undefined): number | undefined {
  if (quotaText === undefined || periodText === undefined) return undefined;
  const quota = Number(quotaText.trim());
  const period = Number(periodText.trim());
  // "max" (v2) or -1 (v1): no quota.
  if (!Number.isInteger(quota) || quota <= 0 || !Number.isInteger(period) || period <= 0) return undefined;
  return quota / period;
}
