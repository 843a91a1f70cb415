/**
 * Every real message-signature or DSSE bundle under ../shared/interop/bundles (sigstore-js,
 * sigstore-go, sigstore-python, cosign) through verifyBundle, against the trust root it was
 * made with, with the identity its certificate names; and with another identity it fails.
 *
 * Artifacts: where the artifact is stored (sigstore-python) it is verified by file and by
 * digest. DSSE bundles are verified without one (their in-toto subjects name npm tarballs by
 * SHA-512 that are not stored). `Python-3.12.5.tgz` is not stored either: it is verified by
 * the digest its bundle names in `messageDigest` — a hint nothing authenticates, used only
 * because the signature (and the Rekor entry) then verify over exactly that digest.
 *
 * The bundles that do not verify are listed with the reason, and each is shown to fail for
 * that reason only.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { createHash } from 'node:crypto';
import { X509Certificate } from '@sigstore/core';
import { ImgverifyError, type ErrorCode } from '../../src/errors';
import { certificateIdentity } from '../../src/policy/certificate-identity';
import type { VerificationPolicy } from '../../src/policy/policy';
import { trustRootFromFile, type LoadedTrustRoot } from '../../src/trust/trusted-root';
import type { BundleArtifact } from '../../src';
import { checksFor, verifyBundle } from '../support/verify';
import { describeInterop, interopPath, PROD_TRUSTED_ROOT } from '../support/interop';
import type { JsonObject } from '../support/json';

type RootName = 'production' | 'staging' | 'cosign-pgi' | 'scaffolding';

const ROOT_FILES: Record<RootName, string[]> = {
  production: PROD_TRUSTED_ROOT,
  staging: ['trust', 'staging_trusted_root.sigstore-python.json'],
  'cosign-pgi': ['bundles', 'cosign', 'trusted_root_pgi.json'],
  scaffolding: ['bundles', 'sigstore-go', 'scaffolding.json'],
};

interface Verifying {
  readonly bundle: string;
  readonly root: RootName;
  /** `file`: the artifact stored beside the bundle (by file and by digest); `message-digest`: the bundle's own hint; `none`: DSSE. */
  readonly artifact: 'file' | 'message-digest' | 'none';
  /** DSSE: a subject digest (sha256 hex) the statement must name. */
  readonly subjectSha256?: string;
}

/** The real bundles that verify. */
const VERIFYING: readonly Verifying[] = [
  {
    bundle: 'cosign/oci-attestation.sigstore.json',
    root: 'cosign-pgi',
    artifact: 'none',
    subjectSha256: '732112270d7e59418a8c080b134b24cabd67d250d0d0147a97ed95ba5c280aa4',
  },
  { bundle: 'sigstore-go/sigstore.js@2.0.0-provenance.sigstore.json', root: 'production', artifact: 'none' },
  // These three carry the Fulcio root in their chain: ignored (never trusted), as the bundle spec asks.
  { bundle: 'sigstore-js/bundleV01-full-cert-chain.sigstore', root: 'production', artifact: 'none' },
  { bundle: 'sigstore-go/bundle-provenance.json', root: 'production', artifact: 'none' },
  { bundle: 'sigstore-go/dsse.sigstore.json', root: 'production', artifact: 'none' },
  { bundle: 'sigstore-js/bundleV01-dsse-no-proof.sigstore', root: 'production', artifact: 'none' },
  { bundle: 'sigstore-js/bundleV01-dsse-with-proof.sigstore', root: 'production', artifact: 'none' },
  { bundle: 'sigstore-js/bundleV01-intoto-no-proof.sigstore', root: 'production', artifact: 'none' },
  { bundle: 'sigstore-js/bundleV01-intoto-with-proof.sigstore', root: 'production', artifact: 'none' },
  { bundle: 'sigstore-js/bundleV02-dsse.sigstore', root: 'production', artifact: 'none' },
  { bundle: 'sigstore-js/bundleV02-intoto.sigstore', root: 'production', artifact: 'none' },
  { bundle: 'sigstore-js/bundleV03-dsse.sigstore', root: 'production', artifact: 'none' },
  { bundle: 'sigstore-js/bundleV03-intoto.sigstore', root: 'production', artifact: 'none' },
  { bundle: 'sigstore-python/Python-3.12.5.tgz.sigstore', root: 'production', artifact: 'message-digest' },
  { bundle: 'sigstore-python/bundle_v3_github.whl.sigstore', root: 'production', artifact: 'file' },
  { bundle: 'sigstore-python/bundle.txt.sigstore', root: 'staging', artifact: 'file' },
  { bundle: 'sigstore-python/bundle_v3.txt.sigstore', root: 'staging', artifact: 'file' },
  { bundle: 'sigstore-python/staging-rekor-v2.txt.sigstore.json', root: 'staging', artifact: 'file' },
  {
    bundle: 'sigstore-python/a.dsse.staging-rekor-v2.txt.sigstore.json',
    root: 'staging',
    artifact: 'none',
    // The statement is about sigstore-conformance's a.txt, not the a.txt stored beside it.
    subjectSha256: 'a0cfc71271d6e278e57cd332ff957c3f7043fdda354c4cbb190a30d56efa01bf',
  },
];

interface Failing {
  readonly bundle: string;
  readonly root: RootName;
  readonly code: ErrorCode;
  readonly message: RegExp;
  readonly why: string;
}

/** The real bundles that do not verify, and why. */
const FAILING: readonly Failing[] = [
  {
    bundle: 'sigstore-go/dsse-2sigs.sigstore.json',
    root: 'production',
    code: 'SIGNATURE_MALFORMED',
    message: /2 signatures, expected exactly 1/,
    why: 'a DSSE envelope with two signatures (a sigstore-go negative test)',
  },
  {
    bundle: 'sigstore-go/othername.sigstore.json',
    root: 'scaffolding',
    code: 'TLOG_INCLUSION_PROOF_INVALID',
    message: /invalid checkpoint signature/,
    why: "the checkpoint is signed under the name of a private Rekor's pod, not its URL host (conformance rekor2-checkpoint-no-matching-signature_fail requires that match)",
  },
  {
    bundle: 'sigstore-python/bundle_cve_2022_36056.txt.sigstore',
    root: 'staging',
    code: 'TLOG_BODY_MISMATCH',
    message: /signature mismatch/,
    why: 'its log entry is for another signature (sigstore-python negative test for CVE-2022-36056)',
  },
];

describeInterop('real Sigstore bundles (../shared/interop/bundles)', () => {
  const roots = new Map<RootName, LoadedTrustRoot>();
  const root = (name: RootName) => roots.get(name) ?? roots.set(name, trustRootFromFile(interopPath(...ROOT_FILES[name]))).get(name)!;
  const read = (bundle: string): JsonObject => JSON.parse(readFileSync(interopPath('bundles', bundle), 'utf8')) as JsonObject;

  function signerPolicy(json: JsonObject): VerificationPolicy {
    const vm = json.verificationMaterial;
    const raw: string = vm.certificate?.rawBytes ?? vm.x509CertificateChain.certificates[0].rawBytes;
    const identity = certificateIdentity(X509Certificate.parse(Buffer.from(raw, 'base64')));
    return { subject: identity.subjectAlternativeNames[0]!.value, issuer: identity.issuer! };
  }

  /** The artifact a bundle names: its message digest, or its statement's first subject. */
  function namedArtifact(json: JsonObject): BundleArtifact {
    if (json.messageSignature) return { sha256: Buffer.from(json.messageSignature.messageDigest.digest, 'base64').toString('hex') };
    const statement = JSON.parse(Buffer.from(json.dsseEnvelope.payload, 'base64').toString('utf8')) as JsonObject;
    const digests = statement.subject[0].digest as Record<string, string>;
    return digests.sha256 ? { sha256: digests.sha256 } : { digest: `sha512:${digests.sha512}` };
  }

  function artifactsOf(v: Verifying, json: JsonObject): BundleArtifact[] {
    if (v.artifact === 'none') return [v.subjectSha256 ? { sha256: v.subjectSha256 } : namedArtifact(json)];
    if (v.artifact === 'message-digest') return [{ sha256: Buffer.from(json.messageSignature.messageDigest.digest, 'base64').toString('hex') }];
    const bytes = readFileSync(interopPath('bundles', v.bundle.replace(/\.sigstore(\.json)?$/, '')));
    return [{ bytes }, { sha256: createHash('sha256').update(bytes).digest('hex') }];
  }

  function codeOf(fn: () => unknown): ImgverifyError {
    try {
      fn();
    } catch (err) {
      if (err instanceof ImgverifyError) return err;
      throw err;
    }
    throw new Error('verified, expected a failure');
  }

  describe.each(VERIFYING.map((v) => [v.bundle, v] as const))('%s', (_name, v) => {
    const json = read(v.bundle);
    const policy = signerPolicy(json);

    test(`verifies against the ${v.root} root with its certificate's identity`, () => {
      const ctx = checksFor(root(v.root), policy);
      const runs = artifactsOf(v, json);
      expect(runs.length).toBeGreaterThan(0);
      for (const artifact of runs) {
        const result = verifyBundle(json, artifact, ctx);
        expect(result.signer.subject).toBe((policy as { subject: string }).subject);
        expect(result.signer.issuer).toBe((policy as { issuer: string }).issuer);
        expect(result.signedAt).toMatch(/^20\d\d-/);
        expect(result.content.kind).toBe(json.dsseEnvelope ? 'dsse' : 'message-signature');
      }
    });

    test('fails with another identity', () => {
      const ctx = checksFor(root(v.root), { subject: 'someone-else@example.com', issuer: (policy as { issuer: string }).issuer });
      expect(codeOf(() => verifyBundle(json, artifactsOf(v, json)[0]!, ctx)).code).toBe('IDENTITY_MISMATCH');
    });
  });

  test('a DSSE statement about another artifact does not verify for the file stored beside it', () => {
    const json = read('sigstore-python/a.dsse.staging-rekor-v2.txt.sigstore.json');
    const ctx = checksFor(root('staging'), signerPolicy(json));
    const bytes = readFileSync(interopPath('bundles', 'sigstore-python', 'a.dsse.staging-rekor-v2.txt'));
    expect(codeOf(() => verifyBundle(json, { bytes }, ctx)).code).toBe('PAYLOAD_DIGEST_MISMATCH');
  });

  test('a message-signature bundle fails for an artifact other than its own', () => {
    const json = read('sigstore-python/bundle_v3_github.whl.sigstore');
    const ctx = checksFor(root('production'), signerPolicy(json));
    expect(codeOf(() => verifyBundle(json, { bytes: Buffer.from('not the wheel') }, ctx)).code).toBe('DIGEST_MISMATCH');
  });

  describe.each(FAILING.map((f) => [f.bundle, f] as const))('%s does not verify', (_name, f) => {
    test(f.why, () => {
      const json = read(f.bundle);
      const ctx = checksFor(root(f.root), signerPolicy(json));
      const err = codeOf(() => verifyBundle(json, namedArtifact(json), ctx));
      expect({ code: err.code, message: err.message }).toEqual({ code: f.code, message: expect.stringMatching(f.message) });
    });
  });

  test('certificates after the leaf add no trust: a chain naming an untrusted root does not help', () => {
    const json = read('sigstore-js/bundleV01-full-cert-chain.sigstore');
    const ctx = checksFor(root('staging'), signerPolicy(json));
    expect(codeOf(() => verifyBundle(json, namedArtifact(json), ctx)).code).toBe('CERTIFICATE_CHAIN_INVALID');
  });

  test('othername.sigstore.json verifies by its SET once the unverifiable checkpoint is left out (OtherName identity)', () => {
    const json = read('sigstore-go/othername.sigstore.json');
    json.mediaType = 'application/vnd.dev.sigstore.bundle+json;version=0.1';
    delete json.verificationMaterial.tlogEntries[0].inclusionProof;
    json.verificationMaterial.x509CertificateChain = { certificates: [json.verificationMaterial.certificate] };
    delete json.verificationMaterial.certificate;
    const digest = Buffer.from(json.messageSignature.messageDigest.digest, 'base64').toString('hex');
    const result = verifyBundle(json, { sha256: digest }, checksFor(root('scaffolding'), { subject: 'foo!oidc.local', issuer: 'http://oidc.local:8080' }));
    expect(result.signer.subjectAlternativeNames).toEqual([{ type: 'otherName', value: 'foo!oidc.local' }]);
  });

  test('bundle-publish.json (npm registry key, intoto 0.0.2) verifies with the key its own log entry names, and not with another', () => {
    // No npm registry key is stored here: this only shows the key path verifies real data.
    const json = read('sigstore-go/bundle-publish.json');
    const body = JSON.parse(Buffer.from(json.verificationMaterial.tlogEntries[0].canonicalizedBody, 'base64').toString('utf8')) as JsonObject;
    const pem = Buffer.from(body.spec.content.envelope.signatures[0].publicKey, 'base64').toString('utf8');
    expect(verifyBundle(json, namedArtifact(json), checksFor(root('production'), { publicKey: pem })).signer.publicKeySha256).toMatch(/^[0-9a-f]{64}$/);
    const other =
      '-----BEGIN PUBLIC KEY-----\nMFkwEwYHKoZIzj0CAQYIKoZIzj0DAQcDQgAExRRST79+PsrRBnGAI4cMu6Omz2JhfwlMW+gIutNKVRaMyS4rQKvgngc5p8UbLj55pVHhIoAxi/SRgURZI0J3Xw==\n-----END PUBLIC KEY-----\n';
    expect(codeOf(() => verifyBundle(json, namedArtifact(json), checksFor(root('production'), { publicKey: other }))).code).toBe('SIGNATURE_INVALID');
  });

  test('every bundle file under bundles/ is accounted for', () => {
    const listed = new Set([...VERIFYING.map((v) => v.bundle), ...FAILING.map((f) => f.bundle), 'sigstore-go/bundle-publish.json']);
    const all = ['cosign', 'sigstore-go', 'sigstore-js', 'sigstore-python'].flatMap((dir) =>
      readdirSync(interopPath('bundles', dir))
        .filter((name) => {
          try {
            const json = JSON.parse(readFileSync(interopPath('bundles', dir, name), 'utf8')) as JsonObject;
            return typeof json.mediaType === 'string' && json.mediaType.includes('sigstore.bundle');
          } catch {
            return false;
          }
        })
        .map((name) => `${dir}/${name}`),
    );
    expect(all.sort()).toEqual([...listed].sort());
  });
});
