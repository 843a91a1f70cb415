/**
 * CachedCertificate answers every member `@sigstore/verify` uses exactly as `@sigstore/core`'s
 * X509Certificate does, on real certificates (the production root, the Kubernetes release
 * leaf, the private test Sigstore) and on broken ones; signature checks are remembered only
 * between two anchors.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { EXTENSION_OID_SCT, X509Certificate } from '@sigstore/core';
import { CachedCertificate, CERTIFICATE_CACHE_ENABLED, REVIEWED_VERSIONS, forVerification } from '../../../src/trust/cached-certificate';
import { trustRootFromJSON } from '../../../src/trust/trusted-root';
import { createTestSigstore } from '../../support/sigstore';

const FIXTURES = join(__dirname, '..', '..', '..', 'fixtures');
const prodJson = JSON.parse(readFileSync(join(FIXTURES, 'trust', 'prod_trusted_root.sigstore-python.json'), 'utf8'));
const k8s = JSON.parse(readFileSync(join(FIXTURES, 'cosign-oci', 'k8s-cluster-api-controller-v1.5.0', 'artifact.json'), 'utf8')) as {
  certificate: string;
};
const sigstore = createTestSigstore();
const testLeaf = sigstore.signImage({ digest: `sha256:${'ab'.repeat(32)}` }).details.certificate.der;

/** DER of every certificate under test: prod CAs and TSA, the k8s leaf, the test Sigstore's leaf and chain. */
const DERS: Array<[string, Buffer]> = [
  ...prodJson.certificateAuthorities.flatMap((ca: { certChain: { certificates: Array<{ rawBytes: string }> } }, i: number) =>
    ca.certChain.certificates.map((c, j): [string, Buffer] => [`prod CA ${i}.${j}`, Buffer.from(c.rawBytes, 'base64')]),
  ),
  ...prodJson.timestampAuthorities.flatMap((ca: { certChain: { certificates: Array<{ rawBytes: string }> } }, i: number) =>
    ca.certChain.certificates.map((c, j): [string, Buffer] => [`prod TSA ${i}.${j}`, Buffer.from(c.rawBytes, 'base64')]),
  ),
  ['k8s leaf', X509Certificate.parse(k8s.certificate).root.toDER()],
  ['test leaf', Buffer.from(testLeaf)],
  ...sigstore.fulcio.chain.map((der, i): [string, Buffer] => [`test chain ${i}`, Buffer.from(der)]),
];

const base = (der: Buffer) => X509Certificate.parse(Buffer.from(der));
const cached = (der: Buffer, anchor = false) => CachedCertificate.adopt(base(der), anchor);

const EXTENSION_OIDS = [
  '2.5.29.14',
  '2.5.29.15',
  '2.5.29.17',
  '2.5.29.19',
  '2.5.29.35',
  '2.5.29.37',
  '1.3.6.1.4.1.57264.1.1',
  '1.3.6.1.4.1.57264.1.8',
  EXTENSION_OID_SCT,
  '1.2.3.4',
];

function view(cert: X509Certificate) {
  return {
    publicKey: cert.publicKey.toString('hex'),
    signatureAlgorithm: cert.signatureAlgorithm,
    signatureValue: cert.signatureValue.toString('hex'),
    notBefore: cert.notBefore.getTime(),
    notAfter: cert.notAfter.getTime(),
    subject: cert.subject.toString('hex'),
    issuer: cert.issuer.toString('hex'),
    isCA: cert.isCA,
    subjectAltName: cert.subjectAltName,
    keyCertSign: cert.extKeyUsage?.keyCertSign,
    digitalSignature: cert.extKeyUsage?.digitalSignature,
    basicConstraintsCA: cert.extBasicConstraints?.isCA,
    pathLen: cert.extBasicConstraints?.pathLenConstraint,
    aki: cert.extAuthorityKeyID?.keyIdentifier?.toString('hex'),
    ski: cert.extSubjectKeyID?.keyIdentifier?.toString('hex'),
    scts: cert.extSCT?.signedCertificateTimestamps.map((s) => s.signature.toString('hex')),
    extensions: EXTENSION_OIDS.map((oid) => cert.extension(oid)?.value.toString('hex')),
    tbs: cert.tbsCertificate.toDER().toString('hex'),
  };
}

describe.each(DERS)('%s', (_name, der) => {
  test('every member the library reads is what the base class says (twice: computed, then remembered)', () => {
    const expected = view(base(der));
    const c = cached(der);
    expect(view(c)).toEqual(expected);
    expect(view(c)).toEqual(expected);
  });

  test('validForDate at, just outside and away from the window; an invalid date', () => {
    const b = base(der);
    const c = cached(der);
    const times = [b.notBefore.getTime(), b.notAfter.getTime()].flatMap((t) => [t - 1, t, t + 1]);
    for (const date of [...times.map((t) => new Date(t)), new Date(0), new Date(8.64e15), new Date(NaN)]) {
      expect(c.validForDate(date)).toBe(b.validForDate(date));
    }
  });

  test('equals and verify against every certificate, cached or not, both ways', () => {
    for (const [, other] of DERS) {
      for (const [x, y] of [
        [cached(der), cached(other)],
        [cached(der), base(other)],
        [cached(der, true), cached(other, true)],
      ] as const) {
        expect(x.equals(y)).toBe(base(der).equals(base(other)));
        expect(x.verify(y)).toBe(base(der).verify(base(other)));
        // twice: the second answer may come from memory for anchors
        expect(x.verify(y)).toBe(base(der).verify(base(other)));
      }
    }
    expect(cached(der).verify()).toBe(base(der).verify());
  });

  test('clone() is a separate parse; removing the SCT extension and re-encoding the TBS gives the base bytes', () => {
    const c = cached(der);
    const fromCached = c.clone();
    const fromBase = base(der).clone();
    expect(fromCached.root.toDER().equals(c.der)).toBe(true);
    for (const copy of [fromCached, fromBase]) {
      const i = copy.extensions.findIndex((e) => e.subs[0]!.toOID() === EXTENSION_OID_SCT);
      if (i >= 0) copy.extensions.splice(i, 1);
    }
    expect(fromCached.tbsCertificate.toDER().equals(fromBase.tbsCertificate.toDER())).toBe(true);
    // the original is untouched
    expect(c.der.equals(base(der).root.toDER())).toBe(true);
    expect(c.extensions.length).toBe(base(der).extensions.length);
  });
});

test('a certificate whose issuer key cannot be parsed throws, as the base class does', () => {
  const [, good] = DERS.find(([n]) => n === 'k8s leaf')!;
  const broken = base(good);
  // Replace the issuer's subjectPublicKeyInfo bit string with garbage of the same length.
  const spki = broken.root.subs[0]!.subs[6]!;
  const bits = spki.subs[1]!.value;
  bits.fill(0x07, 1);
  const brokenDer = broken.root.toDER();
  expect(() => base(good).verify(base(brokenDer))).toThrow();
  expect(() => cached(good).verify(cached(brokenDer))).toThrow();
  expect(() => cached(good).verify(base(brokenDer))).toThrow();
});

test('a malformed notAfter matters only where the base class reads it', () => {
  const [, good] = DERS.find(([n]) => n === 'k8s leaf')!;
  const broken = base(good);
  broken.root.subs[0]!.subs[4]!.subs[1]!.value.fill(0x58); // notAfter: "XXXXXXXXXXXXX"
  const der = broken.root.toDER();
  const before = new Date(base(der).notBefore.getTime() - 1000);
  const during = new Date(base(der).notBefore.getTime() + 1000);
  expect(base(der).validForDate(before)).toBe(false);
  expect(cached(der).validForDate(before)).toBe(false);
  expect(() => base(der).validForDate(during)).toThrow('invalid time');
  expect(() => cached(der).validForDate(during)).toThrow('invalid time');
  const c = cached(der);
  expect(() => c.notAfter).toThrow('invalid time');
  expect(() => c.notAfter).toThrow('invalid time');
  expect(c.notBefore.getTime()).toBe(base(der).notBefore.getTime());
});

describe('remembered signature checks', () => {
  const [, intermediate] = DERS.find(([n]) => n === 'test chain 0')!;
  const [, root] = DERS.find(([n]) => n === 'test chain 1')!;
  const leaf = Buffer.from(testLeaf);

  // The module object itself (an ES namespace import would not let jest replace a property).
  // eslint-disable-next-line @typescript-eslint/no-require-imports -- the module object itself, so jest can replace a property
  const nodeCrypto = require('node:crypto') as typeof import('node:crypto');

  function countVerifies(fn: () => void): number {
    const spy = jest.spyOn(nodeCrypto, 'verify');
    try {
      fn();
      return spy.mock.calls.length;
    } finally {
      spy.mockRestore();
    }
  }

  test('between two anchors: once per pair', () => {
    const i = cached(intermediate, true);
    const r = cached(root, true);
    expect(
      countVerifies(() => {
        expect(i.verify(r)).toBe(true);
        expect(i.verify(r)).toBe(true);
        expect(r.verify()).toBe(true);
        expect(r.verify()).toBe(true);
        expect(r.verify(i)).toBe(false);
        expect(r.verify(i)).toBe(false);
      }),
    ).toBe(3);
  });

  test('a leaf is checked every time, even by an anchor; another instance of an anchor has its own memory', () => {
    const i = cached(intermediate, true);
    const l = cached(leaf);
    expect(
      countVerifies(() => {
        expect(l.verify(i)).toBe(true);
        expect(l.verify(i)).toBe(true);
      }),
    ).toBe(2);
    const r = cached(root, true);
    expect(countVerifies(() => i.verify(r))).toBe(1);
    expect(countVerifies(() => i.verify(cached(root, true)))).toBe(1);
    expect(countVerifies(() => i.verify(cached(root, false)))).toBe(1);
    expect(countVerifies(() => i.verify(cached(root, false)))).toBe(1);
  });

  test('adopt() keeps the parsed tree; a leaf adopted from an anchor is not an anchor', () => {
    const anchor = cached(intermediate, true);
    expect(CachedCertificate.adopt(anchor, true)).toBe(anchor);
    const asLeaf = CachedCertificate.adopt(anchor);
    expect(asLeaf).not.toBe(anchor);
    expect(asLeaf.anchor).toBe(false);
    expect(asLeaf.root).toBe(anchor.root);
  });

  test('a loaded trusted root holds anchors; two loads do not share them', () => {
    const a = trustRootFromJSON(sigstore.trustedRoot, 'a');
    const b = trustRootFromJSON(sigstore.trustedRoot, 'b');
    const certsOf = (t: typeof a) => [...t.material.certificateAuthorities, ...t.material.timestampAuthorities].flatMap((ca) => ca.certChain);
    for (const cert of [...certsOf(a), ...certsOf(b)]) expect(cert instanceof CachedCertificate && cert.anchor).toBe(true);
    expect(certsOf(a)[0]).not.toBe(certsOf(b)[0]);
  });
});

describe('reviewed library versions', () => {
  test('the installed @sigstore/core and @sigstore/verify are the reviewed ones (after a bump: re-check every override, then update REVIEWED_VERSIONS)', () => {
    for (const [name, version] of Object.entries(REVIEWED_VERSIONS)) {
      // eslint-disable-next-line @typescript-eslint/no-require-imports -- the installed package's own version
      expect(`${name}@${(require(`${name}/package.json`) as { version: string }).version}`).toBe(`${name}@${version}`);
    }
    expect(CERTIFICATE_CACHE_ENABLED).toBe(true);
    const cert = base(DERS[0]![1]);
    expect(forVerification(cert)).toBeInstanceOf(CachedCertificate);
  });

  test('with another version installed, the library gets its own certificates unchanged', () => {
    jest.isolateModules(() => {
      jest.doMock('@sigstore/verify/package.json', () => ({ version: '4.1.4' }));
      // eslint-disable-next-line @typescript-eslint/no-require-imports -- a fresh module instance under jest.isolateModules
      const fresh = require('../../../src/trust/cached-certificate') as typeof import('../../../src/trust/cached-certificate');
      expect(fresh.CERTIFICATE_CACHE_ENABLED).toBe(false);
      const warnings = jest.spyOn(process, 'emitWarning').mockImplementation(() => undefined);
      try {
        const cert = base(DERS[0]![1]);
        expect(fresh.forVerification(cert)).toBe(cert);
        expect(fresh.forVerification(cert, true)).toBe(cert);
        // Said once, naming the version found and the one reviewed.
        expect(warnings.mock.calls).toEqual([
          [
            expect.stringMatching(/certificate cache is off \(@sigstore\/verify 4\.1\.4 installed, reviewed: 4\.1\.3\).*3x slower/),
            { type: 'ImgverifyWarning', code: 'IMGVERIFY_CERTIFICATE_CACHE_OFF' },
          ],
        ]);
      } finally {
        warnings.mockRestore();
      }
    });
  });

  test('a certificate of another copy of @sigstore/core (a second version installed for @sigstore/verify) is handed over unchanged, with a warning', () => {
    jest.dontMock('@sigstore/verify/package.json'); // the test above's
    jest.isolateModules(() => {
      // A fresh module instance, with its own instance of @sigstore/core: this file's is then "another copy".
      // eslint-disable-next-line @typescript-eslint/no-require-imports -- a fresh module instance under jest.isolateModules
      const fresh = require('../../../src/trust/cached-certificate') as typeof import('../../../src/trust/cached-certificate');
      // eslint-disable-next-line @typescript-eslint/no-require-imports -- the instance the fresh module loaded
      expect((require('@sigstore/core') as typeof import('@sigstore/core')).X509Certificate).not.toBe(X509Certificate);
      expect(fresh.CERTIFICATE_CACHE_ENABLED).toBe(true);
      const warnings = jest.spyOn(process, 'emitWarning').mockImplementation(() => undefined);
      try {
        const foreign = base(DERS[0]![1]);
        expect(fresh.forVerification(foreign, true)).toBe(foreign);
        expect(fresh.forVerification(foreign)).toBe(foreign);
        expect(warnings.mock.calls).toEqual([
          [expect.stringMatching(/another copy of @sigstore\/core/), { type: 'ImgverifyWarning', code: 'IMGVERIFY_CERTIFICATE_CACHE_OFF' }],
        ]);
      } finally {
        warnings.mockRestore();
      }
    });
  });
});
