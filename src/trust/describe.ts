/**
 * What a trust root holds, for people (`imgverify trust show`): each certificate authority,
 * transparency log, CT log and timestamp authority with its validity window, and warnings
 * about what will stop verifications (nothing currently valid, no way to timestamp).
 */
import { X509Certificate } from '@sigstore/core';
import type { LoadedTrustRoot } from './trusted-root';

export interface ValidityWindow {
  readonly start?: string;
  /** Absent: no end. */
  readonly end?: string;
  /** Whether `now` is inside the window. */
  readonly current: boolean;
}

export interface AuthoritySummary {
  readonly uri: string;
  /** The subject of the CA or TSA (organization / common name), as the trust root names it. */
  readonly subject?: string;
  readonly validFor: ValidityWindow;
  /** Subjects of the chain's certificates, leaf first. */
  readonly chain: readonly string[];
}

export interface LogSummary {
  readonly baseUrl: string;
  /** The log ID (key ID), hex. */
  readonly logId: string;
  readonly keyDetails: string;
  readonly validFor: ValidityWindow;
}

export interface TrustRootSummary {
  readonly source: string;
  readonly certificateAuthorities: readonly AuthoritySummary[];
  readonly transparencyLogs: readonly LogSummary[];
  readonly ctLogs: readonly LogSummary[];
  readonly timestampAuthorities: readonly AuthoritySummary[];
  /** What will make verifications fail or behave differently (nothing valid now, no log, ...). */
  readonly warnings: readonly string[];
}

interface TimeRange {
  readonly start?: Date | undefined;
  readonly end?: Date | undefined;
}

function window(range: TimeRange | undefined, now: number): ValidityWindow {
  const start = range?.start;
  const end = range?.end;
  const current = (!start || start.getTime() <= now) && (!end || now <= end.getTime());
  return { ...(start ? { start: start.toISOString() } : {}), ...(end ? { end: end.toISOString() } : {}), current };
}

function subjectOf(der: Uint8Array): string {
  try {
    return X509Certificate.parse(Buffer.from(der)).subject.toString();
  } catch {
    return '(unparseable certificate)';
  }
}

/** A summary of a loaded trust root at `now` (default: the current time). */
export function describeTrustRoot(root: LoadedTrustRoot, now: number = Date.now()): TrustRootSummary {
  const tr = root.trustedRoot;
  const authority = (ca: (typeof tr.certificateAuthorities)[number]): AuthoritySummary => ({
    uri: ca.uri,
    ...(ca.subject ? { subject: [ca.subject.organization, ca.subject.commonName].filter(Boolean).join(' / ') } : {}),
    validFor: window(ca.validFor, now),
    chain: (ca.certChain?.certificates ?? []).map((c) => subjectOf(c.rawBytes)),
  });
  const log = (l: (typeof tr.tlogs)[number]): LogSummary => ({
    baseUrl: l.baseUrl,
    logId: Buffer.from(l.logId?.keyId ?? new Uint8Array()).toString('hex'),
    keyDetails: String(l.publicKey?.keyDetails ?? 'unknown'),
    validFor: window(l.publicKey?.validFor, now),
  });
  const summary = {
    source: root.source,
    certificateAuthorities: tr.certificateAuthorities.map(authority),
    transparencyLogs: tr.tlogs.map(log),
    ctLogs: tr.ctlogs.map(log),
    timestampAuthorities: tr.timestampAuthorities.map(authority),
  };
  const warnings: string[] = [];
  const noneCurrent = (what: string, list: ReadonlyArray<{ validFor: ValidityWindow }>): void => {
    if (list.length > 0 && !list.some((x) => x.validFor.current)) warnings.push(`no ${what} is valid now: new signatures cannot verify against this root`);
  };
  noneCurrent('certificate authority', summary.certificateAuthorities);
  noneCurrent('transparency log key', summary.transparencyLogs);
  noneCurrent('CT log key', summary.ctLogs);
  noneCurrent('timestamp authority', summary.timestampAuthorities);
  if (summary.transparencyLogs.length === 0) {
    warnings.push(
      summary.timestampAuthorities.length > 0
        ? 'no transparency log: signatures need an RFC 3161 timestamp from one of its timestamp authorities instead of a log entry'
        : 'no transparency log and no timestamp authority: no signature can get a trusted time from this root',
    );
  }
  if (summary.ctLogs.length === 0 && summary.certificateAuthorities.length > 0) warnings.push('no CT log: certificates are accepted without an SCT');
  return { ...summary, warnings };
}
