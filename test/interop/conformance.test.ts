/**
 * sigstore-conformance's bundle verification suite (../shared/interop/conformance): every
 * case of test/assets/bundle-verify through `imgverify verify-bundle`, as the suite drives a
 * client (docs/cli_protocol.md), twice — with the artifact file and with its
 * `sha256:<hex>` digest. A case passes when the exit status is 0 for a happy case and the
 * expected failure for a `_fail` case: the failure must also be for the case's reason
 * (EXPECTED_FAILURE), not any failure. The CLI runs in-process; a few cases also run
 * through the built binary (`npm run build` first).
 *
 * Cases that cannot pass are listed in CANNOT_PASS with the reason (and in
 * docs/conformance.md). There are none.
 */
import { createHash } from 'node:crypto';
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { categoryOf, exitCodeFor, type ErrorCode } from '../../src/errors';
import { BUILT_CLI, runBuiltCli, runCli, type CliResult } from '../support/cli';
import { describeInterop, hasInterop, interopPath } from '../support/interop';

/** Cases that cannot pass, with the reason. Keep docs/conformance.md in step. */
const CANNOT_PASS: Readonly<Record<string, string>> = Object.freeze({});

/** Why each `_fail` case must fail: the error code imgverify reports. */
const EXPECTED_FAILURE: Readonly<Record<string, ErrorCode>> = Object.freeze({
  'bundle-empty-certificate-chain_fail': 'SIGNATURE_MALFORMED',
  'bundle-from-wrong-instance_fail': 'CERTIFICATE_CHAIN_INVALID',
  'bundle-invalid-base64-signature_fail': 'SIGNATURE_MALFORMED',
  'bundle-malformed-json_fail': 'SIGNATURE_MALFORMED',
  'bundle-negative-log-index_fail': 'SIGNATURE_MALFORMED',
  'bundle-unknown-version_fail': 'SIGNATURE_MALFORMED',
  // A root in the chain is ignored, as the bundle spec asks of verifiers (it is never trusted);
  // the case fails because its certificate is not the suite's default identity.
  'bundle-with-root-cert_fail': 'IDENTITY_MISMATCH',
  'checkpoint-bad-keyhint_fail': 'TLOG_INCLUSION_PROOF_INVALID',
  'checkpoint-wrong-roothash_fail': 'TLOG_INCLUSION_PROOF_INVALID',
  // DSSE: the envelope's signature is not the logged one, which the body check sees first.
  'dsse-invalid-sig_fail': 'TLOG_BODY_MISMATCH',
  'dsse-mismatch-envelope_fail': 'TLOG_BODY_MISMATCH',
  'dsse-mismatch-sig_fail': 'TLOG_BODY_MISMATCH',
  'inclusion-proof-corrupted-hash_fail': 'TLOG_INCLUSION_PROOF_INVALID',
  // The edited body no longer matches the SET, checked before the body names the signer.
  'incorrect-public-key_fail': 'TLOG_INCLUSION_PROMISE_INVALID',
  'integrated-time-in-future_fail': 'CERTIFICATE_CHAIN_INVALID',
  'intoto-expired-certificate_fail': 'CERTIFICATE_CHAIN_INVALID',
  'intoto-log-entry-mismatch_fail': 'TLOG_BODY_MISMATCH',
  'intoto-missing-inclusion-proof_fail': 'SIGNATURE_MALFORMED',
  'intoto-set-outside-signing-cert-validity_fail': 'CERTIFICATE_CHAIN_INVALID',
  'intoto-tsa-timestamp-outside-cert-validity_fail': 'CERTIFICATE_CHAIN_INVALID',
  'invalid-checkpoint-signature_fail': 'TLOG_INCLUSION_PROOF_INVALID',
  'invalid-ct-key_fail': 'SCT_INVALID',
  // A v0.2 bundle whose proof has no checkpoint: refused by the per-version rules.
  'invalid-inclusion-proof_fail': 'SIGNATURE_MALFORMED',
  'managed-key-no-key_fail': 'SIGNATURE_MALFORMED',
  // key.pub is not a valid key: a configuration error (exit 2).
  'managed-key-wrong-key_fail': 'KEY_INVALID',
  'message-digest-mismatch_fail': 'DIGEST_MISMATCH',
  'rekor2-checkpoint-missing-log-signature_fail': 'TLOG_INCLUSION_PROOF_INVALID',
  'rekor2-checkpoint-missing-origin_fail': 'TLOG_INCLUSION_PROOF_INVALID',
  'rekor2-checkpoint-missing-root-hash_fail': 'TLOG_INCLUSION_PROOF_INVALID',
  'rekor2-checkpoint-missing-size_fail': 'TLOG_INCLUSION_PROOF_INVALID',
  'rekor2-checkpoint-no-matching-signature_fail': 'TLOG_INCLUSION_PROOF_INVALID',
  'rekor2-dsse-invalid-sig_fail': 'TLOG_BODY_MISMATCH',
  'rekor2-dsse-mismatch-envelope_fail': 'TLOG_BODY_MISMATCH',
  'rekor2-dsse-mismatch-sig_fail': 'TLOG_BODY_MISMATCH',
  'rekor2-no-inclusion-proof_fail': 'SIGNATURE_MALFORMED',
  'rekor2-no-timestamp_fail': 'TIMESTAMP_INVALID',
  'rekor2-timestamp-outside-trust-root-tsa-validity_fail': 'TIMESTAMP_INVALID',
  'rekor2-timestamp-outside-tsa-cert-validity_fail': 'TIMESTAMP_INVALID',
  'rekor2-timestamp-payload-mismatch_fail': 'TIMESTAMP_INVALID',
  'rekor2-timestamp-untrusted-tsa-with-embedded-cert_fail': 'TIMESTAMP_INVALID',
  'rekor2-timestamp-untrusted-tsa-without-embedded-cert_fail': 'TIMESTAMP_INVALID',
  'rekor2-timestamp-with-incorrect-time_fail': 'CERTIFICATE_CHAIN_INVALID',
  'set-invalid-signature_fail': 'TLOG_INCLUSION_PROMISE_INVALID',
  'signature-mismatch_fail': 'TLOG_BODY_MISMATCH',
  'trust-root-tlog-missing-validity-start_fail': 'TRUST_ROOT_INVALID',
  'wrong-hashedrekord-artifact_fail': 'TLOG_BODY_MISMATCH',
  'wrong-hashedrekord-cert-and-sig_fail': 'TLOG_BODY_MISMATCH',
  'wrong-hashedrekord-entry_fail': 'TLOG_BODY_MISMATCH',
  'wrong-material_fail': 'DIGEST_MISMATCH',
});

// The suite's defaults (test/assets/bundle-verify/README.md).
const DEFAULT_IDENTITY =
  'https://github.com/sigstore-conformance/extremely-dangerous-public-oidc-beacon/.github/workflows/extremely-dangerous-oidc-beacon.yml@refs/heads/main';
const DEFAULT_ISSUER = 'https://token.actions.githubusercontent.com';

interface Case {
  readonly name: string;
  readonly shouldFail: boolean;
  readonly args: readonly string[];
  readonly file: string;
  readonly digest: string;
}

function loadCases(): Case[] {
  const suite = interopPath('conformance', 'test', 'assets', 'bundle-verify');
  const optional = (dir: string, name: string) => (existsSync(join(dir, name)) ? join(dir, name) : undefined);
  return readdirSync(suite)
    .filter((name) => statSync(join(suite, name)).isDirectory())
    .sort()
    .map((name) => {
      const dir = join(suite, name);
      const file = optional(dir, 'artifact') ?? join(suite, 'a.txt');
      const key = optional(dir, 'key.pub');
      const root = optional(dir, 'trusted_root.json');
      const text = (f: string | undefined, fallback: string) => (f ? readFileSync(f, 'utf8').trim() : fallback);
      // Argument order as the protocol gives it.
      const args = [
        'verify-bundle',
        '--bundle',
        join(dir, 'bundle.sigstore.json'),
        ...(key
          ? ['--key', key]
          : [
              '--certificate-identity',
              text(optional(dir, 'identity'), DEFAULT_IDENTITY),
              '--certificate-oidc-issuer',
              text(optional(dir, 'issuer'), DEFAULT_ISSUER),
            ]),
        ...(root ? ['--trusted-root', root] : []),
      ];
      const digest = `sha256:${createHash('sha256').update(readFileSync(file)).digest('hex')}`;
      return { name, shouldFail: name.endsWith('_fail'), args, file, digest };
    });
}

/** The error code of a failed run: from the JSON verdict (exit 1) or the stderr line (configuration, exit 2). */
function failureCode(r: CliResult): string | undefined {
  if (r.stdout.trim().startsWith('{')) return (JSON.parse(r.stdout) as { failure?: { code: string } }).failure?.code;
  return /\[([A-Z_]+)\]\s*$/.exec(r.stderr)?.[1];
}

function expectedExit(c: Case): number {
  return c.shouldFail ? exitCodeFor(categoryOf(EXPECTED_FAILURE[c.name]!)) : 0;
}

describeInterop('sigstore-conformance bundle-verify suite (verify-bundle)', () => {
  const cases = hasInterop ? loadCases() : [];
  let asExpected = 0;
  let runs = 0;

  afterAll(() => {
    // eslint-disable-next-line no-console -- the conformance tally is this suite's report
    console.log(`sigstore-conformance: ${asExpected}/${runs} as expected (${cases.length} cases x {file, digest})`);
  });

  test('the suite has 70 cases, 21 that must verify; every _fail case has an expected reason', () => {
    expect(cases).toHaveLength(70);
    expect(cases.filter((c) => !c.shouldFail)).toHaveLength(21);
    expect(
      cases
        .filter((c) => c.shouldFail)
        .map((c) => c.name)
        .sort(),
    ).toEqual(Object.keys(EXPECTED_FAILURE).sort());
  });

  describe.each(cases.map((c) => [c.name, c] as const))('%s', (_name, c) => {
    const run = CANNOT_PASS[c.name] === undefined ? test : test.skip;
    run.each([
      ['file', c.file],
      ['digest', c.digest],
    ])(`by %s: ${c.shouldFail ? `fails (${EXPECTED_FAILURE[c.name]})` : 'verifies'}`, async (_mode, target) => {
      runs++;
      const r = await runCli([...c.args, '--output', 'json', target]);
      const outcome = { code: r.code, failure: r.code === 0 ? undefined : failureCode(r) };
      expect(outcome).toEqual({ code: expectedExit(c), failure: c.shouldFail ? EXPECTED_FAILURE[c.name] : undefined });
      asExpected++;
    });
  });

  test('the JSON verdict names the signer, the log entry and what was signed', async () => {
    const c = cases.find((x) => x.name === 'happy-path-v0.3')!;
    const r = await runCli([...c.args, '--output', 'json', c.digest]);
    expect(r.code).toBe(0);
    expect(JSON.parse(r.stdout)).toMatchObject({
      verified: true,
      artifact: c.digest,
      signer: { subject: DEFAULT_IDENTITY, issuer: DEFAULT_ISSUER },
      tlog: { logIndex: 79571823, logId: expect.stringMatching(/^[0-9a-f]{64}$/), integratedTime: expect.any(String) },
      signedAt: expect.any(String),
      content: { kind: 'message-signature', sha256: c.digest.slice('sha256:'.length) },
    });
    const text = await runCli([...c.args, c.file]);
    expect(text.stdout).toMatch(/^VERIFIED {2}.*a\.txt {2}signed by https:\/\/github\.com\/sigstore-conformance\//);
  });

  describe('through the built CLI (dist/cli/main.js)', () => {
    const PICKS: Array<[string, 'file' | 'digest']> = [
      ['happy-path-v0.1', 'file'],
      ['rekor2-dsse-happy-path', 'digest'],
      ['managed-key-happy-path', 'digest'],
      ['wrong-material_fail', 'file'],
      ['trust-root-tlog-missing-validity-start_fail', 'digest'],
    ];
    test.each(PICKS)('%s by %s', async (name, mode) => {
      if (!existsSync(BUILT_CLI)) throw new Error(`${BUILT_CLI} is missing: run "npm run build" first`);
      const c = cases.find((x) => x.name === name)!;
      const r = await runBuiltCli([...c.args, mode === 'file' ? c.file : c.digest]);
      expect({ code: r.code, line: r.code === 0 ? r.stdout.slice(0, 8) : undefined }).toEqual({
        code: expectedExit(c),
        line: c.shouldFail ? undefined : 'VERIFIED',
      });
    });
  });
});
