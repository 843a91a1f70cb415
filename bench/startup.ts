/**
 * Benchmark: the cost of importing imgverify, against importing `@sigstore/verify` alone.
 *
 *   npm run bench:startup -- [--runs N]
 *
 * Each measurement is a fresh Node process that loads one entry point and prints how long the
 * load took (measured inside the process, so process start itself is left out) and how many
 * modules it loaded. The entries are measured interleaved, N times each, and the best and the
 * median are reported: best-of-N is the figure least disturbed by other load on the machine.
 *   - `@sigstore/verify` (require): the floor, the library imgverify is built on;
 *   - `imgverify` (require, and import from ESM): the root entry;
 *   - `imgverify/webhook` (require): the webhook entry (YAML, the server);
 *   - the CLI's `version` command as a whole process (start included), for scale.
 * Prints a table and a JSON line; the goal (issue: root import at most 2x `@sigstore/verify`) is
 * checked and reported, never asserted in a test.
 */
import { spawnSync } from 'node:child_process';
import { resolve } from 'node:path';
import { parseArgs } from 'node:util';

// Compiled to build/tools/bench/: the repository root is three levels up.
const ROOT = resolve(__dirname, '..', '..', '..');

interface Entry {
  readonly name: string;
  /** A script for `node -e` (CommonJS) or `--input-type=module`. */
  readonly script: string;
  readonly esm?: boolean;
}

const measure = (load: string): string =>
  `const t = process.hrtime.bigint(); ${load}; const ms = Number(process.hrtime.bigint() - t) / 1e6; ` +
  `console.log(JSON.stringify({ ms, modules: Object.keys(require('node:module').Module._cache ?? {}).length }));`;

const ENTRIES: readonly Entry[] = [
  { name: '@sigstore/verify (require)', script: measure(`require(${JSON.stringify(require.resolve('@sigstore/verify', { paths: [ROOT] }))})`) },
  { name: 'imgverify (require)', script: measure(`require(${JSON.stringify(resolve(ROOT, 'dist', 'index.js'))})`) },
  {
    name: 'imgverify (import, ESM)',
    esm: true,
    script:
      `import { createRequire } from 'node:module'; const t = process.hrtime.bigint(); await import(${JSON.stringify(`file://${resolve(ROOT, 'dist', 'index.js')}`)}); ` +
      `const ms = Number(process.hrtime.bigint() - t) / 1e6; console.log(JSON.stringify({ ms, modules: Object.keys(createRequire(import.meta.url).cache).length }));`,
  },
  { name: 'imgverify/webhook (require)', script: measure(`require(${JSON.stringify(resolve(ROOT, 'dist', 'webhook', 'index.js'))})`) },
];

function runEntry(entry: Entry): { ms: number; modules: number } {
  const args = entry.esm ? ['--input-type=module', '-e', entry.script] : ['-e', entry.script];
  const p = spawnSync(process.execPath, args, { cwd: ROOT, encoding: 'utf8' });
  if (p.status !== 0) throw new Error(`${entry.name}: ${p.stderr}`);
  return JSON.parse(p.stdout.trim().split('\n').pop()!) as { ms: number; modules: number };
}

function cliVersion(): number {
  const t = performance.now();
  const p = spawnSync(process.execPath, [resolve(ROOT, 'dist', 'cli', 'main.js'), 'version'], { encoding: 'utf8' });
  if (p.status !== 0) throw new Error(`imgverify version: ${p.stderr}`);
  return performance.now() - t;
}

const median = (values: number[]): number => [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)]!;

function main(): void {
  const { values } = parseArgs({ options: { runs: { type: 'string', default: '15' } } });
  const runs = Number(values.runs);
  const times = new Map<string, number[]>(ENTRIES.map((e) => [e.name, []]));
  const modules = new Map<string, number>();
  const cli: number[] = [];
  for (let i = 0; i < runs; i++) {
    for (const entry of ENTRIES) {
      const r = runEntry(entry);
      times.get(entry.name)!.push(r.ms);
      modules.set(entry.name, r.modules);
    }
    cli.push(cliVersion());
  }
  const best = (name: string): number => Math.min(...times.get(name)!);
  console.log(`imgverify start-up cost (${process.version}, ${runs} fresh processes per entry, interleaved)`);
  console.log('entry                          best ms  median ms  modules');
  for (const entry of ENTRIES) {
    const t = times.get(entry.name)!;
    console.log(
      `${entry.name.padEnd(30)} ${best(entry.name).toFixed(1).padStart(7)}  ${median(t).toFixed(1).padStart(9)}  ${String(modules.get(entry.name)).padStart(7)}`,
    );
  }
  console.log(
    `${'imgverify version (process)'.padEnd(30)} ${Math.min(...cli)
      .toFixed(1)
      .padStart(7)}  ${median(cli).toFixed(1).padStart(9)}`,
  );
  const ratio = best('imgverify (require)') / best('@sigstore/verify (require)');
  console.log(`root import / @sigstore/verify alone: ${ratio.toFixed(2)}x (goal: at most 2x) -> ${ratio <= 2 ? 'met' : 'NOT met'}`);
  console.log(
    JSON.stringify({
      node: process.version,
      runs,
      entries: Object.fromEntries(
        ENTRIES.map((e) => [e.name, { bestMs: +best(e.name).toFixed(1), medianMs: +median(times.get(e.name)!).toFixed(1), modules: modules.get(e.name) }]),
      ),
      cliVersionBestMs: +Math.min(...cli).toFixed(1),
      ratio: +ratio.toFixed(2),
    }),
  );
}

main();
