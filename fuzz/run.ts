/**
 * Coverage-guided fuzzing of imgverify's parsers with Jazzer.js (libFuzzer in the Node
 * process, with imgverify's compiled code instrumented for edge coverage and compare hooks).
 *
 *   npm run fuzz -- TARGET [--time 60] [--seed N]     one target for TIME seconds
 *   npm run fuzz -- all --time 60                     every target in turn, then the table
 *   npm run fuzz -- --list                            the targets
 *
 * Each run starts from the target's seeds (real data, fuzz/targets.ts) plus what earlier runs
 * kept in build/fuzz/corpus/TARGET. A finding (an input that breaks the invariant of
 * fuzz/invariant.ts, runs longer than 10 s, or takes the process over 2 GiB) stops the run;
 * the input is written to build/fuzz/findings/TARGET/ and its path printed: turn it into a
 * regression test (test/unit/project/fuzz/regressions.test.ts), fix, run again.
 * Figures per target: executions, edges covered (libFuzzer's `cov`), features (`ft`),
 * corpus size, line and branch coverage of the target's parser modules by the final corpus
 * (a replay with istanbul, Jazzer.js's regression mode), peak RSS, findings. Numbers go in docs/reliability.md.
 */
import { spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { cpus } from 'node:os';
import { join, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { ensureJazzerLoads } from './jazzer-compat';
import { TARGETS, findTarget } from './targets';

// Compiled to build/tools/fuzz/: the repository root is three levels up.
const ROOT = resolve(__dirname, '..', '..', '..');
const ENTRY = join(__dirname, 'entry.js');
const INSTRUMENTED = join(ROOT, 'build', 'tools', 'src') + '/';
const JAZZER = join(ROOT, 'node_modules', '@jazzer.js', 'core', 'dist', 'cli.js');

interface Result {
  readonly target: string;
  readonly seconds: number;
  readonly executions: number;
  readonly execPerSecond: number;
  readonly edges: number;
  readonly features: number;
  readonly corpus: number;
  readonly peakRssMb: number;
  readonly findings: string[];
  readonly exitCode: number | null;
  /** Line and branch coverage (%) of the target's parser modules by the final corpus. */
  readonly linesPct?: number;
  readonly branchesPct?: number;
}

function runJazzer(args: string[], name: string, preload: string, extraEnv: Record<string, string> = {}): Promise<{ code: number | null; log: string }> {
  const child = spawn(process.execPath, ['--max-old-space-size=1536', JAZZER, ENTRY, ...args], {
    cwd: ROOT,
    env: { ...process.env, IMGVERIFY_FUZZ_TARGET: name, ...(preload ? { LD_PRELOAD: preload } : {}), ...extraEnv },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let log = '';
  const onData = (d: Buffer) => {
    log += d.toString();
    if (log.length > 4_000_000) log = log.slice(-2_000_000);
  };
  child.stdout.on('data', onData);
  child.stderr.on('data', onData);
  return new Promise((r) => child.on('close', (code) => r({ code, log })));
}

/** Replays the corpus with istanbul coverage (Jazzer.js regression mode): lines and branches of the target's files. */
async function corpusCoverage(name: string, corpus: string, preload: string): Promise<{ linesPct: number; branchesPct: number } | undefined> {
  const target = findTarget(name)!;
  const dir = join(ROOT, 'build', 'fuzz', 'coverage', name);
  rmSync(dir, { recursive: true, force: true });
  // The replay keeps the fuzzing run's timing figures (IMGVERIFY_FUZZ_NO_STATS).
  await runJazzer(
    [corpus, '--sync', '-i', INSTRUMENTED, '-m', 'regression', '--coverage', '--coverage_directory', dir, '--coverage_reporters', 'json-summary'],
    name,
    preload,
    {
      IMGVERIFY_FUZZ_NO_STATS: '1',
    },
  );
  const summaryFile = join(dir, 'coverage-summary.json');
  if (!existsSync(summaryFile)) return undefined;
  const summary = JSON.parse(readFileSync(summaryFile, 'utf8')) as Record<
    string,
    { lines: { total: number; covered: number }; branches: { total: number; covered: number } }
  >;
  let lines = [0, 0];
  let branches = [0, 0];
  for (const file of target.files) {
    const entry = summary[join(INSTRUMENTED, `${file}.js`)];
    if (!entry) continue;
    lines = [lines[0]! + entry.lines.covered, lines[1]! + entry.lines.total];
    branches = [branches[0]! + entry.branches.covered, branches[1]! + entry.branches.total];
  }
  if (lines[1] === 0) return undefined;
  return { linesPct: (100 * lines[0]!) / lines[1]!, branchesPct: branches[1] === 0 ? 100 : (100 * branches[0]!) / branches[1]! };
}

function writeSeeds(dir: string, seeds: Buffer[]): void {
  mkdirSync(dir, { recursive: true });
  for (const seed of seeds) writeFileSync(join(dir, `seed-${createHash('sha1').update(seed).digest('hex')}`), seed);
}

async function fuzzOne(name: string, seconds: number, seed: number | undefined, preload: string): Promise<Result> {
  const target = findTarget(name)!;
  const corpus = join(ROOT, 'build', 'fuzz', 'corpus', name);
  const findingsDir = join(ROOT, 'build', 'fuzz', 'findings', name);
  writeSeeds(corpus, target.seeds());
  mkdirSync(findingsDir, { recursive: true });
  const before = new Set(readdirSync(findingsDir));
  const args = [
    corpus,
    '--sync',
    '-i',
    INSTRUMENTED,
    '--timeout',
    '10000',
    '--',
    `-max_total_time=${seconds}`,
    '-rss_limit_mb=2048',
    `-artifact_prefix=${findingsDir}/`,
    '-print_final_stats=1',
    ...(seed !== undefined ? [`-seed=${seed}`] : []),
  ];
  const started = Date.now();
  const { code: exitCode, log } = await runJazzer(args, name, preload);
  const elapsed = (Date.now() - started) / 1000;
  writeFileSync(join(ROOT, 'build', 'fuzz', `${name}.log`), log);

  const last = (re: RegExp): number => {
    let value = 0;
    for (const m of log.matchAll(re)) value = Number(m[1]);
    return value;
  };
  const executions = last(/stat::number_of_executed_units: (\d+)/g) || last(/Done (\d+) runs/g) || last(/^#(\d+)/gm);
  const findings = readdirSync(findingsDir)
    .filter((f) => !before.has(f))
    .map((f) => join(findingsDir, f));
  if (findings.length > 0 || (exitCode !== 0 && exitCode !== null)) {
    const crash = log
      .split('\n')
      .filter((l) => /Uncaught Exception|InvariantViolation|Error|timeout|out-of-memory|==\d+==/.test(l))
      .slice(0, 20);
    process.stderr.write(`\n${name}: exit ${exitCode}, findings ${findings.join(', ') || '(none written)'}\n${crash.join('\n')}\n`);
  }
  return {
    target: name,
    seconds: elapsed,
    executions,
    execPerSecond: executions / Math.min(elapsed, seconds),
    edges: last(/cov: (\d+)/g),
    features: last(/ft: (\d+)/g),
    corpus: existsSync(corpus) ? readdirSync(corpus).length : 0,
    peakRssMb: last(/stat::peak_rss_mb: (\d+)/g) || last(/rss: (\d+)Mb/g),
    findings,
    exitCode,
    ...(await corpusCoverage(name, corpus, preload)),
  };
}

async function main(): Promise<void> {
  const { values, positionals } = parseArgs({
    allowPositionals: true,
    options: { time: { type: 'string', default: '60' }, seed: { type: 'string' }, list: { type: 'boolean' } },
  });
  if (values.list || positionals.length === 0) {
    for (const t of TARGETS) console.log(`${t.name.padEnd(22)} ${t.description}`);
    if (positionals.length === 0 && !values.list) process.exitCode = 2;
    return;
  }
  const names = positionals[0] === 'all' ? TARGETS.map((t) => t.name) : positionals;
  for (const name of names) {
    if (!findTarget(name)) {
      console.error(`unknown target "${name}"; npm run fuzz -- --list`);
      process.exitCode = 2;
      return;
    }
  }
  const seconds = Number(values.time);
  if (!(Number.isInteger(seconds) && seconds > 0)) throw new Error(`--time must be a positive number of seconds, got ${values.time}`);
  const seed = values.seed !== undefined ? Number(values.seed) : undefined;
  const preload = ensureJazzerLoads(ROOT, (line) => console.error(line));

  const results: Result[] = [];
  for (const name of names) {
    console.error(`fuzzing ${name} for ${seconds} s ...`);
    const stats = join(ROOT, 'build', 'fuzz', 'stats', `${name}.json`);
    rmSync(stats, { force: true });
    const r = await fuzzOne(name, seconds, seed, preload);
    console.error(
      `  ${r.executions} executions, cov ${r.edges}, ft ${r.features}, corpus ${r.corpus}, lines ${r.linesPct?.toFixed(0) ?? '?'}%, findings ${r.findings.length}`,
    );
    // A target that times what it runs (the CEL evaluations) leaves its figures here.
    if (existsSync(stats)) console.error(`  timing: ${readFileSync(stats, 'utf8').trim()}`);
    results.push(r);
  }
  console.log(`\nJazzer.js fuzzing, ${seconds} s per target; machine: ${cpus().length} x ${cpus()[0]?.model ?? 'cpu'}, node ${process.version}\n`);
  console.log('| target | executions | exec/s | edges (cov) | features (ft) | corpus | lines / branches of its parsers | peak RSS MB | findings |');
  console.log('| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |');
  const pct = (n: number | undefined) => (n === undefined ? '?' : `${n.toFixed(0)}%`);
  for (const r of results) {
    console.log(
      `| ${r.target} | ${r.executions} | ${r.execPerSecond.toFixed(0)} | ${r.edges} | ${r.features} | ${r.corpus} | ${pct(r.linesPct)} / ${pct(r.branchesPct)} | ${r.peakRssMb} | ${r.findings.length} |`,
    );
  }
  console.log(JSON.stringify({ seconds, results }));
  if (results.some((r) => r.findings.length > 0 || r.exitCode !== 0)) process.exitCode = 1;
}

main().catch((err: unknown) => {
  console.error(err);
  process.exitCode = 1;
});
