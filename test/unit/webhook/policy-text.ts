/**
 * Policy texts the webhook's unit tests share: a real-world ClusterImagePolicy (registry.k8s.io's
 * signer), a minimal policy around any authority, a passing policy, the file parser with a default name, and
 * TrustRoot documents holding a test Sigstore's keys.
 */
import { parseClusterImagePolicies } from '../../../src/webhook/policy-documents';
import { createTestSigstore } from '../../support/sigstore';

export function indent(text: string, spaces: number): string {
  return text
    .trim()
    .split('\n')
    .map((line) => ' '.repeat(spaces) + line)
    .join('\n');
}

export const K8S_POLICY = `
apiVersion: policy.sigstore.dev/v1beta1
kind: ClusterImagePolicy
metadata:
  name: registry-k8s-io
  labels:
    app: imgverify
spec:
  images:
    - glob: "registry.k8s.io/**"
  authorities:
    - keyless:
        identities:
          - issuer: https://accounts.google.com
            subject: krel-trust@k8s-releng-prod.iam.gserviceaccount.com
`;

/** A minimal valid policy whose authority is replaced by `authority` (YAML, indented under "- "). */
export function withAuthority(authority: string, extraSpec = ''): string {
  return `
apiVersion: policy.sigstore.dev/v1beta1
kind: ClusterImagePolicy
metadata:
  name: test
spec:
  images:
    - glob: "ghcr.io/**"
  authorities:
    - ${indent(authority, 6).trimStart()}
${extraSpec ? indent(extraSpec, 2) : ''}
`;
}

export const KEYLESS = `
keyless:
  identities:
    - issuer: https://token.actions.githubusercontent.com
      subjectRegExp: ^https://github\\.com/org/.*$
`;

/** A ClusterImagePolicy named `name` for `glob` whose one authority passes (for tests of folders and reloads). */
export function passingPolicy(name: string, glob = 'ghcr.io/**'): string {
  return `apiVersion: policy.sigstore.dev/v1beta1
kind: ClusterImagePolicy
metadata:
  name: ${name}
spec:
  images: [{glob: "${glob}"}]
  authorities: [{static: {action: pass}}]
`;
}

export function parse(text: string, file = 'policy.yaml') {
  return parseClusterImagePolicies(text, file);
}

export function messages(text: string): string[] {
  return parse(text).errors.map((e) => e.message);
}

/** TrustRoot documents (JSON) named `private`, with the keys of a fresh test Sigstore. */
export function trustRootText(organization: string) {
  const sigstore = createTestSigstore({ organization });
  const b64 = (text: string): string => Buffer.from(text).toString('base64');
  const pem = (b64der: string, label = 'CERTIFICATE'): string => `-----BEGIN ${label}-----\n${b64der.match(/.{1,64}/g)!.join('\n')}\n-----END ${label}-----\n`;
  const CA_CHAIN = b64(sigstore.trustedRoot.certificateAuthorities[0]!.certChain.certificates.map((c) => pem(c.rawBytes)).join(''));
  const TLOG_KEY = b64(pem(sigstore.trustedRoot.tlogs[0]!.publicKey.rawBytes, 'PUBLIC KEY'));
  const doc = (spec: unknown, extra: Record<string, unknown> = {}): string =>
    JSON.stringify({ apiVersion: 'policy.sigstore.dev/v1alpha1', kind: 'TrustRoot', metadata: { name: 'private' }, spec, ...extra });
  const KEYS = {
    certificateAuthorities: [{ subject: { organization: 'o', commonName: 'c' }, uri: 'https://fulcio.internal', certChain: CA_CHAIN }],
    tLogs: [{ baseURL: 'https://rekor.internal', hashAlgorithm: 'sha256', publicKey: TLOG_KEY }],
  };
  return { doc, KEYS, CA_CHAIN, TLOG_KEY, b64 };
}
