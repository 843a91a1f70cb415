/**
 * The shape-checking toolkit (src/util/shape.ts): what counts as a JSON object, own-property
 * reads, and the checker core in its two forms, throwing at the first problem and recording
 * every problem.
 */
import { isRecord, joinPath, jsonKind, own, ShapeChecker } from '../../../src/util/shape';

class Thrower extends ShapeChecker<never> {
  protected problem(path: string, message: string): never {
    throw new Error(`${path}: ${message}`);
  }
  protected describe(value: unknown): string {
    return jsonKind(value);
  }
}

class Recorder extends ShapeChecker {
  readonly problems: string[] = [];
  protected override readonly objectWord = 'a mapping';
  protected problem(path: string, message: string): undefined {
    this.problems.push(`${path}: ${message}`);
    return undefined;
  }
  protected describe(value: unknown): string {
    return jsonKind(value);
  }
}

test('isRecord: objects, not null, arrays or scalars', () => {
  expect(isRecord({})).toBe(true);
  expect(isRecord(Object.create(null))).toBe(true);
  for (const value of [null, undefined, [], 'x', 1, true]) expect(isRecord(value)).toBe(false);
});

test('own reads own properties only, never the prototype', () => {
  const obj = JSON.parse('{"a": 1, "__proto__": {"b": 2}}') as Record<string, unknown>;
  expect(own(obj, 'a')).toBe(1);
  expect(own(obj, 'b')).toBeUndefined();
  expect(own(obj, 'constructor')).toBeUndefined();
  expect(own(obj, 'toString')).toBeUndefined();
  expect(own(obj, '__proto__')).toEqual({ b: 2 });
});

test('jsonKind and joinPath', () => {
  expect([null, [], {}, 'x', 1, undefined].map(jsonKind)).toEqual(['null', 'an array', 'an object', 'string', 'number', 'undefined']);
  expect(joinPath('', 'spec')).toBe('spec');
  expect(joinPath('spec', 'images')).toBe('spec.images');
});

test('a throwing checker returns the value of the right shape, else throws naming the path', () => {
  const c = new Thrower();
  expect(c.object({ a: 1 }, 'x')).toEqual({ a: 1 });
  expect(c.array([1], 'x')).toEqual([1]);
  expect(c.text('s', 'x')).toBe('s');
  expect(() => c.object([], 'request')).toThrow('request: expected an object, got an array');
  expect(() => c.array({}, 'list')).toThrow('list: expected a list, got an object');
  expect(() => c.text(null, 'request.uid')).toThrow('request.uid: expected a string, got null');
  expect(() => c.onlyKnown({ a: 1, b: 2 }, 'spec', ['a'])).toThrow('spec.b: unknown field');
});

test('a recording checker records every problem, in its words, and goes on', () => {
  const c = new Recorder();
  expect(c.object('x', 'spec')).toBeUndefined();
  expect(c.array(1, 'spec.images')).toBeUndefined();
  c.onlyKnown({ a: 1, b: 2, c: 3 }, '', ['a']);
  expect(c.problems).toEqual(['spec: expected a mapping, got string', 'spec.images: expected a list, got number', 'b: unknown field', 'c: unknown field']);
});
