/**
 * The runtime self-test: before the first verifier is created, imgverify verifies a known-good
 * signature with its whole algorithm, and refuses to run (RUNTIME_UNSUPPORTED, usage) when
 * that does not give the expected answers. A runtime that lacks a check imgverify needs (Deno's
 * `crypto.verify` without a digest, for one: ./explicit-digest.ts) must never turn into a
 * verdict about an image ("tampered", or worse "verified"); it is refused, naming the runtime
 * and what failed.
 *
 * What is checked, once per process (a few milliseconds; the result is remembered):
 *   1. the known-good signature below verifies against the embedded public-good root under its
 *      signer's identity: the Fulcio chain (P-384), the SCT, the Rekor SET, the Rekor body,
 *      the signature over the payload (P-256) and the digest binding, through the same
 *      `@sigstore/verify` calls every signature takes (so also: that ./explicit-digest.ts
 *      reaches the `@sigstore/core` `@sigstore/verify` runs on);
 *   2. its Rekor SET with one bit flipped does not verify with the Rekor key, neither through
 *      `@sigstore/core` (no digest given) nor with the digest named: a runtime whose checks
 *      always pass is refused too;
 *   3. Ed25519 (Rekor v2 checkpoints, Ed25519 keys), with the digest left to the library as
 *      `@sigstore/core` leaves it: a fresh key's signature verifies, a flipped one does not.
 */
import { generateKeyPairSync, sign, type KeyObject } from 'node:crypto';
import { crypto as sigstoreCrypto, json as sigstoreJson } from '@sigstore/core';
import { ANNOTATION_BUNDLE, ANNOTATION_CERTIFICATE, ANNOTATION_SIGNATURE } from '../cosign/annotations';
import { ImgverifyError, toImgverifyError } from '../errors';
import { compilePolicy } from '../policy/policy';
import { publicGoodTrustRoot } from '../trust/embedded';
import type { LoadedTrustRoot } from '../trust/trusted-root';
import { errorMessage } from '../util/describe';
import { legacySignatureInput } from './adapters/legacy';
import { policyChecks } from './policy-checks';
import { verifySignature } from './core';
import { withExplicitDigests } from './explicit-digest';

/**
 * A real cosign signature: `registry.k8s.io/cluster-api/cluster-api-controller:v1.5.0`, signed
 * by the Kubernetes release identity, Rekor log index 28719030 (fixtures/cosign-oci/
 * k8s-cluster-api-controller-v1.5.0, where its origin is recorded). Public data.
 */
const KNOWN_GOOD = {
  image: 'registry.k8s.io/cluster-api/cluster-api-controller',
  digest: 'sha256:f34016d3a494f9544a16137c9bba49d8756c574a0a1baf96257903409ef82f77',
  payload:
    '{"critical":{"identity":{"docker-reference":"registry.k8s.io/cluster-api/cluster-api-controller"},"image":{"docker-manifest-digest":"sha256:f34016d3a494f9544a16137c9bba49d8756c574a0a1baf96257903409ef82f77"},"type":"cosign container image signature"},"optional":{"org.kubernetes.kpromo.version":"kpromo-v4.0.3-5-ge99897c"}}',
  signature: 'MEQCICtmpgG7tCqsCbY4VZW7+zFnmaf3v5x910qleXjiu1onAiA/IQERH1+v+ukHkMDRVvg7XOuwjM3xDANtFrKsT0qsiA==',
  certificate: [
    'MIIC6jCCAnGgAwIBAgIUZ77NWQYFkwNyCc0rqXlzrZKkh74wCgYIKoZIzj0EAwMwNzEVMBMGA1UEChMMc2lnc3RvcmUuZGV2MR4w',
    'HAYDVQQDExVzaWdzdG9yZS1pbnRlcm1lZGlhdGUwHhcNMjMwNzI1MTcwNDM5WhcNMjMwNzI1MTcxNDM5WjAAMFkwEwYHKoZIzj0C',
    'AQYIKoZIzj0DAQcDQgAEqLj1FRa+wX0C0+W5IUUBlQvVBWyJcT+iXCqccO0fEc1i81MGOALyJoC1z5+nd9DG6GpBc5aHk8ROXt5h',
    'sJjdQKOCAZAwggGMMA4GA1UdDwEB/wQEAwIHgDATBgNVHSUEDDAKBggrBgEFBQcDAzAdBgNVHQ4EFgQUu18t6yWYLUODO+Ds3oQN',
    'CJW7cPUwHwYDVR0jBBgwFoAU39Ppz1YkEZb5qNjpKFWixi4YZD8wQAYDVR0RAQH/BDYwNIEya3JlbC10cnVzdEBrOHMtcmVsZW5n',
    'LXByb2QuaWFtLmdzZXJ2aWNlYWNjb3VudC5jb20wKQYKKwYBBAGDvzABAQQbaHR0cHM6Ly9hY2NvdW50cy5nb29nbGUuY29tMCsG',
    'CisGAQQBg78wAQgEHQwbaHR0cHM6Ly9hY2NvdW50cy5nb29nbGUuY29tMIGKBgorBgEEAdZ5AgQCBHwEegB4AHYA3T0wasbHETJj',
    'GR4cmWc3AqJKXrjePK3/h4pygC8p7o4AAAGJjgKPbwAABAMARzBFAiBImleIp+6oYeFhgD3nQ6Y4EhzJtUsQ8DpdcQr4BLX3ywIh',
    'AKWucfnPQ8XK9wXlJjIP4cFD8ngdy8ujmi1s1CJ872k+MAoGCCqGSM49BAMDA2cAMGQCMHb9qtFWu9AP0B3dkITF8zI8a25PhoIO',
    'QTJRRqjUbOa6W3vMGA5vI5WTF0Ep1i2ANwIwERx2xjzfwrwNnXPd0xrx0bXCdc5aqbYYRQ0/XQQcxLEmu9wG1EWkR1s9LfOxgwSn',
  ].join(''),
  signedEntryTimestamp: 'MEYCIQDtxr/v3uRl2QByVfYo1oopruADSaH3E4wThpmkibJs8gIhAIe0odbk99na5GBdYGjJ6IwpFzhlTlicgWOrsgxZH8LC',
  body: [
    'eyJhcGlWZXJzaW9uIjoiMC4wLjEiLCJraW5kIjoiaGFzaGVkcmVrb3JkIiwic3BlYyI6eyJkYXRhIjp7Imhhc2giOnsiYWxnb3Jp',
    'dGhtIjoic2hhMjU2IiwidmFsdWUiOiIzMDMzNzY0MTQwZmI2OTE5ZjRmNDg2MDgwMDZjYzY1ODU2M2RkNjE0NWExMzVhMzE5MmQy',
    'YTAzNjE1OTRjMTRlIn19LCJzaWduYXR1cmUiOnsiY29udGVudCI6Ik1FUUNJQ3RtcGdHN3RDcXNDYlk0VlpXNyt6Rm5tYWYzdjV4',
    'OTEwcWxlWGppdTFvbkFpQS9JUUVSSDErdit1a0hrTURSVnZnN1hPdXdqTTN4REFOdEZyS3NUMHFzaUE9PSIsInB1YmxpY0tleSI6',
    'eyJjb250ZW50IjoiTFMwdExTMUNSVWRKVGlCRFJWSlVTVVpKUTBGVVJTMHRMUzB0Q2sxSlNVTTJha05EUVc1SFowRjNTVUpCWjBs',
    'VldqYzNUbGRSV1VacmQwNTVRMk13Y25GWWJIcHlXa3RyYURjMGQwTm5XVWxMYjFwSmVtb3dSVUYzVFhjS1RucEZWazFDVFVkQk1W',
    'VkZRMmhOVFdNeWJHNWpNMUoyWTIxVmRWcEhWakpOVWpSM1NFRlpSRlpSVVVSRmVGWjZZVmRrZW1SSE9YbGFVekZ3WW01U2JBcGpi',
    'VEZzV2tkc2FHUkhWWGRJYUdOT1RXcE5kMDU2U1RGTlZHTjNUa1JOTlZkb1kwNU5hazEzVG5wSk1VMVVZM2hPUkUwMVYycEJRVTFH',
    'YTNkRmQxbElDa3R2V2tsNmFqQkRRVkZaU1V0dldrbDZhakJFUVZGalJGRm5RVVZ4VEdveFJsSmhLM2RZTUVNd0sxYzFTVlZWUW14',
    'UmRsWkNWM2xLWTFRcmFWaERjV01LWTA4d1prVmpNV2s0TVUxSFQwRk1lVXB2UXpGNk5TdHVaRGxFUnpaSGNFSmpOV0ZJYXpoU1Qx',
    'aDBOV2h6U21wa1VVdFBRMEZhUVhkblowZE5UVUUwUndwQk1WVmtSSGRGUWk5M1VVVkJkMGxJWjBSQlZFSm5UbFpJVTFWRlJFUkJT',
    'MEpuWjNKQ1owVkdRbEZqUkVGNlFXUkNaMDVXU0ZFMFJVWm5VVlYxTVRoMENqWjVWMWxNVlU5RVR5dEVjek52VVU1RFNsYzNZMUJW',
    'ZDBoM1dVUldVakJxUWtKbmQwWnZRVlV6T1ZCd2VqRlphMFZhWWpWeFRtcHdTMFpYYVhocE5Ga0tXa1E0ZDFGQldVUldVakJTUVZG',
    'SUwwSkVXWGRPU1VWNVlUTktiR0pETVRCamJsWjZaRVZDY2s5SVRYUmpiVlp6V2xjMWJreFlRbmxpTWxGMVlWZEdkQXBNYldSNlds',
    'aEtNbUZYVG14WlYwNXFZak5XZFdSRE5XcGlNakIzUzFGWlMwdDNXVUpDUVVkRWRucEJRa0ZSVVdKaFNGSXdZMGhOTmt4NU9XaFpN',
    'azUyQ21SWE5UQmplVFZ1WWpJNWJtSkhWWFZaTWpsMFRVTnpSME5wYzBkQlVWRkNaemM0ZDBGUlowVklVWGRpWVVoU01HTklUVFpN',
    'ZVRsb1dUSk9kbVJYTlRBS1kzazFibUl5T1c1aVIxVjFXVEk1ZEUxSlIwdENaMjl5UW1kRlJVRmtXalZCWjFGRFFraDNSV1ZuUWpS',
    'QlNGbEJNMVF3ZDJGellraEZWRXBxUjFJMFl3cHRWMk16UVhGS1MxaHlhbVZRU3pNdmFEUndlV2RET0hBM2J6UkJRVUZIU21wblMx',
    'QmlkMEZCUWtGTlFWSjZRa1pCYVVKSmJXeGxTWEFyTm05WlpVWm9DbWRFTTI1Uk5sazBSV2g2U25SVmMxRTRSSEJrWTFGeU5FSk1X',
    'RE41ZDBsb1FVdFhkV05tYmxCUk9GaExPWGRZYkVwcVNWQTBZMFpFT0c1blpIazRkV29LYldreGN6RkRTamczTW1zclRVRnZSME5E',
    'Y1VkVFRUUTVRa0ZOUkVFeVkwRk5SMUZEVFVoaU9YRjBSbGQxT1VGUU1FSXpaR3RKVkVZNGVrazRZVEkxVUFwb2IwbFBVVlJLVWxK',
    'eGFsVmlUMkUyVnpOMlRVZEJOWFpKTlZkVVJqQkZjREZwTWtGT2QwbDNSVko0TW5ocWVtWjNjbmRPYmxoUVpEQjRjbmd3WWxoRENt',
    'UmpOV0Z4WWxsWlVsRXdMMWhSVVdONFRFVnRkVGwzUnpGRlYydFNNWE01VEdaUGVHZDNVMjRLTFMwdExTMUZUa1FnUTBWU1ZFbEdT',
    'VU5CVkVVdExTMHRMUW89In19fX0=',
  ].join(''),
  integratedTime: 1690304684,
  logIndex: 28719030,
  logID: 'c0d23d6ad406973f9559f3ba2d1ca01f84147d8ffc5b8445c224f98b9591801d',
} as const;

const SIGNER = { subject: 'krel-trust@k8s-releng-prod.iam.gserviceaccount.com', issuer: 'https://accounts.google.com' } as const;

/** The runtime, for messages: `Node.js 22.22.2`, `Bun 1.3.0 (Node.js API 24.3.0)`, `Deno 2.5.0 (Node.js API 24.2.0)`. */
export function runtimeName(versions: NodeJS.ProcessVersions & { bun?: string; deno?: string } = process.versions): string {
  if (versions.bun !== undefined) return `Bun ${versions.bun} (Node.js API ${versions.node})`;
  if (versions.deno !== undefined) return `Deno ${versions.deno} (Node.js API ${versions.node})`;
  return `Node.js ${versions.node}`;
}

const SET_PAYLOAD = { body: KNOWN_GOOD.body, integratedTime: KNOWN_GOOD.integratedTime, logIndex: KNOWN_GOOD.logIndex, logID: KNOWN_GOOD.logID };

/** The signature's layer annotations (cosign's `.sig` layer). */
function annotations(): Record<string, string> {
  const bundle = { SignedEntryTimestamp: KNOWN_GOOD.signedEntryTimestamp, Payload: SET_PAYLOAD };
  const pem = `-----BEGIN CERTIFICATE-----\n${KNOWN_GOOD.certificate.replace(/.{64}/g, '$&\n')}\n-----END CERTIFICATE-----\n`;
  return { [ANNOTATION_SIGNATURE]: KNOWN_GOOD.signature, [ANNOTATION_CERTIFICATE]: pem, [ANNOTATION_BUNDLE]: JSON.stringify(bundle) };
}

const WHAT = `the Kubernetes release signature of ${KNOWN_GOOD.image}@${KNOWN_GOOD.digest}`;

/** Why the whole algorithm does not verify the known-good signature, or undefined. */
function pipelineProblem(root: LoadedTrustRoot): string | undefined {
  const checks = policyChecks(root, compilePolicy(SIGNER));
  const input = legacySignatureInput(Buffer.from(KNOWN_GOOD.payload, 'utf8'), annotations(), KNOWN_GOOD.digest);
  const verdict = verifySignature(input, checks);
  return verdict.verified ? undefined : `${WHAT} (known good) does not verify: ${verdict.failure?.code}: ${verdict.failure?.message}`;
}

/** Why a changed SET verifies (through @sigstore/core without a digest, or with it named), or undefined. */
function changedSetProblem(root: LoadedTrustRoot): string | undefined {
  const log = root.material.tlogs.find((t) => t.logID.equals(Buffer.from(KNOWN_GOOD.logID, 'hex')));
  if (!log) return `the embedded root has no Rekor key for ${WHAT}`;
  const data = Buffer.from(sigstoreJson.canonicalize(SET_PAYLOAD), 'utf8');
  const changed = Buffer.from(KNOWN_GOOD.signedEntryTimestamp, 'base64');
  changed[changed.length - 1]! ^= 1;
  const [unnamed, named] = withExplicitDigests(() => [
    sigstoreCrypto.verify(data, log.publicKey, changed),
    sigstoreCrypto.verify(data, log.publicKey, changed, 'sha256'),
  ]);
  return unnamed || named ? `the Rekor SET of ${WHAT} verifies with one bit changed` : undefined;
}

/** Why Ed25519 through `@sigstore/core`'s verify (no digest given) gives a wrong answer, or undefined. */
function ed25519Problem(): string | undefined {
  const { publicKey, privateKey }: { publicKey: KeyObject; privateKey: KeyObject } = generateKeyPairSync('ed25519');
  const message = Buffer.from('imgverify runtime self-test', 'utf8');
  const signature = sign(null, message, privateKey);
  const flipped = Buffer.from(signature);
  flipped[0]! ^= 1;
  const [good, bad] = withExplicitDigests(() => [sigstoreCrypto.verify(message, publicKey, signature), sigstoreCrypto.verify(message, publicKey, flipped)]);
  if (!good) return 'an Ed25519 signature does not verify';
  return bad ? 'a changed Ed25519 signature verifies' : undefined;
}

/** Runs the self-test; the refusal, or undefined when the runtime gives every expected answer. */
export function selfTest(): ImgverifyError | undefined {
  // Not a check of the runtime: a package (or bundle) without its embedded root fails as such (TRUST_ROOT_INVALID).
  const root = publicGoodTrustRoot();
  const problems: string[] = [];
  for (const check of [() => pipelineProblem(root), () => changedSetProblem(root), ed25519Problem]) {
    try {
      const problem = check();
      if (problem !== undefined) problems.push(problem);
    } catch (err) {
      problems.push(`the check threw ${toImgverifyError(err).code}: ${errorMessage(err)}`);
    }
  }
  if (problems.length === 0) return undefined;
  return new ImgverifyError(
    'RUNTIME_UNSUPPORTED',
    `imgverify cannot verify signatures on ${runtimeName()}: its self-test on a known-good signature failed (${problems.join('; ')}). ` +
      'Nothing was verified. Use a runtime imgverify supports (docs/runtimes.md).',
    { details: { runtime: runtimeName(), problems } },
  );
}

let refusal: ImgverifyError | null | undefined;

/**
 * Throws RUNTIME_UNSUPPORTED when this runtime failed the self-test (run on the first call,
 * remembered); TRUST_ROOT_INVALID when the embedded public-good root cannot be read.
 */
export function checkRuntime(): void {
  if (refusal === undefined) refusal = selfTest() ?? null;
  if (refusal) throw refusal;
}
