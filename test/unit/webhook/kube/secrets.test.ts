/**
 * `secretRef` Secrets as policy-controller reads them (inlineAndTrackSecret): the webhook's own
 * namespace, exactly one data entry, its value the PEM; what it reads is recorded.
 */
import fc from 'fast-check';
import type { KubeObject } from '../../../../src/webhook/kube/resources';
import { MAX_SECRET_VALUE_BYTES, secretLookup } from '../../../../src/webhook/kube/secrets';

const NS = 'imgverify-system';
const b64 = (text: string): string => Buffer.from(text).toString('base64');

function secret(name: string, data: unknown, resourceVersion = '7'): KubeObject {
  return { apiVersion: 'v1', kind: 'Secret', metadata: { name, namespace: NS, resourceVersion }, data };
}

const store = new Map<string, KubeObject>([
  ['one', secret('one', { 'cosign.pub': b64('-----BEGIN PUBLIC KEY-----\nabc\n-----END PUBLIC KEY-----\n') })],
  ['none', secret('none', {})],
  ['absent-data', secret('absent-data', undefined)],
  ['two', secret('two', { a: b64('x'), b: b64('y') })],
  ['garbled', secret('garbled', { k: 'not base64!' })],
  ['huge', secret('huge', { k: 'A'.repeat(4 * Math.ceil(MAX_SECRET_VALUE_BYTES / 3 + 1)) })],
]);

describe('secretLookup', () => {
  const used = new Map<string, string>();
  const lookup = secretLookup(NS, (name) => store.get(name), used);

  it('reads the one data entry of a Secret in the namespace, and records it', () => {
    expect(lookup({ name: 'one' })).toEqual({ value: '-----BEGIN PUBLIC KEY-----\nabc\n-----END PUBLIC KEY-----\n' });
    expect(lookup({ name: 'one', namespace: NS })).toEqual({ value: expect.stringContaining('PUBLIC KEY') });
    expect(used.get('one')).toBe('7');
  });

  it.each([
    ['missing', { name: 'nope' }, { error: 'Secret "nope" not found in namespace "imgverify-system"', missing: true }],
    ['no data', { name: 'none' }, { error: 'Secret "none" contains no data' }],
    ['no data field', { name: 'absent-data' }, { error: 'Secret "absent-data" contains no data' }],
    ['two entries', { name: 'two' }, { error: 'Secret "two" contains multiple data entries ("a", "b"), only one is supported' }],
    ['not base64', { name: 'garbled' }, { error: 'Secret "garbled": data "k" is not base64' }],
    ['too large', { name: 'huge' }, { error: `Secret "huge": data "k" is larger than ${MAX_SECRET_VALUE_BYTES} bytes` }],
    [
      'another namespace',
      { name: 'one', namespace: 'cosign-system' },
      {
        error:
          'the Secret "cosign-system/one" is in another namespace: only the webhook\'s namespace "imgverify-system" is read (as policy-controller reads only its own)',
      },
    ],
  ])('%s', (_what, ref, expected) => {
    expect(lookup(ref)).toEqual(expected);
  });

  it('records a missing Secret too, so that its creation reloads the policy', () => {
    lookup({ name: 'later' });
    expect(used.get('later')).toBe('(missing)');
  });
});

describe('secretLookup on hostile Secrets', () => {
  it('never throws, whatever data a Secret holds', () => {
    fc.assert(
      fc.property(fc.anything(), fc.option(fc.string(), { nil: undefined }), (data, namespace) => {
        const lookup = secretLookup(NS, () => ({ metadata: { name: 'x' }, data }));
        const found = lookup({ name: 'x', ...(namespace !== undefined ? { namespace } : {}) });
        expect('value' in found || 'error' in found).toBe(true);
      }),
    );
  });
});
