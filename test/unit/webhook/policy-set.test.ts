/**
 * Checks across the documents of a set (./policy-set): names unique per kind within a file and
 * a folder, and every trustRootRef naming a TrustRoot of the folder.
 */
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { loadPolicies } from '../../../src/webhook';
import { K8S_POLICY, parse, trustRootText } from './policy-text';

const { doc, KEYS } = trustRootText('policy-set-unit.test');

test('rejects duplicate policy names within a file', () => {
  const result = parse(`${K8S_POLICY}---\n${K8S_POLICY}`);
  expect(result.policies).toEqual([]);
  expect(result.errors.map((e) => e.message)).toEqual([
    'policy.yaml: document 1 (line 18): metadata.name: duplicate ClusterImagePolicy name "registry-k8s-io" (first in policy.yaml: document 0 (line 2))',
  ]);
});

test('the policy folder: a trustRootRef must name a TrustRoot of the folder (any file); names are unique', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'imgverify-trustroot-unit-'));
  const policy = (ref: string): string =>
    JSON.stringify({
      apiVersion: 'policy.sigstore.dev/v1beta1',
      kind: 'ClusterImagePolicy',
      metadata: { name: 'p' },
      spec: { images: [{ glob: '**' }], authorities: [{ keyless: { trustRootRef: ref, identities: [{ issuer: 'i', subject: 's' }] } }] },
    });
  writeFileSync(join(dir, 'a-trust.json'), doc({ sigstoreKeys: KEYS }));
  writeFileSync(join(dir, 'b-policy.json'), policy('private'));
  const ok = await loadPolicies(dir);
  expect(ok.errors).toEqual([]);
  expect(ok.trustRoots.map((t) => t.name)).toEqual(['private']);
  writeFileSync(join(dir, 'b-policy.json'), policy('missing'));
  const bad = await loadPolicies(dir);
  expect(bad.errors.map((e) => e.message)).toEqual([
    'b-policy.json: document 0: spec.authorities[0].keyless.trustRootRef: no TrustRoot named "missing" in the policy folder',
  ]);
  writeFileSync(join(dir, 'b-policy.json'), doc({ sigstoreKeys: KEYS }));
  expect((await loadPolicies(dir)).errors.map((e) => e.message).join()).toMatch(/duplicate TrustRoot name "private"/);
});
