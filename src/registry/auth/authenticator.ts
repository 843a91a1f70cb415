/**
 * Authentication for registry requests, kept out of the code that reads manifests and blobs.
 *
 * A registry's challenge (from the API version check or a 401) is remembered, so later
 * requests authenticate up front. Bearer tokens are cached per (registry, realm, service,
 * scope) until they expire, and concurrent requests for one scope share one token fetch.
 * Credentials go only to the registry's own origin and to its token realm, and over plain
 * http only to a loopback realm of a registry that may itself use plain http.
 */
import { ImgverifyError } from '../../errors';
import { isLoopbackRegistry } from '../../reference';
import { contextDetails, describeRequest, displayUrl, type RequestContext } from '../context';
import { formatRegistryError, sanitise, type RegistryErrorInfo } from '../registry-errors';
import type { HttpClient } from '../transport/http';
import { abortable } from '../../util/abort';
import type { RetryPolicy } from '../transport/retry';
import { assertUrlAllowed, httpAllowed, type HttpAllowance } from '../transport/scheme';
import type { RegistryCredentials } from '../types';
import { findChallenge, type Challenge } from './challenge';
import type { CredentialStore } from './credentials';
import { basicAuthorization, fetchToken, type IssuedToken, type TokenRequest } from './token';

type AuthState = { readonly scheme: 'basic' } | { readonly scheme: 'bearer'; readonly realm: URL; readonly service?: string };

/** What a request was sent with, so a 401 can tell whether trying again may help. */
export interface Authorization {
  readonly header: string;
  readonly scheme: 'basic' | 'bearer';
  /** The token was fetched for this request: a 401 with it will not improve by refetching. */
  readonly fresh: boolean;
}

export interface AuthTarget {
  readonly registry: string;
  readonly repository: string;
}

interface CachedToken {
  readonly promise: Promise<IssuedToken>;
  token?: IssuedToken;
  /** The request that started the fetch gave up (its deadline passed): nobody may join it. */
  abandoned: boolean;
}

export class Authenticator {
  private readonly states = new Map<string, AuthState>();
  private readonly tokens = new Map<string, CachedToken>();

  constructor(
    private readonly http: HttpClient,
    private readonly retry: RetryPolicy,
    private readonly store: CredentialStore,
    private readonly allowance: HttpAllowance,
    private readonly now: () => number = Date.now,
  ) {}

  /** Remembers a registry's challenge; unusable challenges leave what was known. */
  learn(registry: string, challenges: readonly Challenge[]): void {
    const bearer = findChallenge(challenges, 'bearer');
    const realm = bearer?.params.get('realm');
    if (bearer !== undefined && realm !== undefined && URL.canParse(realm)) {
      const service = bearer.params.get('service');
      this.states.set(registry, { scheme: 'bearer', realm: new URL(realm), ...(service !== undefined ? { service } : {}) });
    } else if (findChallenge(challenges, 'basic') !== undefined) {
      this.states.set(registry, { scheme: 'basic' });
    }
  }

  /** The Authorization for a request to the registry, when its auth scheme is known. */
  async authorization(target: AuthTarget, ctx: RequestContext, signal?: AbortSignal): Promise<Authorization | undefined> {
    const state = this.states.get(target.registry);
    if (state === undefined) return undefined;
    const { credentials } = await this.store.lookup(target.registry, target.repository, signal);
    if (state.scheme === 'basic') {
      if (credentials === undefined || !('username' in credentials)) return undefined;
      return { header: basicAuthorization(credentials.username, credentials.password), scheme: 'basic', fresh: false };
    }
    this.assertRealmAllowed(state.realm, credentials, ctx);
    const scope = `repository:${target.repository}:pull`;
    const key = [target.registry, state.realm.href, state.service ?? '', scope].join('\n');
    for (;;) {
      let entry = this.tokens.get(key);
      let fresh = false;
      if (entry === undefined || entry.abandoned || (entry.token !== undefined && this.now() >= entry.token.expiresAt)) {
        fresh = true;
        entry = this.startFetch(key, { realm: state.realm, scope, ...(state.service !== undefined ? { service: state.service } : {}), ...(credentials ? { credentials } : {}) }, ctx, signal);
      }
      try {
        const token = await abortable(entry.promise, signal);
        return { header: `Bearer ${token.token}`, scheme: 'bearer', fresh };
      } catch (err) {
        // We joined a fetch whose own request gave up: that is no answer about the token
        // service, so fetch anew under our own deadline (which has not passed).
        if (!fresh && entry.abandoned && !signal?.aborted) continue;
        throw err;
      }
    }
  }

  /**
   * One token fetch, shared by concurrent requests for the same scope. It runs under the
   * deadline of the request that started it; when that passes, the fetch is dropped from the
   * cache at once, so later requests never wait on a fetch nobody is bounded by (one hung
   * token service must not wedge a repository until restart).
   */
  private startFetch(key: string, req: TokenRequest, ctx: RequestContext, signal: AbortSignal | undefined): CachedToken {
    const promise = fetchToken(this.http, this.retry, req, ctx, signal, this.now);
    const created: CachedToken = { promise, abandoned: false };
    this.tokens.set(key, created);
    const drop = (): void => {
      if (this.tokens.get(key) === created) this.tokens.delete(key);
    };
    const onAbort = (): void => {
      created.abandoned = true;
      drop();
    };
    signal?.addEventListener('abort', onAbort, { once: true });
    promise.then(
      (token) => {
        signal?.removeEventListener('abort', onAbort);
        created.token = token;
      },
      () => {
        signal?.removeEventListener('abort', onAbort);
        drop();
      },
    );
    if (signal?.aborted) onAbort();
    return created;
  }

  /**
   * After a 401 from the registry: learns its challenge and returns when another attempt can
   * succeed; throws REGISTRY_AUTH_FAILED (or INSECURE_REGISTRY_REFUSED) when it cannot.
   */
  async onUnauthorized(
    target: AuthTarget,
    challenges: readonly Challenge[],
    sent: Authorization | undefined,
    ctx: RequestContext,
    url: URL,
    info: RegistryErrorInfo,
    signal?: AbortSignal,
  ): Promise<void> {
    const { credentials, source } = await this.store.lookup(target.registry, target.repository, signal);
    const bearer = findChallenge(challenges, 'bearer');
    const basic = findChallenge(challenges, 'basic');
    if (bearer !== undefined) {
      const realm = bearer.params.get('realm');
      if (realm === undefined || !URL.canParse(realm)) {
        throw this.failed(ctx, url, 'asks for a bearer token without a valid realm', info);
      }
      if (sent?.scheme === 'bearer') {
        if (sent.fresh) throw this.rejected(ctx, url, sent, source, info);
        this.forget(sent.header);
      }
      this.learn(target.registry, [bearer]);
      this.assertRealmAllowed(new URL(realm), credentials, ctx);
      return;
    }
    if (basic !== undefined) {
      if (credentials === undefined || !('username' in credentials)) {
        throw this.failed(ctx, url, `requires a username and password (${source})`, info);
      }
      if (sent?.scheme === 'basic') throw this.rejected(ctx, url, sent, source, info);
      this.learn(target.registry, [basic]);
      return;
    }
    const offered = challenges.map((c) => c.scheme).join(', ') || 'none';
    throw this.failed(ctx, url, `answered 401 without a supported authentication challenge (offered: ${sanitise(offered)})`, info);
  }

  /** The error for a request that was refused although it carried our best authorization. */
  async rejectedError(target: AuthTarget, ctx: RequestContext, url: URL, sent: Authorization | undefined, info: RegistryErrorInfo) {
    const { source } = await this.store.lookup(target.registry, target.repository);
    return this.rejected(ctx, url, sent, source, info);
  }

  private rejected(ctx: RequestContext, url: URL, sent: Authorization | undefined, source: string, info: RegistryErrorInfo) {
    const how =
      sent === undefined ? 'without credentials' : sent.scheme === 'basic' ? 'with basic credentials' : 'with a bearer token';
    return this.failed(ctx, url, `refused the request ${how} (credentials: ${source})`, info);
  }

  private failed(ctx: RequestContext, url: URL, why: string, info: RegistryErrorInfo): ImgverifyError {
    return new ImgverifyError('REGISTRY_AUTH_FAILED', `${describeRequest(ctx)}: GET ${displayUrl(url)} ${why}${formatRegistryError(info)}`, {
      details: { ...contextDetails(ctx, url), status: 401, ...(info.code ? { registryError: info.code } : {}) },
    });
  }

  /**
   * Forgets tokens and re-reads credentials on next use (credential files changed: a token
   * fetched with revoked credentials must not outlive them). Learned challenges stay.
   */
  reloadCredentials(): void {
    this.store.reload();
    this.tokens.clear();
  }

  /** Drops a cached token the registry no longer accepts (unless a newer one replaced it). */
  private forget(header: string): void {
    for (const [key, entry] of this.tokens) {
      if (entry.token !== undefined && `Bearer ${entry.token.token}` === header) this.tokens.delete(key);
    }
  }

  /**
   * A realm may be any https URL (docker.io's is on another host), or plain http where
   * allowed. Credentials go over plain http only to a loopback realm of a registry that may
   * itself be spoken to over plain http (loopback, or a host the caller allowed): a remote
   * https registry must not be able to direct them to `http://localhost:N`, and no registry
   * can have them sent in clear text across a network.
   */
  private assertRealmAllowed(realm: URL, credentials: RegistryCredentials | undefined, ctx: RequestContext): void {
    assertUrlAllowed(realm, this.allowance, ctx, 'token realm');
    if (credentials === undefined || realm.protocol !== 'http:') return;
    const why = !isLoopbackRegistry(realm.host)
      ? 'the realm is not loopback'
      : !httpAllowed(ctx.registry, this.allowance)
        ? `the registry ${ctx.registry} is neither loopback nor allowed plain http`
        : undefined;
    if (why !== undefined) {
      throw new ImgverifyError(
        'INSECURE_REGISTRY_REFUSED',
        `${describeRequest(ctx)}: refusing to send credentials over plain http to token realm ${displayUrl(realm)}: ${why}`,
        { details: contextDetails(ctx, realm) },
      );
    }
  }
}
