/**
 * Authentication for registry requests, kept out of the code that reads manifests and blobs.
 *
 * A registry's challenge (from the API version check or a 401) is remembered, so later
 * requests authenticate up front. A request walks through its credentials (CredentialWalk):
 * the call's own (an admitted object's pull secrets), then the client's; one the registry or
 * its token service refuses gives way to the next. Bearer tokens are cached per (registry,
 * realm, service, scope, credential): a token is only reused by a request holding the
 * credential it was obtained with; concurrent requests for one key share one token fetch.
 * Credentials go only to the registry's own origin and to its token realm, and over plain
 * http only to a loopback realm of a registry that may itself use plain http.
 */
import { createHmac, randomBytes } from 'node:crypto';
import { ImgverifyError } from '../../errors';
import { isLoopbackRegistry } from '../../reference';
import { contextDetails, describeRequest, displayUrl, type RequestContext } from '../context';
import { formatRegistryError, sanitise, type RegistryErrorInfo } from '../registry-errors';
import type { HttpClient } from '../transport/http';
import { abortable } from '../../util/abort';
import type { RetryPolicy } from '../transport/retry';
import { assertUrlAllowed, httpAllowed, type HttpAllowance } from '../transport/scheme';
import type { CallCredentials } from '../types';
import type { CredentialCandidate, RegistryCredentials } from './credential-types';
import { findChallenge, type Challenge } from './challenge';
import type { CredentialSegment, CredentialStore } from './credentials';
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

/** Per process: credential fingerprints in cache keys cannot be compared across processes or reversed offline. */
const FINGERPRINT_SALT = randomBytes(32);

/** A credential's identity in token cache keys (a salted hash: the key never holds the secret). */
function credentialKey(credentials: RegistryCredentials | undefined): string {
  if (credentials === undefined) return 'anonymous';
  const text = 'identityToken' in credentials ? `token\0${credentials.identityToken}` : `basic\0${credentials.username}\0${credentials.password}`;
  return createHmac('sha256', FINGERPRINT_SALT).update(text, 'utf8').digest('base64url');
}

/**
 * One request's way through its credentials: the call's own (an admitted object's pull
 * secrets), then the client's (option, plugins, files), each source asked only when the ones
 * before had nothing the registry accepted. A credential the registry refuses (401 or 403 from
 * the registry, or a refusal by its token service) gives way to the next; when every one was
 * refused the request fails naming each. Anonymous access is used only when no credential
 * applies at all, as the kubelet pulls (it never falls back to anonymous either).
 */
export class CredentialWalk {
  private readonly loaded: CredentialCandidate[] = [];
  private readonly seen = new Set<string>();
  private readonly searched: string[] = [];
  private readonly refusals: string[] = [];
  private index = 0;
  private segment = 0;
  private started = false;

  constructor(
    private readonly segments: readonly CredentialSegment[],
    /** Credentials refused earlier for this repository in the same call credentials' lifetime: skipped. */
    private readonly refusedBefore?: Set<string>,
  ) {}

  /** The credential to use now: `undefined` is anonymous (no credential applies); 'exhausted' when every one was refused. */
  async current(signal?: AbortSignal): Promise<CredentialCandidate | undefined | 'exhausted'> {
    if (!this.started) {
      this.started = true;
      await this.fill(signal);
    }
    if (this.index < this.loaded.length) return this.loaded[this.index]!;
    return this.seen.size === 0 ? undefined : 'exhausted';
  }

  /** The current credential was refused (`why`); true when another one remains to try. */
  async refuse(why: string, signal?: AbortSignal): Promise<boolean> {
    const current = this.loaded[this.index];
    if (current === undefined) return false;
    this.refusals.push(`${current.source} (${why})`);
    this.refusedBefore?.add(credentialKey(current.credentials));
    this.index++;
    await this.fill(signal);
    return this.index < this.loaded.length;
  }

  /** For messages: where credentials came from, and which were refused (with why). */
  describe(): string {
    const current = this.loaded[this.index];
    if (current !== undefined) return this.refusals.length > 0 ? `${current.source}; refused before it: ${this.refusals.join('; ')}` : current.source;
    if (this.seen.size === 0) return this.searched.join('; ') || 'no credentials configured';
    const last = this.loaded[this.loaded.length - 1];
    return this.refusals.length === 1 && last !== undefined ? last.source : `each refused: ${this.refusals.join('; ')}`;
  }

  /** Loads sources until a credential not yet tried is at the cursor, or none remain. */
  private async fill(signal: AbortSignal | undefined): Promise<void> {
    while (this.index >= this.loaded.length && this.segment < this.segments.length) {
      // Bounded by the request's signal whatever the source does with it (an API server that hangs).
      const result = await abortable(this.segments[this.segment++]!(signal), signal);
      if (result.searched !== '') this.searched.push(result.searched);
      for (const candidate of result.candidates) {
        const key = credentialKey(candidate.credentials);
        // The same credential from two places is tried once.
        if (this.seen.has(key)) continue;
        this.seen.add(key);
        if (this.refusedBefore?.has(key)) {
          this.refusals.push(`${candidate.source} (refused earlier for this repository)`);
          continue;
        }
        this.loaded.push(candidate);
      }
    }
  }
}

export class Authenticator {
  private readonly states = new Map<string, AuthState>();
  private readonly tokens = new Map<string, CachedToken>();
  /** Per call credentials: `registry/repository` → keys of the credentials the registry refused. */
  private readonly refused = new WeakMap<CallCredentials, Map<string, Set<string>>>();

  constructor(
    private readonly http: HttpClient,
    private readonly retry: RetryPolicy,
    private readonly store: CredentialStore,
    private readonly allowance: HttpAllowance,
    private readonly now: () => number = Date.now,
  ) {}

  /** A request's walk through its credentials (the call's, then the client's). */
  walk(target: AuthTarget, call?: CallCredentials): CredentialWalk {
    const own = this.store.segments(target.registry, target.repository);
    if (call === undefined) return new CredentialWalk(own);
    let byRepo = this.refused.get(call);
    if (byRepo === undefined) this.refused.set(call, (byRepo = new Map<string, Set<string>>()));
    const repo = `${target.registry}/${target.repository}`;
    let refused = byRepo.get(repo);
    if (refused === undefined) byRepo.set(repo, (refused = new Set()));
    return new CredentialWalk([(signal) => call.lookup(target.registry, target.repository, signal), ...own], refused);
  }

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

  /**
   * The Authorization for a request to the registry with the walk's current credential, when
   * the registry's auth scheme is known. A credential its token service refuses gives way to
   * the next; the last refusal is thrown (naming the ones before).
   */
  async authorization(
    target: AuthTarget,
    ctx: RequestContext,
    signal?: AbortSignal,
    walk: CredentialWalk = this.walk(target),
  ): Promise<Authorization | undefined> {
    const state = this.states.get(target.registry);
    if (state === undefined) return undefined;
    for (;;) {
      const current = await walk.current(signal);
      if (current === 'exhausted') return undefined;
      const credentials = current?.credentials;
      if (state.scheme === 'basic') {
        if (credentials === undefined) return undefined;
        if (!('username' in credentials)) {
          if (await walk.refuse('an identity token cannot be used for basic authentication', signal)) continue;
          return undefined;
        }
        return { header: basicAuthorization(credentials.username, credentials.password), scheme: 'basic', fresh: false };
      }
      this.assertRealmAllowed(state.realm, credentials, ctx);
      try {
        return await this.bearer(target, state, credentials, ctx, signal);
      } catch (err) {
        // The token service refused this credential: the next may be accepted.
        if (credentials !== undefined && err instanceof ImgverifyError && err.code === 'REGISTRY_AUTH_FAILED' && !signal?.aborted) {
          const status = err.details?.status;
          if (await walk.refuse(`the token service answered ${typeof status === 'number' ? status : 'with a refusal'}`, signal)) continue;
          throw new ImgverifyError('REGISTRY_AUTH_FAILED', `${err.message} (credentials: ${walk.describe()})`, {
            cause: err,
            ...(err.details ? { details: { ...err.details } } : {}),
          });
        }
        throw err;
      }
    }
  }

  private async bearer(
    target: AuthTarget,
    state: Extract<AuthState, { scheme: 'bearer' }>,
    credentials: RegistryCredentials | undefined,
    ctx: RequestContext,
    signal: AbortSignal | undefined,
  ): Promise<Authorization> {
    const scope = `repository:${target.repository}:pull`;
    // The credential is part of the key: a token obtained with one credential is only ever
    // sent by requests that hold that same credential (never another object's, never anonymous ones).
    const key = [target.registry, state.realm.href, state.service ?? '', scope, credentialKey(credentials)].join('\n');
    for (;;) {
      let entry = this.tokens.get(key);
      let fresh = false;
      if (entry === undefined || entry.abandoned || (entry.token !== undefined && this.now() >= entry.token.expiresAt)) {
        fresh = true;
        entry = this.startFetch(
          key,
          { realm: state.realm, scope, ...(state.service !== undefined ? { service: state.service } : {}), ...(credentials ? { credentials } : {}) },
          ctx,
          signal,
        );
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
   * succeed (the same credential with a new token, or the next credential); throws
   * REGISTRY_AUTH_FAILED (or INSECURE_REGISTRY_REFUSED) when none can.
   */
  async onUnauthorized(
    target: AuthTarget,
    challenges: readonly Challenge[],
    sent: Authorization | undefined,
    ctx: RequestContext,
    url: URL,
    info: RegistryErrorInfo,
    signal?: AbortSignal,
    walk: CredentialWalk = this.walk(target),
  ): Promise<void> {
    const bearer = findChallenge(challenges, 'bearer');
    const basic = findChallenge(challenges, 'basic');
    if (bearer !== undefined) {
      const realm = bearer.params.get('realm');
      if (realm === undefined || !URL.canParse(realm)) {
        throw this.failed(ctx, url, 'asks for a bearer token without a valid realm', info);
      }
      if (sent?.scheme === 'bearer') {
        // A cached token the registry no longer accepts is fetched anew; a fresh one it
        // refuses means the credential is not good for this repository: try the next.
        this.forget(sent.header);
        if (sent.fresh && !(await walk.refuse(`the registry answered 401${formatRegistryError(info)}`, signal)))
          throw this.rejected(ctx, url, sent, walk, info);
      }
      this.learn(target.registry, [bearer]);
      const current = await walk.current(signal);
      this.assertRealmAllowed(new URL(realm), current === 'exhausted' ? undefined : current?.credentials, ctx);
      return;
    }
    if (basic !== undefined) {
      if (sent?.scheme === 'basic' && !(await walk.refuse(`the registry answered 401${formatRegistryError(info)}`, signal)))
        throw this.rejected(ctx, url, sent, walk, info);
      let current = await walk.current(signal);
      while (current !== undefined && current !== 'exhausted' && !('username' in current.credentials)) {
        current = (await walk.refuse('an identity token cannot be used for basic authentication', signal)) ? await walk.current(signal) : 'exhausted';
      }
      if (current === undefined || current === 'exhausted') {
        throw this.failed(ctx, url, `requires a username and password (${walk.describe()})`, info);
      }
      this.learn(target.registry, [basic]);
      return;
    }
    const offered = challenges.map((c) => c.scheme).join(', ') || 'none';
    throw this.failed(ctx, url, `answered 401 without a supported authentication challenge (offered: ${sanitise(offered)})`, info);
  }

  /**
   * After a 403 from the registry: true when the walk has another credential to try (the one
   * sent gives way to it), false when the 403 is the answer.
   */
  async onForbidden(sent: Authorization | undefined, info: RegistryErrorInfo, walk: CredentialWalk, signal?: AbortSignal): Promise<boolean> {
    if (sent === undefined) return false;
    if (sent.scheme === 'bearer') this.forget(sent.header);
    return walk.refuse(`the registry answered 403${formatRegistryError(info)}`, signal);
  }

  /** The error for a request that was refused although it carried our best authorization. */
  rejectedError(ctx: RequestContext, url: URL, sent: Authorization | undefined, info: RegistryErrorInfo, walk: CredentialWalk): ImgverifyError {
    return this.rejected(ctx, url, sent, walk, info);
  }

  private rejected(ctx: RequestContext, url: URL, sent: Authorization | undefined, walk: CredentialWalk, info: RegistryErrorInfo) {
    const how = sent === undefined ? 'without credentials' : sent.scheme === 'basic' ? 'with basic credentials' : 'with a bearer token';
    return this.failed(ctx, url, `refused the request ${how} (credentials: ${walk.describe()})`, info);
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
