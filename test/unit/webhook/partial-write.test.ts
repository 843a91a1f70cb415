/**
 * A policy file caught half-written (src/webhook/partial-write.ts, issue 20.15): the shapes a
 * half-written file takes (zero bytes; a YAML stream cut after a `---`) are refused when they
 * drop documents of the set in force, and deliberate removals (the file rewritten without a
 * policy, deleted, reduced to a comment) still load. Against real folders read by
 * loadPolicyFolder.
 */
import { mkdir, mkdtemp, rm, symlink, unlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { refusePartialWrites } from '../../../src/webhook/partial-write';
import { loadPolicyFolder, type PolicySet } from '../../../src/webhook/policy-folder';
import { passingPolicy, trustRootText } from './policy-text';

const policy = (name: string): string => passingPolicy(name, `ghcr.io/${name}/**`);

const { doc, KEYS } = trustRootText('partial-write.test');
const TWO = `${policy('a')}---\n${policy('b')}`;

let dir: string;
beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'imgverify-partial-'));
});
afterEach(() => rm(dir, { recursive: true, force: true }));

/** The set in force after loading `files`. */
async function inForce(files: Record<string, string>): Promise<PolicySet> {
  for (const [name, text] of Object.entries(files)) await writeFile(join(dir, name), text);
  const { set } = await loadPolicyFolder(dir);
  expect(set.errors).toEqual([]);
  return set;
}

/** The folder reloaded against `before`: the names that would be in force, or the errors. */
async function reload(before: PolicySet): Promise<{ names?: string[]; errors?: string[] }> {
  const set = refusePartialWrites(await loadPolicyFolder(dir), before);
  return set.errors.length > 0
    ? { errors: set.errors.map((e) => e.message) }
    : { names: [...set.policies.map((p) => p.name), ...set.trustRoots.map((t) => `TrustRoot/${t.name}`)] };
}

describe('caught half-written: refused, the set in force stays', () => {
  test('one of two documents on disk, the stream ending in ---', async () => {
    const before = await inForce({ 'p.yaml': TWO });
    for (const half of [`${policy('a')}---\n`, `${policy('a')}---`, `${policy('a')}---\n\n# b follows\n`, `${policy('a')}\n---   \n   \n`]) {
      await writeFile(join(dir, 'p.yaml'), half);
      const { errors } = await reload(before);
      expect(errors).toEqual([
        expect.stringMatching(
          /^p\.yaml: ends with a document separator "---" and no document after it, and no longer holds ClusterImagePolicy\/b: taken as caught while being written; keeping the policies in force/,
        ),
      ]);
    }
  });

  test('a file truncated to zero bytes (or white space) that held policies', async () => {
    const before = await inForce({ 'p.yaml': TWO, 'q.yaml': policy('q') });
    for (const blank of ['', '\n', '  \n\t\n']) {
      await writeFile(join(dir, 'p.yaml'), blank);
      const { errors } = await reload(before);
      expect(errors).toEqual([
        expect.stringMatching(/^p\.yaml: the file is empty but held ClusterImagePolicy\/a, ClusterImagePolicy\/b: taken as caught while being written/),
      ]);
    }
  });

  test('TrustRoots count as documents too', async () => {
    const trustRoot = doc({ sigstoreKeys: KEYS });
    const before = await inForce({ 'p.yaml': `${policy('a')}---\n${trustRoot}` });
    await writeFile(join(dir, 'p.yaml'), `${policy('a')}---\n`);
    expect((await reload(before)).errors?.join()).toMatch(/no longer holds TrustRoot\/private/);
  });
});

describe('deliberate changes still take effect', () => {
  test('the file rewritten without a policy', async () => {
    const before = await inForce({ 'p.yaml': TWO });
    await writeFile(join(dir, 'p.yaml'), policy('a'));
    expect(await reload(before)).toEqual({ names: ['a'] });
  });

  test('a file deleted', async () => {
    const before = await inForce({ 'p.yaml': TWO, 'q.yaml': policy('q') });
    await unlink(join(dir, 'p.yaml'));
    expect(await reload(before)).toEqual({ names: ['q'] });
  });

  test('a file reduced to a comment', async () => {
    const before = await inForce({ 'p.yaml': TWO, 'q.yaml': policy('q') });
    await writeFile(join(dir, 'p.yaml'), '# policies moved to q.yaml\n');
    expect(await reload(before)).toEqual({ names: ['q'] });
  });

  test('a trailing --- that drops nothing, a new empty file, a policy renamed in a file without a trailing ---', async () => {
    const before = await inForce({ 'p.yaml': policy('a') });
    await writeFile(join(dir, 'p.yaml'), `${policy('a')}---\n`);
    await writeFile(join(dir, 'new.yaml'), '');
    expect(await reload(before)).toEqual({ names: ['a'] });
    await writeFile(join(dir, 'p.yaml'), policy('renamed'));
    expect(await reload(before)).toEqual({ names: ['renamed'] });
  });

  test('a --- inside a block scalar or followed by a document is not a trailing separator', async () => {
    const before = await inForce({ 'p.yaml': TWO });
    await writeFile(join(dir, 'p.yaml'), `${policy('a')}---\n${policy('c')}`);
    expect(await reload(before)).toEqual({ names: ['a', 'c'] });
    const blockScalar = policy('d').replace(
      'authorities: [{static: {action: pass}}]',
      'authorities:\n  - static:\n      action: fail\n      message: |\n        line one\n        ---\n',
    );
    await writeFile(join(dir, 'p.yaml'), blockScalar);
    expect(await reload(before)).toEqual({ names: ['d'] });
  });

  test('the first load has nothing to compare with', async () => {
    await writeFile(join(dir, 'p.yaml'), `${policy('a')}---\n`);
    expect(refusePartialWrites(await loadPolicyFolder(dir), undefined).errors).toEqual([]);
  });

  test('a mounted ConfigMap (..data, swapped in one rename) is never half written: an emptied key loads', async () => {
    await mkdir(join(dir, '..2024_01_01'));
    await writeFile(join(dir, '..2024_01_01', 'p.yaml'), TWO);
    await writeFile(join(dir, '..2024_01_01', 'q.yaml'), policy('q'));
    await symlink('..2024_01_01', join(dir, '..data'));
    const { set: before } = await loadPolicyFolder(dir);
    await writeFile(join(dir, '..2024_01_01', 'p.yaml'), '');
    expect(await reload(before)).toEqual({ names: ['q'] });
  });
});
