/**
 * CEL conditions on attestations: compilation (errors with positions, static limits), evaluation
 * over real statements (the Kubernetes SLSA v0.1 provenance when the interop corpus is present,
 * and the GitHub SLSA v1 provenance of sigstore-js 2.0.0 from fixtures-like data), the cost
 * bound, and property tests over arbitrary statements.
 */
import { existsSync, readFileSync } from 'node:fs';
import fc from 'fast-check';
import { ImgverifyError } from '../../../src/errors';
import {
  compileCondition,
  compileConditionFile,
  evaluateCondition,
  MAX_CONDITION_COST,
  MAX_CONDITION_OUTPUT,
  MAX_CONDITION_STEPS,
  MAX_STATEMENT_DEPTH,
  toCondition,
} from '../../../src/policy/cel';
import { interopPath } from '../../support/interop';

function compileErrorOf(fn: () => unknown): ImgverifyError {
  try {
    fn();
  } catch (err) {
    if (err instanceof ImgverifyError) return err;
    throw err;
  }
  throw new Error('no error');
}

/** The predicate of the npm provenance of sigstore 2.0.0 (a GitHub Actions SLSA v1 build), as the sigstore-go test bundle holds it. */
const GITHUB_STATEMENT = {
  _type: 'https://in-toto.io/Statement/v1',
  subject: [
    {
      name: 'pkg:npm/sigstore@2.0.0',
      digest: { sha512: '46d4e2f74c4877316640000a6fdf8a8b59f1e0847667973e9859f774dd31b8f1e0937813b777fb66a2ac67d50540fe34640966eee9fc2ccca387082b4c85cd3c' },
    },
  ],
  predicateType: 'https://slsa.dev/provenance/v1',
  predicate: {
    buildDefinition: {
      buildType: 'https://slsa-framework.github.io/github-actions-buildtypes/workflow/v1',
      externalParameters: {
        workflow: { ref: 'refs/heads/main', repository: 'https://github.com/sigstore/sigstore-js', path: '.github/workflows/release.yml' },
      },
      internalParameters: { github: { event_name: 'push', repository_id: '495574555', repository_owner_id: '71096353' } },
      resolvedDependencies: [
        { uri: 'git+https://github.com/sigstore/sigstore-js@refs/heads/main', digest: { gitCommit: 'f0b49a04e5a62250e0f60fb128004a73110fe311' } },
      ],
    },
    runDetails: {
      builder: { id: 'https://github.com/actions/runner/github-hosted' },
      metadata: { invocationId: 'https://github.com/sigstore/sigstore-js/actions/runs/5904696764/attempts/1' },
    },
  },
};

describe('compilation', () => {
  test.each([
    ['predicateType ==', 'f.cel:1:15: CEL: syntax error'],
    ['predicat.builder.id == "x"', "f.cel:1:1: CEL: undeclared reference to 'predicat'"],
    ['subject.exists(s, t.name == "x")', "f.cel:1:19: CEL: undeclared reference to 't'"],
    ['predicate.x.startsWit("a")', "undeclared function 'startsWit'"],
    ['cel.expr.conformance.proto3.TestAllTypes{} == null', 'message construction'],
    ['subject.all(a, subject.all(b, subject.all(c, subject.all(d, true))))', 'nested 4 deep, more than 3'],
    ['   ', 'the expression is empty'],
  ])('%j → INVALID_POLICY %s', (expression, fragment) => {
    const err = compileErrorOf(() => compileCondition(expression, 'f.cel'));
    expect(err.code).toBe('INVALID_POLICY');
    expect(err.message).toContain(fragment);
  });

  test('positions are lines and columns of the file, for expressions after the first', () => {
    const text =
      '// provenance from the release workflow\npredicateType == "https://slsa.dev/provenance/v1"\n---\n\npredicate.runDetails.builder.id\n  .startsWith(1 +)\n';
    const err = compileErrorOf(() => compileConditionFile(text, 'release.cel'));
    expect(err.message).toMatch(/^release\.cel:6:\d+: CEL: syntax error/);
    expect(err.details).toMatchObject({ origin: 'release.cel', line: 6 });
  });

  test('a file holds one expression or several separated by --- lines; comment-only parts are skipped', () => {
    expect(compileConditionFile('predicateType != ""\n', 'a.cel')).toHaveLength(1);
    expect(compileConditionFile('// one\npredicateType != ""\n---\n// two\nsize(subject) > 0\n---\n// nothing\n', 'a.cel')).toHaveLength(2);
    expect(compileErrorOf(() => compileConditionFile('// nothing\n', 'a.cel')).message).toContain('no expression');
  });

  test('the strings extension is there (split, lowerAscii)', () => {
    const c = compileCondition('"A,B".lowerAscii().split(",") == ["a", "b"]', 'x');
    expect(evaluateCondition(c, GITHUB_STATEMENT)).toEqual({ ok: true });
  });

  test('a condition object not made by the compiler is refused', () => {
    expect(compileErrorOf(() => toCondition({ origin: 'x', expression: 'true' })).code).toBe('INVALID_POLICY');
  });
});

describe('evaluation over a GitHub Actions SLSA v1 provenance', () => {
  test.each([
    ['predicate.buildDefinition.externalParameters.workflow.repository == "https://github.com/sigstore/sigstore-js"', true],
    ['predicate.buildDefinition.internalParameters.github.repository_id == "495574555"', true],
    ['predicate.runDetails.builder.id.startsWith("https://github.com/actions/runner/github-hosted")', true],
    ['subject.exists(s, s.name == "pkg:npm/sigstore@2.0.0" && size(s.digest.sha512) == 128)', true],
    ['predicate.buildDefinition.externalParameters.workflow.ref.matches("^refs/tags/v")', false],
    ['predicate.buildDefinition.internalParameters.github.repository_id == "1"', false],
  ])('%s → %s', (expression, expected) => {
    const outcome = evaluateCondition(compileCondition(expression, 'gh.cel'), GITHUB_STATEMENT);
    expect(outcome.ok).toBe(expected);
    if (!outcome.ok) expect(outcome.reason).toMatch(/^gh\.cel: .* is false$/);
  });

  test('a missing field is a failure naming the error, not an exception', () => {
    const outcome = evaluateCondition(compileCondition('predicate.nothing.here == "x"', 'gh.cel'), GITHUB_STATEMENT);
    expect(outcome).toEqual({ ok: false, reason: expect.stringContaining('evaluation error') });
  });

  test('a non-boolean result does not pass', () => {
    expect(evaluateCondition(compileCondition('predicate.runDetails.builder.id', 'gh.cel'), GITHUB_STATEMENT)).toEqual({
      ok: false,
      reason: 'gh.cel: the expression is not a boolean',
    });
  });

  test('JSON objects are maps: no prototype properties are visible', () => {
    expect(evaluateCondition(compileCondition('has(predicate.constructor)', 'x'), GITHUB_STATEMENT).ok).toBe(false);
    expect(evaluateCondition(compileCondition('has(predicate.__proto__)', 'x'), JSON.parse('{"predicate": {"__proto__": {"a": 1}}}')).ok).toBe(true);
  });
});

const K8S = interopPath('attestations', 'k8s-1.23.0-alpha.4-provenance.json');
(existsSync(K8S) ? describe : describe.skip)('evaluation over the Kubernetes v1.23.0-alpha.4 SLSA v0.1 provenance (461 subjects, interop corpus)', () => {
  const statement = existsSync(K8S) ? (JSON.parse(readFileSync(K8S, 'utf8')) as Record<string, unknown>) : {};
  test.each([
    ['predicate.recipe.entryPoint == "https://github.com/kubernetes/release/blob/master/gcb/stage/cloudbuild.yaml"', true],
    ['subject.exists(s, s.name.endsWith("/bin/linux/amd64/kubectl") && s.digest.sha256 == "' + '0'.repeat(64) + '")', false],
    ['subject.all(s, s.name.startsWith("gs://kubernetes-release-gcb/"))', true],
    [
      'predicate.materials.exists(m, m.uri == "git+https://github.com/kubernetes/kubernetes" && m.digest.sha1 == "94db9bed6b7c56420e722d1b15db4610c9cacd3f")',
      true,
    ],
    ['size(subject) == 461.0 || size(subject) == 461', true],
  ])('%s → %s', (expression, expected) => {
    expect(evaluateCondition(compileCondition(expression, 'k8s.cel'), statement).ok).toBe(expected);
  });

  test('a comprehension nested twice over 461 subjects is evaluated; three deep is refused before it runs', () => {
    const two = compileCondition('subject.all(a, subject.exists(b, a.name == b.name))', 'two.cel');
    // About 0.9 million metered steps (0.2 s in node here; jest's sandbox runs it several times slower).
    expect(evaluateCondition(two, statement, { maxMs: 60_000 })).toEqual({ ok: true });
    const three = compileCondition('subject.all(a, subject.all(b, subject.exists(c, a.name == c.name)))', 'three.cel');
    const outcome = evaluateCondition(three, statement);
    expect(outcome.ok).toBe(false);
    expect(!outcome.ok && outcome.reason).toContain(`more than the limit of ${MAX_CONDITION_COST}`);
  });
});

describe('properties', () => {
  const json = fc.jsonValue({ maxDepth: 4 });
  test('arbitrary statements never throw; a tautology holds, a contradiction fails', () => {
    const yes = compileCondition('predicateType == predicateType && (size(subject) >= 0)', 'p');
    const no = compileCondition('predicateType != predicateType', 'p');
    const probe = compileCondition('has(predicate.a) ? predicate.a == predicate.a || true : true', 'p');
    fc.assert(
      fc.property(fc.string(), fc.array(json, { maxLength: 5 }), json, (predicateType, subject, predicate) => {
        const statement = { predicateType, subject, predicate };
        expect(evaluateCondition(yes, statement)).toEqual({ ok: true });
        expect(evaluateCondition(no, statement).ok).toBe(false);
        expect(() => evaluateCondition(probe, statement)).not.toThrow();
      }),
    );
  });

  test('a string field equals its CEL literal, and its size is its code point count', () => {
    fc.assert(
      fc.property(fc.string({ unit: 'grapheme', maxLength: 40 }), (value) => {
        const statement = { predicateType: 'x', subject: [], predicate: { value } };
        const literal = JSON.stringify(value);
        expect(evaluateCondition(compileCondition(`predicate.value == ${literal}`, 'p'), statement)).toEqual({ ok: true });
        expect(evaluateCondition(compileCondition(`size(predicate.value) == ${[...value].length}`, 'p'), statement)).toEqual({ ok: true });
      }),
      { numRuns: 60 },
    );
  });

  test('subjects: exists finds exactly the names present', () => {
    fc.assert(
      fc.property(fc.uniqueArray(fc.stringMatching(/^[a-z0-9/.:-]{1,20}$/), { maxLength: 20 }), fc.stringMatching(/^[a-z0-9/.:-]{1,20}$/), (names, probe) => {
        const statement = { predicateType: 'x', subject: names.map((name) => ({ name, digest: { sha256: 'a'.repeat(64) } })), predicate: null };
        const c = compileCondition(`subject.exists(s, s.name == ${JSON.stringify(probe)})`, 'p');
        expect(evaluateCondition(c, statement).ok).toBe(names.includes(probe));
      }),
      { numRuns: 60 },
    );
  });
});

/** A statement whose predicate holds `fields`. */
function withPredicate(fields: Record<string, unknown>): Record<string, unknown> {
  return { predicateType: 'https://example.test/p', subject: [], predicate: fields };
}

describe('the cost of an evaluation is metered while it runs (issue 20.2)', () => {
  // Step and output limits are what these tests reach (deterministic); the wall-clock limit is
  // raised so that a slow test runner does not reach it first.
  const roomy = { maxMs: 60_000 };

  test('replace over a 195 KB string is linear: the right answer, at once (the library rebuilt the string at each occurrence: 70 s)', () => {
    const ref = '-'.repeat(195_000);
    const condition = compileCondition('predicate.ref.replace("-", "_") == predicate.expected', 'r.cel');
    expect(evaluateCondition(condition, withPredicate({ ref, expected: '_'.repeat(195_000) }), roomy)).toEqual({ ok: true });
  }, 10_000);

  test.each([
    ['"a-b-c".replace("-", "_") == "a_b_c"'],
    ['"a-b-c".replace("-", "_", 1) == "a_b-c"'],
    ['"a-b-c".replace("-", "_", 0) == "a-b-c"'],
    // As cel-go (Go's strings.Replace): a negative count replaces all, an empty substring matches around each code point.
    ['"a-b-c".replace("-", "_", -1) == "a_b_c"'],
    ['"ab".replace("", "-") == "-a-b-"'],
    ['"aé".replace("", "-", 2) == "-a-é"'],
    ['"aaa".replace("aa", "b") == "ba"'],
    ['["a", "b"].join() == "ab" && ["a", "b"].join(", ") == "a, b" && [].join("-") == ""'],
  ])('%s', (expression) => {
    expect(evaluateCondition(compileCondition(expression, 's.cel'), withPredicate({}), roomy)).toEqual({ ok: true });
  });

  test('comprehensions nested over a split string stop at the step limit (they ran for hours)', () => {
    const condition = compileCondition('predicate.ref.split("").all(a, predicate.ref.split("").all(b, a == b))', 'n.cel');
    // 1000 characters: a million inner iterations, several million steps (40 000 ran for hours).
    const outcome = evaluateCondition(condition, withPredicate({ ref: '-'.repeat(1000) }), roomy);
    expect(outcome).toEqual({
      ok: false,
      reason: expect.stringMatching(new RegExp(`^n\\.cel: the evaluation was stopped after \\d+ steps: more than ${MAX_CONDITION_STEPS} steps$`)),
    });
  });

  test('a stopped evaluation never passes, even where CEL would absorb the error (`error || true`)', () => {
    const condition = compileCondition('predicate.ref.split("").all(a, predicate.ref.split("").all(b, a == b)) || true', 'n.cel');
    const outcome = evaluateCondition(condition, withPredicate({ ref: '-'.repeat(1000) }), roomy);
    expect(outcome.ok).toBe(false);
    expect(!outcome.ok && outcome.reason).toContain('the evaluation was stopped');
  });

  test('output is counted before it is built: a join of many large strings is refused, not allocated', () => {
    const condition = compileCondition('predicate.list.map(x, predicate.ref).join() != ""', 'j.cel');
    const outcome = evaluateCondition(condition, withPredicate({ ref: 'x'.repeat(195_000), list: Array.from({ length: 2000 }, (_, i) => i) }), roomy);
    expect(outcome).toEqual({ ok: false, reason: expect.stringContaining(`it would produce more than ${MAX_CONDITION_OUTPUT} characters and list elements`) });
  });

  test('a replace whose output would be huge is refused before it is built', () => {
    const condition = compileCondition('predicate.ref.replace("-", predicate.ref) != ""', 'r.cel');
    const outcome = evaluateCondition(condition, withPredicate({ ref: '-'.repeat(20_000) }), roomy);
    expect(!outcome.ok && outcome.reason).toContain('it would produce more than');
  });

  test('the verification deadline ends an evaluation: one past it does not run', () => {
    const condition = compileCondition('predicate.ok == true', 'd.cel');
    const statement = withPredicate({ ok: true });
    expect(evaluateCondition(condition, statement, { deadline: performance.now() + 60_000 })).toEqual({ ok: true });
    expect(evaluateCondition(condition, statement, { deadline: performance.now() - 1 })).toEqual({
      ok: false,
      reason: 'd.cel: the evaluation was stopped after 0 steps: the verification deadline passed',
    });
  });

  test('the wall-clock limit stops what the step limit allows but the machine is too slow for', () => {
    const condition = compileCondition('predicate.ref.split("").all(a, predicate.ref.split("").all(b, a == b))', 't.cel');
    const outcome = evaluateCondition(condition, withPredicate({ ref: '-'.repeat(1000) }), { maxMs: 1 });
    expect(outcome).toEqual({ ok: false, reason: expect.stringMatching(/^t\.cel: the evaluation was stopped after \d+ steps: it ran longer than 1 ms$/) });
  });

  test('regular expressions of matches() are compiled once per pattern, and still match as RE2 searches', () => {
    const condition = compileCondition('predicate.names.all(n, n.matches("^[a-z]+-[0-9]+$")) && !predicate.names.exists(n, n.matches("x"))', 'm.cel');
    expect(evaluateCondition(condition, withPredicate({ names: Array.from({ length: 5000 }, (_, i) => `name-${i}`) }), roomy)).toEqual({ ok: true });
    expect(evaluateCondition(compileCondition('"abc".matches("b") && !"abc".matches("^b")', 'm.cel'), withPredicate({}))).toEqual({ ok: true });
  });
});

describe('a statement nested too deep fails that attestation, not the process (issue 20.4)', () => {
  function nested(depth: number): unknown {
    let value: unknown = 'bottom';
    for (let i = 0; i < depth; i++) value = i % 2 === 0 ? [value] : { x: value };
    return value;
  }

  test('3000 levels: a clear failure instead of a stack overflow', () => {
    const condition = compileCondition('has(predicate.x)', 'deep.cel');
    const outcome = evaluateCondition(condition, withPredicate({ x: nested(3000) }));
    expect(outcome).toEqual({
      ok: false,
      reason: `deep.cel: the statement nests objects and arrays more than ${MAX_STATEMENT_DEPTH} deep; conditions are not evaluated over it`,
    });
  });

  test('up to the limit is evaluated', () => {
    const condition = compileCondition('has(predicate.x)', 'deep.cel');
    // The statement is level 0, the predicate 1, its field x 2: the limit leaves room for the rest.
    expect(evaluateCondition(condition, withPredicate({ x: nested(MAX_STATEMENT_DEPTH - 3) }))).toEqual({ ok: true });
  });
});

describe('mistakes knowable before evaluation are reported at load (issue 20.18)', () => {
  test.each([
    ['predicate.name.matches("(")', 'the regular expression does not compile (RE2): error parsing regexp: missing closing ): `(`', 1, 24],
    ['size(1) > 0', "found no matching overload for 'size' applied to '(int)'", 1, 1],
    ['"a" + 1 == "a1"', "found no matching overload for '_+_' applied to '(string, int)'", 1, 4],
    ['predicate.name.startsWith(1)', "found no matching overload for 'startsWith' applied to 'dyn.(int)'", 1, 15],
    ['predicateType.startsWith("x", "y")', "found no matching overload for 'startsWith' applied to 'string.(string, string)'", 1, 14],
    ['size(subject)', "the expression's result is int, not bool", 1, 1],
    ['subject.map(s, s.name)', "the expression's result is list, not bool", 1, 8],
    ['"text"', "the expression's result is string, not bool", 1, 1],
    ['subject.all(s, 1)', '&& takes booleans, not int', 1, 16],
    ['predicate.ok && "yes"', '&& takes booleans, not string', 1, 17],
    ['(1 ? true : false)', 'the condition of ?: is int, not bool', 1, 2],
  ])('%s: %s', (expression, why, line, column) => {
    const err = compileErrorOf(() => compileCondition(expression, 'load.cel'));
    expect(err.code).toBe('INVALID_POLICY');
    expect(err.message).toBe(`load.cel:${line}:${column}: CEL: ${why}`);
  });

  test.each([
    'predicate.name.matches(predicate.pattern)',
    'size(predicate.x) > 0',
    'predicate.a + 1 == 2',
    'type(predicate) == map',
    'subject.map(s, s.name).exists(n, n == "x")',
    'strings.quote("a") == "\\"a\\""',
    '[1, "a"].exists(x, x == 1)',
    'predicate.n > 1.0 || predicate.n < 1',
    'has(predicate.x) ? predicate.x == 1 : true',
    'duration("1h") < duration("2h")',
    'timestamp("2020-01-01T00:00:00Z") < timestamp("2021-01-01T00:00:00Z")',
    '"abc".substring(1) == "bc" && 1 in [1, 2] && "a" in {"a": 1}',
    '[1, 2] + [3] == [1, 2, 3] && size({"a": 1}) == 1',
    'predicate.x',
    'subject.exists_one(s, s.name == "a") || subject.filter(s, true).size() == 0',
    '!(predicateType == "x") && -1 < 0',
  ])('compiles: %s', (expression) => {
    expect(() => compileCondition(expression, 'ok.cel')).not.toThrow();
  });
});
