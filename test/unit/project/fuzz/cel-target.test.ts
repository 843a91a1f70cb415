/** The CEL fuzz target's seeds run without a finding: each compiles or fails typed, and each evaluation is bounded. */
import { celInput, celSeeds, fuzzCel } from '../../../../fuzz/cel-target';

test.each(celSeeds().map((seed, i) => [i, seed] as const))('seed %i', (_i, seed) => {
  expect(() => fuzzCel(seed)).not.toThrow();
});

test('an expression that does not compile is an answer (typed), not a finding', () => {
  expect(() => fuzzCel(celInput('predicate.x ==='))).not.toThrow();
  expect(() => fuzzCel(celInput('size(1) > 0'))).not.toThrow();
});
