/**
 * The CEL target (issue 20.2): a condition and a statement, compiled and evaluated as
 * `verifyAttestations` does, with the time each evaluation takes recorded.
 *
 * An input is the expression, a NUL byte, and the statement's JSON (without a NUL, or with a
 * statement that is not a JSON object, one of the built-in statements below is used: the
 * GitHub SLSA v1 provenance of sigstore-js 2.0.0, and one with a 195 KB string and a
 * 2 000-element list, the shapes that made evaluations run for minutes). The invariant: the
 * compiler returns a condition or throws a typed error (fuzz/invariant.ts); the evaluation
 * never throws; and it never runs longer than twice MAX_CONDITION_MS (the meter's bound, with
 * room for the check's granularity): such an input is a finding.
 *
 * Evaluation times go to build/fuzz/stats/cel.json (count, mean, a log-scale histogram,
 * percentiles, the slowest input's expression), rewritten every 2 s and read by fuzz/run.ts.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { compileCondition, evaluateCondition, MAX_CONDITION_MS } from '../src/policy/cel';
import { InvariantViolation, typed } from './invariant';

const GITHUB_STATEMENT = {
  _type: 'https://in-toto.io/Statement/v1',
  subject: [{ name: 'pkg:npm/sigstore@2.0.0', digest: { sha512: '46d4e2f74c4877316640000a6fdf8a8b59f1e0847667973e9859f774dd31b8f1e0937813b777fb66a2ac67d50540fe34640966eee9fc2ccca387082b4c85cd3c' } }],
  predicateType: 'https://slsa.dev/provenance/v1',
  predicate: {
    buildDefinition: {
      buildType: 'https://slsa-framework.github.io/github-actions-buildtypes/workflow/v1',
      externalParameters: { workflow: { ref: 'refs/heads/main', repository: 'https://github.com/sigstore/sigstore-js', path: '.github/workflows/release.yml' } },
      internalParameters: { github: { event_name: 'push', repository_id: '495574555', repository_owner_id: '71096353' } },
      resolvedDependencies: [{ uri: 'git+https://github.com/sigstore/sigstore-js@refs/heads/main', digest: { gitCommit: 'f0b49a04e5a62250e0f60fb128004a73110fe311' } }],
    },
    runDetails: { builder: { id: 'https://github.com/actions/runner/github-hosted' }, metadata: { invocationId: 'https://github.com/sigstore/sigstore-js/actions/runs/5904696764/attempts/1' } },
  },
};

const LARGE_STATEMENT = {
  _type: 'https://in-toto.io/Statement/v1',
  subject: Array.from({ length: 2000 }, (_, i) => ({ name: `file-${i}`, digest: { sha256: i.toString(16).padStart(64, '0') } })),
  predicateType: 'https://example.test/large/v1',
  predicate: { ref: 'a-'.repeat(97_500), list: Array.from({ length: 2000 }, (_, i) => `item-${i}`), nested: { a: { b: { c: ['x', 'y'] } } } },
};

const STATEMENTS: ReadonlyArray<Readonly<Record<string, unknown>>> = [GITHUB_STATEMENT, LARGE_STATEMENT];

/** The expressions of the seeds: the documented conditions, and the costly shapes of issue 20.2. */
const SEED_EXPRESSIONS = [
  'predicate.buildDefinition.externalParameters.workflow.repository == "https://github.com/sigstore/sigstore-js"',
  'predicate.buildDefinition.internalParameters.github.repository_id == "495574555" && predicate.runDetails.builder.id.startsWith("https://github.com/actions/runner/github-hosted")',
  'subject.exists(s, s.name.endsWith("/bin/linux/amd64/kubectl") && size(s.digest.sha256) == 64)',
  'subject.all(a, subject.exists(b, a.name == b.name))',
  'predicate.ref.replace("-", "_") == ""',
  'predicate.ref.split("").all(a, predicate.ref.split("").all(b, a == b))',
  'predicate.list.map(x, predicate.ref).join() != ""',
  'predicate.ref.split("-").filter(p, p.matches("^a+$")).size() > 0',
  'has(predicate.nested.a.b) && predicate.nested.a.b.c.exists_one(x, x == "y")',
  'predicate.ref.lowerAscii().upperAscii().contains("A-") || predicateType.startsWith("https://")',
];

/** One input: expression NUL statement-JSON (the statement optional). */
export function celInput(expression: string, statement?: unknown): Buffer {
  return Buffer.from(statement === undefined ? expression : `${expression}\0${JSON.stringify(statement)}`, 'utf8');
}

export function celSeeds(): Buffer[] {
  // Each expression alone (over the built-in statements), and the costly ones with a small statement of their own.
  return [
    ...SEED_EXPRESSIONS.map((e) => celInput(e)),
    celInput('predicate.s.split("").map(c, c + c).join("") == predicate.s', { predicateType: 'x', subject: [], predicate: { s: 'abc' } }),
    celInput('predicate.deep.x.x.x == 1', { predicateType: 'x', subject: [], predicate: { deep: { x: { x: { x: 1 } } } } }),
  ];
}

// --- Evaluation time ---------------------------------------------------------------------------

/** Upper bounds (ms) of the histogram's buckets; the last is open. */
const BUCKETS_MS = [0.01, 0.1, 1, 10, 100, 250, 500, 1000, 2000];

interface Timing {
  count: number;
  totalMs: number;
  maxMs: number;
  slowest: string;
  buckets: number[];
}

const timing: Timing = { count: 0, totalMs: 0, maxMs: 0, slowest: '', buckets: new Array<number>(BUCKETS_MS.length + 1).fill(0) };
let lastWrite = 0;

function statsFile(): string {
  const root = join(__dirname, ...(__dirname.includes(join('build', 'tools')) ? ['..', '..', '..'] : ['..']));
  return join(root, 'build', 'fuzz', 'stats', 'cel.json');
}

/** The percentile's bucket bound (ms): the smallest bound under which that share of evaluations fell. */
function percentile(p: number): number | null {
  const wanted = p * timing.count;
  let seen = 0;
  for (let i = 0; i < timing.buckets.length; i++) {
    seen += timing.buckets[i]!;
    if (seen >= wanted) return BUCKETS_MS[i] ?? null;
  }
  return null;
}

function record(ms: number, expression: string): void {
  timing.count++;
  timing.totalMs += ms;
  if (ms > timing.maxMs) {
    timing.maxMs = ms;
    timing.slowest = expression.slice(0, 300);
  }
  const i = BUCKETS_MS.findIndex((upper) => ms <= upper);
  timing.buckets[i === -1 ? BUCKETS_MS.length : i]!++;
  const now = Date.now();
  if (now - lastWrite > 2000 && process.env.IMGVERIFY_FUZZ_NO_STATS === undefined) {
    lastWrite = now;
    writeStats();
  }
}

function writeStats(): void {
  const file = statsFile();
  mkdirSync(join(file, '..'), { recursive: true });
  writeFileSync(
    file,
    `${JSON.stringify({
      evaluations: timing.count,
      meanMs: timing.count === 0 ? 0 : timing.totalMs / timing.count,
      p50Ms: percentile(0.5),
      p99Ms: percentile(0.99),
      p999Ms: percentile(0.999),
      maxMs: timing.maxMs,
      slowestExpression: timing.slowest,
      histogram: Object.fromEntries(timing.buckets.map((n, i) => [i < BUCKETS_MS.length ? `<=${BUCKETS_MS[i]}ms` : `>${BUCKETS_MS[BUCKETS_MS.length - 1]}ms`, n])),
    })}\n`,
  );
}

// --- The target --------------------------------------------------------------------------------

function parseStatement(text: string | undefined): Readonly<Record<string, unknown>> | undefined {
  if (text === undefined) return undefined;
  try {
    const value: unknown = JSON.parse(text);
    return typeof value === 'object' && value !== null && !Array.isArray(value) ? (value as Record<string, unknown>) : undefined;
  } catch {
    return undefined;
  }
}

export function fuzzCel(data: Buffer): void {
  const text = data.toString('utf8');
  const nul = text.indexOf('\0');
  const expression = nul === -1 ? text : text.slice(0, nul);
  const own = parseStatement(nul === -1 ? undefined : text.slice(nul + 1));
  const condition = typed('compileCondition', () => compileCondition(expression, 'fuzz.cel'));
  if (!condition) return;
  for (const statement of own ? [own] : STATEMENTS) {
    const started = performance.now();
    let outcome: ReturnType<typeof evaluateCondition>;
    try {
      outcome = evaluateCondition(condition, statement);
    } catch (err) {
      throw new InvariantViolation(`evaluateCondition threw (it never may): ${err instanceof Error ? err.message : 'a non-Error'}`, { cause: err });
    }
    const ms = performance.now() - started;
    record(ms, expression);
    if (typeof outcome.ok !== 'boolean') throw new InvariantViolation('evaluateCondition returned no verdict');
    if (ms > 2 * MAX_CONDITION_MS) throw new InvariantViolation(`an evaluation ran ${ms.toFixed(0)} ms, more than twice the ${MAX_CONDITION_MS} ms bound: ${expression.slice(0, 200)}`);
  }
}
