import { abortedError, categoryOf, ERROR_CODES, exitCodeFor, ImgverifyError, toImgverifyError } from '../../src/errors';

describe('toImgverifyError: the one conversion of a thrown value', () => {
  test('an ImgverifyError stays itself', () => {
    const err = new ImgverifyError('REGISTRY_TIMEOUT', 'slow');
    expect(toImgverifyError(err)).toBe(err);
  });

  test.each([new TypeError('x is undefined'), new RangeError('bad'), new Error('plain'), 'a string', 42, undefined])(
    '%p is a bug: INTERNAL_ERROR',
    (thrown) => {
      const err = toImgverifyError(thrown);
      expect(err.code).toBe('INTERNAL_ERROR');
      expect(err.category).toBe('internal');
      expect(err.message).toMatch(/a bug in imgverify \(please report it/);
      expect(err.cause).toBe(thrown);
    },
  );
});

test('abortedError: the signal reason when it is an ImgverifyError, else ABORTED', () => {
  const deadline = new ImgverifyError('REGISTRY_TIMEOUT', 'deadline');
  expect(abortedError(deadline)).toBe(deadline);
  expect(abortedError(new DOMException('user pressed stop', 'AbortError'))).toMatchObject({
    code: 'ABORTED',
    category: 'operational',
    message: expect.stringContaining('user pressed stop'),
  });
  expect(abortedError(undefined).code).toBe('ABORTED');
});

test('every category has its exit status; internal errors exit 4', () => {
  expect(exitCodeFor('verification')).toBe(1);
  expect(exitCodeFor('usage')).toBe(2);
  expect(exitCodeFor('operational')).toBe(3);
  expect(exitCodeFor('internal')).toBe(4);
  for (const code of Object.keys(ERROR_CODES) as Array<keyof typeof ERROR_CODES>) expect([1, 2, 3, 4]).toContain(exitCodeFor(categoryOf(code)));
});

test('SBOM problems have SBOM codes, usage errors', () => {
  expect(categoryOf('SBOM_INVALID')).toBe('usage');
  expect(categoryOf('SBOM_NO_IMAGES')).toBe('usage');
});

test('failures carry their details in JSON', () => {
  const err = new ImgverifyError('PAYLOAD_DIGEST_MISMATCH', 'other digest', { details: { signed: 'sha256:a', image: 'sha256:b' } });
  expect(JSON.parse(JSON.stringify(err))).toEqual({
    code: 'PAYLOAD_DIGEST_MISMATCH',
    category: 'verification',
    message: 'other digest',
    details: { signed: 'sha256:a', image: 'sha256:b' },
  });
});
