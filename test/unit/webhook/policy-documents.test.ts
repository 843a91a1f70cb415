/**
 * The entries of ./policy-documents: one decoded object (as a file or the Kubernetes API hands
 * it over) and a file's text, all or nothing.
 */
import fc from 'fast-check';
import { ImgverifyError } from '../../../src/errors';
import { parsePolicyObject } from '../../../src/webhook/policy-documents';
import { K8S_POLICY, parse } from './policy-text';

describe('one object', () => {
  it('never throws on arbitrary decoded documents', () => {
    fc.assert(
      fc.property(fc.anything({ withNullPrototype: true, withBoxedValues: true, withMap: true, withSet: true, withSparseArray: true }), (value) => {
        const result = parsePolicyObject(value, { file: 'f', document: 0 });
        expect(result.policies.length + result.errors.length).toBeGreaterThan(0);
        for (const e of result.errors) expect(e).toBeInstanceOf(ImgverifyError);
      }),
    );
  });
});

describe('a file', () => {
  it('returns no policy at all when one document of the file is invalid', () => {
    const result = parse(`${K8S_POLICY}---\n${K8S_POLICY.replace('registry-k8s-io', 'other').replace('mode', 'x')}---\nkind: Secret\n`);
    expect(result.policies).toEqual([]);
    expect(result.errors.map((e) => e.message)).toEqual([expect.stringMatching(/^policy\.yaml: document 2 \(line \d+\): kind: unsupported kind "Secret"/)]);
  });
});
