/**
 * fixtures/ holds byte-exact copies of real data (see fixtures/README.md). Each file is listed
 * there with its SHA-256, and its bytes still hash to it (a formatter or an editor that touched
 * one would break every test that reads it, in ways hard to trace back); each is small; and,
 * where the interop corpus is present, each equals the file at the same path there.
 */
import { createHash } from 'node:crypto';
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join, relative, sep } from 'node:path';
import { FIXTURES_DIR } from '../../support/fixtures';
import { describeInterop, interopPath } from '../../support/interop';

/** Files that describe the folder rather than being data. */
const NOT_DATA = new Set(['README.md', '.gitattributes']);
const MAX_BYTES = 64 * 1024;

function filesUnder(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((e) =>
    e.isDirectory() ? filesUnder(join(dir, e.name)) : [relative(FIXTURES_DIR, join(dir, e.name)).split(sep).join('/')],
  );
}

const files = filesUnder(FIXTURES_DIR)
  .filter((f) => !NOT_DATA.has(f))
  .sort();
const sha256 = (file: string): string =>
  createHash('sha256')
    .update(readFileSync(join(FIXTURES_DIR, file)))
    .digest('hex');

/** The `<sha256>  <path>` lines of the README's SHA-256 block. */
function listedChecksums(): Map<string, string> {
  const readme = readFileSync(join(FIXTURES_DIR, 'README.md'), 'utf8');
  const block = /## SHA-256\n+```\n([\s\S]*?)```/.exec(readme);
  if (!block) throw new Error('fixtures/README.md has no "## SHA-256" block');
  return new Map(
    block[1]!
      .trim()
      .split('\n')
      .map((line) => {
        const m = /^([0-9a-f]{64}) {2}(\S+)$/.exec(line);
        if (!m) throw new Error(`fixtures/README.md: malformed checksum line ${JSON.stringify(line)}`);
        return [m[2]!, m[1]!] as const;
      }),
  );
}

test('fixtures/ holds the data the demo and the fast tests read', () => {
  expect(files).toEqual(
    expect.arrayContaining([
      'cosign-oci/k8s-cluster-api-controller-v1.5.0/artifact.json',
      'cosign-oci/salrashid123-server_image/sha256-c05263d2ff65/image-index.json',
      'trust/prod_trusted_root.sigstore-python.json',
      'sbom/bom-images.spdx.json',
    ]),
  );
});

test('every file is listed in fixtures/README.md with its SHA-256, and nothing else is listed', () => {
  expect([...listedChecksums().keys()].sort()).toEqual(files);
});

test.each(files)('%s: bytes unchanged, described, small', (file) => {
  expect(sha256(file)).toBe(listedChecksums().get(file));
  const readme = readFileSync(join(FIXTURES_DIR, 'README.md'), 'utf8');
  // described in a table: by its path, or by its name under its folder's heading
  expect(readme.includes(`\`${file}\``) || readme.includes(`\`${file.split('/').pop()}\``)).toBe(true);
  expect(statSync(join(FIXTURES_DIR, file)).size).toBeLessThanOrEqual(MAX_BYTES);
});

describeInterop('fixtures/ are copies of the interop corpus', () => {
  test.each(files)('%s equals the file at the same path in ../shared/interop', (file) => {
    expect(readFileSync(join(FIXTURES_DIR, file)).equals(readFileSync(interopPath(file)))).toBe(true);
  });
});
