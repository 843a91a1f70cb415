/**
 * The distribution token protocol: exchange credentials (or nothing) for a bearer token at
 * the realm a registry's challenge names. Username/password go as basic auth on a GET
 * (docker's way); an identity token (OAuth2 refresh token) is POSTed as
 * `grant_type=refresh_token`. The response is hostile: bounded, shape-checked.
 */
import { ImgverifyError } from '../../errors';
import { contextDetails, describeRequest, displayUrl, type RequestContext } from '../context';
import { formatRegistryError, parseRegistryErrors } from '../registry-errors';
import type { HttpClient } from '../transport/http';
import { isRetryableError } from '../transport/http';
import { RETRYABLE_STATUSES, boundedRetryAfter, retryAfterRefused, withRetries, type RetryPolicy } from '../transport/retry';
import type { RegistryCredentials } from './credential-types';

export interface TokenRequest {
  readonly realm: URL;
  readonly service?: string;
  readonly scope: string;
  readonly credentials?: RegistryCredentials;
}

export interface IssuedToken {
  readonly token: string;
  /** ms since the epoch after which the token is not reused. */
  readonly expiresAt: number;
}

const MAX_TOKEN_RESPONSE_BYTES = 1024 * 1024;
const MAX_TOKEN_LENGTH = 64 * 1024;
// Header-safe visible ASCII: a token goes into an Authorization header verbatim.
const TOKEN_RE = /^[\x21-\x7e]+$/;
const DEFAULT_EXPIRES_IN_S = 60;
const CLIENT_ID = 'imgverify';

export async function fetchToken(
  http: HttpClient,
  retry: RetryPolicy,
  req: TokenRequest,
  ctx: RequestContext,
  signal?: AbortSignal,
  now: () => number = Date.now,
): Promise<IssuedToken> {
  const url = new URL(req.realm.href);
  const headers: Record<string, string> = { accept: 'application/json' };
  let body: string | undefined;
  const creds = req.credentials;
  if (creds !== undefined && 'identityToken' in creds) {
    const form = new URLSearchParams({ grant_type: 'refresh_token', refresh_token: creds.identityToken, client_id: CLIENT_ID, scope: req.scope });
    if (req.service !== undefined) form.set('service', req.service);
    body = form.toString();
    headers['content-type'] = 'application/x-www-form-urlencoded';
  } else {
    if (req.service !== undefined) url.searchParams.append('service', req.service);
    url.searchParams.append('scope', req.scope);
    if (creds !== undefined) headers.authorization = basicAuthorization(creds.username, creds.password);
  }
  const where = `${describeRequest(ctx)}: token service ${displayUrl(url)}`;
  const details = { ...contextDetails(ctx, url), scope: req.scope };

  return withRetries(retry, signal, isRetryableError, async () => {
    const started = now();
    const res = await http.send(
      { url, method: body !== undefined ? 'POST' : 'GET', headers, ...(body !== undefined ? { body } : {}), ...(signal ? { signal } : {}) },
      ctx,
    );
    if (res.status === 200) {
      return { done: true, value: parseTokenResponse(await res.readBody(MAX_TOKEN_RESPONSE_BYTES), started, where, details) };
    }
    const info = parseRegistryErrors(await res.readErrorBody());
    const suffix = `${formatRegistryError(info)}`;
    if (res.status === 401 || res.status === 403) {
      const who = creds === undefined ? 'anonymous access' : 'the credentials';
      throw new ImgverifyError('REGISTRY_AUTH_FAILED', `${where} refused ${who} for scope ${req.scope} with ${res.status}${suffix}`, {
        details: { ...details, status: res.status, ...(info.code ? { registryError: info.code } : {}) },
      });
    }
    const error = new ImgverifyError('REGISTRY_ERROR', `${where} answered ${res.status}${suffix}`, {
      details: { ...details, status: res.status },
    });
    if (!RETRYABLE_STATUSES.has(res.status)) throw error;
    // The same bound as for registry requests: a token service asking for an hour is refused now.
    const delayMs = boundedRetryAfter(res.header('retry-after'), retry, (wait) =>
      retryAfterRefused(`${where} answered ${res.status}${suffix}`, wait, retry, { ...details, status: res.status }),
    );
    return { done: false, error, ...(delayMs !== undefined ? { delayMs } : {}) };
  });
}

export function basicAuthorization(username: string, password: string): string {
  return `Basic ${Buffer.from(`${username}:${password}`, 'utf8').toString('base64')}`;
}

/** `{token | access_token, expires_in?}` → token; anything else is REGISTRY_ERROR. */
export function parseTokenResponse(body: Buffer, issuedAt: number, where: string, details: Record<string, unknown>): IssuedToken {
  const bad = (why: string) => new ImgverifyError('REGISTRY_ERROR', `${where}: malformed token response: ${why}`, { details });
  let json: unknown;
  try {
    json = JSON.parse(body.toString('utf8'));
  } catch {
    throw bad('not JSON');
  }
  if (typeof json !== 'object' || json === null || Array.isArray(json)) throw bad('not a JSON object');
  const { token, access_token: accessToken, expires_in: expiresIn } = json as Record<string, unknown>;
  const value = typeof token === 'string' && token !== '' ? token : accessToken;
  if (typeof value !== 'string' || value === '') throw bad('no "token" or "access_token" string');
  if (value.length > MAX_TOKEN_LENGTH) throw bad(`token longer than ${MAX_TOKEN_LENGTH} characters`);
  if (!TOKEN_RE.test(value)) throw bad('token contains characters not allowed in an HTTP header');
  const seconds = typeof expiresIn === 'number' && Number.isFinite(expiresIn) && expiresIn > 0 ? Math.min(expiresIn, 24 * 3600) : DEFAULT_EXPIRES_IN_S;
  // Renew a little early so a token does not expire between the check and the request.
  const margin = Math.min(10, seconds / 10);
  return { token: value, expiresAt: issuedAt + (seconds - margin) * 1000 };
}
