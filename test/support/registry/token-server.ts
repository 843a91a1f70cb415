/**
 * A distribution token server (the "token" auth of docker-registry): answers
 * `GET <realm>?service=..&scope=..` (basic auth or anonymous) and the OAuth2
 * `POST <realm>` with grant_type=refresh_token, issuing ES256 JWTs whose x5c header
 * chains to the CA the registry trusts (`auth.token.rootcertbundle`).
 *
 * Every request is recorded, so tests can assert how many tokens were fetched and whether
 * credentials were sent.
 */
import { randomUUID, sign } from 'node:crypto';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { createCa, issueSigningCert } from './certs';

export interface TestUser {
  readonly username: string;
  readonly password: string;
  /** Refresh token accepted by the OAuth2 flow (docker's `identitytoken`). */
  readonly identityToken?: string;
}

export interface TokenServerOptions {
  readonly service?: string;
  readonly issuer?: string;
  readonly users?: readonly TestUser[];
  /** Anonymous token requests get 401. */
  readonly requireCredentials?: boolean;
  /** Whether an anonymous caller may pull a repository. Default: every repository. */
  readonly anonymousPull?: boolean | ((repository: string) => boolean);
  /**
   * Whether an authenticated user may pull a repository (the token then grants nothing for it,
   * and the registry answers 401 insufficient_scope). Default: every user, every repository.
   */
  readonly userPull?: (username: string, repository: string) => boolean;
  /** `expires_in` of issued tokens, seconds. Default 300. */
  readonly expiresIn?: number;
}

interface AccessEntry {
  readonly type: string;
  readonly name: string;
  readonly actions: string[];
}

interface TokenRequestRecord {
  readonly method: string;
  readonly path: string;
  readonly service?: string;
  readonly scopes: readonly string[];
  /** The Authorization header as received. */
  readonly authorization?: string;
  /** The user the request authenticated as (basic or refresh token). */
  readonly username?: string;
  readonly grantType?: string;
  readonly status: number;
  readonly granted: readonly AccessEntry[];
}

export interface TokenServer {
  /** `http://127.0.0.1:<port>/token`, the realm the registry advertises. */
  readonly realm: string;
  readonly service: string;
  readonly issuer: string;
  /** PEM of the CA the signing certificate chains to (the registry's rootcertbundle). */
  readonly rootCertPem: string;
  readonly requests: TokenRequestRecord[];
  /** Issues a token directly (for test pushers that want push rights without a round trip). */
  issue(subject: string, access: readonly AccessEntry[]): string;
  stop(): Promise<void>;
}

export async function startTokenServer(options: TokenServerOptions = {}): Promise<TokenServer> {
  const service = options.service ?? 'imgverify-test-registry';
  const issuer = options.issuer ?? 'imgverify-test-token-issuer';
  const users = options.users ?? [];
  const expiresIn = options.expiresIn ?? 300;
  const ca = await createCa('imgverify test token CA');
  const signer = await issueSigningCert(ca);
  const requests: TokenRequestRecord[] = [];

  const issue = (subject: string, access: readonly AccessEntry[]): string => {
    const now = Math.floor(Date.now() / 1000);
    const header = { typ: 'JWT', alg: 'ES256', x5c: [signer.certDerBase64] };
    const claims = { iss: issuer, sub: subject, aud: service, exp: now + expiresIn, nbf: now - 10, iat: now, jti: randomUUID(), access };
    const input = `${b64url(JSON.stringify(header))}.${b64url(JSON.stringify(claims))}`;
    const signature = sign('sha256', Buffer.from(input), { key: signer.keyPem, dsaEncoding: 'ieee-p1363' });
    return `${input}.${b64url(signature)}`;
  };

  const anonymousMayPull = (repository: string): boolean => {
    const rule = options.anonymousPull ?? true;
    return typeof rule === 'function' ? rule(repository) : rule;
  };

  const handle = async (req: IncomingMessage, res: ServerResponse): Promise<void> => {
    const url = new URL(req.url ?? '/', 'http://token.invalid');
    const body = await readBody(req);
    const record = (status: number, extra: Partial<TokenRequestRecord> = {}) =>
      requests.push({
        method: req.method ?? '',
        path: url.pathname,
        scopes: [],
        status,
        granted: [],
        ...(req.headers.authorization !== undefined ? { authorization: req.headers.authorization } : {}),
        ...extra,
      });
    if (url.pathname !== '/token') {
      record(404);
      res.writeHead(404).end();
      return;
    }

    let username: string | undefined;
    let scopes: string[];
    let svc: string | undefined;
    let grantType: string | undefined;
    if (req.method === 'POST') {
      const form = new URLSearchParams(body.toString('utf8'));
      grantType = form.get('grant_type') ?? undefined;
      svc = form.get('service') ?? undefined;
      scopes = form
        .getAll('scope')
        .flatMap((s) => s.split(' '))
        .filter(Boolean);
      const user =
        grantType === 'refresh_token' ? users.find((u) => u.identityToken !== undefined && u.identityToken === form.get('refresh_token')) : undefined;
      if (user === undefined) {
        record(401, { scopes, ...(grantType ? { grantType } : {}) });
        sendJson(res, 401, { error: 'invalid_grant' });
        return;
      }
      username = user.username;
    } else {
      svc = url.searchParams.get('service') ?? undefined;
      scopes = url.searchParams
        .getAll('scope')
        .flatMap((s) => s.split(' '))
        .filter(Boolean);
      const basic = parseBasic(req.headers.authorization);
      if (basic !== undefined) {
        const user = users.find((u) => u.username === basic.username && u.password === basic.password);
        if (user === undefined) {
          record(401, { scopes });
          res.writeHead(401, { 'www-authenticate': 'Basic realm="imgverify-test-token"' }).end();
          return;
        }
        username = user.username;
      } else if (options.requireCredentials) {
        record(401, { scopes });
        res.writeHead(401, { 'www-authenticate': 'Basic realm="imgverify-test-token"' }).end();
        return;
      }
    }

    const granted: AccessEntry[] = [];
    for (const scope of scopes) {
      const parsed = parseScope(scope);
      if (parsed === undefined || parsed.type !== 'repository') continue;
      const actions =
        username !== undefined
          ? parsed.actions.filter((a) => a !== 'pull' || (options.userPull?.(username, parsed.name) ?? true))
          : parsed.actions.filter((a) => a === 'pull' && anonymousMayPull(parsed.name));
      if (actions.length > 0) granted.push({ type: parsed.type, name: parsed.name, actions });
    }
    const token = issue(username ?? '', granted);
    record(200, { scopes, granted, ...(svc ? { service: svc } : {}), ...(username ? { username } : {}), ...(grantType ? { grantType } : {}) });
    // The GET flow answers with `token`, the OAuth2 flow with `access_token`, as real servers do.
    sendJson(
      res,
      200,
      req.method === 'POST'
        ? { access_token: token, expires_in: expiresIn, scope: scopes.join(' ') }
        : { token, expires_in: expiresIn, issued_at: new Date().toISOString() },
    );
  };

  const server: Server = createServer((req, res) => {
    handle(req, res).catch(() => {
      if (!res.headersSent) res.writeHead(500);
      res.end();
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  server.unref();
  const { port } = server.address() as AddressInfo;
  return {
    realm: `http://127.0.0.1:${port}/token`,
    service,
    issuer,
    rootCertPem: ca.certPem,
    requests,
    issue,
    stop: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

function b64url(data: string | Buffer): string {
  return Buffer.from(data).toString('base64url');
}

function parseBasic(header: string | undefined): { username: string; password: string } | undefined {
  if (header === undefined || !/^basic /i.test(header)) return undefined;
  const decoded = Buffer.from(header.slice(6).trim(), 'base64').toString('utf8');
  const colon = decoded.indexOf(':');
  return colon === -1 ? undefined : { username: decoded.slice(0, colon), password: decoded.slice(colon + 1) };
}

/** `repository:a/b:pull,push` → {type, name, actions}; names never contain ':' here. */
function parseScope(scope: string): AccessEntry | undefined {
  const first = scope.indexOf(':');
  const last = scope.lastIndexOf(':');
  if (first === -1 || last === first) return undefined;
  return {
    type: scope.slice(0, first),
    name: scope.slice(first + 1, last),
    actions: scope
      .slice(last + 1)
      .split(',')
      .filter(Boolean),
  };
}

function readBody(req: IncomingMessage): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => resolve(Buffer.concat(chunks)));
    req.on('error', reject);
  });
}

function sendJson(res: ServerResponse, status: number, value: unknown): void {
  const body = JSON.stringify(value);
  res.writeHead(status, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) }).end(body);
}
