/**
 * spec.match on hostile input: the parser never throws whatever a document holds under
 * `spec.match`; the labels of an admitted object are read from its own `metadata.labels`, string
 * values only, never from a prototype; and a selector holds exactly when every requirement does.
 * (What each field means is tested through the evaluator in ./evaluate.test.ts.)
 */
import fc from 'fast-check';
import { ImgverifyError } from '../../../src/errors';
import { parsePolicyObject } from '../../../src/webhook/policy-documents';
import { objectLabels, policyAppliesTo, selectorMatches } from '../../../src/webhook/resource-match';

const POD = { group: '', version: 'v1', resource: 'pods' };
const hostile = fc.anything({ withNullPrototype: true, withBoxedValues: true, withMap: true, withSet: true, withSparseArray: true });

function withMatch(match: unknown): unknown {
  return {
    apiVersion: 'policy.sigstore.dev/v1beta1',
    kind: 'ClusterImagePolicy',
    metadata: { name: 'm' },
    spec: { images: [{ glob: '**' }], authorities: [{ static: { action: 'pass' } }], match },
  };
}

test('never throws on anything under spec.match, and a loaded match decides without throwing', () => {
  const matchLike = fc.oneof(
    hostile,
    fc.array(
      fc.record(
        {
          group: fc.oneof(fc.constant('apps'), fc.constant(''), hostile),
          version: fc.oneof(fc.constant('v1'), fc.constant('*'), hostile),
          resource: fc.oneof(fc.constant('pods'), fc.constant('deployments'), hostile),
          selector: fc.oneof(
            hostile,
            fc.record(
              {
                matchLabels: fc.dictionary(fc.string(), fc.oneof(fc.string(), hostile)),
                matchExpressions: fc.array(
                  fc.record(
                    {
                      key: fc.string(),
                      operator: fc.constantFrom('In', 'NotIn', 'Exists', 'DoesNotExist', 'x'),
                      values: fc.oneof(fc.array(fc.string()), hostile),
                    },
                    { requiredKeys: [] },
                  ),
                ),
              },
              { requiredKeys: [] },
            ),
          ),
        },
        { requiredKeys: [] },
      ),
    ),
  );
  fc.assert(
    fc.property(matchLike, fc.dictionary(fc.string(), fc.string()), (match, labels) => {
      const result = parsePolicyObject(withMatch(match), { file: 'f', document: 0 });
      for (const e of result.errors) expect(e).toBeInstanceOf(ImgverifyError);
      for (const policy of result.policies) expect(typeof policyAppliesTo(policy, { resource: POD, labels })).toBe('boolean');
    }),
  );
});

test("an object's labels: its own metadata.labels, string values only, whatever the object holds", () => {
  fc.assert(
    fc.property(hostile, (value) => {
      const labels = objectLabels(value as Record<string, unknown>);
      for (const v of Object.values(labels)) expect(typeof v).toBe('string');
    }),
  );
  const parsed = JSON.parse('{"metadata":{"labels":{"__proto__":"x","team":"a","n":1,"o":{"toString":null}}}}') as Record<string, unknown>;
  const labels = objectLabels(parsed);
  expect(Object.entries(labels)).toEqual([
    ['__proto__', 'x'],
    ['team', 'a'],
  ]);
  // An inherited property is no label: a selector on it does not hold.
  expect(selectorMatches({ matchLabels: { toString: 'x' }, matchExpressions: [] }, objectLabels({ metadata: { labels: {} } }))).toBe(false);
  expect(
    selectorMatches(
      { matchLabels: {}, matchExpressions: [{ key: 'constructor', operator: 'Exists', values: [] }] },
      objectLabels({ metadata: { labels: {} } }),
    ),
  ).toBe(false);
});

test('a selector holds exactly when every matchLabels pair and every expression holds', () => {
  const key = fc.constantFrom('a', 'b', 'c');
  const val = fc.constantFrom('x', 'y');
  const requirement = fc.oneof(
    fc.record({ key, operator: fc.constantFrom('In' as const, 'NotIn' as const), values: fc.array(val, { minLength: 1 }) }),
    fc.record({ key, operator: fc.constantFrom('Exists' as const, 'DoesNotExist' as const), values: fc.constant([] as string[]) }),
  );
  fc.assert(
    fc.property(fc.dictionary(key, val), fc.array(requirement), fc.dictionary(key, val), (matchLabels, matchExpressions, labels) => {
      const holds = (r: (typeof matchExpressions)[number]): boolean => {
        const has = r.key in labels;
        if (r.operator === 'In') return has && r.values.includes(labels[r.key]!);
        if (r.operator === 'NotIn') return !has || !r.values.includes(labels[r.key]!);
        return r.operator === 'Exists' ? has : !has;
      };
      const expected = Object.entries(matchLabels).every(([k, v]) => labels[k] === v) && matchExpressions.every(holds);
      expect(selectorMatches({ matchLabels, matchExpressions }, labels)).toBe(expected);
    }),
  );
});
