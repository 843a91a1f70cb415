/**
 * An X.509 certificate for `@sigstore/verify` whose derived values are computed once.
 *
 * `@sigstore/verify` (4.x) builds and checks the certificate path with `@sigstore/core`'s
 * `X509Certificate`, and on every verification it re-derives the same things again and
 * again: the DER re-encoding of the whole certificate for each `equals()` (path dedupe and
 * building: about a dozen per verification), of the TBS and of the issuer's key for each
 * signature check, a fresh `KeyObject` per check, the extensions looked up by OID, the
 * validity dates parsed; and it checks the signatures between trust-root certificates
 * (intermediate by root, root by itself: two P-384 verifications) every time. Measured on
 * the Kubernetes release signature (docs/benchmarks.md) that was about 80% of the CPU.
 *
 * This subclass answers every method the library calls with exactly what the base class
 * answers, remembering what does not change:
 *   - re-encodings use ./der.ts (the same bytes as `toDER()`, one allocation) and are
 *     computed once per certificate: a certificate's tree is never modified (the library
 *     modifies only copies made by `clone()`, and those are not cached, see below);
 *   - the public key as a `KeyObject`, the extensions, the validity window, the signature
 *     algorithm and value: once per certificate;
 *   - signature checks between two trust-root certificates ("anchors", created once per
 *     loaded trusted root by ./trusted-root.ts): once per pair. The result is a function of
 *     the two certificates' bytes only; what depends on the signing time (each
 *     certificate's validity window, the CA's `validFor`) and the path rules (issuer/subject
 *     chaining, CA flags, path length) are still checked by the library on every call. A
 *     certificate from a signature (the leaf) is never an anchor: its checks are always made.
 * Nothing is cached across signatures: each leaf gets a new instance.
 *
 * The overrides restate what the base class does, so they were reviewed against exact versions
 * of `@sigstore/core` (the members) and `@sigstore/verify` (which members it calls, and that it
 * modifies only clones). With any other version installed, `forVerification` hands the
 * library its own certificates unchanged: slower, never different. A lockfile bump fails
 * test/unit/trust/cached-certificate.test.ts until the review is redone.
 */
import { createPublicKey, verify as cryptoVerify, type KeyObject } from 'node:crypto';
import { X509Certificate, type ASN1Obj } from '@sigstore/core';
import { warnOnce } from '../util/warn-once';
import { copyDer, encodeDer } from './der';

/** The versions the overrides below were checked against. */
export const REVIEWED_VERSIONS: Readonly<Record<string, string>> = { '@sigstore/core': '4.0.1', '@sigstore/verify': '4.1.3' };

/**
 * The installed `@sigstore/core` and `@sigstore/verify`, read with static `require`s of their
 * package.json (bundlers inline them: a bundle keeps the fast path; tests substitute them).
 */
function installedVersions(): Array<[name: string, version: unknown]> {
  /* eslint-disable @typescript-eslint/no-require-imports -- static requires of package.json files, see above */
  const read = (load: () => unknown): unknown => {
    try {
      return (load() as { version?: unknown }).version;
    } catch {
      return undefined;
    }
  };
  return [
    ['@sigstore/core', read(() => require('@sigstore/core/package.json'))],
    ['@sigstore/verify', read(() => require('@sigstore/verify/package.json'))],
  ];
  /* eslint-enable @typescript-eslint/no-require-imports */
}

const mismatched = installedVersions().filter(([name, version]) => REVIEWED_VERSIONS[name] !== version);

/** Whether the installed `@sigstore/*` packages are the reviewed ones (checked once, at load). */
export const CERTIFICATE_CACHE_ENABLED = mismatched.length === 0;

/** Says once per process that verification takes the slow path, and why. */
function warnCacheOff(why: string): void {
  warnOnce(
    'IMGVERIFY_CERTIFICATE_CACHE_OFF',
    `imgverify's certificate cache is off (${why}): verification is the same, about 3x slower. Install the @sigstore versions this imgverify was reviewed with.`,
  );
}

/** What `clone()` returns: a separate tree, whose TBS is re-encoded fast each time it is asked for (it gets modified). */
class CertificateCopy extends X509Certificate {
  override get tbsCertificate(): ASN1Obj {
    const node = super.tbsCertificate;
    // The SCT check removes the SCT extension from the copy, then re-encodes the TBS once.
    const view = Object.create(node) as { toDER: () => Buffer };
    view.toDER = () => encodeDer(node);
    return view as ASN1Obj;
  }
}

/** `@sigstore/core`'s `crypto.createPublicKey(der)`. */
function keyFromSpki(der: Buffer): KeyObject {
  return createPublicKey({ key: der, format: 'der', type: 'spki' });
}

export class CachedCertificate extends X509Certificate {
  /** A certificate of the trusted root (CA or TSA chain), loaded once and never modified. */
  readonly anchor: boolean;
  private readonly memo = new Map<string, unknown>();
  /** Anchors only: signature check results against other anchors (issuer → result). */
  private readonly verifiedBy = new WeakMap<X509Certificate, boolean>();

  constructor(root: ASN1Obj, anchor = false) {
    super(root);
    this.anchor = anchor;
  }

  /** The same certificate (same parsed tree, no copy) as a CachedCertificate. */
  static adopt(cert: X509Certificate, anchor = false): CachedCertificate {
    if (cert instanceof CachedCertificate && cert.anchor === anchor) return cert;
    return new CachedCertificate(cert.root, anchor);
  }

  /** Computes once; a computation that throws is not remembered (it throws again next time, as the base class would). */
  private once<T>(key: string, compute: () => T): T {
    if (this.memo.has(key)) return this.memo.get(key) as T;
    const value = compute();
    this.memo.set(key, value);
    return value;
  }

  /** `root.toDER()`. */
  get der(): Buffer {
    return this.once('der', () => encodeDer(this.root));
  }

  private get tbsDer(): Buffer {
    return this.once('tbsDer', () => encodeDer(this.root.subs[0]!));
  }

  override get publicKey(): Buffer {
    // subjectPublicKeyInfo: the seventh element of the TBS, as in the base class.
    return this.once('publicKey', () => encodeDer(this.root.subs[0]!.subs[6]!));
  }

  /** The subject public key as a KeyObject. */
  get publicKeyObject(): KeyObject {
    return this.once('publicKeyObject', () => keyFromSpki(this.publicKey));
  }

  override get signatureAlgorithm(): string {
    return this.once('signatureAlgorithm', () => super.signatureAlgorithm);
  }

  override get signatureValue(): Buffer {
    return this.once('signatureValue', () => super.signatureValue);
  }

  // The validity dates, as time values; each parsed on first use, separately, as the base class
  // reads them (a malformed notAfter must not matter where the base class never reads it).
  private get notBeforeTime(): number {
    return this.once('notBefore', () => super.notBefore.getTime());
  }

  private get notAfterTime(): number {
    return this.once('notAfter', () => super.notAfter.getTime());
  }

  override get notBefore(): Date {
    return new Date(this.notBeforeTime);
  }

  override get notAfter(): Date {
    return new Date(this.notAfterTime);
  }

  override validForDate(date: Date): boolean {
    // The base class: `notBefore <= date && date <= notAfter` on Dates, i.e. on their time
    // values (NaN compares false), notAfter read only when the first test passes.
    const t = date.getTime();
    return this.notBeforeTime <= t && t <= this.notAfterTime;
  }

  override get extKeyUsage(): X509Certificate['extKeyUsage'] {
    return this.once('extKeyUsage', () => super.extKeyUsage);
  }

  override get extBasicConstraints(): X509Certificate['extBasicConstraints'] {
    return this.once('extBasicConstraints', () => super.extBasicConstraints);
  }

  override get extSubjectAltName(): X509Certificate['extSubjectAltName'] {
    return this.once('extSubjectAltName', () => super.extSubjectAltName);
  }

  override get extAuthorityKeyID(): X509Certificate['extAuthorityKeyID'] {
    return this.once('extAuthorityKeyID', () => super.extAuthorityKeyID);
  }

  override get extSubjectKeyID(): X509Certificate['extSubjectKeyID'] {
    return this.once('extSubjectKeyID', () => super.extSubjectKeyID);
  }

  override get extSCT(): X509Certificate['extSCT'] {
    return this.once('extSCT', () => super.extSCT);
  }

  override get isCA(): boolean {
    return this.once('isCA', () => super.isCA);
  }

  override extension(oid: string): ReturnType<X509Certificate['extension']> {
    return this.once(`extension:${oid}`, () => super.extension(oid));
  }

  override equals(other: X509Certificate): boolean {
    const theirs = other instanceof CachedCertificate ? other.der : other.root.toDER();
    return this.der.equals(theirs);
  }

  /**
   * The base class: the issuer's key (or our own), `crypto.verify` of the TBS re-encoding
   * with the signature algorithm, false when it throws.
   */
  override verify(issuerCertificate?: X509Certificate): boolean {
    const issuer = issuerCertificate ?? this;
    const key = issuer instanceof CachedCertificate ? issuer.publicKeyObject : keyFromSpki(issuer.publicKey);
    const remember = this.anchor && issuer instanceof CachedCertificate && issuer.anchor;
    if (remember) {
      const known = this.verifiedBy.get(issuer);
      if (known !== undefined) return known;
    }
    const data = this.tbsDer;
    const signature = this.signatureValue;
    const algorithm = this.signatureAlgorithm;
    let ok: boolean;
    try {
      ok = cryptoVerify(algorithm, data, key, signature);
    } catch {
      ok = false;
    }
    if (remember) this.verifiedBy.set(issuer, ok);
    return ok;
  }

  /** A separate tree over a new buffer (the caller may modify it): what the base class's parse of a copy gives. */
  override clone(): X509Certificate {
    return new CertificateCopy(copyDer(this.root));
  }
}

/**
 * The certificate to hand `@sigstore/verify`: a CachedCertificate over the same parsed tree
 * (an anchor for trust-root certificates), or the certificate itself when the installed
 * library versions are not the reviewed ones, or when `@sigstore/verify` runs on its own copy
 * of `@sigstore/core` (its certificates are not of our `X509Certificate` class: another
 * version may be installed beside ours). Either way a warning says so, once.
 */
export function forVerification(cert: X509Certificate, anchor = false): X509Certificate {
  if (!CERTIFICATE_CACHE_ENABLED) {
    warnCacheOff(
      mismatched
        .map(([name, version]) => `${name} ${typeof version === 'string' ? version : 'of unknown version'} installed, reviewed: ${REVIEWED_VERSIONS[name]}`)
        .join('; '),
    );
    return cert;
  }
  if (!(cert instanceof X509Certificate)) {
    warnCacheOff('@sigstore/verify loads another copy of @sigstore/core than imgverify does');
    return cert;
  }
  return CachedCertificate.adopt(cert, anchor);
}
