/**
 * The document machinery of ./crd-document, seen through the policy file parser: the YAML and
 * JSON stream (documents, locations, syntax errors, duplicate keys, alias bombs) and the object
 * metadata rules every kind shares.
 */
import fc from 'fast-check';
import { ImgverifyError } from '../../../src/errors';
import { parseClusterImagePolicies } from '../../../src/webhook/policy-documents';
import { K8S_POLICY, messages, parse } from './policy-text';

describe('documents in a stream', () => {
  it('reads several documents, skipping empty ones and counting them', () => {
    // A comment before the first "---" belongs to the first document (YAML stream rules).
    const text = `# leading comment\n---\n${K8S_POLICY}\n---\n# nothing here\n---\n${K8S_POLICY.replace('registry-k8s-io', 'second')}\n---\n`;
    const result = parse(text);
    expect(result.errors).toEqual([]);
    const lines = text.split('\n');
    const second = lines.indexOf('apiVersion: policy.sigstore.dev/v1beta1', 4) + 1;
    expect(result.policies.map((p) => p.source)).toEqual([
      { file: 'policy.yaml', document: 0, line: 4 },
      { file: 'policy.yaml', document: 2, line: second },
    ]);
    expect(lines[3]).toBe('apiVersion: policy.sigstore.dev/v1beta1');
  });

  it('reads JSON files', () => {
    const json = JSON.stringify({
      apiVersion: 'policy.sigstore.dev/v1beta1',
      kind: 'ClusterImagePolicy',
      metadata: { name: 'json' },
      spec: { images: [{ glob: '**' }], authorities: [{ static: { action: 'pass' } }] },
    });
    const result = parse(json, 'p.json');
    expect(result.errors).toEqual([]);
    expect(result.policies[0]!.authorities[0]!.static).toEqual({ action: 'pass' });
    expect(parse('{"apiVersion": ', 'bad.json').errors[0]!.message).toMatch(/^bad\.json: document 0: not valid JSON/);
  });
});

describe('object metadata', () => {
  it('ignores status and standard metadata (kubectl get -o yaml output)', () => {
    const text =
      K8S_POLICY.replace('  labels:', '  uid: 1234\n  resourceVersion: "99"\n  creationTimestamp: "2024-01-01T00:00:00Z"\n  annotations: {a: b}\n  labels:') +
      'status:\n  conditions: []\n';
    expect(parse(text).errors).toEqual([]);
  });
});

describe('YAML handling', () => {
  it('reports syntax errors with the document index', () => {
    const result = parse(`${K8S_POLICY}---\nspec: [unclosed\n`);
    expect(result.errors.map((e) => e.message)).toEqual([expect.stringMatching(/^policy\.yaml: document 1 \(line \d+\): not valid YAML/)]);
  });

  it('rejects duplicate keys', () => {
    expect(messages(K8S_POLICY.replace('kind: ClusterImagePolicy', 'kind: ClusterImagePolicy\nkind: ClusterImagePolicy'))).toEqual([
      expect.stringMatching(/document 0 \(line 2\): not valid YAML: .*[Mm]ap keys must be unique/),
    ]);
  });

  it('refuses alias bombs', () => {
    const bomb = ['a: &a ["x","x","x","x","x","x","x","x","x","x"]'];
    for (let i = 1; i < 10; i++)
      bomb.push(
        `${String.fromCharCode(97 + i)}: &${String.fromCharCode(97 + i)} [${Array(10)
          .fill(`*${String.fromCharCode(96 + i)}`)
          .join(',')}]`,
      );
    expect(messages(bomb.join('\n'))).toEqual([expect.stringMatching(/not valid YAML: .*[Aa]lias/)]);
  });

  it('never throws on arbitrary text', () => {
    fc.assert(
      fc.property(fc.string({ maxLength: 200 }), (text) => {
        const result = parseClusterImagePolicies(text, 'x.yaml');
        for (const e of result.errors) expect(e).toBeInstanceOf(ImgverifyError);
      }),
    );
  });
});
