import fc from 'fast-check';
import { jsonErrorOffset } from '../../../src/sbom/json-position';

describe('jsonErrorOffset', () => {
  test.each([
    ['{\n  "a": oops\n}', 9],
    ['{"a": 1,}', 8],
    ['[1 2]', 3],
    ['{', 1],
    ['', 0],
    ['{"a":"\\x"}', 6],
    ['{"a":"\u0001"}', 6],
    ['[1,]', 3],
    ['{"a" 1}', 5],
    ['{"a":1}}', 7],
    ['01', 1],
    ['[tru]', 1],
  ])('%j fails at %d', (text, offset) => {
    expect(() => JSON.parse(text)).toThrow();
    expect(jsonErrorOffset(text)).toBe(offset);
  });

  test('valid JSON has no error offset', () => {
    fc.assert(
      fc.property(fc.jsonValue(), fc.constantFrom(undefined, 2), (value, indent) => {
        expect(jsonErrorOffset(JSON.stringify(value, null, indent))).toBe(-1);
      }),
    );
  });

  test('agrees with JSON.parse on arbitrary text', () => {
    fc.assert(
      fc.property(
        fc.oneof(
          fc.json(),
          fc.string(),
          fc.json().map((j) => j.slice(0, -1)),
        ),
        (text) => {
          let valid = true;
          try {
            JSON.parse(text);
          } catch {
            valid = false;
          }
          expect(jsonErrorOffset(text) === -1).toBe(valid);
        },
      ),
      { numRuns: 500 },
    );
  });

  test('deep nesting does not overflow the stack', () => {
    expect(jsonErrorOffset('['.repeat(200_000) + ']'.repeat(200_000))).toBe(-1);
    expect(jsonErrorOffset('['.repeat(200_000))).toBe(200_000);
  });
});
