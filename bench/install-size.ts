/**
 * Benchmark: what `npm install imgverify` puts on a user's disk, against `sigstore` and
 * `@sigstore/verify`.
 *
 *   npm run bench:install-size -- [--compare sigstore@4.1.1,@sigstore/verify@4.1.3]
 *
 * imgverify is packed (`npm pack`, what npm publishes) and installed into an empty folder, as a
 * user's project gets it: its own dependency closure (imgverify included), counted as the
 * packages npm installs and measured with `du -sk` of node_modules (disk blocks, as a user sees
 * it). Each comparison package is installed the same way into its own empty folder. With
 * `--optional`, imgverify's optional peer dependencies (the webhook's and CEL's) are installed
 * too, as deploy/Dockerfile does. Packages come from the npm cache when it has them
 * (`--prefer-offline`). Prints a table and a JSON line; the goal (issue 21: at most 20 packages
 * and 12 MB) is reported, never asserted in a test.
 */
import { execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { npm } from '../test/support/packed-package';

// Compiled to build/tools/bench/: the repository root is three levels up.
const ROOT = resolve(__dirname, '..', '..', '..');
const GOAL = { packages: 20, megabytes: 12 };

interface Measure {
  readonly name: string;
  readonly packages: number;
  readonly kib: number;
}

/** Installs `specs` into a fresh folder; the packages installed (the project itself left out) and the size of node_modules. */
function measure(name: string, specs: string[], work: string): Measure {
  const dir = join(work, name.replace(/[^a-z0-9]+/gi, '-'));
  mkdirSync(dir, { recursive: true });
  writeFileSync(join(dir, 'package.json'), JSON.stringify({ name: 'install-size', version: '1.0.0', private: true }));
  npm(['install', '--prefer-offline', '--no-package-lock', '--ignore-scripts', ...specs], dir);
  const packages = npm(['ls', '--all', '--parseable'], dir).trim().split('\n').length - 1;
  const kib = Number(execFileSync('du', ['-sk', join(dir, 'node_modules')], { encoding: 'utf8' }).split('\t')[0]);
  return { name, packages, kib };
}

function main(): void {
  const { values } = parseArgs({
    options: { compare: { type: 'string', default: 'sigstore@4.1.1,@sigstore/verify@4.1.3' }, optional: { type: 'boolean', default: false } },
  });
  const work = mkdtempSync(join(tmpdir(), 'imgverify-install-size-'));
  try {
    const packed = JSON.parse(npm(['pack', '--json', '--ignore-scripts', '--pack-destination', work], ROOT)) as Array<{
      filename: string;
      size: number;
      unpackedSize: number;
    }>;
    const tarball = join(work, packed[0]!.filename);
    const pkg = JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as { peerDependencies?: Record<string, string> };
    const results = [measure('imgverify', [tarball], work)];
    if (values.optional) {
      const optional = Object.entries(pkg.peerDependencies ?? {}).map(([name, range]) => `${name}@${range}`);
      results.push(measure('imgverify + optional (webhook, CEL)', [tarball, ...optional], work));
    }
    for (const spec of values.compare.split(',').filter(Boolean)) results.push(measure(spec, [spec], work));
    console.log(
      `install size (${process.version}; npm ${npm(['--version'], ROOT).trim()}; tarball ${(packed[0]!.size / 1024).toFixed(0)} KiB, unpacked ${(packed[0]!.unpackedSize / 1024).toFixed(0)} KiB)`,
    );
    console.log('install                                  packages        size');
    for (const r of results) console.log(`${r.name.padEnd(40)} ${String(r.packages).padStart(8)}  ${(r.kib / 1024).toFixed(1).padStart(7)} MiB`);
    const own = results[0]!;
    const met = own.packages <= GOAL.packages && own.kib / 1024 <= GOAL.megabytes;
    console.log(`goal: at most ${GOAL.packages} packages and ${GOAL.megabytes} MB -> ${met ? 'met' : 'NOT met'}`);
    console.log(JSON.stringify({ node: process.version, results: results.map((r) => ({ ...r, mib: +(r.kib / 1024).toFixed(1) })), goalMet: met }));
  } finally {
    rmSync(work, { recursive: true, force: true });
  }
}

main();
