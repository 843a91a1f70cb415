import { ImgverifyError } from '../../../src/errors';
import { exitCodeForResults } from '../../../src/cli/exit-code';
import type { ImageVerificationResult } from '../../../src/verify/types';

const ok: ImageVerificationResult = { image: 'a', verified: true, signatures: [] };
const fail = (code: ConstructorParameters<typeof ImgverifyError>[0]): ImageVerificationResult => ({
  image: 'b',
  verified: false,
  signatures: [],
  error: new ImgverifyError(code, 'x'),
});

test.each<[ImageVerificationResult[], number]>([
  [[ok, ok], 0],
  [[], 0],
  [[ok, fail('NO_SIGNATURES')], 1],
  [[ok, fail('REGISTRY_UNREACHABLE')], 3],
  [[fail('REGISTRY_TIMEOUT'), fail('IDENTITY_MISMATCH')], 1],
  [[fail('INVALID_REFERENCE'), fail('IDENTITY_MISMATCH')], 2],
  [[{ image: 'c', verified: false, signatures: [] }], 1],
])('%# → %d', (results, code) => {
  expect(exitCodeForResults(results)).toBe(code);
});
