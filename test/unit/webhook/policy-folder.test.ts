import { mkdir, mkdtemp, readlink, rename, rm, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { loadPolicies, watchPolicies, type PolicyUpdate } from '../../../src/webhook/policy-folder';
import { passingPolicy } from './policy-text';

const policy = passingPolicy;

let root: string;
beforeEach(async () => {
  root = await mkdtemp(join(tmpdir(), 'imgverify-policies-'));
});
afterEach(async () => {
  await rm(root, { recursive: true, force: true });
});

/**
 * Writes `files` the way the kubelet's AtomicWriter does: a new timestamped directory, a
 * `..data_tmp` symlink to it renamed over `..data`, per-key symlinks, old directory removed.
 */
let generation = 0;
async function writeConfigMap(dir: string, files: Record<string, string>): Promise<void> {
  await mkdir(dir, { recursive: true });
  const stamp = `..2024_01_01_00_00_00.${++generation}`;
  await mkdir(join(dir, stamp));
  for (const [name, content] of Object.entries(files)) await writeFile(join(dir, stamp, name), content);
  const previous = await readlink(join(dir, '..data')).catch(() => undefined);
  await symlink(stamp, join(dir, '..data_tmp'));
  await rename(join(dir, '..data_tmp'), join(dir, '..data'));
  for (const name of Object.keys(files)) {
    await symlink(join('..data', name), join(dir, name)).catch((err: NodeJS.ErrnoException) => {
      if (err.code !== 'EEXIST') throw err;
    });
  }
  if (previous) await rm(join(dir, previous), { recursive: true, force: true });
}

describe('loadPolicies', () => {
  it('reads a mounted ConfigMap through its symlinks, skipping the dot entries', async () => {
    const json = JSON.stringify({
      apiVersion: 'policy.sigstore.dev/v1beta1',
      kind: 'ClusterImagePolicy',
      metadata: { name: 'c' },
      spec: { images: [{ glob: '**' }], authorities: [{ static: { action: 'fail' } }] },
    });
    await writeConfigMap(root, { 'b.yaml': policy('b'), 'a.yml': policy('a'), 'c.json': json });
    const set = await loadPolicies(root);
    expect(set.errors).toEqual([]);
    expect(set.files).toEqual(['a.yml', 'b.yaml', 'c.json']);
    expect(set.policies.map((p) => [p.name, p.source.file])).toEqual([
      ['a', 'a.yml'],
      ['b', 'b.yaml'],
      ['c', 'c.json'],
    ]);
    expect(set.version).toMatch(/^sha256:[0-9a-f]{64}$/);
  });

  it('reads a plain folder, ignoring dotfiles and sub-folders', async () => {
    await writeFile(join(root, 'p.yaml'), policy('p'));
    await writeFile(join(root, '.hidden.yaml'), 'not: [valid');
    await mkdir(join(root, 'nested'));
    await writeFile(join(root, 'nested', 'q.yaml'), policy('q'));
    const set = await loadPolicies(root);
    expect(set.errors).toEqual([]);
    expect(set.policies.map((p) => p.name)).toEqual(['p']);
  });

  it('has a version that changes with content and only with content', async () => {
    await writeFile(join(root, 'p.yaml'), policy('p'));
    const first = await loadPolicies(root);
    expect((await loadPolicies(root)).version).toBe(first.version);
    await writeFile(join(root, 'p.yaml'), policy('p', 'quay.io/**'));
    expect((await loadPolicies(root)).version).not.toBe(first.version);
  });

  it('is all or nothing: one bad file, no policies', async () => {
    await writeFile(join(root, 'good.yaml'), policy('good'));
    await writeFile(join(root, 'bad.yaml'), policy('bad').replace('static: {action: pass}', 'static: {action: maybe}'));
    const set = await loadPolicies(root);
    expect(set.policies).toEqual([]);
    expect(set.errors.map((e) => e.message)).toEqual([
      expect.stringMatching(/^bad\.yaml: document 0 \(line 1\): spec\.authorities\[0\]\.static\.action: unsupported action "maybe"/),
    ]);
  });

  it('refuses files that are not .yaml, .yml or .json rather than skipping a policy', async () => {
    await writeFile(join(root, 'p.yaml'), policy('p'));
    await writeFile(join(root, 'q.yaml.bak'), policy('q'));
    const set = await loadPolicies(root);
    expect(set.policies).toEqual([]);
    expect(set.errors.map((e) => e.message)).toEqual(['q.yaml.bak: not a policy file: names must end in .yaml, .yml or .json']);
  });

  it('rejects the same policy name in two files', async () => {
    await writeFile(join(root, 'one.yaml'), policy('same'));
    await writeFile(join(root, 'two.yaml'), policy('same'));
    const set = await loadPolicies(root);
    expect(set.policies).toEqual([]);
    expect(set.errors[0]!.message).toMatch(/^two\.yaml: document 0 \(line 1\): metadata\.name: duplicate ClusterImagePolicy name "same" \(first in one\.yaml/);
  });

  it('reports a missing folder and a dangling symlink as errors, never throws', async () => {
    const missing = await loadPolicies(join(root, 'nope'));
    expect(missing.policies).toEqual([]);
    expect(missing.errors[0]!.code).toBe('INVALID_POLICY');
    expect(missing.errors[0]!.message).toMatch(/cannot read policy folder/);

    await symlink(join(root, 'gone.yaml'), join(root, 'link.yaml'));
    const dangling = await loadPolicies(root);
    expect(dangling.errors[0]!.message).toMatch(/cannot read policy folder .*ENOENT/);
  });

  it('loads an empty folder as no policies', async () => {
    const set = await loadPolicies(root);
    expect(set).toMatchObject({ policies: [], errors: [], files: [] });
  });
});

describe('watchPolicies', () => {
  function collect(): { updates: PolicyUpdate[]; next: (n: number) => Promise<PolicyUpdate[]> } {
    const updates: PolicyUpdate[] = [];
    const next = async (n: number): Promise<PolicyUpdate[]> => {
      const deadline = Date.now() + 10_000;
      while (updates.length < n) {
        if (Date.now() > deadline) throw new Error(`waited for ${n} updates, got ${updates.length}`);
        await new Promise((r) => setTimeout(r, 20));
      }
      return updates;
    };
    return { updates, next };
  }

  it('follows ConfigMap swaps, rejects a bad update and keeps the active version', async () => {
    const dir = join(root, 'policies');
    await writeConfigMap(dir, { 'p.yaml': policy('p') });
    const { updates, next } = collect();
    const close = watchPolicies(dir, (u) => updates.push(u), { debounceMs: 50, pollIntervalMs: 0 });
    try {
      await next(1);
      expect(updates[0]!.kind).toBe('loaded');
      const v1 = updates[0]!.set.version;
      expect(updates[0]!.set.policies.map((p) => p.images[0]!.glob)).toEqual(['ghcr.io/**']);

      await writeConfigMap(dir, { 'p.yaml': policy('p', 'quay.io/**') });
      await next(2);
      expect(updates[1]).toMatchObject({ kind: 'loaded' });
      const v2 = updates[1]!.set.version;
      expect(v2).not.toBe(v1);
      expect(updates[1]!.set.policies[0]!.images).toEqual([{ glob: 'quay.io/**' }]);

      await writeConfigMap(dir, { 'p.yaml': policy('p').replace('pass', 'perhaps') });
      await next(3);
      expect(updates[2]).toMatchObject({ kind: 'rejected', activeVersion: v2 });
      expect(updates[2]!.set.policies).toEqual([]);
      expect(updates[2]!.set.errors[0]!.message).toMatch(/static\.action: unsupported action "perhaps"/);

      // Fixing it back to the active content is reported (the failure is over).
      await writeConfigMap(dir, { 'p.yaml': policy('p', 'quay.io/**') });
      await next(4);
      expect(updates[3]).toMatchObject({ kind: 'loaded' });
      expect(updates[3]!.set.version).toBe(v2);
    } finally {
      close();
    }
  });

  it('does not report the version the caller already has, and stops after close', async () => {
    await writeFile(join(root, 'p.yaml'), policy('p'));
    const initial = await loadPolicies(root);
    const { updates } = collect();
    const close = watchPolicies(root, (u) => updates.push(u), { debounceMs: 20, pollIntervalMs: 0, activeVersion: initial.version });
    await new Promise((r) => setTimeout(r, 200));
    expect(updates).toEqual([]);
    close();
    await writeFile(join(root, 'p.yaml'), policy('p', 'quay.io/**'));
    await new Promise((r) => setTimeout(r, 200));
    expect(updates).toEqual([]);
  });

  it('reports the same failure once and picks up a folder created later (poll)', async () => {
    const dir = join(root, 'later');
    const { updates, next } = collect();
    const close = watchPolicies(dir, (u) => updates.push(u), { debounceMs: 20, pollIntervalMs: 50 });
    try {
      await next(1);
      expect(updates[0]).toMatchObject({ kind: 'rejected', activeVersion: undefined });
      await new Promise((r) => setTimeout(r, 200)); // several polls, same failure
      expect(updates).toHaveLength(1);
      // Appear at once (a poll must not catch a half-written folder, e.g. still empty).
      await writeConfigMap(join(root, 'staging'), { 'p.yaml': policy('p') });
      await rename(join(root, 'staging'), dir);
      await next(2);
      expect(updates[1]!.kind).toBe('loaded');
      expect(updates[1]!.set.policies.map((p) => p.name)).toEqual(['p']);
    } finally {
      close();
    }
  });

  it('sees in-place edits of a plain folder through fs.watch', async () => {
    await writeFile(join(root, 'p.yaml'), policy('p'));
    const { updates, next } = collect();
    const close = watchPolicies(root, (u) => updates.push(u), { debounceMs: 30, pollIntervalMs: 0 });
    try {
      await next(1);
      await writeFile(join(root, 'q.yaml'), policy('q'));
      // A plain write is not atomic: a reload may first see q.yaml empty, then complete.
      const deadline = Date.now() + 10_000;
      while (updates[updates.length - 1]!.set.policies.length < 2 && Date.now() < deadline) await next(updates.length + 1);
      expect(updates[updates.length - 1]!.set.policies.map((p) => p.name)).toEqual(['p', 'q']);
    } finally {
      close();
    }
  });
});
