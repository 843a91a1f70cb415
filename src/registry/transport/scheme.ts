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

/** May plain http be used with `host` (`host[:port]`, as in a URL or a registry name)? */
export function httpAllowed(host: string, allowance: HttpAllowance): boolean {
  if (isLoopbackRegistry(host)) return true;
  if (allowance === true) return true;
  return allowance.has(normaliseRegistryKey(host));
}

/** Schemes to try for a registry, in order. */
export function schemeCandidates(registry: string, allowance: HttpAllowance): Scheme[] {
  return httpAllowed(registry, allowance) ? ['https', 'http'] : ['https'];
}

/** Throws unless `url` may be requested: http(s) only, no user info, plain http only where allowed. */
export function assertUrlAllowed(url: URL, allowance: HttpAllowance, ctx: RequestContext, why: string): void {
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
  if (url.protocol === 'http:' && !httpAllowed(url.host, allowance)) {
    throw new ImgverifyError(
      'INSECURE_REGISTRY_REFUSED',
      `${describeRequest(ctx)}: refusing plain http to ${displayUrl(url)} (${why}); ` +
        `only loopback hosts and hosts listed in allowHttp may be reached without TLS`,
      { details: contextDetails(ctx, url) },
    );
  }
}

export function sameOrigin(a: URL, b: URL): boolean {
  return a.origin === b.origin;
}
