/**
 * The Fulcio and Rekor URLs an authority writes without a `trustRootRef` (`keyless.url`,
 * `ctlog.url`): each selects the trust roots that list the service — a certificate authority's
 * `uri`, a transparency log's `baseUrl` — among the webhook's own: its default trust
 * (`--trusted-root` files, the TUF root) and the TrustRoot documents in force. The authority
 * then verifies under those roots only, as policy-controller verifies it under the root it is
 * configured with. A URL that no root lists is refused when the policy set is put in force,
 * naming the field (`unknownServiceUrls`).
 *
 * URLs are compared by host, port and path (case of the host, a trailing slash and the scheme
 * aside: `http://rekor.rekor-system.svc` in a policy and `https://…` in a root name the same
 * service). The URL only chooses among roots the webhook already trusts; every key still comes
 * from a root.
 */
import { isTrustRootProvider, type ImgverifyError, type LoadedTrustRoot, type TrustEntry } from '../index';
import type { Authority, ClusterImagePolicy } from './cluster-image-policy-types';
import { policyError } from './crd-document';

/** A trust root an authority's URL may select, with the name messages give it. */
export interface CandidateRoot {
  readonly entry: TrustEntry;
  readonly source: string;
}

export type Service = 'fulcio' | 'rekor';

const WHAT: Readonly<Record<Service, { readonly name: string; readonly as: string; readonly field: string }>> = {
  fulcio: { name: 'Fulcio', as: 'certificate authority (uri)', field: 'keyless.url' },
  rekor: { name: 'Rekor', as: 'transparency log (baseUrl)', field: 'ctlog.url' },
};

/** host[:port]/path, lower-case host, default ports and trailing slashes dropped; undefined when not a URL. */
function serviceKey(url: string): string | undefined {
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    return undefined;
  }
  const defaultPort = parsed.port === '' || (parsed.protocol === 'https:' && parsed.port === '443') || (parsed.protocol === 'http:' && parsed.port === '80');
  return `${parsed.hostname.toLowerCase()}${defaultPort ? '' : `:${parsed.port}`}${parsed.pathname.replace(/\/+$/, '')}`;
}

/** Whether two URLs name the same service (see the module comment). */
export function sameService(a: string, b: string): boolean {
  const ka = serviceKey(a);
  return ka !== undefined && ka === serviceKey(b);
}

function rootNow(entry: TrustEntry): LoadedTrustRoot | undefined {
  try {
    return isTrustRootProvider(entry) ? entry.current() : entry;
  } catch {
    // A provider that cannot answer now (a TrustRoot whose TUF mirror has not answered yet)
    // lists nothing: an authority is never verified under a root nobody could read.
    return undefined;
  }
}

/** The URLs a root lists for a service. */
function listedUrls(root: LoadedTrustRoot, service: Service): string[] {
  return service === 'fulcio' ? root.trustedRoot.certificateAuthorities.map((ca) => ca.uri) : root.trustedRoot.tlogs.map((log) => log.baseUrl);
}

/** The candidate roots that list `url` for `service`, in order. */
export function rootsListing(url: string, service: Service, candidates: readonly CandidateRoot[]): TrustEntry[] {
  return candidates
    .filter((c) => {
      const root = rootNow(c.entry);
      return root !== undefined && listedUrls(root, service).some((u) => sameService(u, url));
    })
    .map((c) => c.entry);
}

/**
 * The URLs by which an authority selects trust roots: `keyless.url` unless `keyless.trustRootRef`
 * names the CA's root, `ctlog.url` unless `ctlog.trustRootRef` names the log's (with a reference
 * the URL is informational, as in policy-controller).
 */
export function selectingUrls(authority: Authority): { readonly fulcio?: string; readonly rekor?: string } {
  const refs = authority.trustRootRefs ?? {};
  const fulcio = refs.keyless === undefined ? authority.keyless?.url : undefined;
  const rekor = refs.ctlog === undefined ? authority.ctlog?.url : undefined;
  return { ...(fulcio !== undefined ? { fulcio } : {}), ...(rekor !== undefined ? { rekor } : {}) };
}

/** The webhook's roots an authority's URLs choose from: the default trust, then the TrustRoots in force. */
export function candidateRoots(
  defaults: readonly TrustEntry[],
  trustRoots: readonly { readonly name: string; readonly entry: TrustEntry }[] = [],
): CandidateRoot[] {
  return [
    ...defaults.map((entry, i) => ({ entry, source: rootNow(entry)?.source ?? (isTrustRootProvider(entry) ? entry.source : `default trust #${i + 1}`) })),
    ...trustRoots.map((r) => ({ entry: r.entry, source: `TrustRoot ${r.name}` })),
  ];
}

const MAX_LISTED = 8;

/** What the candidates list for a service, for a message. */
function knownList(service: Service, candidates: readonly CandidateRoot[]): string {
  const known: string[] = [];
  for (const c of candidates) {
    const root = rootNow(c.entry);
    for (const url of root ? listedUrls(root, service) : []) known.push(`${JSON.stringify(url)} (${c.source})`);
  }
  if (known.length === 0) return 'none lists any';
  return `they list ${known.slice(0, MAX_LISTED).join(', ')}${known.length > MAX_LISTED ? ` and ${known.length - MAX_LISTED} more` : ''}`;
}

/**
 * Errors for authorities whose URL no candidate root lists, each naming the policy's file,
 * document and field (`spec.authorities[i].keyless.url` / `.ctlog.url`). One call per policy set
 * (folder mode) or per policy (one object at a time).
 */
export function unknownServiceUrls(policies: readonly ClusterImagePolicy[], candidates: readonly CandidateRoot[]): ImgverifyError[] {
  const errors: ImgverifyError[] = [];
  for (const policy of policies) {
    policy.authorities.forEach((authority, i) => {
      for (const [service, url] of Object.entries(selectingUrls(authority)) as Array<[Service, string]>) {
        if (rootsListing(url, service, candidates).length > 0) continue;
        const what = WHAT[service];
        errors.push(
          policyError(
            policy.source,
            `spec.authorities[${i}].${what.field}`,
            `no trust root of the webhook lists the ${what.name} URL ${JSON.stringify(url)} as a ${what.as}; ${knownList(service, candidates)}: give the webhook a trust root for it (--trusted-root, a TrustRoot) or name one with a trustRootRef`,
          ),
        );
      }
    });
  }
  return errors;
}
