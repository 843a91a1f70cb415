/**
 * One HTTP exchange over the client's HTTP stack (connection pools, proxies, TLS): a deadline
 * covering headers and body, network failures mapped to typed errors, and response bodies
 * read with a byte bound. Knows nothing about registries, auth or redirects.
 */
import { ImgverifyError } from '../../errors';
import { contextDetails, describeRequest, displayUrl, type RequestContext } from '../context';
import { errorMessage } from '../../util/describe';
import { sanitise } from '../registry-errors';
import type { HttpStack } from './http-stack';
import { displayProxy } from './proxy';

/** Error bodies are only read for their error code; more than this is cut off. */
const MAX_ERROR_BODY_BYTES = 64 * 1024;

export interface HttpRequest {
  readonly url: URL;
  readonly method: 'GET' | 'HEAD' | 'POST';
  readonly headers: Readonly<Record<string, string>>;
  readonly body?: string;
  readonly signal?: AbortSignal;
}

// Internal marks on errors we create, read by the retry and scheme-fallback logic.
const retryable = new WeakSet<object>();
const tlsMismatch = new WeakSet<object>();

/** A dropped connection or similar transient failure: worth another attempt. */
export function isRetryableError(err: unknown): boolean {
  return typeof err === 'object' && err !== null && retryable.has(err);
}

/** An https attempt failed in a way that says the server does not speak TLS. */
export function isTlsMismatchError(err: unknown): boolean {
  return typeof err === 'object' && err !== null && tlsMismatch.has(err);
}

export class HttpClient {
  constructor(
    private readonly stack: HttpStack,
    private readonly userAgent: string,
    readonly timeoutMs: number,
  ) {}

  async send(req: HttpRequest, ctx: RequestContext): Promise<HttpResponse> {
    const deadline = AbortSignal.timeout(this.timeoutMs);
    const signal = req.signal === undefined ? deadline : AbortSignal.any([deadline, req.signal]);
    const route = this.stack.route(req.url);
    const fail = (err: unknown) => mapNetworkError(err, ctx, req.url, deadline, this.timeoutMs, signal, route.proxy);
    try {
      const res = await route.dispatcher.request({
        origin: req.url.origin,
        path: `${req.url.pathname}${req.url.search}`,
        method: req.method,
        headers: { 'user-agent': this.userAgent, ...req.headers },
        ...(req.body !== undefined ? { body: req.body } : {}),
        signal,
        // Our deadline covers the whole exchange; undici's own timers only back it up.
        headersTimeout: this.timeoutMs,
        bodyTimeout: this.timeoutMs,
      });
      return new HttpResponse(req.url, res.statusCode, res.headers, res.body, fail, ctx);
    } catch (err) {
      throw fail(err);
    }
  }
}

export class HttpResponse {
  constructor(
    readonly url: URL,
    readonly status: number,
    readonly headers: Readonly<Record<string, string | string[] | undefined>>,
    private readonly body: AsyncIterable<Uint8Array> & { destroy(err?: Error): unknown; on(event: 'error', fn: () => void): unknown },
    private readonly fail: (err: unknown) => unknown,
    private readonly ctx: RequestContext,
  ) {
    // Bodies we stop reading early report the abort as a stream error: expected, not a crash.
    body.on('error', () => undefined);
  }

  /** The first value of a header (names are lower case). */
  header(name: string): string | undefined {
    const value = this.headers[name];
    return Array.isArray(value) ? value[0] : value;
  }

  /** All values of a header. */
  headerValues(name: string): string[] {
    const value = this.headers[name];
    if (value === undefined) return [];
    return Array.isArray(value) ? value : [value];
  }

  /**
   * The whole body, refusing more than `limit` bytes (by Content-Length before reading, and
   * by counting while reading) with SIZE_LIMIT_EXCEEDED.
   */
  async readBody(limit: number): Promise<Buffer> {
    const declared = this.contentLength();
    if (declared !== undefined && declared > limit) {
      this.abandon();
      throw this.tooLarge(limit, `Content-Length ${declared}`);
    }
    const body = await this.read(limit + 1);
    if (body.length > limit) throw this.tooLarge(limit, `more than ${limit} bytes sent`);
    return body;
  }

  /** Up to MAX_ERROR_BODY_BYTES of the body, silently cut: for error codes only. */
  readErrorBody(): Promise<Buffer> {
    return this.read(MAX_ERROR_BODY_BYTES);
  }

  /** Drops the body (a small one is drained so the connection can be reused). */
  async discard(): Promise<void> {
    const declared = this.contentLength();
    if (declared !== undefined && declared > MAX_ERROR_BODY_BYTES) {
      this.abandon();
      return;
    }
    try {
      await this.read(MAX_ERROR_BODY_BYTES);
    } catch {
      // Nothing depends on a discarded body.
    }
  }

  /** Closes the body unread (the connection is dropped rather than drained). */
  private abandon(): void {
    this.body.destroy();
  }

  private contentLength(): number | undefined {
    const value = this.header('content-length');
    return value !== undefined && /^\d{1,15}$/.test(value.trim()) ? Number(value.trim()) : undefined;
  }

  /** Reads at most `max` bytes, then closes the stream. */
  private async read(max: number): Promise<Buffer> {
    const chunks: Buffer[] = [];
    let total = 0;
    try {
      for await (const chunk of this.body) {
        const room = max - total;
        chunks.push(Buffer.from(chunk.buffer, chunk.byteOffset, Math.min(chunk.byteLength, room)));
        total += Math.min(chunk.byteLength, room);
        if (total >= max) break; // leaving the loop destroys the stream
      }
    } catch (err) {
      throw this.fail(err);
    }
    return Buffer.concat(chunks, total);
  }

  private tooLarge(limit: number, why: string): ImgverifyError {
    return new ImgverifyError(
      'SIZE_LIMIT_EXCEEDED',
      `${describeRequest(this.ctx)}: response from ${displayUrl(this.url)} exceeds the ${limit}-byte limit (${why})`,
      { details: { ...contextDetails(this.ctx, this.url), limit } },
    );
  }
}

const CERTIFICATE_CODES = new Set([
  'UNABLE_TO_VERIFY_LEAF_SIGNATURE',
  'UNABLE_TO_GET_ISSUER_CERT',
  'UNABLE_TO_GET_ISSUER_CERT_LOCALLY',
  'SELF_SIGNED_CERT_IN_CHAIN',
  'DEPTH_ZERO_SELF_SIGNED_CERT',
  'CERT_HAS_EXPIRED',
  'CERT_NOT_YET_VALID',
  'CERT_UNTRUSTED',
  'CERT_REJECTED',
  'ERR_TLS_CERT_ALTNAME_INVALID',
]);
const MISMATCH_CODES = new Set(['ERR_SSL_WRONG_VERSION_NUMBER', 'ERR_SSL_PACKET_LENGTH_TOO_LONG', 'EPROTO']);
const DROPPED_CODES = new Set(['ECONNRESET', 'EPIPE', 'ECONNABORTED', 'UND_ERR_SOCKET']);

/** Turns what undici or the socket threw into an ImgverifyError (or rethrows a caller's abort). */
function mapNetworkError(err: unknown, ctx: RequestContext, url: URL, deadline: AbortSignal, timeoutMs: number, signal: AbortSignal, proxy?: URL): unknown {
  if (err instanceof ImgverifyError) return err;
  const where = `${describeRequest(ctx)}: GET ${displayUrl(url)}${proxy ? ` via proxy ${displayProxy(proxy)}` : ''}`;
  const details = contextDetails(ctx, url);
  const code = errorCode(err);
  if (deadline.aborted || code === 'UND_ERR_HEADERS_TIMEOUT' || code === 'UND_ERR_BODY_TIMEOUT') {
    return new ImgverifyError('REGISTRY_TIMEOUT', `${where}: no complete answer within ${timeoutMs} ms`, {
      cause: err,
      details: { ...details, timeoutMs },
    });
  }
  // The caller aborted: that is not a registry failure, so the caller's reason goes through.
  if (signal.aborted) return signal.reason;

  const mapped = (errCode: 'REGISTRY_UNREACHABLE' | 'REGISTRY_TIMEOUT' | 'REGISTRY_ERROR', why: string) =>
    new ImgverifyError(errCode, `${where}: ${why}`, { cause: err, details: { ...details, cause: code, ...(proxy ? { proxy: displayProxy(proxy) } : {}) } });
  const proxyStatus =
    proxy !== undefined ? /Proxy (?:response \((\d{3})\)|Authentication Required \((407)\))/.exec(err instanceof Error ? err.message : '') : null;
  if (proxy !== undefined && proxyStatus) {
    const status = proxyStatus[1] ?? proxyStatus[2];
    const hint =
      status !== '407'
        ? ''
        : proxy.username !== '' || proxy.password !== ''
          ? ': the proxy did not accept the user:password given in the proxy URL'
          : ': proxy authentication required (give user:password in the proxy URL)';
    return mapped('REGISTRY_UNREACHABLE', `the proxy refused to connect to ${url.host} (HTTP ${status})${hint}`);
  }
  if (proxy !== undefined && (code === 'ECONNREFUSED' || code === 'ENOTFOUND' || code === 'EAI_AGAIN') && isProxyAddress(err, proxy)) {
    return mapped('REGISTRY_UNREACHABLE', `cannot reach the proxy (${code})`);
  }
  if (code === 'ECONNREFUSED') return mapped('REGISTRY_UNREACHABLE', 'connection refused');
  if (code === 'ENOTFOUND' || code === 'EAI_AGAIN' || code === 'EAI_NONAME') {
    return mapped('REGISTRY_UNREACHABLE', `host name ${url.hostname} not found (DNS ${code})`);
  }
  if (code === 'UND_ERR_CONNECT_TIMEOUT' || code === 'ETIMEDOUT') return mapped('REGISTRY_TIMEOUT', 'connection timed out');
  if (code !== undefined && CERTIFICATE_CODES.has(code)) {
    return mapped(
      'REGISTRY_UNREACHABLE',
      `TLS certificate of ${url.host} not accepted (${code}); if the registry uses a private CA, pass it with the ca option`,
    );
  }
  const alert =
    code !== undefined ? /ALERT_(BAD_CERTIFICATE|CERTIFICATE_REQUIRED|CERTIFICATE_UNKNOWN|UNKNOWN_CA|HANDSHAKE_FAILURE|ACCESS_DENIED)/.exec(code) : null;
  if (alert) {
    return mapped(
      'REGISTRY_UNREACHABLE',
      `${url.host} refused the TLS handshake (alert ${alert[1]!.toLowerCase().replaceAll('_', ' ')}): it may require a TLS client ` +
        'certificate (clientCertificates, --registry-client-cert/--registry-client-key), or refuse the one presented',
    );
  }
  if (code !== undefined && MISMATCH_CODES.has(code)) {
    const e = mapped('REGISTRY_UNREACHABLE', `TLS handshake failed (${code}); the server may not speak TLS`);
    tlsMismatch.add(e);
    return e;
  }
  if (code !== undefined && DROPPED_CODES.has(code)) {
    const e = mapped('REGISTRY_UNREACHABLE', `connection dropped (${code})`);
    retryable.add(e);
    if (url.protocol === 'https:') tlsMismatch.add(e);
    return e;
  }
  if (code === 'UND_ERR_DESTROYED' || code === 'UND_ERR_CLOSED') {
    return mapped('REGISTRY_ERROR', 'the registry client was closed');
  }
  // A bug (ours or the HTTP stack's), not the network: never said to be the registry's fault.
  if (isProgrammingError(err, code)) {
    return new ImgverifyError('INTERNAL_ERROR', `${where}: unexpected error in the HTTP stack: ${errorMessage(err)}`, { cause: err, details });
  }
  const message = err instanceof Error ? sanitise(err.message) : 'unknown error';
  return mapped('REGISTRY_UNREACHABLE', `request failed (${code ?? 'no code'}: ${message})`);
}

/** Codes of errors about how the HTTP stack was called (arguments), not about the network. */
const MISUSE_CODES = new Set(['UND_ERR_INVALID_ARG', 'UND_ERR_INVALID_RETURN_VALUE', 'UND_ERR_NOT_SUPPORTED', 'ERR_INVALID_ARG_TYPE', 'ERR_INVALID_ARG_VALUE']);

/**
 * A TypeError, RangeError, ReferenceError or SyntaxError (JavaScript's errors of programs,
 * which network failures never are: they are plain Errors with a system or undici code), or
 * an error about the arguments, or something thrown that is not an Error at all.
 */
function isProgrammingError(err: unknown, code: string | undefined): boolean {
  if (code !== undefined && MISUSE_CODES.has(code)) return true;
  // By tag and name, not instanceof: Node's own errors may come from another realm (a vm context).
  if (typeof err !== 'object' || err === null || Object.prototype.toString.call(err) !== '[object Error]') return true;
  return PROGRAM_ERRORS.has((err as { name?: unknown }).name);
}

const PROGRAM_ERRORS: ReadonlySet<unknown> = new Set(['TypeError', 'RangeError', 'ReferenceError', 'SyntaxError']);

function errorCode(err: unknown): string | undefined {
  for (let e = err, depth = 0; typeof e === 'object' && e !== null && depth < 4; depth++) {
    const code = (e as { code?: unknown }).code;
    if (typeof code === 'string') return code;
    e = (e as { cause?: unknown }).cause;
  }
  return undefined;
}

/** Whether a connect error is about the proxy's own address (undici reports the host it dialled). */
function isProxyAddress(err: unknown, proxy: URL): boolean {
  for (let e = err, depth = 0; typeof e === 'object' && e !== null && depth < 4; depth++) {
    const { hostname, port, address } = e as { hostname?: unknown; port?: unknown; address?: unknown };
    if (
      hostname === proxy.hostname ||
      (address !== undefined &&
        (typeof port === 'number' || typeof port === 'string') &&
        String(port) === (proxy.port || (proxy.protocol === 'https:' ? '443' : '80')))
    )
      return true;
    e = (e as { cause?: unknown }).cause;
  }
  return false;
}
