/**
 * HTTP to the web services a verification needs besides registries: a Rekor log (verify-blob
 * without a bundle), signature and certificate files given by URL, release binaries. One small
 * module over the registry client's transport (one exchange with a deadline and a byte bound,
 * typed network errors: ../registry/transport/http.ts), so that it follows that transport as it
 * grows (proxies, one deadline per operation).
 *
 *   - https always; plain http only to loopback hosts (a local mirror or test server)
 *   - no credentials are ever sent, so following a redirect is safe: at most 10, each checked
 *     against the same scheme rule
 *   - bodies are bounded (`maxBytes`); network failures are FETCH_FAILED (operational), naming
 *     what was fetched and from where
 *
 * Nothing fetched here is trusted: callers verify what they get (signatures, log entries).
 */
import { rootCertificates } from 'node:tls';
import { ImgverifyError } from '../errors';
import { isLoopbackRegistry } from '../reference';
import { displayUrl } from '../registry/context';
import { HttpClient, type HttpResponse } from '../registry/transport/http';
import { HttpStack } from '../registry/transport/http-stack';

export interface WebClientOptions {
  /** Deadline of one exchange (headers and body), ms. Default 30 s. */
  readonly timeoutMs?: number;
  /** Extra CA certificates (PEM) for TLS, added to Node's roots. */
  readonly ca?: string | readonly string[];
  readonly userAgent?: string;
  /** The HTTP stack to use (proxies, CAs, connections), e.g. the registries' (shareHttpStack); not closed by close(). Default: its own, from the environment. */
  readonly httpStack?: HttpStack;
}

export interface FetchOptions {
  /** What is fetched, for messages: `signature`, `Rekor entry 24296fb2…`. */
  readonly what: string;
  /** Most bytes accepted. */
  readonly maxBytes: number;
  readonly signal?: AbortSignal;
  readonly accept?: string;
}

const MAX_REDIRECTS = 10;
const REDIRECTS = new Set([301, 302, 303, 307, 308]);

function failed(what: string, url: URL, why: string, cause?: unknown, status?: number): ImgverifyError {
  return new ImgverifyError('FETCH_FAILED', `cannot fetch ${what} from ${displayUrl(url)}: ${why}`, {
    ...(cause !== undefined ? { cause } : {}),
    details: { url: displayUrl(url), ...(status !== undefined ? { status } : {}) },
  });
}

/** Parses and checks a URL: http(s), no user info, plain http only on loopback. */
export function checkUrl(text: string, what: string): URL {
  let url: URL;
  try {
    url = new URL(text);
  } catch {
    throw new ImgverifyError('INVALID_OPTIONS', `${what}: not a URL: ${JSON.stringify(text)}`);
  }
  if (url.protocol !== 'https:' && url.protocol !== 'http:')
    throw new ImgverifyError('INVALID_OPTIONS', `${what}: unsupported scheme ${url.protocol} (https only)`);
  if (url.username !== '' || url.password !== '') throw new ImgverifyError('INVALID_OPTIONS', `${what}: a URL with user info is refused`);
  if (url.protocol === 'http:' && !isLoopbackRegistry(url.host)) {
    throw new ImgverifyError('INVALID_OPTIONS', `${what}: refusing plain http to ${url.host}: use https (plain http only for loopback hosts)`);
  }
  return url;
}

export class WebClient {
  private readonly stack: HttpStack;
  /** Whether this client created its stack (and so closes it). */
  private readonly ownsStack: boolean;
  private readonly http: HttpClient;

  constructor(options: WebClientOptions = {}) {
    const timeoutMs = options.timeoutMs ?? 30_000;
    if (!(Number.isSafeInteger(timeoutMs) && timeoutMs > 0))
      throw new ImgverifyError('INVALID_OPTIONS', `timeoutMs must be a positive integer, got ${timeoutMs}`);
    const extra = options.ca === undefined ? [] : typeof options.ca === 'string' ? [options.ca] : [...options.ca];
    // The same stack as the registries: HTTPS_PROXY/NO_PROXY apply to Rekor and release files too.
    this.ownsStack = options.httpStack === undefined;
    this.stack = options.httpStack ?? new HttpStack({ connectTimeoutMs: timeoutMs, ...(extra.length > 0 ? { ca: [...rootCertificates, ...extra] } : {}) });
    this.http = new HttpClient(this.stack, options.userAgent ?? 'imgverify', timeoutMs);
  }

  /** GET a URL's body (following redirects). */
  get(url: string | URL, options: FetchOptions): Promise<Buffer> {
    return this.exchange('GET', typeof url === 'string' ? checkUrl(url, options.what) : url, undefined, options);
  }

  /** POST a JSON body, and read the answer. */
  postJson(url: string | URL, body: unknown, options: FetchOptions): Promise<Buffer> {
    return this.exchange('POST', typeof url === 'string' ? checkUrl(url, options.what) : url, JSON.stringify(body), options);
  }

  async close(): Promise<void> {
    if (this.ownsStack) await this.stack.close();
  }

  private async exchange(method: 'GET' | 'POST', first: URL, body: string | undefined, options: FetchOptions): Promise<Buffer> {
    let url = first;
    for (let hop = 0; ; hop++) {
      const res = await this.send(method, url, body, options);
      if (REDIRECTS.has(res.status) && method === 'GET') {
        await res.discard();
        const location = res.header('location');
        if (location === undefined) throw failed(options.what, url, `HTTP ${res.status} without a Location`);
        if (hop >= MAX_REDIRECTS) throw failed(options.what, first, `more than ${MAX_REDIRECTS} redirects`);
        let next: URL;
        try {
          next = new URL(location, url);
        } catch {
          throw failed(options.what, url, `redirected to an invalid location`);
        }
        // Plain http on loopback is for a host the user named: a redirect from elsewhere may not go there.
        if (next.protocol !== 'https:' && !(next.protocol === 'http:' && isLoopbackRegistry(next.host) && isLoopbackRegistry(first.host))) {
          throw failed(options.what, url, `redirected to ${displayUrl(next)}, which is not https`);
        }
        url = next;
        continue;
      }
      if (res.status !== 200 && res.status !== 201) {
        await res.discard();
        throw failed(options.what, url, `HTTP ${res.status}`, undefined, res.status);
      }
      try {
        return await res.readBody(options.maxBytes);
      } catch (err) {
        throw this.mapped(err, options.what, url);
      }
    }
  }

  private async send(method: 'GET' | 'POST', url: URL, body: string | undefined, options: FetchOptions): Promise<HttpResponse> {
    const ctx = { registry: url.host, repository: url.pathname.replace(/^\/+/, ''), subject: options.what };
    try {
      return await this.http.send(
        {
          url,
          method,
          headers: { accept: options.accept ?? '*/*', ...(body !== undefined ? { 'content-type': 'application/json' } : {}) },
          ...(body !== undefined ? { body } : {}),
          ...(options.signal ? { signal: options.signal } : {}),
        },
        ctx,
      );
    } catch (err) {
      throw this.mapped(err, options.what, url);
    }
  }

  /**
   * The transport's errors, said as what they are here: a fetch that failed, a body over its
   * bound (the transport names things as a registry's, which garbled these messages).
   */
  private mapped(err: unknown, what: string, url: URL): unknown {
    if (!(err instanceof ImgverifyError)) return err;
    if (err.code === 'SIZE_LIMIT_EXCEEDED') {
      const limit = err.details?.limit;
      return new ImgverifyError(
        'SIZE_LIMIT_EXCEEDED',
        `${what} from ${displayUrl(url)} is larger than ${typeof limit === 'number' ? limit : 'the limit of'} bytes`,
        {
          cause: err,
          details: { url: displayUrl(url), ...(typeof limit === 'number' ? { limit } : {}) },
        },
      );
    }
    if (err.code === 'REGISTRY_UNREACHABLE' || err.code === 'REGISTRY_TIMEOUT' || err.code === 'REGISTRY_ERROR') {
      const why = err.message.includes(': ') ? err.message.slice(err.message.lastIndexOf(': ') + 2) : err.message;
      return failed(what, url, err.code === 'REGISTRY_TIMEOUT' ? `no complete answer in time (${why})` : why, err);
    }
    return err;
  }
}
