import { cgroupCpuQuota, usableCpus, type ReadText } from '../../../src/util/cpus';

/** A file system of the given files only. */
function files(contents: Record<string, string>): ReadText {
  return (path) => (Object.hasOwn(contents, path) ? contents[path] : undefined);
}

describe('usableCpus', () => {
  it('is availableParallelism when no cgroup sets a quota (v2 "max", v1 -1, no files)', () => {
    expect(usableCpus(files({ '/proc/self/cgroup': '0::/\n', '/sys/fs/cgroup/cpu.max': 'max 100000\n' }), 8)).toBe(8);
    expect(
      usableCpus(
        files({
          '/proc/self/cgroup': '1:cpu,cpuacct:/\n',
          '/sys/fs/cgroup/cpu,cpuacct/cpu.cfs_quota_us': '-1\n',
          '/sys/fs/cgroup/cpu,cpuacct/cpu.cfs_period_us': '100000\n',
        }),
        8,
      ),
    ).toBe(8);
    expect(usableCpus(files({}), 3)).toBe(3);
  });

  it('cgroup v2 inside a container: the quota of /sys/fs/cgroup/cpu.max, rounded down', () => {
    const read = files({ '/proc/self/cgroup': '0::/\n', '/sys/fs/cgroup/cpu.max': '200000 100000\n' });
    expect(cgroupCpuQuota(read)).toBe(2);
    expect(usableCpus(read, 16)).toBe(2);
    expect(usableCpus(files({ '/proc/self/cgroup': '0::/\n', '/sys/fs/cgroup/cpu.max': '150000 100000\n' }), 16)).toBe(1);
  });

  it('cgroup v2 on the host: the tightest of the process’s cgroup and its ancestors', () => {
    const read = files({
      '/proc/self/cgroup': '0::/kubepods/burstable/pod1/ctr\n',
      '/sys/fs/cgroup/kubepods/burstable/pod1/ctr/cpu.max': 'max 100000',
      '/sys/fs/cgroup/kubepods/burstable/pod1/cpu.max': '300000 100000',
      '/sys/fs/cgroup/kubepods/cpu.max': 'max 100000',
    });
    expect(usableCpus(read, 64)).toBe(3);
  });

  it('cgroup v1: cpu.cfs_quota_us / cpu.cfs_period_us of the cpu controller', () => {
    const read = files({
      '/proc/self/cgroup': '9:memory:/x\n4:cpu,cpuacct:/docker/abc\n',
      '/sys/fs/cgroup/cpu,cpuacct/docker/abc/cpu.cfs_quota_us': '50000',
      '/sys/fs/cgroup/cpu,cpuacct/docker/abc/cpu.cfs_period_us': '100000',
    });
    expect(cgroupCpuQuota(read)).toBe(0.5);
    expect(usableCpus(read, 4)).toBe(1);
  });

  it('never more than availableParallelism (an affinity mask narrower than the quota), never below 1', () => {
    const read = files({ '/proc/self/cgroup': '0::/\n', '/sys/fs/cgroup/cpu.max': '800000 100000' });
    expect(usableCpus(read, 2)).toBe(2);
    expect(usableCpus(files({}), 0)).toBe(1);
  });

  it('ignores what it cannot read as a quota', () => {
    for (const text of ['', 'garbage', '0 100000', '-5 100000', '100000 0', '1.5 100000']) {
      expect(usableCpus(files({ '/proc/self/cgroup': '0::/\n', '/sys/fs/cgroup/cpu.max': text }), 4)).toBe(4);
    }
  });

  it('reads this machine without failing', () => {
    expect(usableCpus()).toBeGreaterThanOrEqual(1);
  });
});
