/**
 * Which scheme a registry is spoken to with, and where plain http may go.
 *
 * https always; plain http only to loopback hosts (as docker and go-containerregistry do) or
 * to hosts the caller listed in `allowHttp`. Registries that may use http are tried over
 * https first and fall back to http only when the server evidently does not speak TLS.
 */
import { ImgverifyError } from '../../errors';
import { isLoopbackRegistry } from '../../reference';
import { normaliseRegistryKey } from '../auth/docker-config';
import { displayUrl, type RequestContext, contextDetails, describeRequest } from '../context';

export type Scheme = 'https' | 'http';

/** `true`: any host; a set: those normalised `host[:port]` names. */
export type HttpAllowance = true | ReadonlySet<string>;

export function httpAllowance(option: boolean | readonly string[] | undefined): HttpAllowance {
  if (option === true) return true;
  if (option === undefined || option === false) return new Set();
  return new Set(option.map(normaliseRegistryKey));
}

/**
 * May plain http be used with `host` (`host[:port]`, as in a URL or a registry name)? With
 * `namedBy`, the host was not named by the user but by that registry (a redirect target): the
 * loopback exception then holds only when the registry the user named is on
 * loopback itself (a local setup), so a remote registry can never send us to plain http on the
 * machine's own services; hosts listed in allowHttp (or all, with `true`) stay allowed.
 */
export function httpAllowed(host: string, allowance: HttpAllowance, namedBy?: string): boolean {
  if (isLoopbackRegistry(host) && (namedBy === undefined || isLoopbackRegistry(namedBy))) return true;
  if (allowance === true) return true;
  return allowance.has(normaliseRegistryKey(host));
}

/** Schemes to try for a registry, in order. */
export function schemeCandidates(registry: string, allowance: HttpAllowance): Scheme[] {
  return httpAllowed(registry, allowance) ? ['https', 'http'] : ['https'];
}

/**
 * Throws unless `url` may be requested: http(s) only, no user info, plain http only where
 * allowed. `namedBy`: the registry that named the URL, when the user did not (httpAllowed).
 */
export function assertUrlAllowed(url: URL, allowance: HttpAllowance, ctx: RequestContext, why: string, namedBy?: string): void {
  if (url.protocol !== 'https:' && url.protocol !== 'http:') {
    throw new ImgverifyError('REGISTRY_ERROR', `${describeRequest(ctx)}: ${why} uses unsupported scheme "${url.protocol}"`, {
      details: contextDetails(ctx),
    });
  }
  if (url.username !== '' || url.password !== '') {
    throw new ImgverifyError('REGISTRY_ERROR', `${describeRequest(ctx)}: ${why} carries user info in the URL; refused`, {
      details: contextDetails(ctx, url),
    });
  }
  if (url.protocol === 'http:' && !httpAllowed(url.host, allowance, namedBy)) {
    const rule =
      namedBy !== undefined && isLoopbackRegistry(url.host)
        ? `a ${why} named by ${namedBy}, which is not itself on loopback, may not use plain http on loopback unless listed in allowHttp`
        : 'only loopback hosts and hosts listed in allowHttp may be reached without TLS';
    throw new ImgverifyError('INSECURE_REGISTRY_REFUSED', `${describeRequest(ctx)}: refusing plain http to ${displayUrl(url)} (${why}); ${rule}`, {
      details: contextDetails(ctx, url),
    });
  }
}

export function sameOrigin(a: URL, b: URL): boolean {
  return a.origin === b.origin;
}
