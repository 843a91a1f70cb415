// The private test Sigstore: Fulcio (root + intermediate), a CT log, Rekor, a timestamp
// authority and the trusted_root.json that trusts them, all minted at runtime.
import { type AttestImageOptions, type AttestationLayer, attestImage } from './attest';
import { type SignImageOptions, type SignedLayer, signImage } from './cosign';
import { type KeySignedLayer, type SignImageWithKeyOptions, signImageWithKey } from './cosign-key';
import { TestCtLog } from './ctlog';
import { TestFulcio } from './fulcio';
import { type RekorOptions, TestRekor } from './rekor';
import { TRUSTED_ROOT_MEDIA_TYPE, type TrustedRootJson, type ValidityWindow, certificateAuthorityJson, transparencyLogJson } from './trusted-root';
import { TestTimestampAuthority } from './tsa';

const DAY_MS = 24 * 60 * 60 * 1000;

export interface TestSigstoreOptions {
  /** The instance's notion of "now"; every timestamp it makes by default lies before it. */
  now?: Date;
  /** Start of every CA's and key's validity; default one year before `now`. */
  validFrom?: Date;
  /** End of CA certificate validity; default ten years after `now`. */
  validUntil?: Date;
  /** Organization in CA names; default "sigstore.test". */
  organization?: string;
  rekor?: RekorOptions;
}

/** Changes to the trusted root for negative tests: validity windows, or whole sections left out. */
export interface TrustedRootOverrides {
  tlogValidFor?: ValidityWindow;
  ctlogValidFor?: ValidityWindow;
  caValidFor?: ValidityWindow;
  tsaValidFor?: ValidityWindow;
  omit?: Array<'tlogs' | 'ctlogs' | 'certificateAuthorities' | 'timestampAuthorities'>;
}

export class TestSigstore {
  readonly now: Date;
  readonly validFrom: Date;
  readonly validUntil: Date;
  readonly organization: string;
  readonly ctLog: TestCtLog;
  readonly fulcio: TestFulcio;
  readonly rekor: TestRekor;
  readonly tsa: TestTimestampAuthority;
  /** trusted_root.json trusting this instance (and nothing else). */
  readonly trustedRoot: TrustedRootJson;
  private readonly options: TestSigstoreOptions;
  private signatures = 0;
  private independent?: TestSigstore;

  constructor(options: TestSigstoreOptions = {}) {
    this.options = options;
    this.now = options.now ?? new Date();
    this.validFrom = options.validFrom ?? new Date(Math.floor((this.now.getTime() - 365 * DAY_MS) / 1000) * 1000);
    this.validUntil = options.validUntil ?? new Date(Math.floor((this.now.getTime() + 3650 * DAY_MS) / 1000) * 1000);
    this.organization = options.organization ?? 'sigstore.test';
    this.ctLog = new TestCtLog();
    this.fulcio = new TestFulcio({
      validFrom: this.validFrom,
      validUntil: this.validUntil,
      organization: this.organization,
      ctLog: this.ctLog,
    });
    this.rekor = new TestRekor(options.rekor);
    this.tsa = new TestTimestampAuthority({ validFrom: this.validFrom, validUntil: this.validUntil, organization: this.organization });
    this.trustedRoot = this.trustedRootWith({});
  }

  /** This instance's trusted root with some parts changed (validity windows) or left out. */
  trustedRootWith(overrides: TrustedRootOverrides): TrustedRootJson {
    const since = { start: this.validFrom };
    const omit = new Set(overrides.omit ?? []);
    return {
      mediaType: TRUSTED_ROOT_MEDIA_TYPE,
      tlogs: omit.has('tlogs') ? [] : [transparencyLogJson(this.rekor.baseUrl, this.rekor.publicKey, overrides.tlogValidFor ?? since)],
      certificateAuthorities: omit.has('certificateAuthorities')
        ? []
        : [
            certificateAuthorityJson({
              organization: this.organization,
              commonName: 'sigstore',
              uri: 'https://fulcio.sigstore.test',
              chain: this.fulcio.chain,
              validFor: overrides.caValidFor ?? since,
            }),
          ],
      ctlogs: omit.has('ctlogs') ? [] : [transparencyLogJson(this.ctLog.baseUrl, this.ctLog.publicKey, overrides.ctlogValidFor ?? since)],
      timestampAuthorities: omit.has('timestampAuthorities')
        ? []
        : [
            certificateAuthorityJson({
              organization: this.organization,
              commonName: 'sigstore-tsa-selfsigned',
              uri: 'https://timestamp.sigstore.test/api/v1/timestamp',
              chain: this.tsa.chain,
              validFor: overrides.tsaValidFor ?? since,
            }),
          ],
    };
  }

  /** The trusted root of another, independent test Sigstore (same names, other keys). */
  untrustedRoot(): TrustedRootJson {
    return this.independentInstance().trustedRoot;
  }

  /** A second, independent test Sigstore, created once per instance. */
  independentInstance(): TestSigstore {
    this.independent ??= new TestSigstore({ ...this.options, now: this.now });
    return this.independent;
  }

  /**
   * Default signing time: two hours before `now`, one second later for each signature (so
   * log entries get increasing integrated times, as in a real log), never closer than an hour.
   */
  nextSigningTime(): Date {
    const base = Math.floor(this.now.getTime() / 1000) * 1000 - 2 * 60 * 60 * 1000;
    return new Date(base + 1000 * (this.signatures++ % 3600));
  }

  /** What `cosign sign` (keyless) pushes: one `.sig` layer. */
  signImage(options: SignImageOptions): SignedLayer {
    return signImage(this, options);
  }

  /** What `cosign sign --key` pushes: one `.sig` layer. */
  signImageWithKey(options: SignImageWithKeyOptions): KeySignedLayer {
    return signImageWithKey(this, options);
  }

  /** What `cosign attest` (keyless) pushes: one `.att` layer holding a DSSE envelope. */
  attestImage(options: AttestImageOptions): AttestationLayer {
    return attestImage(this, options);
  }
}

/** A new, independent test Sigstore. Creating one costs a few milliseconds (key generation). */
export function createTestSigstore(options: TestSigstoreOptions = {}): TestSigstore {
  return new TestSigstore(options);
}
