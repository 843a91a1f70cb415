import fc from 'fast-check';
import { jsonText, MAX_INDENTED_DEPTH } from '../../../src/util/json-text';

function nested(depth: number): unknown {
  let value: unknown = 'bottom';
  for (let i = 0; i < depth; i++) value = i % 2 === 0 ? [value] : { x: value };
  return value;
}

describe('jsonText (issue 20.4)', () => {
  test('as JSON.stringify(value, null, 2) for values within the indented depth', () => {
    fc.assert(
      fc.property(fc.jsonValue({ maxDepth: 6 }), (value) => {
        expect(jsonText(value)).toBe(JSON.stringify(value, null, 2));
      }),
    );
  });

  test('toJSON, undefined, functions and non-finite numbers as JSON.stringify writes them', () => {
    const value = {
      buffer: Buffer.from('ab'),
      date: new Date(0),
      error: { toJSON: (key: string) => ({ key }) },
      gone: undefined,
      fn: () => 1,
      list: [undefined, () => 1, NaN, Infinity, -0, 1e21],
      empty: { a: [], b: {} },
    };
    expect(jsonText(value)).toBe(JSON.stringify(value, null, 2));
  });

  test('an 8 KB predicate nested 4000 deep: parseable, and a few times its compact size (JSON.stringify wrote 32 MB)', () => {
    const value = { predicate: nested(4000) };
    const compact = JSON.stringify(value);
    const text = jsonText(value);
    expect(JSON.stringify(JSON.parse(text))).toBe(compact);
    // The indented levels add their line breaks and spaces (twice per level, opening and closing); the rest is compact.
    expect(text.length).toBeLessThan(compact.length + 4 * MAX_INDENTED_DEPTH * (MAX_INDENTED_DEPTH + 2));
  });

  test('any depth: no stack overflow', () => {
    const text = jsonText(nested(200_000));
    expect(text.length).toBeGreaterThan(400_000);
    expect(text.startsWith('{\n  "x": [\n    {')).toBe(true);
    expect(text.endsWith('}')).toBe(true);
  });
});
