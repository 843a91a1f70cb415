/**
 * Benchmark: CPU per image of one verification, against the cost of its cryptography.
 *
 *   npm run bench:cpu -- [--iterations 2000] [--warmup 2000] [--rounds 5]
 *
 * The case (issue 8, part 4): the real cosign signature of
 * registry.k8s.io/cluster-api/cluster-api-controller:v1.5.0 by
 * krel-trust@k8s-releng-prod.iam.gserviceaccount.com (one keyless `.sig` layer: Fulcio
 * chain, SCT, SET, Rekor body, signature, digest binding, identity), verified against the
 * production trusted root, both from fixtures/. The registry is an in-memory RegistryReader
 * serving the stored bytes (digests computed and checked as RegistryClient does, manifests
 * parsed per call), so what is measured is the verifier's CPU, not the network's.
 *
 * `verify()` runs in a loop; after warm-up, process CPU time (user + system,
 * process.cpuUsage) is divided by the images verified, per round. After each round, in the
 * same process, the floor: the same ECDSA verifications the case needs — one P-384 (the
 * leaf certificate by the Fulcio intermediate) and three P-256 (the SCT by the CT log, the
 * SET by Rekor, the payload signature by the leaf key) — with node:crypto over the same
 * bytes, KeyObjects created once. Prints the medians over rounds of ms CPU/image, of the
 * floor and of the per-round ratio, then a JSON line. Nothing in imgverify is cached per
 * signature, so every iteration does the work a new signature would (trust-root
 * certificates, keys and the chain annotation are reused, as for every signature of a
 * release).
 */
import { createHash, createPublicKey, verify as cryptoVerify, type KeyObject } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { ByteStream, EXTENSION_OID_SCT, X509Certificate, X509SCTExtension, json as sigstoreJson } from '@sigstore/core';
import { createVerifier, trustRootFromFile } from '../src';
import { MemoryRegistry } from '../test/support/memory-registry';

// Compiled to build/tools/bench/: the repository root is three levels up.
const ROOT = resolve(__dirname, '..', '..', '..');
const VECTOR = join(ROOT, 'fixtures', 'cosign-oci', 'k8s-cluster-api-controller-v1.5.0');
const TRUSTED_ROOT = join(ROOT, 'fixtures', 'trust', 'prod_trusted_root.sigstore-python.json');
const REPOSITORY = 'cluster-api/cluster-api-controller';
const IDENTITY = 'krel-trust@k8s-releng-prod.iam.gserviceaccount.com';
const ISSUER = 'https://accounts.google.com';

interface Artifact {
  image_manifest_digest: string;
  payload: string;
  signature: string;
  certificate: string;
  bundle: string | Record<string, unknown>;
}

/** The four ECDSA verifications of the case, over the same bytes, KeyObjects created once. */
function cryptoFloor(artifact: Artifact): { name: string; run: () => boolean }[] {
  const trust = trustRootFromFile(TRUSTED_ROOT);
  const leaf = X509Certificate.parse(artifact.certificate);
  const cas = trust.material.certificateAuthorities.flatMap((ca) => ca.certChain);
  const issuer = cas.find((ca) => leaf.verify(ca));
  if (!issuer) throw new Error('no Fulcio CA in the trusted root issued the leaf');

  // 1. P-384: the leaf's signature by the intermediate.
  const issuerKey = createPublicKey({ key: issuer.publicKey, format: 'der', type: 'spki' });
  const leafTbs = leaf.tbsCertificate.toDER();
  const leafSig = leaf.signatureValue;
  const leafAlg = leaf.signatureAlgorithm;

  // 2. P-256: the SCT (RFC 6962 §3.2: issuer key hash + precertificate TBS without the SCT extension).
  const clone = leaf.clone();
  const index = clone.extensions.findIndex((e) => e.subs[0]!.toOID() === EXTENSION_OID_SCT);
  const sct = new X509SCTExtension(clone.extensions[index]!).signedCertificateTimestamps[0]!;
  clone.extensions.splice(index, 1);
  const tbs = clone.tbsCertificate.toDER();
  const signed = new ByteStream();
  signed.appendChar(sct.version);
  signed.appendChar(0);
  signed.appendView(sct.timestamp);
  signed.appendUint16(1);
  signed.appendView(createHash('sha256').update(issuer.publicKey).digest());
  signed.appendUint24(tbs.length);
  signed.appendView(tbs);
  signed.appendUint16(sct.extensions.byteLength);
  signed.appendView(sct.extensions);
  const sctData = Buffer.from(signed.buffer);
  const ctlog = trust.material.ctlogs.find((l) => l.logID.equals(sct.logID));
  if (!ctlog) throw new Error('SCT log not in the trusted root');
  const ctKey = ctlog.publicKey;

  // 3. P-256: the SET over the canonical {body, integratedTime, logIndex, logID}.
  const bundle = (typeof artifact.bundle === 'string' ? JSON.parse(artifact.bundle) : artifact.bundle) as {
    SignedEntryTimestamp: string;
    Payload: { body: string; integratedTime: number; logIndex: number; logID: string };
  };
  const setData = Buffer.from(sigstoreJson.canonicalize(bundle.Payload), 'utf8');
  const setSig = Buffer.from(bundle.SignedEntryTimestamp, 'base64');
  const rekor = trust.material.tlogs.find((l) => l.logID.equals(Buffer.from(bundle.Payload.logID, 'hex')));
  if (!rekor) throw new Error('Rekor log not in the trusted root');
  const rekorKey = rekor.publicKey;

  // 4. P-256: the payload signature by the leaf key.
  const leafKey: KeyObject = createPublicKey({ key: leaf.publicKey, format: 'der', type: 'spki' });
  const payload = Buffer.from(artifact.payload, 'utf8');
  const signature = Buffer.from(artifact.signature, 'base64');

  const checks = [
    { name: `leaf by intermediate (${issuerKey.asymmetricKeyDetails?.namedCurve})`, run: () => cryptoVerify(leafAlg, leafTbs, issuerKey, leafSig) },
    { name: `SCT (${ctKey.asymmetricKeyDetails?.namedCurve})`, run: () => cryptoVerify('sha256', sctData, ctKey, sct.signature) },
    { name: `SET (${rekorKey.asymmetricKeyDetails?.namedCurve})`, run: () => cryptoVerify('sha256', setData, rekorKey, setSig) },
    { name: `signature (${leafKey.asymmetricKeyDetails?.namedCurve})`, run: () => cryptoVerify('sha256', payload, leafKey, signature) },
  ];
  for (const c of checks) if (!c.run()) throw new Error(`floor: ${c.name} does not verify`);
  return checks;
}

function cpuMs(since: NodeJS.CpuUsage): number {
  const d = process.cpuUsage(since);
  return (d.user + d.system) / 1000;
}

function median(values: number[]): number {
  const s = [...values].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)]!;
}

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: { iterations: { type: 'string', default: '2000' }, warmup: { type: 'string', default: '2000' }, rounds: { type: 'string', default: '5' } },
  });
  const iterations = Number(values.iterations);
  const warmup = Number(values.warmup);
  const rounds = Number(values.rounds);

  const artifact = JSON.parse(readFileSync(join(VECTOR, 'artifact.json'), 'utf8')) as Artifact;
  // Served from memory (digests still checked): the CPU measured is verification, not I/O.
  const registry = new MemoryRegistry();
  const repo = { registry: 'registry.k8s.io', repository: REPOSITORY };
  registry.putBlob(repo, readFileSync(join(VECTOR, 'config.reconstructed.json')));
  registry.putBlob(repo, readFileSync(join(VECTOR, 'payload.json')));
  const digest = artifact.image_manifest_digest;
  registry.putManifest(repo, JSON.parse(readFileSync(join(VECTOR, 'sig-manifest.reconstructed.json'), 'utf8')), `${digest.replace(':', '-')}.sig`);

  const verifier = createVerifier({ trustedRoot: TRUSTED_ROOT, registryClient: registry });
  const policy = verifier.preparePolicy({ subject: IDENTITY, issuer: ISSUER });
  const image = `registry.k8s.io/${REPOSITORY}@${digest}`;
  const once = async (): Promise<void> => {
    const r = await verifier.verify(image, policy);
    if (!r.verified) throw new Error(`not verified: ${r.error?.code} ${r.error?.message}`);
  };

  // Rounds interleave verify() and the floor, so that both see the same load on a shared machine.
  const floorChecks = cryptoFloor(artifact);
  const floorIterations = Math.max(100, Math.round(iterations / 4));
  for (let i = 0; i < warmup; i++) await once();
  for (let i = 0; i < 100; i++) for (const c of floorChecks) c.run();
  const perImage: number[] = [];
  const floorRounds: number[] = [];
  const ratios: number[] = [];
  const parts = new Map<string, number[]>(floorChecks.map((c) => [c.name, []]));
  for (let r = 0; r < rounds; r++) {
    const start = process.cpuUsage();
    for (let i = 0; i < iterations; i++) await once();
    const ms = cpuMs(start) / iterations;
    let floor = 0;
    for (const c of floorChecks) {
      const begin = process.cpuUsage();
      for (let i = 0; i < floorIterations; i++) c.run();
      const part = cpuMs(begin) / floorIterations;
      parts.get(c.name)!.push(part);
      floor += part;
    }
    perImage.push(ms);
    floorRounds.push(floor);
    ratios.push(ms / floor);
  }

  const ms = median(perImage);
  const floor = median(floorRounds);
  const ratio = median(ratios);
  const fmt = (values: number[]) => values.map((v) => v.toFixed(3)).join(', ');
  console.log(`imgverify CPU per verification (${process.version}, ${process.arch}; ${rounds} rounds of ${iterations} images, after ${warmup} warm-up)`);
  console.log(`case: ${image}, signed by ${IDENTITY}`);
  console.log(`verify(): ${ms.toFixed(3)} ms CPU/image, median of rounds (rounds: ${fmt(perImage)}; best ${Math.min(...perImage).toFixed(3)})`);
  console.log(
    `node:crypto floor: ${floor.toFixed(3)} ms (${[...parts].map(([n, v]) => `${n} ${median(v).toFixed(3)}`).join(' + ')}; rounds: ${fmt(floorRounds)})`,
  );
  console.log(
    `ratio: ${ratio.toFixed(2)}x the floor, median of per-round ratios (${ratios.map((v) => v.toFixed(2)).join(', ')}); ${(((ms - floor) / ms) * 100).toFixed(0)}% of the CPU is not ECDSA`,
  );
  console.log(
    JSON.stringify({
      node: process.version,
      msPerImage: +ms.toFixed(3),
      bestMsPerImage: +Math.min(...perImage).toFixed(3),
      floorMs: +floor.toFixed(3),
      ratio: +ratio.toFixed(2),
      rounds: perImage.map((v) => +v.toFixed(3)),
      floorRounds: floorRounds.map((v) => +v.toFixed(3)),
      floorParts: Object.fromEntries([...parts].map(([n, v]) => [n, +median(v).toFixed(3)])),
    }),
  );
}

main().catch((err: unknown) => {
  console.error(err);
  process.exitCode = 1;
});
