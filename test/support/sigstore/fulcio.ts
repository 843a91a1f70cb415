// A test Fulcio: a P-384 root and intermediate CA shaped like the production ones, issuing
// short-lived code-signing leaf certificates with Fulcio's extensions and an embedded SCT
// from the test CT log. Options produce the broken certificates negative tests need.
import { type KeyObject } from 'node:crypto';
import { TestCtLog, sctList } from './ctlog';
import * as der from './der';
import { generateKeyPair, spkiDer, toPem } from './keys';
import { OID } from './oids';
import {
  type Extension,
  KEY_USAGE,
  type SubjectAlternativeName,
  authorityKeyIdentifier,
  basicConstraints,
  distinguishedName,
  encodeTbs,
  extKeyUsage,
  keyUsage,
  randomSerialNumber,
  signTbs,
  subjectAltName,
  subjectKeyIdentifier,
} from './x509';

export type Identity = SubjectAlternativeName;

/** A CA certificate together with its key. */
export interface CertifiedKey {
  privateKey: KeyObject;
  publicKey: KeyObject;
  subject: NonSharedBuffer; // DER Name
  der: NonSharedBuffer;
  pem: string;
}

type SctOption =
  | 'valid' // SCT from the trusted CT log over the right precertificate
  | 'none' // no SCT extension at all
  | 'unknown-log' // well-formed SCT signed by a CT log absent from the trusted root
  | 'invalid-signature'; // trusted log ID, but the signature covers other bytes

type IssuerExtensionsOption = 'both' | 'v1-only' | 'v2-only' | 'none';

type ValidityOption =
  | 'valid' // notBefore = signing time - 1 min, notAfter = notBefore + 10 min
  | 'expired' // expired before the signing time
  | 'not-yet-valid' // starts after the signing time
  | { notBefore: Date; notAfter: Date };

type IssuingCaOption =
  | 'fulcio' // the trusted intermediate
  | 'untrusted-ca' // an unrelated CA (same names, other keys) absent from the trusted root
  | 'wrong-intermediate'; // an intermediate with the trusted one's name, signed by the trusted root, absent from the trusted root

export interface LeafOptions {
  publicKey: KeyObject;
  identity: Identity;
  /** OIDC issuer written to the Fulcio issuer extensions. */
  issuer: string;
  /** Signing time: the certificate is valid 10 minutes around it unless `validity` says otherwise. */
  signedAt: Date;
  /** Extra extensions, e.g. from githubWorkflowCertificate(). */
  extensions?: Extension[];
  /** OIDs of standard extensions to leave out (e.g. EKU '2.5.29.37'), for negative tests. */
  removeExtensions?: string[];
  sct?: SctOption;
  issuerExtensions?: IssuerExtensionsOption;
  validity?: ValidityOption;
  issuingCa?: IssuingCaOption;
}

export interface IssuedCertificate {
  der: NonSharedBuffer;
  pem: string;
  /** The CA chain a client is handed (intermediate first, then root), DER. */
  chain: NonSharedBuffer[];
  /** Same chain as concatenated PEM, as in the `dev.sigstore.cosign/chain` annotation. */
  chainPem: string;
  notBefore: Date;
  notAfter: Date;
}

export interface FulcioOptions {
  /** Start of the CA certificates' validity (and of the trusted root's validFor). */
  validFrom: Date;
  validUntil: Date;
  organization?: string;
  ctLog: TestCtLog;
}

const LEAF_LIFETIME_MS = 10 * 60 * 1000;

/** Issues a CA certificate. `issuer` undefined means self-signed. */
function issueCa(opts: {
  commonName: string;
  organization: string;
  pathLength: number;
  validFrom: Date;
  validUntil: Date;
  issuer?: CertifiedKey;
  codeSigningEku?: boolean;
}): CertifiedKey {
  const { privateKey, publicKey } = generateKeyPair('ecdsa-p384');
  const subject = distinguishedName({ organization: opts.organization, commonName: opts.commonName });
  const signer = opts.issuer ?? { privateKey, publicKey, subject };
  const extensions: Extension[] = [
    keyUsage(KEY_USAGE.keyCertSign, KEY_USAGE.cRLSign),
    ...(opts.codeSigningEku ? [extKeyUsage([OID.ekuCodeSigning])] : []),
    basicConstraints(true, opts.pathLength),
    subjectKeyIdentifier(publicKey),
    authorityKeyIdentifier(signer.publicKey),
  ];
  const tbs = encodeTbs(
    {
      serialNumber: randomSerialNumber(),
      issuer: signer.subject,
      subject,
      notBefore: opts.validFrom,
      notAfter: opts.validUntil,
      publicKey,
      extensions,
    },
    signer.privateKey,
  );
  const certDer = signTbs(tbs, signer.privateKey);
  return { privateKey, publicKey, subject, der: certDer, pem: toPem('CERTIFICATE', certDer) };
}

function createCaPair(opts: FulcioOptions): { root: CertifiedKey; intermediate: CertifiedKey } {
  const organization = opts.organization ?? 'sigstore.test';
  const root = issueCa({ commonName: 'sigstore', organization, pathLength: 1, validFrom: opts.validFrom, validUntil: opts.validUntil });
  const intermediate = issueCa({
    commonName: 'sigstore-intermediate',
    organization,
    pathLength: 0,
    validFrom: opts.validFrom,
    validUntil: opts.validUntil,
    issuer: root,
    codeSigningEku: true, // as the production intermediate has
  });
  return { root, intermediate };
}

function leafValidity(signedAt: Date, option: ValidityOption): { notBefore: Date; notAfter: Date } {
  if (typeof option === 'object') return option;
  // Certificates carry whole seconds; anchor on the second the signature was made.
  const signedSecond = Math.floor(signedAt.getTime() / 1000) * 1000;
  const start = {
    valid: signedSecond - 60_000,
    expired: signedSecond - 20 * 60_000,
    'not-yet-valid': signedSecond + 5 * 60_000,
  }[option];
  return { notBefore: new Date(start), notAfter: new Date(start + LEAF_LIFETIME_MS) };
}

function issuerExtensions(issuer: string, option: IssuerExtensionsOption): Extension[] {
  const v1: Extension = { oid: OID.fulcioIssuerV1, value: Buffer.from(issuer, 'utf8') }; // raw bytes, not DER
  const v2: Extension = { oid: OID.fulcioIssuerV2, value: der.utf8String(issuer) };
  return { both: [v1, v2], 'v1-only': [v1], 'v2-only': [v2], none: [] }[option];
}

export class TestFulcio {
  readonly root: CertifiedKey;
  readonly intermediate: CertifiedKey;
  readonly ctLog: TestCtLog;
  private readonly options: FulcioOptions;
  private untrusted?: TestFulcio;
  private impostor?: CertifiedKey;
  private rogueCtLog?: TestCtLog;

  constructor(options: FulcioOptions) {
    this.options = options;
    this.ctLog = options.ctLog;
    ({ root: this.root, intermediate: this.intermediate } = createCaPair(options));
  }

  /** Trusted chain, intermediate first (the order of trusted_root.json and of cosign's chain). */
  get chain(): NonSharedBuffer[] {
    return [this.intermediate.der, this.root.der];
  }

  /**
   * A look-alike Fulcio (same names, own keys) that no trusted root lists. It still gets its
   * SCTs from the trusted CT log (a CT log accepts any chain it is configured for), so that
   * the CA is the only defect of its certificates.
   */
  untrustedCa(): TestFulcio {
    this.untrusted ??= new TestFulcio(this.options);
    return this.untrusted;
  }

  /** A CT log absent from the trusted root. */
  unknownCtLog(): TestCtLog {
    this.rogueCtLog ??= new TestCtLog('https://ctfe.untrusted.test');
    return this.rogueCtLog;
  }

  /** An intermediate with the trusted intermediate's name, signed by the trusted root, not in the trusted root. */
  wrongIntermediate(): CertifiedKey {
    this.impostor ??= issueCa({
      commonName: 'sigstore-intermediate',
      organization: this.options.organization ?? 'sigstore.test',
      pathLength: 0,
      validFrom: this.options.validFrom,
      validUntil: this.options.validUntil,
      issuer: this.root,
      codeSigningEku: true,
    });
    return this.impostor;
  }

  /** Generates an ephemeral P-256 key (as cosign does) and certifies it. */
  issueEphemeral(opts: Omit<LeafOptions, 'publicKey'>): IssuedCertificate & { privateKey: KeyObject; publicKey: KeyObject } {
    const keys = generateKeyPair('ecdsa-p256');
    return { ...this.issue({ ...opts, publicKey: keys.publicKey }), ...keys };
  }

  /** Issues a leaf certificate for `publicKey`, with an embedded SCT unless told otherwise. */
  issue(opts: LeafOptions): IssuedCertificate {
    const issuingCa = opts.issuingCa ?? 'fulcio';
    if (issuingCa === 'untrusted-ca') return this.untrustedCa().issue({ ...opts, issuingCa: 'fulcio' });

    const ca = issuingCa === 'wrong-intermediate' ? this.wrongIntermediate() : this.intermediate;
    const chain = [ca.der, this.root.der];
    const { notBefore, notAfter } = leafValidity(opts.signedAt, opts.validity ?? 'valid');
    // Extension order as Fulcio writes it; the SCT comes last.
    const extensions: Extension[] = [
      keyUsage(KEY_USAGE.digitalSignature),
      extKeyUsage([OID.ekuCodeSigning]),
      subjectKeyIdentifier(opts.publicKey),
      authorityKeyIdentifier(ca.publicKey),
      subjectAltName(opts.identity),
      ...issuerExtensions(opts.issuer, opts.issuerExtensions ?? 'both'),
      ...(opts.extensions ?? []),
    ].filter((ext) => !(opts.removeExtensions ?? []).includes(ext.oid));
    const fields = {
      serialNumber: randomSerialNumber(),
      issuer: ca.subject,
      subject: der.sequence(), // Fulcio leaves the subject empty; the identity is in the SAN
      notBefore,
      notAfter,
      publicKey: opts.publicKey,
      extensions,
    };

    const sctOption = opts.sct ?? 'valid';
    if (sctOption !== 'none') {
      // RFC 6962 3.2: the log signs the TBS without the SCT extension, with the issuer key hash.
      const precertTbs = encodeTbs(fields, ca.privateKey);
      const log = sctOption === 'unknown-log' ? this.unknownCtLog() : this.ctLog;
      const sct = log.issueSct({
        tbsWithoutSct: sctOption === 'invalid-signature' ? Buffer.concat([precertTbs, Buffer.from([0])]) : precertTbs,
        issuerSpki: spkiDer(ca.publicKey),
        timestamp: new Date(notBefore.getTime() + 250), // the log sees the precert as it is issued
      });
      fields.extensions = [...extensions, { oid: OID.sctList, value: der.octetString(sctList([sct])) }];
    }

    const certDer = signTbs(encodeTbs(fields, ca.privateKey), ca.privateKey);
    return {
      der: certDer,
      pem: toPem('CERTIFICATE', certDer),
      chain,
      chainPem: chain.map((c) => toPem('CERTIFICATE', c)).join(''),
      notBefore,
      notAfter,
    };
  }
}
