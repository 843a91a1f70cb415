/**
 * An authority of a ClusterImagePolicy made ready to evaluate, once per policy set: the library
 * policy it stands for (`authorityPolicy`), the trust it verifies against (`authorityTrust`), and
 * both compiled by the backend (`prepareAuthority`), or the reason it can never pass.
 *
 * Which parts of a TrustRoot an authority uses: a reference's own part (certificate
 * authorities and CT logs for `keyless`, transparency logs for `ctlog`, timestamp authorities
 * for `rfc3161timestamp`); parts no reference names come from the authority's first named
 * TrustRoot (keyless, then ctlog, then rfc3161timestamp). So `keyless.trustRootRef: github`
 * alone means GitHub's whole root. (policy-controller takes unnamed parts from its default TUF
 * root instead; see docs/webhook.md.)
 */
import { ComposedTrustRoot, ImgverifyError, trustRootFromKeys, type PreparedPolicy, type TrustEntry, type TrustRootInput, type VerificationPolicy } from '../index';
import type { VerificationBackend } from './backend';
import type { Authority, ClusterImagePolicy } from './cluster-image-policy-types';
import type { AuthorityKind } from './outcomes';
import type { TrustRootSet } from './trust-root-set';
import { errorMessage } from '../util/describe';

/** An authority compiled once per policy set: its policy for the backend, or why it can never pass. */
export interface PreparedAuthority {
  readonly authority: Authority;
  readonly kind: AuthorityKind;
  readonly prepared?: PreparedPolicy;
  /** Why this authority can never pass (it does not compile, or asks for what is unsupported). */
  readonly unusable?: string;
}

function kindOf(authority: Authority): AuthorityKind {
  if (authority.static) return 'static';
  if (authority.key) return 'key';
  return 'keyless';
}

/** The library policy an authority stands for (static authorities have none). */
export function authorityPolicy(authority: Authority): VerificationPolicy | undefined {
  if (authority.keyless) {
    return {
      identities: authority.keyless.identities.map((id) => ({
        ...(id.subject !== undefined ? { subject: id.subject } : {}),
        ...(id.subjectRegExp !== undefined ? { subjectRegExp: id.subjectRegExp } : {}),
        ...(id.issuer !== undefined ? { issuer: id.issuer } : {}),
        ...(id.issuerRegExp !== undefined ? { issuerRegExp: id.issuerRegExp } : {}),
        ...(id.claims !== undefined ? { claims: { ...id.claims } } : {}),
        ...(id.claimsRegExp !== undefined ? { claimsRegExp: { ...id.claimsRegExp } } : {}),
      })),
    };
  }
  if (authority.key) return { publicKey: authority.key.data };
  return undefined;
}

/** Compiles an authority for `backend`, under the trust its TrustRoots and `ca-cert` give it; never throws. */
export function prepareAuthority(backend: VerificationBackend, policy: ClusterImagePolicy, authority: Authority, trustRoots: TrustRootSet | undefined): PreparedAuthority {
  const kind = kindOf(authority);
  if (kind === 'static') return { authority, kind };
  let trust: readonly TrustRootInput[] | undefined;
  try {
    const defaults = (backend.defaultTrust?.() ?? []) as Parameters<typeof authorityTrust>[3];
    trust = trustRoots || authority.trustRootRefs || authority.keyless?.caCert !== undefined ? authorityTrustOrThrow(policy, authority, trustRoots, defaults) : undefined;
  } catch (err) {
    return { authority, kind, unusable: `the authority's trust cannot be used: ${errorMessage(err)}` };
  }
  if (authority.key && authority.key.hashAlgorithm !== 'sha256') {
    // The verifier checks key signatures over SHA-256 (cosign's default); accepting another
    // algorithm silently would verify something else than the policy says.
    return { authority, kind, unusable: `key.hashAlgorithm ${authority.key.hashAlgorithm} is not supported (only sha256)` };
  }
  try {
    return { authority, kind, prepared: backend.prepare(authorityPolicy(authority)!, ...(trust ? [trust] : [])) };
  } catch (err) {
    return { authority, kind, unusable: `the authority cannot be used: ${errorMessage(err)}` };
  }
}

function authorityTrustOrThrow(
  policy: ClusterImagePolicy,
  authority: Authority,
  trustRoots: TrustRootSet | undefined,
  defaults: Parameters<typeof authorityTrust>[3],
): readonly TrustRootInput[] | undefined {
  if (!trustRoots && authority.trustRootRefs) throw new ImgverifyError('INVALID_POLICY', 'it names TrustRoots, and none are loaded');
  if (authority.keyless?.caCert !== undefined && !authority.trustRootRefs && defaults.length === 0) {
    throw new ImgverifyError('INVALID_POLICY', 'ca-cert needs the default trust (transparency and CT logs) of a verifier backend');
  }
  return authorityTrust(policy, authority, trustRoots ?? EMPTY_TRUST_ROOTS, defaults);
}

const EMPTY_TRUST_ROOTS: Pick<TrustRootSet, 'get'> = { get: () => undefined };

// --- Which trust an authority uses -------------------------------------------------------------

/**
 * The trust roots an authority verifies against: undefined for the default; else built from the
 * TrustRoots it names and its `ca-cert` (see the module comment). Throws when a name is unknown.
 */
export function authorityTrust(policy: ClusterImagePolicy, authority: Authority, roots: Pick<TrustRootSet, 'get'>, defaults: readonly TrustEntry[]): readonly TrustEntry[] | undefined {
  const refs = authority.trustRootRefs ?? {};
  const caCert = authority.keyless?.caCert;
  if (refs.keyless === undefined && refs.ctlog === undefined && refs.rfc3161timestamp === undefined && caCert === undefined) return undefined;
  const lookup = (name: string | undefined): TrustEntry | undefined => {
    if (name === undefined) return undefined;
    const found = roots.get(name);
    if (!found) throw new ImgverifyError('INVALID_POLICY', `no TrustRoot named ${JSON.stringify(name)} is loaded`);
    return found.entry;
  };
  const named = { keyless: lookup(refs.keyless), ctlog: lookup(refs.ctlog), tsa: lookup(refs.rfc3161timestamp) };
  const primary = named.keyless ?? named.ctlog ?? named.tsa;
  const label = `policy ${policy.name} authority ${authority.name}`;
  const ca = caCert !== undefined ? trustRootFromKeys({ certificateAuthorities: [{ uri: authority.keyless?.url ?? '', certChainPem: caCert }] }, `${label} ca-cert`) : undefined;
  const bases = primary ? [primary] : defaults;
  // One name for every part and no ca-cert: that TrustRoot as it is.
  if (!ca && [named.keyless, named.ctlog, named.tsa].every((e) => e === undefined || e === primary)) return [primary!];
  return bases.map(
    (base, i) =>
      new ComposedTrustRoot(`${label}${bases.length > 1 ? ` #${i + 1}` : ''}`, {
        certificateAuthorities: ca ?? named.keyless ?? base,
        ctlogs: named.keyless ?? base,
        transparencyLogs: named.ctlog ?? base,
        timestampAuthorities: named.tsa ?? base,
      }),
  );
}
