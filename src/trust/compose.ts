/**
 * A trust root put together from parts of others, as a policy-controller authority does when its
 * references name different TrustRoots: certificate authorities and CT logs from one (the keyless
 * `trustRootRef`, or a `ca-cert`), transparency logs from another (`ctlog.trustRootRef`),
 * timestamp authorities from a third (`rfc3161timestamp.trustRootRef`). Built from providers, it
 * follows their refreshes.
 */
import { TrustedRoot } from '@sigstore/protobuf-specs';
import { isTrustRootProvider, type TrustEntry, type TrustRootProvider } from './source';
import { trustRootFromJSON, type LoadedTrustRoot } from './trusted-root';

export interface TrustParts<T = TrustEntry> {
  readonly certificateAuthorities: T;
  readonly ctlogs: T;
  readonly transparencyLogs: T;
  readonly timestampAuthorities: T;
}

function now(entry: TrustEntry): LoadedTrustRoot {
  return isTrustRootProvider(entry) ? entry.current() : entry;
}

/** The parts as one trust root. */
export function composeTrustRoot(parts: TrustParts<LoadedTrustRoot>, source: string): LoadedTrustRoot {
  const composed: TrustedRoot = {
    ...parts.certificateAuthorities.trustedRoot,
    certificateAuthorities: parts.certificateAuthorities.trustedRoot.certificateAuthorities,
    ctlogs: parts.ctlogs.trustedRoot.ctlogs,
    tlogs: parts.transparencyLogs.trustedRoot.tlogs,
    timestampAuthorities: parts.timestampAuthorities.trustedRoot.timestampAuthorities,
  };
  return trustRootFromJSON(TrustedRoot.toJSON(composed), source);
}

/** Parts that may be providers: composed again when one of them changes. */
export class ComposedTrustRoot implements TrustRootProvider {
  private memo: { keys: LoadedTrustRoot[]; root: LoadedTrustRoot } | undefined;

  constructor(
    readonly source: string,
    private readonly parts: TrustParts,
  ) {}

  current(): LoadedTrustRoot {
    const p = this.parts;
    const keys = [now(p.certificateAuthorities), now(p.ctlogs), now(p.transparencyLogs), now(p.timestampAuthorities)];
    if (this.memo && this.memo.keys.every((k, i) => k === keys[i])) return this.memo.root;
    const root = composeTrustRoot(
      { certificateAuthorities: keys[0]!, ctlogs: keys[1]!, transparencyLogs: keys[2]!, timestampAuthorities: keys[3]! },
      this.source,
    );
    this.memo = { keys, root };
    return root;
  }
}
