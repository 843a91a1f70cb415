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
 * root instead; see docs/webhook.md.) A `keyless.url` or `ctlog.url` without a reference for its
 * part stands for one: it names the roots that list that service (./service-urls).
 *
 * Where signatures are looked up: beside the image, or in each `source[].oci` repository in
 * turn (one compiled policy per source).
 */
import {
  ComposedTrustRoot,
  ImgverifyError,
  trustRootFromKeys,
  type PreparedPolicy,
  type TrustEntry,
  type TrustParts,
  type TrustRootInput,
  type VerificationPolicy,
} from '../index';
import type { VerificationBackend } from './backend';
import type { Authority, AuthoritySource, ClusterImagePolicy } from './cluster-image-policy-types';
import type { AuthorityKind } from './outcomes';
import { candidateRoots, rootsListing, selectingUrls, type Service } from './service-urls';
import type { TrustRootSet } from './trust-root-set';
import { errorMessage } from '../util/describe';

/** An authority's policy, compiled for one place its signatures are stored. */
export interface SourcePolicy {
  readonly prepared: PreparedPolicy;
  /** The `source[]` entry (absent: signatures beside the image, under cosign's tags). */
  readonly source?: AuthoritySource;
}

/** An authority compiled once per policy set: its policy for the backend, or why it can never pass. */
export interface PreparedAuthority {
  readonly authority: Authority;
  readonly kind: AuthorityKind;
  /** One per `source` (tried in order), or one for signatures beside the image. */
  readonly prepared?: readonly SourcePolicy[];
  /** Why this authority can never pass (it does not compile, or asks for what is unsupported). */
  readonly unusable?: string;
}

function kindOf(authority: Authority): AuthorityKind {
  if (authority.static) return 'static';
  if (authority.key) return 'key';
  return 'keyless';
}

/** The library policy an authority stands for (static authorities have none). */
function authorityPolicy(authority: Authority): VerificationPolicy | undefined {
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
      ...(authority.keyless.insecureIgnoreSCT ? { insecureIgnoreSct: true } : {}),
    };
  }
  if (authority.key) {
    return {
      publicKey: authority.key.data,
      // SHA-256, the default, is left to the signature (its log entry may name SHA-384 or
      // SHA-512 for a P-384 or P-521 key); another hash is required exactly.
      ...(authority.key.hashAlgorithm !== 'sha256' ? { hashAlgorithm: authority.key.hashAlgorithm } : {}),
      // A key authority without ctlog: the key alone (policy-controller skips the log check).
      ...(!authority.requiresTlog ? { insecureIgnoreTlog: true } : {}),
    };
  }
  return undefined;
}

/** Compiles an authority for `backend`, under the trust its TrustRoots, URLs and `ca-cert` give it; never throws. */
export function prepareAuthority(
  backend: VerificationBackend,
  policy: ClusterImagePolicy,
  authority: Authority,
  trustRoots: TrustRootSet | undefined,
): PreparedAuthority {
  const kind = kindOf(authority);
  if (kind === 'static') return { authority, kind };
  let trust: readonly TrustRootInput[] | undefined;
  try {
    const defaults = (backend.defaultTrust?.() ?? []) as Parameters<typeof authorityTrust>[3];
    const ownTrust = trustRoots || authority.trustRootRefs || authority.keyless?.caCert !== undefined || Object.keys(selectingUrls(authority)).length > 0;
    trust = ownTrust ? authorityTrustOrThrow(policy, authority, trustRoots, defaults) : undefined;
  } catch (err) {
    return { authority, kind, unusable: `the authority's trust cannot be used: ${errorMessage(err)}` };
  }
  try {
    const policy = authorityPolicy(authority)!;
    const prepared = authority.sources?.map((source): SourcePolicy => ({
      prepared: backend.prepare(policy, trust, {
        ...(source.oci !== undefined ? { signatureRepository: source.oci } : {}),
        ...(source.tagPrefix !== undefined ? { attachmentTagPrefix: source.tagPrefix } : {}),
      }),
      source,
    })) ?? [{ prepared: backend.prepare(policy, trust) }];
    return { authority, kind, prepared };
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

const EMPTY_TRUST_ROOTS: Pick<TrustRootSet, 'get' | 'all'> = { get: () => undefined, all: [] };

// --- Which trust an authority uses -------------------------------------------------------------

/**
 * The trust roots an authority verifies against: undefined for the default; else built from the
 * TrustRoots it names, the roots its URLs select (./service-urls) and its `ca-cert` (see the
 * module comment). Throws when a name is unknown or a URL selects no root.
 */
function authorityTrust(
  policy: ClusterImagePolicy,
  authority: Authority,
  roots: Pick<TrustRootSet, 'get' | 'all'>,
  defaults: readonly TrustEntry[],
): readonly TrustEntry[] | undefined {
  const refs = authority.trustRootRefs ?? {};
  const caCert = authority.keyless?.caCert;
  const urls = selectingUrls(authority);
  if (refs.keyless === undefined && refs.ctlog === undefined && refs.rfc3161timestamp === undefined && caCert === undefined && Object.keys(urls).length === 0) {
    return undefined;
  }
  const lookup = (name: string): TrustEntry[] => {
    const found = roots.get(name);
    if (!found) throw new ImgverifyError('INVALID_POLICY', `no TrustRoot named ${JSON.stringify(name)} is loaded`);
    return [found.entry];
  };
  const candidates = candidateRoots(defaults, roots.all);
  const selected = (url: string, service: Service): TrustEntry[] => {
    const found = rootsListing(url, service, candidates);
    if (found.length === 0)
      throw new ImgverifyError('INVALID_POLICY', `no trust root lists the ${service === 'fulcio' ? 'Fulcio' : 'Rekor'} URL ${JSON.stringify(url)}`);
    return found;
  };
  // Each part: the roots a reference names, else those a URL selects; undefined: from the base.
  const parts = {
    keyless: refs.keyless !== undefined ? lookup(refs.keyless) : urls.fulcio !== undefined ? selected(urls.fulcio, 'fulcio') : undefined,
    ctlog: refs.ctlog !== undefined ? lookup(refs.ctlog) : urls.rekor !== undefined ? selected(urls.rekor, 'rekor') : undefined,
    tsa: refs.rfc3161timestamp !== undefined ? lookup(refs.rfc3161timestamp) : undefined,
  };
  const label = `policy ${policy.name} authority ${authority.name}`;
  const ca =
    caCert !== undefined
      ? trustRootFromKeys({ certificateAuthorities: [{ uri: authority.keyless?.url ?? '', certChainPem: caCert }] }, `${label} ca-cert`)
      : undefined;
  // Every combination of the parts' roots (one each, mostly); parts nothing names come from the
  // first named part's root, else from each default root.
  const combos: Array<{ parts: TrustParts; as?: TrustEntry }> = [];
  for (const k of parts.keyless ?? [undefined]) {
    for (const t of parts.ctlog ?? [undefined]) {
      for (const s of parts.tsa ?? [undefined]) {
        const primary = k ?? t ?? s;
        for (const base of primary ? [primary] : defaults) {
          const same = !ca && [k, t, s].every((e) => e === undefined || e === base);
          combos.push({
            parts: { certificateAuthorities: ca ?? k ?? base, ctlogs: k ?? base, transparencyLogs: t ?? base, timestampAuthorities: s ?? base },
            // One root for every part and no ca-cert: that root as it is.
            ...(same ? { as: base } : {}),
          });
        }
      }
    }
  }
  const out: TrustEntry[] = [];
  combos.forEach((combo, i) => {
    const entry = combo.as ?? new ComposedTrustRoot(`${label}${combos.length > 1 ? ` #${i + 1}` : ''}`, combo.parts);
    if (!out.includes(entry)) out.push(entry);
  });
  return out;
}
