/**
 * encodeDer is byte for byte `ASN1Obj.prototype.toDER()`, the re-encoding `@sigstore/verify`
 * verifies signatures over: on every node of real certificates (the production trusted root,
 * the Kubernetes release leaf, the private test Sigstore's certificates) and on arbitrary
 * DER trees.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import fc from 'fast-check';
import { ASN1Obj, X509Certificate } from '@sigstore/core';
import { copyDer, encodeDer } from '../../../src/trust/der';
import { trustRootFromJSON } from '../../../src/trust/trusted-root';
import { createTestSigstore } from '../../support/sigstore';

const FIXTURES = join(__dirname, '..', '..', '..', 'fixtures');

function nodes(root: ASN1Obj): ASN1Obj[] {
  return [root, ...root.subs.flatMap(nodes)];
}

function realCertificates(): Array<[string, X509Certificate]> {
  const prod = trustRootFromJSON(JSON.parse(readFileSync(join(FIXTURES, 'trust', 'prod_trusted_root.sigstore-python.json'), 'utf8')), 'prod');
  const k8s = JSON.parse(readFileSync(join(FIXTURES, 'cosign-oci', 'k8s-cluster-api-controller-v1.5.0', 'artifact.json'), 'utf8')) as { certificate: string };
  const sigstore = createTestSigstore();
  const layer = sigstore.signImage({ digest: `sha256:${'ab'.repeat(32)}` });
  return [
    ...prod.material.certificateAuthorities.flatMap((ca, i) => ca.certChain.map((c, j): [string, X509Certificate] => [`prod CA ${i} cert ${j}`, c])),
    ...prod.material.timestampAuthorities.flatMap((ca, i) => ca.certChain.map((c, j): [string, X509Certificate] => [`prod TSA ${i} cert ${j}`, c])),
    ['Kubernetes release leaf', X509Certificate.parse(k8s.certificate)],
    ['test Sigstore leaf', X509Certificate.parse(layer.details.certificate.der)],
    ...sigstore.fulcio.chain.map((der, i): [string, X509Certificate] => [`test Sigstore chain ${i}`, X509Certificate.parse(Buffer.from(der))]),
  ];
}

/** The same tree: tags, values and children (what a parse would produce). */
function expectSameTree(actual: ASN1Obj, expected: ASN1Obj): void {
  expect(actual.tag.toDER()).toBe(expected.tag.toDER());
  expect(actual.value.equals(expected.value)).toBe(true);
  expect(actual.subs).toHaveLength(expected.subs.length);
  actual.subs.forEach((sub, i) => expectSameTree(sub, expected.subs[i]!));
}

/** copyDer(node) is what parsing a copy of node.toDER() gives, over its own buffer. */
function expectCopyIsReparse(node: ASN1Obj): void {
  const copy = copyDer(node);
  expectSameTree(copy, ASN1Obj.parseBuffer(Buffer.from(node.toDER())));
  expect(copy.value.buffer).not.toBe(node.value.buffer);
  for (const n of nodes(copy)) expect(n.value.buffer).toBe(copy.value.buffer);
}

test.each(realCertificates())('%s: every node re-encodes as toDER() does; copyDer is a re-parse', (_name, cert) => {
  const all = nodes(cert.root);
  expect(all.length).toBeGreaterThan(20);
  for (const node of all) expect(encodeDer(node).equals(node.toDER())).toBe(true);
  expectCopyIsReparse(cert.root);
});

test('lengths in every form: short, one, two and three length bytes', () => {
  for (const size of [0, 1, 127, 128, 255, 256, 65535, 65536, 70000]) {
    const octets = Buffer.concat([Buffer.from([0x04]), derLength(size), Buffer.alloc(size, 0x41)]);
    const seq = Buffer.concat([Buffer.from([0x30]), derLength(octets.length), octets]);
    for (const bytes of [octets, seq]) {
      const node = ASN1Obj.parseBuffer(bytes);
      expect(encodeDer(node).equals(node.toDER())).toBe(true);
      expect(encodeDer(node).equals(bytes)).toBe(true);
      expectCopyIsReparse(node);
    }
  }
});

function derLength(len: number): Buffer {
  if (len < 128) return Buffer.from([len]);
  const bytes: number[] = [];
  for (let rest = len; rest > 0; rest = Math.floor(rest / 256)) bytes.unshift(rest % 256);
  return Buffer.from([0x80 | bytes.length, ...bytes]);
}

/** Arbitrary DER: primitive and constructed nodes of assorted classes, OCTET STRINGs wrapping DER (parsed as children) or not. */
const der: fc.Memo<Buffer> = fc.memo((depth) => {
  const primitiveTag = fc.constantFrom(0x01, 0x02, 0x03, 0x05, 0x06, 0x0c, 0x13, 0x17, 0x18, 0x80, 0x81, 0x86, 0x41);
  const primitive = fc
    .tuple(primitiveTag, fc.uint8Array({ maxLength: 300 }))
    .map(([tag, value]) => Buffer.concat([Buffer.from([tag]), derLength(value.length), Buffer.from(value)]));
  if (depth <= 1) return primitive;
  const children = fc.array(der(depth - 1), { maxLength: 4 }).map((items) => Buffer.concat(items));
  const constructed = fc
    .tuple(fc.constantFrom(0x30, 0x31, 0xa0, 0xa3, 0x60), children)
    .map(([tag, content]) => Buffer.concat([Buffer.from([tag]), derLength(content.length), content]));
  const wrapped = children.map((content) => Buffer.concat([Buffer.from([0x04]), derLength(content.length), content]));
  return fc.oneof(primitive, constructed, wrapped);
});

test('arbitrary DER trees re-encode as toDER() does; copyDer is a re-parse', () => {
  let parsed = 0;
  fc.assert(
    fc.property(der(4), (bytes) => {
      let root: ASN1Obj;
      try {
        root = ASN1Obj.parseBuffer(Buffer.from(bytes));
      } catch {
        return; // not every generated byte string is a tree the parser accepts
      }
      parsed++;
      for (const node of nodes(root)) expect(encodeDer(node).equals(node.toDER())).toBe(true);
      expectCopyIsReparse(root);
    }),
    { numRuns: 300 },
  );
  expect(parsed).toBeGreaterThan(250);
});
