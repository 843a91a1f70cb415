/**
 * The registry zoo (issue 9.7): quirk layers in front of the real docker-registry, each a
 * small HTTP server (test/support/registry/proxy.ts) named after the behaviour of a real
 * registry it reproduces, citing where that behaviour is documented. Together with the
 * CONNECT proxy (connect-proxy.ts), TLS and mTLS registries (registry.ts) and the credential
 * helper (credential-helper.ts), they let the tests verify images the way users meet them.
 *
 * Layers are proxy hooks: `startProxy(registry, { onRequest: layer })`.
 */
import { jsonReply, textReply, type ProxyHook, type ProxyRequest } from './proxy';

/**
 * GHCR has no OCI referrers API: `GET /v2/<name>/referrers/<digest>` is answered with
 * `303 See Other` to `https://github.com/-/v2/packages/...`, which answers 404 (source:
 * mkoepf/ghcrctl docs/cosign-signature-storage.md, "GHCR Limitation"). Clients must read
 * that as "no referrers API" and use the referrers tag schema, which is where cosign writes
 * its fallback indexes on GHCR (the shapes of sigstore/cosign#4641).
 *
 * `elsewhere` is the origin of the page the 303 points to (a server answering 404).
 */
export function ghcrNoReferrersApi(elsewhere: string): ProxyHook {
  return (req) => {
    const m = /^\/v2\/(.+)\/referrers\/(sha256:[0-9a-f]{64})$/.exec(req.path);
    if (!m) return undefined;
    return { status: 303, headers: { location: `${elsewhere}/-/v2/packages/container/${encodeURIComponent(m[1]!)}/referrers` }, body: Buffer.alloc(0) };
  };
}

/** The github.com side of the 303 above: everything is 404 there. */
export const githubPackagesPage: ProxyHook = () => textReply(404, 'Not Found');

export interface DockerHubLikeOptions {
  /** The token realm on another host (Docker Hub: `https://auth.docker.io/token`). */
  readonly realm: string;
  /** The realm the real registry advertises, replaced by `realm`. */
  readonly upstreamRealm: string;
  /** Answer this many manifest GETs with 429 TOOMANYREQUESTS first. */
  readonly rateLimited?: number;
  /** Retry-After on those 429s (seconds). */
  readonly retryAfter?: string;
}

/**
 * Docker Hub: the registry (`registry-1.docker.io`) sends clients for a token to a realm on
 * another host (`Bearer realm="https://auth.docker.io/token",service="registry.docker.io"`,
 * Docker docs "Registry authentication"), and answers pulls over the rate limit with
 * `429 Too Many Requests`, error code `TOOMANYREQUESTS` (Docker docs "Docker Hub usage and
 * rate limits"). Here the challenge names the real registry's token server under another
 * host name (`localhost` for `127.0.0.1`: another origin), and the first `rateLimited`
 * manifest GETs get a 429 with Retry-After.
 */
export function dockerHubLike(options: DockerHubLikeOptions): ProxyHook & { readonly limited: () => number } {
  let limited = 0;
  const hook: ProxyHook = async (req, ctx) => {
    if (req.path.includes('/manifests/') && limited < (options.rateLimited ?? 0)) {
      limited++;
      return jsonReply(
        429,
        { errors: [{ code: 'TOOMANYREQUESTS', message: 'You have reached your pull rate limit. You may increase the limit by authenticating and upgrading' }] },
        { 'retry-after': options.retryAfter ?? '1', 'ratelimit-remaining': '0;w=21600' },
      );
    }
    const res = await ctx.forward();
    const challenge = res.headers['www-authenticate'];
    if (typeof challenge !== 'string') return res;
    return { ...res, headers: { ...res.headers, 'www-authenticate': challenge.replace(options.upstreamRealm, options.realm) } };
  };
  return Object.assign(hook, { limited: () => limited });
}

export interface ArcheioOptions {
  /** The regional backend's origin (Artifact Registry: `https://us-west1-docker.pkg.dev`). */
  readonly backend: string;
  /** The path prefix of the project's repository there (`/v2/k8s-artifacts-prod/images`). */
  readonly prefix: string;
  /** Require `Authorization: Basic` with these credentials before redirecting (to show where credentials go). */
  readonly basic?: { readonly username: string; readonly password: string };
}

/**
 * registry.k8s.io (archeio): every registry API request for content is redirected (307) to a
 * regional backend on another host, under a project path prefix
 * (`https://us-west1-docker.pkg.dev/v2/k8s-artifacts-prod/images/<repo>/...`), and blobs may be
 * redirected again to object storage (source: kubernetes/registry.k8s.io, docs and
 * cmd/archeio). Credentials for registry.k8s.io must not follow the redirects.
 *
 * `basic` makes this front demand basic auth first (archeio itself does not), so a test can
 * see that the credentials it answers with stay on this host.
 */
export function archeio(options: ArcheioOptions): ProxyHook {
  const expected = options.basic ? `Basic ${Buffer.from(`${options.basic.username}:${options.basic.password}`).toString('base64')}` : undefined;
  return (req) => {
    if (req.path === '/v2/' || req.path === '/v2') {
      return expected !== undefined && req.headers.authorization !== expected
        ? { status: 401, headers: { 'www-authenticate': 'Basic realm="registry.k8s.io"' }, body: Buffer.alloc(0) }
        : jsonReply(200, {});
    }
    if (!req.path.startsWith('/v2/')) return textReply(404, 'not found');
    if (expected !== undefined && req.headers.authorization !== expected) {
      return { status: 401, headers: { 'www-authenticate': 'Basic realm="registry.k8s.io"' }, body: Buffer.alloc(0) };
    }
    return { status: 307, headers: { location: `${options.backend}${options.prefix}${req.url.slice('/v2'.length)}` }, body: Buffer.alloc(0) };
  };
}

/**
 * The regional backend (Artifact Registry) behind archeio: serves the project's repositories
 * under a path prefix, and redirects blob downloads to object storage with a signed URL.
 * `storage` is the storage origin (undefined: serve blobs itself).
 */
export function artifactRegistryBackend(prefix: string, storage?: string): ProxyHook {
  return (req: ProxyRequest, ctx) => {
    if (!req.path.startsWith(`${prefix}/`)) return textReply(404, 'not found');
    const upstreamUrl = `/v2${req.url.slice(prefix.length)}`;
    if (storage !== undefined && /\/blobs\/sha256:[0-9a-f]{64}$/.test(req.path)) {
      return { status: 302, headers: { location: `${storage}${upstreamUrl}?X-Goog-Signature=0123abcd&X-Goog-Expires=600` }, body: Buffer.alloc(0) };
    }
    return ctx.forward({ url: upstreamUrl, headers: { authorization: undefined } });
  };
}

/** Object storage behind a signed URL: serves `/v2/<repo>/blobs/<digest>` from the registry, ignoring the query. */
export const signedUrlStorage: ProxyHook = (req, ctx) => ctx.forward({ url: req.path, headers: { authorization: undefined } });
