import { ImgverifyError } from '../../../src/errors';
import { exitCodeForResults } from '../../../src/cli/exit-code';
import { run } from '../../../src/cli/run';
import type { ImageVerificationResult } from '../../../src/verify/types';

const signer = { subject: 'me@x.io', issuer: 'https://i' };
const ok: ImageVerificationResult = {
  image: 'a',
  reference: 'index.docker.io/library/a:latest',
  digest: `sha256:${'ab'.repeat(32)}`,
  pinnedReference: `index.docker.io/library/a:latest@sha256:${'ab'.repeat(32)}`,
  verified: true,
  signer,
  signatures: [{ source: 'sig-tag', location: 'x', verified: true, signer, trustRoot: 'test' }],
};
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
  // A bug is never hidden behind "don't know", but a definite "no" still wins.
  [[fail('REGISTRY_TIMEOUT'), fail('INTERNAL_ERROR')], 4],
  [[fail('INTERNAL_ERROR'), fail('IDENTITY_MISMATCH')], 1],
])('%# → %d', (results, code) => {
  expect(exitCodeForResults(results)).toBe(code);
});

test('an unexpected exception in a command is INTERNAL_ERROR, exit 4, with a request to report it and the stack', async () => {
  const stderr: string[] = [];
  const thrown: Error[] = [];
  const code = await run(['verify', '--help'], {
    stdout: () => {
      thrown.push(new TypeError("Cannot read properties of undefined (reading 'x')"));
      throw thrown[0]!;
    },
    stderr: (t: string) => void stderr.push(t),
    env: {},
    isTTY: false,
  });
  expect(thrown).toHaveLength(1);
  expect(code).toBe(4);
  expect(stderr.join('')).toMatch(
    /internal error, a bug in imgverify \(please report it with this message\): TypeError: Cannot read properties.*\[INTERNAL_ERROR\]/,
  );
  // The stack of the error thrown, whole, as the runtime wrote it: its frames run through the
  // command's module (named by file and line; which function names the frames carry depends
  // on the build and on coverage instrumentation, and the folder on the checkout).
  const stack = thrown[0]!.stack!;
  expect(stack).toMatch(/\n\s+at .*[/\\]cli[/\\]commands[/\\]verify\.[jt]s:\d+:\d+\)?\n/);
  expect(stderr.join('')).toContain(`${stack}\n`);
});
