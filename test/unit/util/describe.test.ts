import fc from 'fast-check';
import { runInNewContext } from 'node:vm';
import { describeValue, errorMessage } from '../../../src/util/describe';

const hostile = (): unknown => JSON.parse('{"toString":null,"valueOf":null}');

describe('describeValue', () => {
  it.each([
    ['abc', 'string "abc"'],
    [3, 'number 3'],
    [false, 'boolean false'],
    [10n, 'bigint 10'],
    [null, 'null'],
    [undefined, 'nothing'],
    [[1], 'an array'],
    [{ a: 1 }, 'an object'],
  ])('%p is %s', (value, expected) => {
    expect(describeValue(value)).toBe(expected);
  });

  it("does not call the value's own conversions (an object whose toString is null)", () => {
    const value = hostile();
    // eslint-disable-next-line @typescript-eslint/no-base-to-string -- the conversion describeValue avoids
    expect(() => String(value)).toThrow(TypeError);
    expect(describeValue(value)).toBe('an object');
  });

  it('bounds a long string and escapes what it shows', () => {
    const shown = describeValue('x'.repeat(10_000) + '\n');
    expect(shown.length).toBeLessThan(100);
    expect(describeValue('a\nb"')).toBe('string "a\\nb\\""');
  });

  it('never throws and stays short, whatever the value', () => {
    fc.assert(
      fc.property(
        fc.oneof(
          fc.anything({ withBigInt: true, withMap: true, withSet: true, withNullPrototype: true, withObjectString: true, withBoxedValues: true }),
          fc.constant(hostile()),
        ),
        (value) => {
          expect(describeValue(value).length).toBeLessThan(100);
        },
      ),
      { numRuns: 500 },
    );
  });
});

describe('errorMessage', () => {
  it('is the message of an Error, the text of a thrown string, a description otherwise', () => {
    expect(errorMessage(new TypeError('boom'))).toBe('boom');
    expect(errorMessage('plain')).toBe('plain');
    expect(errorMessage(hostile())).toBe('a thrown value (an object)');
    expect(errorMessage(42)).toBe('a thrown value (number 42)');
  });

  it("is the message of an Error of another realm (a vm context, or Node's own errors inside jest)", () => {
    expect(errorMessage(runInNewContext('new RangeError("elsewhere")'))).toBe('elsewhere');
  });

  it('does not trust an Error whose message was replaced by an object', () => {
    const err = new Error('x');
    Object.defineProperty(err, 'message', { value: hostile() });
    expect(errorMessage(err)).toBe('an object');
  });
});
