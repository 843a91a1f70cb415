// Proof against reality: the formats the test Sigstore writes are byte-identical to real
// cosign / Rekor output, and the bundle conversion the self-checks use verifies real cosign
// signatures against the production trusted root. The checks over every real vector read
// ../shared/interop (see its README) and skip visibly without it; the ones about a single real
// signature or bundle read the copies committed in fixtures/ and always run.
import fs from 'node:fs';
import path from 'node:path';
import {
  COSIGN_ANNOTATIONS,
  type CosignLayer,
  type RekorEntry,
  SIMPLE_SIGNING_MEDIA_TYPE,
  TestRekor,
  buildSignatureManifest,
  canonicalJson,
  cosignBundleAnnotation,
  fromPem,
  sha256Digest,
  simpleSigningPayload,
} from '../../../support/sigstore';
import { FIXTURE, readFixture, readFixtureJSON } from '../../../support/fixtures';
import { interopPath } from '../../../support/interop';
import { verificationOutcome, verifyLayer } from './verify-helpers';

const INTEROP = interopPath();
const present = fs.existsSync(path.join(INTEROP, 'cosign-oci', 'vectors.json'));
const describeInterop = present ? describe : describe.skip;
if (!present) {
  test.skip(`interop data absent: expected ${INTEROP} (see the project README); these checks did not run`, () => undefined);
}

interface Artifact {
  payload: string;
  signature: string;
  certificate: string;
  chain: string;
  bundle: { SignedEntryTimestamp: string; Payload: { body: string; integratedTime: number; logIndex: number; logID: string } };
}
interface Vector {
  artifact: string;
  image: string;
  identity: string;
  issuer: string;
}

const readJson = <T>(...parts: string[]): T => JSON.parse(fs.readFileSync(path.join(INTEROP, ...parts), 'utf8')) as T;

function layerOf(artifact: Artifact): CosignLayer {
  return {
    payload: Buffer.from(artifact.payload, 'utf8'),
    mediaType: SIMPLE_SIGNING_MEDIA_TYPE,
    annotations: {
      [COSIGN_ANNOTATIONS.signature]: artifact.signature,
      [COSIGN_ANNOTATIONS.certificate]: artifact.certificate,
      [COSIGN_ANNOTATIONS.chain]: artifact.chain,
      [COSIGN_ANNOTATIONS.bundle]: JSON.stringify(artifact.bundle),
    },
  };
}

function escape(text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}

describeInterop('real cosign legacy signatures (cosign-oci/vectors.json)', () => {
  const vectors = present ? readJson<Vector[]>('cosign-oci', 'vectors.json') : [];
  const prodRoot = present ? readJson<object>('trust', 'prod_trusted_root.sigstore-python.json') : {};

  it.each(vectors.map((v) => [v.artifact, v] as const))('%s verifies with the bundle conversion', (_, vector) => {
    const layer = layerOf(readJson<Artifact>(vector.artifact));
    const signer = verifyLayer(layer, {
      trustedRoot: prodRoot,
      policy: { subjectAlternativeName: `^${escape(vector.identity)}$`, extensions: { issuer: vector.issuer } },
    });
    expect(signer.identity?.subjectAlternativeName).toBe(vector.identity);
  });

  it.each(vectors.map((v) => [v.artifact, v] as const))('%s: payload and Rekor body are reproduced byte for byte', (_, vector) => {
    const artifact = readJson<Artifact>(vector.artifact);
    const claims = JSON.parse(artifact.payload);
    expect(
      simpleSigningPayload({
        digest: claims.critical.image['docker-manifest-digest'],
        dockerReference: claims.critical.identity['docker-reference'],
        optional: claims.optional,
      }).toString('utf8'),
    ).toBe(artifact.payload);

    const realBody = Buffer.from(artifact.bundle.Payload.body, 'base64');
    const spec = JSON.parse(realBody.toString('utf8')).spec;
    const entry = new TestRekor().addHashedRekord({
      payloadSha256Hex: spec.data.hash.value,
      signatureB64: spec.signature.content,
      certificatePEM: Buffer.from(spec.signature.publicKey.content, 'base64').toString('utf8'),
      integratedTime: artifact.bundle.Payload.integratedTime,
    });
    expect(entry.body.toString('utf8')).toBe(realBody.toString('utf8'));
    // Our PEM writer produces what Rekor stored (Go's pem.EncodeToMemory).
    expect(Buffer.from(spec.signature.publicKey.content, 'base64').toString('utf8')).toBe(artifact.certificate);
  });
});

describe('a real cosign signature (fixtures/)', () => {
  it('a tampered real payload fails the way the test Sigstore defect does', () => {
    const layer = layerOf(readFixtureJSON<Artifact>(...FIXTURE.k8sClusterApi, 'artifact.json'));
    const tampered = { ...layer, payload: Buffer.from(layer.payload.toString().replace('cluster-api-controller"', 'cluster-api-controllers"')) };
    expect(verificationOutcome(tampered, { trustedRoot: readFixtureJSON<object>(...FIXTURE.prodTrustedRoot) })).toMatch(/^TLOG_BODY_ERROR: digest mismatch/);
  });
});

describe('real `.sig` manifests, configs and annotations (fixtures/)', () => {
  const k8sDir = FIXTURE.k8sClusterApi;

  it('k8s cluster-api: config and manifest are reproduced (cosign layout)', () => {
    const artifact = readFixtureJSON<Artifact>(...k8sDir, 'artifact.json');
    const realManifest = readFixtureJSON<{ layers: Array<{ annotations: Record<string, string> }> }>(...k8sDir, 'sig-manifest.reconstructed.json');
    const layer: CosignLayer = { ...layerOf(artifact), annotations: realManifest.layers[0]!.annotations };
    const built = buildSignatureManifest([layer]);
    const configBytes = readFixture(...k8sDir, 'config.reconstructed.json');
    expect(built.blobs[0]!.bytes.equals(configBytes)).toBe(true);
    expect(JSON.parse(built.manifest.toString())).toEqual(realManifest);
  });

  it('salrashid123 server_image: the real config digest and manifest content are reproduced', () => {
    const dir = FIXTURE.serverImageIndex;
    const realManifest = readFixtureJSON<{ config: { digest: string }; layers: Array<{ annotations: Record<string, string> }> }>(...dir, 'sig-manifest.json');
    const artifact = readFixtureJSON<Artifact>(...dir, 'artifact-0.json');
    const built = buildSignatureManifest([{ ...layerOf(artifact), annotations: realManifest.layers[0]!.annotations }]);
    expect(sha256Digest(built.blobs[0]!.bytes)).toBe(realManifest.config.digest); // byte-exact config
    expect(JSON.parse(built.manifest.toString())).toEqual(realManifest);
  });

  it('the bundle annotation string is reproduced from its parts', () => {
    const realManifest = readFixtureJSON<{ layers: Array<{ annotations: Record<string, string> }> }>(...FIXTURE.serverImageIndex, 'sig-manifest.json');
    const real = realManifest.layers[0]!.annotations[COSIGN_ANNOTATIONS.bundle]!;
    const parsed = JSON.parse(real);
    const entry = {
      signedEntryTimestamp: Buffer.from(parsed.SignedEntryTimestamp, 'base64'),
      body: Buffer.from(parsed.Payload.body, 'base64'),
      integratedTime: parsed.Payload.integratedTime,
      logIndex: parsed.Payload.logIndex,
      logID: parsed.Payload.logID,
    } as RekorEntry;
    expect(cosignBundleAnnotation(entry)).toBe(real);
  });
});

describe('real Rekor dsse 0.0.1 and intoto 0.0.2 bodies are reproduced (fixtures/)', () => {
  interface JsonBundle {
    dsseEnvelope: { payload: string; payloadType: string; signatures: Array<{ sig: string; keyid?: string }> };
    verificationMaterial: {
      certificate?: { rawBytes: string };
      x509CertificateChain?: { certificates: Array<{ rawBytes: string }> };
      tlogEntries: Array<{ canonicalizedBody: string; integratedTime: string }>;
    };
  }
  const pemOf = (b64Der: string): string => `-----BEGIN CERTIFICATE-----\n${(b64Der.match(/.{1,64}/g) ?? []).join('\n')}\n-----END CERTIFICATE-----\n`;

  it('dsse (cosign oci-attestation.sigstore.json)', () => {
    const bundle = readFixtureJSON<JsonBundle>('bundles', 'cosign', 'oci-attestation.sigstore.json');
    const tlog = bundle.verificationMaterial.tlogEntries[0]!;
    const entry = new TestRekor().addDsse({
      envelope: bundle.dsseEnvelope,
      verifierPEM: pemOf(bundle.verificationMaterial.certificate!.rawBytes),
      integratedTime: Number(tlog.integratedTime),
    });
    expect(entry.body.toString()).toBe(Buffer.from(tlog.canonicalizedBody, 'base64').toString());
  });

  it('intoto (sigstore-js bundleV01-intoto-with-proof)', () => {
    const bundle = readFixtureJSON<JsonBundle>('bundles', 'sigstore-js', 'bundleV01-intoto-with-proof.sigstore');
    const tlog = bundle.verificationMaterial.tlogEntries[0]!;
    // sigstore-js wrote this PEM without the final newline: take the verifier text from the body.
    const realBody = JSON.parse(Buffer.from(tlog.canonicalizedBody, 'base64').toString());
    const verifierPEM = Buffer.from(realBody.spec.content.envelope.signatures[0].publicKey, 'base64').toString();
    expect(verifierPEM.trimEnd()).toBe(pemOf(bundle.verificationMaterial.x509CertificateChain!.certificates[0]!.rawBytes).trimEnd());
    const entry = new TestRekor().addIntoto({ envelope: bundle.dsseEnvelope, verifierPEM, integratedTime: Number(tlog.integratedTime) });
    expect(entry.body.toString()).toBe(Buffer.from(tlog.canonicalizedBody, 'base64').toString());
  });

  it('canonical JSON re-serialises real bodies unchanged', () => {
    const artifact = readFixtureJSON<Artifact>(...FIXTURE.k8sClusterApi, 'artifact.json');
    const body = Buffer.from(artifact.bundle.Payload.body, 'base64').toString();
    expect(canonicalJson(JSON.parse(body))).toBe(body);
    expect(fromPem(artifact.chain)).toHaveLength(2);
  });
});
