// Self-check of the building blocks against independent implementations: OpenSSL (through
// node:crypto's X509Certificate) for the certificates, pkijs for the RFC 3161 token, and
// @sigstore/verify's own Merkle and checkpoint code for the transparency log.
import type { TLogEntryWithInclusionProof } from '@sigstore/bundle';
import { RFC3161Timestamp, X509Certificate as SigstoreCertificate } from '@sigstore/core';
import type { LogCheckpoint } from '@sigstore/verify/dist/tlog/checkpoint';
import { verifyMerkleInclusion as sigstoreVerifyMerkleInclusion } from '@sigstore/verify/dist/tlog/merkle';
import fc from 'fast-check';
import crypto, { X509Certificate } from 'node:crypto';
import path from 'node:path';
import { execFileSync } from 'node:child_process';
import { FIXTURE, readFixtureJSON } from '../../../support/fixtures';
import * as der from '../../../support/sigstore/der';
import { MerkleTree, TestRekor, type TestSigstore, canonicalJson, createTestSigstore, fromPem, logIdOf, sha256 } from '../../../support/sigstore';

// @sigstore/verify's internal RFC 6962 verifier: the reference our proofs must satisfy. It
// reads only the body and proof of the entry and the size and root hash of the checkpoint.
function verifyMerkleInclusion(
  entry: { canonicalizedBody: Buffer; inclusionProof: { logIndex: string; hashes: Buffer[] } },
  checkpoint: { logSize: bigint; logHash: Buffer },
): void {
  sigstoreVerifyMerkleInclusion(entry as unknown as TLogEntryWithInclusionProof, checkpoint as LogCheckpoint);
}

let sigstore: TestSigstore;
beforeAll(() => {
  sigstore = createTestSigstore();
});

describe('DER writer', () => {
  it('encodes known values exactly', () => {
    expect(der.objectIdentifier('1.2.840.10045.2.1').toString('hex')).toBe('06072a8648ce3d0201');
    expect(der.objectIdentifier('1.3.6.1.4.1.57264.1.8').toString('hex')).toBe('060a2b0601040183bf300108');
    expect(der.integer(0).toString('hex')).toBe('020100');
    expect(der.integer(128).toString('hex')).toBe('02020080');
    expect(der.integer(Buffer.from('00ff', 'hex')).toString('hex')).toBe('020200ff');
    expect(der.namedBits([0]).toString('hex')).toBe('03020780'); // digitalSignature
    expect(der.namedBits([5, 6]).toString('hex')).toBe('03020106'); // keyCertSign, cRLSign
    expect(der.octetString(Buffer.alloc(200)).subarray(0, 3).toString('hex')).toBe('0481c8');
    expect(der.utcTime(new Date('2023-07-25T17:04:39Z')).toString('ascii').slice(2)).toBe('230725170439Z');
  });

  it('sorts SET OF members (DER)', () => {
    const a = der.integer(2);
    const b = der.integer(1);
    expect(der.setOf(a, b).toString('hex')).toBe('3106020101020102');
  });
});

describe('certificates (parsed and checked by OpenSSL)', () => {
  it('root and intermediate are CAs with the right path lengths and chain together', () => {
    const root = new X509Certificate(sigstore.fulcio.root.der);
    const intermediate = new X509Certificate(sigstore.fulcio.intermediate.der);
    expect(root.ca).toBe(true);
    expect(root.verify(root.publicKey)).toBe(true);
    expect(intermediate.checkIssued(root)).toBe(true);
    expect(intermediate.verify(root.publicKey)).toBe(true);
    expect(intermediate.keyUsage).toEqual(['1.3.6.1.5.5.7.3.3']); // EKU codeSigning, like production
    expect(root.publicKey.asymmetricKeyDetails?.namedCurve).toBe('secp384r1');
    const parsedRoot = SigstoreCertificate.parse(sigstore.fulcio.root.der);
    const parsedIntermediate = SigstoreCertificate.parse(sigstore.fulcio.intermediate.der);
    expect(parsedRoot.extBasicConstraints?.pathLenConstraint).toBe(1n);
    expect(parsedIntermediate.extBasicConstraints?.pathLenConstraint).toBe(0n);
    expect(new Date(root.validFrom).getTime()).toBeLessThan(Date.now());
  });

  it('a leaf is an ECDSA P-256 code-signing certificate valid for 10 minutes, with Fulcio extensions', () => {
    const layer = sigstore.signImage({ digest: `sha256:${'0'.repeat(64)}`, identity: { email: 'a@example.test' }, issuer: 'https://issuer.example.test' });
    const leafDer = fromPem(layer.annotations['dev.sigstore.cosign/certificate']!)[0]!;
    const leaf = new X509Certificate(leafDer);
    const intermediate = new X509Certificate(sigstore.fulcio.intermediate.der);
    expect(leaf.checkIssued(intermediate)).toBe(true);
    expect(leaf.verify(intermediate.publicKey)).toBe(true);
    expect(leaf.ca).toBe(false);
    expect(leaf.subject || '').toBe(''); // empty Name, like Fulcio's leaves
    expect(leaf.subjectAltName).toBe('email:a@example.test');
    expect(leaf.keyUsage).toEqual(['1.3.6.1.5.5.7.3.3']);
    expect(new Date(leaf.validTo).getTime() - new Date(leaf.validFrom).getTime()).toBe(10 * 60 * 1000);
    expect(leaf.publicKey.asymmetricKeyDetails?.namedCurve).toBe('prime256v1');

    const parsed = SigstoreCertificate.parse(leafDer);
    expect(parsed.extension('1.3.6.1.4.1.57264.1.1')?.value.toString()).toBe('https://issuer.example.test');
    expect(parsed.extension('1.3.6.1.4.1.57264.1.8')?.valueObj.subs[0]!.value.toString()).toBe('https://issuer.example.test');
    expect(parsed.extSCT?.signedCertificateTimestamps[0]!.logID.equals(sigstore.ctLog.logId)).toBe(true);
    expect(parsed.extKeyUsage?.digitalSignature).toBe(true);
    expect(parsed.extSubjectAltName?.critical).toBe(true);
  });

  it('a leaf carries the same extensions, in the same order and criticality, as a real Fulcio leaf', () => {
    const real = SigstoreCertificate.parse(readFixtureJSON<{ certificate: string }>(...FIXTURE.k8sClusterApi, 'artifact.json').certificate);
    const ours = SigstoreCertificate.parse(sigstore.signImage({ digest: `sha256:${'1'.repeat(64)}` }).annotations['dev.sigstore.cosign/certificate']!);
    const shape = (cert: SigstoreCertificate) => cert.extensions.map((ext) => `${ext.subs[0]!.toOID()}${ext.subs.length === 3 ? ' critical' : ''}`);
    expect(shape(ours)).toEqual(shape(real));
    expect(ours.signatureAlgorithm).toBe(real.signatureAlgorithm); // ecdsa-with-SHA384 from the P-384 intermediate
  });

  it('the SCT precertificate is the final TBS minus the SCT extension, as @sigstore/core re-encodes it', () => {
    // Many certificates, because random serials, keys and key IDs must never break the re-encoding.
    const issuerKeyHash = sha256(SigstoreCertificate.parse(sigstore.fulcio.intermediate.der).publicKey);
    for (let i = 0; i < 200; i++) {
      const { der: leafDer } = sigstore.fulcio.issueEphemeral({
        identity: { email: `n${i}@example.test` },
        issuer: 'https://i.test',
        signedAt: new Date(Date.now() - 7200_000),
      });
      const leaf = SigstoreCertificate.parse(leafDer);
      const clone = leaf.clone();
      const index = clone.extensions.findIndex((e) => e.subs[0]!.toOID() === '1.3.6.1.4.1.11129.2.4.2');
      expect(index).toBe(clone.extensions.length - 1); // Fulcio puts it last
      clone.extensions.splice(index, 1);
      const tbs = clone.tbsCertificate.toDER();
      const length = Buffer.alloc(3);
      length.writeUIntBE(tbs.length, 0, 3);
      const sct = leaf.extSCT!.signedCertificateTimestamps[0]!;
      expect(sct.verify(Buffer.concat([issuerKeyHash, length, tbs]), sigstore.ctLog.publicKey)).toBe(true);
      expect(sct.datetime.getTime()).toBeGreaterThanOrEqual(leaf.notBefore.getTime());
    }
  });
});

describe('timestamp authority (checked by pkijs and @sigstore/core)', () => {
  // pkijs v4 is ESM-only and cannot be loaded by jest in this CommonJS project: run it in a child process.
  const pkijsVerify = (response: Buffer, data: Buffer): { status?: number; verified?: boolean; genTime?: string; error?: string } =>
    JSON.parse(
      execFileSync(process.execPath, [path.join(__dirname, 'pkijs-verify-timestamp.mjs')], {
        input: JSON.stringify({
          response: response.toString('base64'),
          data: data.toString('base64'),
          root: sigstore.tsa.root.der.toString('base64'),
        }),
      }).toString('utf8'),
    );

  it('the TSA leaf has a critical timeStamping EKU and chains to the TSA root', () => {
    const leaf = new X509Certificate(sigstore.tsa.leaf.der);
    expect(leaf.keyUsage).toEqual(['1.3.6.1.5.5.7.3.8']);
    expect(leaf.verify(new X509Certificate(sigstore.tsa.root.der).publicKey)).toBe(true);
    const eku = SigstoreCertificate.parse(sigstore.tsa.leaf.der).extension('2.5.29.37');
    expect(eku?.critical).toBe(true);
  });

  it('a timestamp response verifies with pkijs (signature, chain, message imprint) and @sigstore/core', () => {
    const data = crypto.randomBytes(71);
    const time = new Date(Date.now() - 3 * 60 * 60 * 1000);
    const wholeSecond = Math.floor(time.getTime() / 1000) * 1000;
    const response = sigstore.tsa.timestamp(data, time);

    expect(pkijsVerify(response, data)).toEqual({ status: 0, verified: true, genTime: new Date(wholeSecond).toISOString() });
    expect(pkijsVerify(response, crypto.randomBytes(71))).toMatchObject({ verified: false });

    const timestamp = RFC3161Timestamp.parse(response);
    expect(timestamp.signingTime.getTime()).toBe(wholeSecond);
    expect(() => timestamp.verify(data, sigstore.tsa.leaf.publicKey)).not.toThrow();
    expect(() => timestamp.verify(Buffer.from('other'), sigstore.tsa.leaf.publicKey)).toThrow();
  });
});

describe('Merkle tree and checkpoints (checked by @sigstore/verify)', () => {
  it('every inclusion proof of every tree size verifies, and altered proofs do not', () => {
    fc.assert(
      fc.property(fc.integer({ min: 1, max: 70 }), fc.nat(), fc.nat(), (size, i, j) => {
        const tree = new MerkleTree();
        const leaves = Array.from({ length: size }, (_, k) => Buffer.from(`leaf-${k}`));
        leaves.forEach((leaf) => tree.append(leaf));
        const treeSize = 1 + (j % size);
        const index = i % treeSize;
        const entry = (hashes: Buffer[], body = leaves[index]!) => ({
          canonicalizedBody: body,
          inclusionProof: { logIndex: String(index), hashes },
        });
        const checkpoint = { logSize: BigInt(treeSize), logHash: tree.rootHash(treeSize) };
        const hashes = tree.inclusionProof(index, treeSize);
        verifyMerkleInclusion(entry(hashes), checkpoint); // throws on failure
        expect(() => verifyMerkleInclusion(entry(hashes, Buffer.from('other')), checkpoint)).toThrow();
        if (hashes.length > 0) {
          const altered = hashes.map((h, k) => (k === hashes.length - 1 ? sha256(h) : h));
          expect(() => verifyMerkleInclusion(entry(altered), checkpoint)).toThrow();
        }
      }),
      { numRuns: 150 },
    );
  });

  it('the root matches RFC 6962 for a small tree computed by hand', () => {
    const tree = new MerkleTree();
    ['a', 'b', 'c'].forEach((x) => tree.append(Buffer.from(x)));
    const leaf = (x: string) => sha256(Buffer.from([0]), x);
    const node = (l: Buffer, r: Buffer) => sha256(Buffer.from([1]), l, r);
    expect(tree.rootHash().equals(node(node(leaf('a'), leaf('b')), leaf('c')))).toBe(true);
  });

  it('checkpoints have the production shape and the key hint of the log key', () => {
    const rekor = new TestRekor({ baseUrl: 'https://rekor.example.test' });
    rekor.addBody({ apiVersion: '0.0.1', kind: 'hashedrekord', spec: {} }, { integratedTime: 1 });
    const checkpoint = rekor.checkpoint();
    expect(checkpoint).toMatch(/^rekor\.example\.test - \d+\n1\n[A-Za-z0-9+/]{43}=\n\n\u2014 rekor\.example\.test [A-Za-z0-9+/=]+\n$/);
    const signatureLine = Buffer.from(checkpoint.trimEnd().split(' ').pop()!, 'base64');
    expect(signatureLine.subarray(0, 4).equals(logIdOf(rekor.publicKey).subarray(0, 4))).toBe(true);
    const note = checkpoint.slice(0, checkpoint.indexOf('\n\n') + 1);
    expect(crypto.verify('sha256', Buffer.from(note), rekor.publicKey, signatureLine.subarray(4))).toBe(true);
  });

  it('SETs sign the canonical {body, integratedTime, logID, logIndex}', () => {
    const rekor = new TestRekor({ shardOffset: 1000 });
    const entry = rekor.addBody({ apiVersion: '0.0.1', kind: 'hashedrekord', spec: { z: 1, a: 2 } }, { integratedTime: 1700000000 });
    expect(entry.body.toString()).toBe('{"apiVersion":"0.0.1","kind":"hashedrekord","spec":{"a":2,"z":1}}');
    expect(entry.logIndex).toBe(1000);
    expect(entry.treeIndex).toBe(0);
    const signed = canonicalJson({ body: entry.body.toString('base64'), integratedTime: 1700000000, logID: entry.logID, logIndex: 1000 });
    expect(crypto.verify('sha256', Buffer.from(signed), rekor.publicKey, entry.signedEntryTimestamp)).toBe(true);
  });
});
