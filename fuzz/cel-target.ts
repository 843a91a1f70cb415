/**
 * The CEL target (issue 20.2): a condition and a statement, compiled and evaluated as
 * `verifyAttestations` does, with the time each evaluation takes recorded.
 *
 * An input is the expression, a NUL byte, and the statement's JSON (without a NUL, or with a
 * statement that is not a JSON object, the built-in statements are used: the SLSA v1
 * provenance and the cosign attestation of two real bundles in fixtures/, and one with a 195 KB
 * string and 2 000-element lists, the shapes that made evaluations run for minutes). The invariant: the
 * compiler returns a condition or throws a typed error (fuzz/invariant.ts); the evaluation
 * never throws; and it never runs longer than twice MAX_CONDITION_MS (the meter's bound, with
 * room for the check's granularity): such an input is a finding.
 *
 * Evaluation times go to build/fuzz/stats/cel.json (count, mean, a log-scale histogram,
 * percentiles, the slowest input's expression), rewritten every 2 s and read by fuzz/run.ts.
 */
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { compileCondition, evaluateCondition, MAX_CONDITION_MS } from '../src/policy/cel';
import { InvariantViolation, typed } from './invariant';

const ROOT = join(__dirname, ...(__dirname.includes(join('build', 'tools')) ? ['..', '..', '..'] : ['..']));

/** The in-toto statement a real bundle of fixtures/ carries (its DSSE payload). */
function fixtureStatement(...path: string[]): Record<string, unknown> {
  const bundle = JSON.parse(readFileSync(join(ROOT, 'fixtures', ...path), 'utf8')) as { dsseEnvelope: { payload: string } };
  return JSON.parse(Buffer.from(bundle.dsseEnvelope.payload, 'base64').toString('utf8')) as Record<string, unknown>;
}

const LARGE_STATEMENT = {
  _type: 'https://in-toto.io/Statement/v1',
  subject: Array.from({ length: 2000 }, (_, i) => ({ name: `file-${i}`, digest: { sha256: i.toString(16).padStart(64, '0') } })),
  predicateType: 'https://example.test/large/v1',
  predicate: { ref: 'a-'.repeat(97_500), list: Array.from({ length: 2000 }, (_, i) => `item-${i}`), nested: { a: { b: { c: ['x', 'y'] } } } },
};

let statements: ReadonlyArray<Readonly<Record<string, unknown>>> | undefined;

/** The built-in statements: two real ones (a SLSA v1 provenance, a cosign attestation) and the oversized one. */
function builtInStatements(): ReadonlyArray<Readonly<Record<string, unknown>>> {
  statements ??= [
    fixtureStatement('bundles', 'sigstore-python', 'a.dsse.staging-rekor-v2.txt.sigstore.json'),
    fixtureStatement('bundles', 'cosign', 'oci-attestation.sigstore.json'),
    LARGE_STATEMENT,
  ];
  return statements;
}

/** The expressions of the seeds: the documented conditions, and the costly shapes of issue 20.2. */
const SEED_EXPRESSIONS = [
  'predicate.buildDefinition.externalParameters.workflow.repository == "https://github.com/sigstore/sigstore-js"',
  'predicate.runDetails.builder.id.startsWith("https://github.com/") && predicateType == "https://slsa.dev/provenance/v1"',
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
  return join(ROOT, 'build', 'fuzz', 'stats', 'cel.json');
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
      histogram: Object.fromEntries(
        timing.buckets.map((n, i) => [i < BUCKETS_MS.length ? `<=${BUCKETS_MS[i]}ms` : `>${BUCKETS_MS[BUCKETS_MS.length - 1]}ms`, n]),
      ),
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
  for (const statement of own ? [own] : builtInStatements()) {
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
    if (ms > 2 * MAX_CONDITION_MS)
      throw new InvariantViolation(`an evaluation ran ${ms.toFixed(0)} ms, more than twice the ${MAX_CONDITION_MS} ms bound: ${expression.slice(0, 200)}`);
  }
}
