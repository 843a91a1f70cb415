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
  subject: [{ name: 'pkg:npm/sigstore@2.0.0', digest: { sha512: '46d4e2f74c4877316640000a6fdf8a8b59f1e0847667973e9859f774dd31b8f1e0937813b777fb66a2ac67d50540fe34640966eee9fc2ccca387082b4c85cd3c' } }],
  predicateType: 'https://slsa.dev/provenance/v1',
  predicate: {
    buildDefinition: {
      buildType: 'https://slsa-framework.github.io/github-actions-buildtypes/workflow/v1',
      externalParameters: { workflow: { ref: 'refs/heads/main', repository: 'https://github.com/sigstore/sigstore-js', path: '.github/workflows/release.yml' } },
      internalParameters: { github: { event_name: 'push', repository_id: '495574555', repository_owner_id: '71096353' } },
      resolvedDependencies: [{ uri: 'git+https://github.com/sigstore/sigstore-js@refs/heads/main', digest: { gitCommit: 'f0b49a04e5a62250e0f60fb128004a73110fe311' } }],
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
    const text = '// provenance from the release workflow\npredicateType == "https://slsa.dev/provenance/v1"\n---\n\npredicate.runDetails.builder.id\n  .startsWith(1 +)\n';
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
    expect(evaluateCondition(compileCondition('predicate.runDetails.builder.id', 'gh.cel'), GITHUB_STATEMENT)).toEqual({ ok: false, reason: 'gh.cel: the expression is not a boolean' });
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
    ['predicate.materials.exists(m, m.uri == "git+https://github.com/kubernetes/kubernetes" && m.digest.sha1 == "94db9bed6b7c56420e722d1b15db4610c9cacd3f")', true],
    ['size(subject) == 461.0 || size(subject) == 461', true],
  ])('%s → %s', (expression, expected) => {
    expect(evaluateCondition(compileCondition(expression, 'k8s.cel'), statement).ok).toBe(expected);
  });

  test('a comprehension nested twice over 461 subjects is evaluated; three deep is refused before it runs', () => {
    const two = compileCondition('subject.all(a, subject.exists(b, a.name == b.name))', 'two.cel');
    expect(evaluateCondition(two, statement)).toEqual({ ok: true });
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
