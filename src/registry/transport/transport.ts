/**
 * GET (and HEAD) requests to a registry's API with everything a registry needs around them:
 * scheme selection, authentication, redirects and retries. Returns the body, already read
 * within a bound (none for HEAD), or throws a typed error that says what was asked and what
 * went wrong.
 */
import { ImgverifyError, type ErrorCode } from '../../errors';
import { registryApiHost } from '../../reference';
import type { Authenticator, Authorization } from '../auth/authenticator';
import type { CallCredentials } from '../types';
import { parseChallenges } from '../auth/challenge';
import { contextDetails, describeRequest, displayUrl, type RequestContext } from '../context';
import { formatRegistryError, parseRegistryErrors } from '../registry-errors';
import { isRetryableError, isTlsMismatchError, type HttpClient, type HttpResponse } from './http';
import { SharedRun } from '../../util/shared-run';
import { RETRYABLE_STATUSES, boundedRetryAfter, retryAfterRefused, withRetries, type RetryPolicy } from './retry';
import { assertUrlAllowed, sameOrigin, schemeCandidates, type HttpAllowance } from './scheme';
import type { RegistryLimiter } from './limiter';

const MAX_REDIRECTS = 10;
const MAX_AUTH_ROUNDS = 32;
const REDIRECT_STATUSES = new Set([301, 302, 303, 307, 308]);

export interface RegistryGet {
  readonly ctx: RequestContext;
  /** Path and query on the registry's origin, starting with `/v2/`. */
  readonly path: string;
  readonly accept?: readonly string[];
  /** Bound on a successful (200) body. */
  readonly maxBytes: number;
  /** Statuses returned to the caller (with the error body) instead of thrown. */
  readonly passStatuses?: readonly number[];
  /** Error code for a 404 that is not passed through. Default IMAGE_NOT_FOUND. */
  readonly notFound?: ErrorCode;
  readonly signal?: AbortSignal;
  /** The call's own credentials, tried before the client's (see CallCredentials). */
  readonly credentials?: CallCredentials;
  /** HEAD asks for the headers only (a manifest's digest); default GET. */
  readonly method?: 'GET' | 'HEAD';
}

export interface RegistryResponse {
  readonly status: number;
  /** The URL that answered (after redirects). */
  readonly url: URL;
  readonly body: Buffer;
  header(name: string): string | undefined;
  headerValues(name: string): string[];
}

export class RegistryTransport {
  private readonly origins = new Map<string, SharedRun<URL>>();

  constructor(
    private readonly http: HttpClient,
    private readonly auth: Authenticator,
    private readonly allowance: HttpAllowance,
    private readonly retry: RetryPolicy,
    /** Requests in flight per registry, adapting to 429s (./limiter). */
    private readonly limiter: RegistryLimiter,
  ) {}

  async get(req: RegistryGet): Promise<RegistryResponse> {
    return withRetries(this.retry, req.signal, isRetryableError, async (attempt) => {
      const origin = await this.origin(req.ctx, req.signal);
      // Held until this attempt's answer is read (or dropped), whichever way it ends.
      using slot = await this.limiter.acquire(req.ctx.registry, req.signal);
      const res = await this.exchange(origin, req);
      if (res.status !== 429) slot.answered();
      const pass = res.status === 200 || (req.passStatuses ?? []).includes(res.status);
      if (pass) {
        const body = res.status === 200 ? await res.readBody(req.maxBytes) : await res.readErrorBody();
        return { done: true, value: toRegistryResponse(res, body) };
      }
      const info = parseRegistryErrors(await res.readErrorBody());
      const where = `${describeRequest(req.ctx)}: ${req.method ?? 'GET'} ${displayUrl(res.url)}`;
      const details = { ...contextDetails(req.ctx, res.url), status: res.status, ...(info.code ? { registryError: info.code } : {}) };
      const registryError = formatRegistryError(info);
      if (RETRYABLE_STATUSES.has(res.status)) {
        if (res.status === 429) slot.throttled();
        const waitMs = boundedRetryAfter(res.header('retry-after'), this.retry, (wait) =>
          retryAfterRefused(`${where} answered ${res.status}${registryError}`, wait, this.retry, details),
        );
        // A 429's Retry-After holds the registry's other requests too (only a wait this client accepts).
        if (res.status === 429 && waitMs !== undefined) slot.pause(waitMs);
        const tries = `attempt ${attempt + 1} of ${this.retry.retries + 1}`;
        const error = new ImgverifyError('REGISTRY_ERROR', `${where} answered ${res.status}${registryError} (${tries})`, { details });
        return { done: false, error, ...(waitMs !== undefined ? { delayMs: waitMs } : {}) };
      }
      if (res.status === 401 || res.status === 403) {
        throw new ImgverifyError('REGISTRY_AUTH_FAILED', `${where} answered ${res.status}: access denied${registryError}`, { details });
      }
      if (res.status === 404) {
        throw new ImgverifyError(req.notFound ?? 'IMAGE_NOT_FOUND', `${where} answered 404: not found${registryError}`, { details });
      }
      throw new ImgverifyError('REGISTRY_ERROR', `${where} answered unexpected status ${res.status}${registryError}`, { details });
    });
  }

  /**
   * The origin (scheme, host, port) of a registry's API. Registries that may use plain http
   * are probed once with the API version check, https first; the result is shared. The probe
   * is stopped (its connection closed) when every request waiting for it has given up.
   */
  async origin(ctx: RequestContext, signal?: AbortSignal): Promise<URL> {
    const host = registryApiHost(ctx.registry);
    if (schemeCandidates(ctx.registry, this.allowance).length === 1) return new URL(`https://${host}`);
    let probe = this.origins.get(ctx.registry);
    if (probe === undefined) {
      const forget = (): void => {
        if (this.origins.get(ctx.registry) === created) this.origins.delete(ctx.registry);
      };
      const created = new SharedRun((stop) => this.probe(host, ctx, stop), forget);
      probe = created;
      this.origins.set(ctx.registry, created);
      created.promise.catch(forget);
    }
    return probe.join(signal);
  }

  private async probe(host: string, ctx: RequestContext, signal: AbortSignal): Promise<URL> {
    const https = new URL(`https://${host}`);
    try {
      await this.ping(https, ctx, signal);
      return https;
    } catch (err) {
      if (!isTlsMismatchError(err)) throw err;
    }
    const http = new URL(`http://${host}`);
    await this.ping(http, ctx, signal);
    return http;
  }

  /** GET /v2/: any HTTP answer proves the scheme; a 401 tells how to authenticate. */
  private async ping(origin: URL, ctx: RequestContext, signal: AbortSignal): Promise<void> {
    const res = await this.http.send({ url: new URL('/v2/', origin), method: 'GET', headers: {}, signal }, ctx);
    if (res.status === 401) this.auth.learn(ctx.registry, parseChallenges(res.headerValues('www-authenticate')));
    await res.discard();
  }

  /**
   * One request with authentication: a 401 is answered with what its challenge asks for (a
   * token, basic credentials; a stale token is fetched anew once), and a credential the
   * registry refuses (401 with it, or 403) gives way to the request's next one.
   */
  private async exchange(origin: URL, req: RegistryGet): Promise<HttpResponse> {
    const target = { registry: req.ctx.registry, repository: req.ctx.repository };
    const url = new URL(req.path, origin);
    const walk = this.auth.walk(target, req.credentials);
    let authz = await this.auth.authorization(target, req.ctx, req.signal, walk);
    for (let round = 0; ; round++) {
      const res = await this.follow(url, origin, authz, req);
      // A 401 or 403 from storage we were redirected to is not the registry's answer.
      if ((res.status !== 401 && res.status !== 403) || !sameOrigin(res.url, origin)) return res;
      const challenges = res.status === 401 ? parseChallenges(res.headerValues('www-authenticate')) : [];
      const info = parseRegistryErrors(await res.readErrorBody());
      if (res.status === 403) {
        if (!(await this.auth.onForbidden(authz, info, walk, req.signal))) {
          const details = { ...contextDetails(req.ctx, res.url), status: 403, ...(info.code ? { registryError: info.code } : {}) };
          const sent = authz === undefined ? '' : ` (credentials: ${walk.describe()})`;
          throw new ImgverifyError(
            'REGISTRY_AUTH_FAILED',
            `${describeRequest(req.ctx)}: ${req.method ?? 'GET'} ${displayUrl(res.url)} answered 403: access denied${formatRegistryError(info)}${sent}`,
            { details },
          );
        }
      } else {
        // Each round learns a challenge, renews a stale token or moves to the next credential;
        // the bound only guards against a registry that keeps changing its challenge.
        if ((round > 0 && authz === undefined) || round > MAX_AUTH_ROUNDS) throw this.auth.rejectedError(req.ctx, res.url, authz, info, walk);
        await this.auth.onUnauthorized(target, challenges, authz, req.ctx, res.url, info, req.signal, walk);
      }
      const next = await this.auth.authorization(target, req.ctx, req.signal, walk);
      if (next === undefined) throw this.auth.rejectedError(req.ctx, res.url, authz, info, walk);
      authz = next;
    }
  }

  /**
   * Follows redirects by hand: the Authorization header goes only to the registry's own
   * origin (scheme, host and port), and no hop may downgrade to plain http where not allowed.
   */
  private async follow(start: URL, origin: URL, authz: Authorization | undefined, req: RegistryGet): Promise<HttpResponse> {
    let url = start;
    for (let hop = 0; hop <= MAX_REDIRECTS; hop++) {
      // A redirect target was named by the registry, not by the user: no loopback exception for it.
      assertUrlAllowed(url, this.allowance, req.ctx, hop === 0 ? 'registry URL' : 'redirect target', hop === 0 ? undefined : req.ctx.registry);
      const headers: Record<string, string> = {};
      if (req.accept !== undefined && req.accept.length > 0) headers.accept = req.accept.join(', ');
      if (authz !== undefined && sameOrigin(url, origin)) headers.authorization = authz.header;
      const res = await this.http.send({ url, method: req.method ?? 'GET', headers, ...(req.signal ? { signal: req.signal } : {}) }, req.ctx);
      if (!REDIRECT_STATUSES.has(res.status)) return res;
      const location = res.header('location');
      await res.discard();
      if (location === undefined || !URL.canParse(location, url.href)) {
        throw new ImgverifyError(
          'REGISTRY_ERROR',
          `${describeRequest(req.ctx)}: ${req.method ?? 'GET'} ${displayUrl(url)} answered ${res.status} without a valid Location header`,
          { details: { ...contextDetails(req.ctx, url), status: res.status } },
        );
      }
      url = new URL(location, url);
    }
    throw new ImgverifyError('REGISTRY_ERROR', `${describeRequest(req.ctx)}: more than ${MAX_REDIRECTS} redirects, last to ${displayUrl(url)}`, {
      details: contextDetails(req.ctx, url),
    });
  }
}

function toRegistryResponse(res: HttpResponse, body: Buffer): RegistryResponse {
  return {
    status: res.status,
    url: res.url,
    body,
    header: (name) => res.header(name),
    headerValues: (name) => res.headerValues(name),
  };
}
