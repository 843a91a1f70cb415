import { ImgverifyError } from '../../../src/errors';
import { checkPayloadBindsDigest, parseSimpleSigning } from '../../../src/cosign/simple-signing';

const D = `sha256:${'1'.repeat(64)}`;
const payload = (critical: unknown, optional: unknown = null) => Buffer.from(JSON.stringify({ critical, optional }));
const good = { identity: { 'docker-reference': 'ghcr.io/a/b' }, image: { 'docker-manifest-digest': D }, type: 'cosign container image signature' };

function code(fn: () => unknown): string | undefined {
  try {
    fn();
  } catch (err) {
    return err instanceof ImgverifyError ? err.code : 'NOT_CODED';
  }
  return undefined;
}

test('parses a cosign payload and reports docker-reference', () => {
  const p = parseSimpleSigning(payload(good, { a: 'b' }));
  expect(p.dockerManifestDigest).toBe(D);
  expect(p.dockerReference).toBe('ghcr.io/a/b');
  expect(p.optional).toEqual({ a: 'b' });
});

test.each([
  ['not JSON', Buffer.from('{')],
  ['no critical', Buffer.from('{"optional":null}')],
  ['no digest', payload({ ...good, image: {} })],
  ['digest not a string', payload({ ...good, image: { 'docker-manifest-digest': 5 } })],
  ['wrong type', payload({ ...good, type: 'atomic container signature' })],
  ['optional not an object', payload(good, 'x')],
  ['array', Buffer.from('[]')],
])('rejects %s as PAYLOAD_INVALID', (_name, bytes) => {
  expect(code(() => parseSimpleSigning(bytes))).toBe('PAYLOAD_INVALID');
});

test('digest binding is exact', () => {
  const p = parseSimpleSigning(payload(good));
  expect(() => checkPayloadBindsDigest(p, D)).not.toThrow();
  expect(code(() => checkPayloadBindsDigest(p, `sha256:${'2'.repeat(64)}`))).toBe('PAYLOAD_DIGEST_MISMATCH');
  expect(code(() => checkPayloadBindsDigest(p, D.toUpperCase()))).toBe('PAYLOAD_DIGEST_MISMATCH');
});

test('docker-reference is optional and never required to match', () => {
  const p = parseSimpleSigning(payload({ image: good.image, type: good.type }));
  expect(p.dockerReference).toBe('');
  expect(() => checkPayloadBindsDigest(p, D)).not.toThrow();
});
