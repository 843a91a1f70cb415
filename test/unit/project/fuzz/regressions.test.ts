/**
 * Every input the fuzzers found (`npm run fuzz`, fuzz/run.ts) is kept under
 * test/unit/project/fuzz/findings/TARGET/ and replayed here through its target: each must now satisfy
 * the invariant (a value or a typed ImgverifyError). Findings also get a test of the fixed
 * behaviour below.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { ImgverifyError } from '../../../../src/errors';
import { parseBundle } from '../../../../src/bundle/parse';
import { parseLegacySignature } from '../../../../src/cosign/legacy-signature';
import { readCertificate } from '../../../../src/util/certificate';
import { findTarget, TARGETS } from '../../../../fuzz/targets';

const FINDINGS = join(__dirname, 'findings');
const finding = (target: string, name: string): Buffer => readFileSync(join(FINDINGS, target, name));

const cases = readdirSync(FINDINGS).flatMap((target) => readdirSync(join(FINDINGS, target)).map((file) => [target, file] as const));

describe('fuzz findings replayed through their targets', () => {
  it('are kept for known targets', () => {
    expect(cases.length).toBeGreaterThan(0);
    for (const [target] of cases) expect(TARGETS.map((t) => t.name)).toContain(target);
  });

  it.each(cases)('%s: %s', (target, file) => {
    expect(() => findTarget(target)!.fuzz(finding(target, file))).not.toThrow();
  });
});

function pem(der: Buffer): string {
  return `-----BEGIN CERTIFICATE-----\n${der.toString('base64').replace(/.{64}/g, '$&\n')}\n-----END CERTIFICATE-----\n`;
}

describe('certificates whose DER parses but whose structure is not X.509 (sigstore-bundle finding)', () => {
  const bundle = JSON.parse(finding('sigstore-bundle', 'crash-b73f06c186e11bd69cfbcb5deaf5b1c95db36f5a.json').toString('utf8')) as {
    verificationMaterial: { certificate: { rawBytes: string } };
  };
  const der = Buffer.from(bundle.verificationMaterial.certificate.rawBytes, 'base64');

  it('readCertificate refuses it with a reason, not a TypeError', () => {
    expect(() => readCertificate(der)).toThrow(/malformed certificate structure|not an X.509 certificate structure/);
    let thrown: unknown;
    try {
      readCertificate(der);
    } catch (err) {
      thrown = err;
    }
    expect(thrown).not.toBeInstanceOf(TypeError);
  });

  it('a bundle carrying it is SIGNATURE_MALFORMED (was: TypeError from @sigstore/core)', () => {
    expect(() => parseBundle(JSON.stringify(bundle))).toThrow(ImgverifyError);
    expect(() => parseBundle(JSON.stringify(bundle))).toThrow(/verificationMaterial.certificate is not a DER X.509 certificate/);
  });

  it('a cosign .sig layer carrying it is SIGNATURE_MALFORMED at decoding (was: accepted, then INTERNAL_ERROR in the chain check)', () => {
    const layer = { 'dev.cosignproject.cosign/signature': 'MEUCIQ==', 'dev.sigstore.cosign/certificate': pem(der) };
    let thrown: unknown;
    try {
      parseLegacySignature(layer);
    } catch (err) {
      thrown = err;
    }
    expect(thrown).toBeInstanceOf(ImgverifyError);
    expect((thrown as ImgverifyError).code).toBe('SIGNATURE_MALFORMED');
  });
});

describe('a leaf certificate whose key usage extension is not a BIT STRING (certificate finding)', () => {
  const der = finding('certificate', 'crash-27ecab2d29b432e0480b122f986cb5d5be1810aa.der');

  it('is refused by readCertificate (it used to pass: isCA reads key usage only for CA certificates)', () => {
    expect(() => readCertificate(der)).toThrow(/malformed certificate structure/);
  });

  it('in a cosign .sig layer it is SIGNATURE_MALFORMED', () => {
    let thrown: unknown;
    try {
      parseLegacySignature({ 'dev.cosignproject.cosign/signature': 'MEUCIQ==', 'dev.sigstore.cosign/certificate': pem(der) });
    } catch (err) {
      thrown = err;
    }
    expect((thrown as ImgverifyError).code).toBe('SIGNATURE_MALFORMED');
  });
});
