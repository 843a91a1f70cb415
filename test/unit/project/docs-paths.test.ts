/**
 * The paths README.md and docs/*.md name exist, so a move or a rename cannot leave the docs
 * pointing at a module that is gone: every `src/…` path, and every module named in backticks
 * (`verify/core.ts`, relative to src/ or to the repository root; a bare `core.ts` must name a
 * file in the root or in a folder of code).
 */
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { basename, join } from 'node:path';

const ROOT = join(__dirname, '..', '..', '..');
const DOCS = [
  'README.md',
  ...readdirSync(join(ROOT, 'docs'))
    .filter((f) => f.endsWith('.md'))
    .map((f) => join('docs', f)),
];

/** Every file name under the folders modules live in. */
function basenames(): Set<string> {
  const names = new Set<string>();
  const walk = (dir: string): void => {
    for (const entry of readdirSync(join(ROOT, dir), { withFileTypes: true })) {
      if (entry.name === 'node_modules' || entry.name.startsWith('.')) continue;
      if (entry.isDirectory()) walk(join(dir, entry.name));
      else names.add(entry.name);
    }
  };
  for (const dir of ['src', 'test', 'bench', 'fuzz', 'scripts', 'examples']) if (existsSync(join(ROOT, dir))) walk(dir);
  return names;
}
const NAMES = basenames();

/** The paths a document names: `src/…` anywhere, and backticked module paths. */
function namedPaths(text: string): string[] {
  const paths = new Set<string>();
  for (const m of text.matchAll(/(?<![\w./-])src\/[\w./-]*/g)) paths.add(m[0].replace(/[.,:;]+$/, ''));
  for (const m of text.matchAll(/`([\w./-]+\.(?:ts|mjs|cjs))`/g)) paths.add(m[1]!);
  return [...paths].filter((p) => p !== 'src/');
}

function exists(path: string): boolean {
  if (path.startsWith('src/')) return existsSync(join(ROOT, path));
  if (path.includes('/')) return existsSync(join(ROOT, 'src', path)) || existsSync(join(ROOT, path));
  return NAMES.has(basename(path)) || existsSync(join(ROOT, path));
}

test.each(DOCS)('%s names only paths that exist', (doc) => {
  const missing = namedPaths(readFileSync(join(ROOT, doc), 'utf8')).filter((p) => !exists(p));
  expect(missing).toEqual([]);
});

test('the path finder sees the forms the docs use', () => {
  expect(namedPaths('see `verify/core.ts`, src/webhook/glob.ts, and `tuf.ts`; src/sbom/ (all)')).toEqual(
    expect.arrayContaining(['src/webhook/glob.ts', 'src/sbom/', 'verify/core.ts', 'tuf.ts']),
  );
  expect(exists('verify/key-message-content.ts')).toBe(false);
  expect(exists('src/verify/bundle.ts')).toBe(false);
  expect(exists('verify/core.ts')).toBe(true);
});
