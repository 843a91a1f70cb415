/**
 * Reads an SBOM from a file or an https URL. Plain http only for loopback hosts (a local
 * mirror). There is no digest to check an SBOM against, so the images it lists are only as
 * trustworthy as their own signatures, which is what gets verified; the SBOM itself is
 * treated as hostile input:
 *
 * - a URL is fetched through the same HTTP stack as the registries (proxies, CAs), with at
 *   most 10 redirects, each re-checked for its scheme, and ONE deadline for the whole fetch
 *   (every hop, headers and body); no credentials are ever sent;
 * - the size bound is enforced while reading, for URLs and files alike: a file that is a
 *   FIFO, a character device (`/dev/zero`) or grows while read cannot hang the reader or grow
 *   its memory beyond the bound (a FIFO without a writer reads as empty; the deadline bounds
 *   a writer that never finishes).
 */
import { close, constants, createReadStream, fstat, open, read, type ReadStream } from 'node:fs';
import { promisify } from 'node:util';
import { Socket } from 'node:net';
import { ImgverifyError } from '../errors';
import { isLoopbackRegistry } from '../reference';
import { HttpStack } from '../registry';
import { DEFAULT_MAX_SBOM_BYTES } from '../sbom';
import { errorMessage } from '../util/describe';
import { urlForMessages } from '../util/url-text';

const openFd = promisify(open);
const fstatFd = promisify(fstat);
const closeFd = promisify(close);
const readFd = promisify(read);

/** Redirects followed for one SBOM URL (as curl's and Go's defaults are in this range). */
const MAX_SBOM_REDIRECTS = 10;
const DEFAULT_TIMEOUT_MS = 60_000;

export interface FetchSbomOptions {
  /** Deadline for the whole read (every redirect, headers and body). Default 60 s. */
  readonly timeoutMs?: number | undefined;
  /** Largest SBOM accepted. Default 64 MiB. */
  readonly maxBytes?: number | undefined;
  /** The HTTP stack to fetch URLs with (shared with the registry client); default: a new one (proxies from the environment). */
  readonly httpStack?: HttpStack | undefined;
  readonly signal?: AbortSignal | undefined;
}

// Messages name a URL without its query: a signed URL's token is a secret.
function failed(source: string, why: string, cause?: unknown): ImgverifyError {
  const shown = urlForMessages(source);
  return new ImgverifyError('FETCH_FAILED', `cannot fetch SBOM ${shown}: ${why}`, { cause, details: { source: shown } });
}

function tooLarge(source: string, maxBytes: number): ImgverifyError {
  const shown = urlForMessages(source);
  return new ImgverifyError('SBOM_INVALID', `SBOM ${shown} is larger than ${maxBytes} bytes`, { details: { source: shown, limit: maxBytes } });
}

function isUrl(source: string): boolean {
  return /^https?:\/\//i.test(source);
}

/** An SBOM from a file or an https URL: at most 10 redirects, one deadline for the whole read, the size bound enforced while reading. */
export async function readSbom(source: string, options: FetchSbomOptions = {}): Promise<Buffer> {
  const maxBytes = options.maxBytes ?? DEFAULT_MAX_SBOM_BYTES;
  const timeoutMs = options.timeoutMs ?? DEFAULT_TIMEOUT_MS;
  const deadline = AbortSignal.timeout(timeoutMs);
  const signal = options.signal ? AbortSignal.any([options.signal, deadline]) : deadline;
  if (!isUrl(source)) return readSbomFile(source, maxBytes, signal, deadline, timeoutMs);
  const stack = options.httpStack ?? new HttpStack();
  try {
    return await fetchSbomUrl(source, stack, maxBytes, signal, deadline, timeoutMs);
  } finally {
    if (options.httpStack === undefined) await stack.close();
  }
}

/**
 * https, or plain http on loopback for a URL the user gave; a redirect may go to plain http on
 * loopback only from a loopback URL the user gave (a remote host may not send the fetch to the
 * machine's own plain-http services).
 */
function checkScheme(url: URL, source: string, redirected: boolean): void {
  const loopbackAllowed = isLoopbackRegistry(url.host) && (!redirected || isLoopbackRegistry(new URL(source).host));
  if (url.protocol === 'https:' || (url.protocol === 'http:' && loopbackAllowed)) return;
  if (!redirected && url.protocol === 'http:') {
    throw new ImgverifyError('SBOM_INVALID', `refusing to fetch SBOM over plain http from ${url.host}: use https`);
  }
  throw failed(source, `redirected to a non-https location ${url.protocol}//${url.host}${url.pathname}`);
}

async function fetchSbomUrl(
  source: string,
  stack: HttpStack,
  maxBytes: number,
  signal: AbortSignal,
  deadline: AbortSignal,
  timeoutMs: number,
): Promise<Buffer> {
  let url = new URL(source);
  if (url.username !== '' || url.password !== '') throw new ImgverifyError('SBOM_INVALID', 'an SBOM URL must not carry user:password@');
  try {
    for (let hop = 0; ; hop++) {
      checkScheme(url, source, hop > 0);
      const { dispatcher } = stack.route(url);
      const res = await dispatcher.request({
        origin: url.origin,
        path: `${url.pathname}${url.search}`,
        method: 'GET',
        headers: { accept: '*/*', 'user-agent': 'imgverify' },
        signal,
        headersTimeout: timeoutMs,
        bodyTimeout: timeoutMs,
      });
      res.body.on('error', () => undefined);
      if (res.statusCode >= 300 && res.statusCode < 400 && res.headers.location !== undefined) {
        res.body.destroy();
        if (hop >= MAX_SBOM_REDIRECTS) throw failed(source, `more than ${MAX_SBOM_REDIRECTS} redirects`);
        const location = String(res.headers.location);
        if (!URL.canParse(location, url.href)) throw failed(source, `HTTP ${res.statusCode} with an invalid Location`);
        url = new URL(location, url);
        if (url.username !== '' || url.password !== '') throw failed(source, 'redirected to a URL with user info');
        continue;
      }
      if (res.statusCode !== 200) {
        res.body.destroy();
        throw failed(source, `HTTP ${res.statusCode}`);
      }
      const declared = Number(res.headers['content-length']);
      if (Number.isFinite(declared) && declared > maxBytes) {
        res.body.destroy();
        throw tooLarge(source, maxBytes);
      }
      return await readBounded(res.body, maxBytes, source);
    }
  } catch (err) {
    const code = (err as { code?: unknown } | undefined)?.code;
    // undici's own header/body timers are set to the same bound and may fire first.
    if (deadline.aborted || code === 'UND_ERR_HEADERS_TIMEOUT' || code === 'UND_ERR_BODY_TIMEOUT') {
      throw failed(source, `no complete answer within ${timeoutMs} ms (redirects included)`, err);
    }
    if (err instanceof ImgverifyError) throw err;
    if (signal.aborted) throw signal.reason;
    throw failed(source, errorMessage(err), err);
  }
}

/** Reads at most `maxBytes` from a stream, then stops it (SIZE_LIMIT_EXCEEDED). */
async function readBounded(stream: AsyncIterable<Uint8Array> & { destroy(): unknown }, maxBytes: number, source: string): Promise<Buffer> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of stream) {
    size += chunk.byteLength;
    if (size > maxBytes) {
      stream.destroy();
      throw tooLarge(source, maxBytes);
    }
    chunks.push(Buffer.from(chunk));
  }
  return Buffer.concat(chunks, size);
}

/**
 * A local file, read with the size bound enforced while reading. Opened non-blocking: a
 * FIFO then opens at once even without a writer (and reads as empty), instead of blocking a
 * thread until one appears; pipes and sockets are read as non-blocking streams, so the
 * deadline can end the read.
 */
async function readSbomFile(path: string, maxBytes: number, signal: AbortSignal, deadline: AbortSignal, timeoutMs: number): Promise<Buffer> {
  const unreadable = (err: unknown) => new ImgverifyError('SBOM_INVALID', `cannot read SBOM file ${path}: ${errorMessage(err)}`, { cause: err });
  let fd: number;
  try {
    fd = await openFd(path, constants.O_RDONLY | constants.O_NONBLOCK | constants.O_NOCTTY);
  } catch (err) {
    throw unreadable(err);
  }
  // The stream created below owns the descriptor and closes it; until then, we do.
  let stream: ReadStream | Socket | undefined;
  try {
    const info = await fstatFd(fd);
    if (info.isDirectory()) throw unreadable(new Error('is a directory'));
    if (info.isFile() && info.size > maxBytes) throw tooLarge(path, maxBytes);
    let first = Buffer.alloc(0);
    if (info.isFIFO()) {
      // Linux never signals readability on a FIFO that has had no writer; one direct read
      // tells: 0 bytes is end of file (no writer: an empty SBOM), EAGAIN a writer to wait for.
      const probe = Buffer.alloc(64 * 1024);
      try {
        const { bytesRead } = await readFd(fd, probe, 0, probe.length, null);
        if (bytesRead === 0) return first;
        first = probe.subarray(0, bytesRead);
      } catch (err) {
        if ((err as NodeJS.ErrnoException).code !== 'EAGAIN') throw err;
      }
    }
    stream =
      info.isFIFO() || info.isSocket()
        ? new Socket({ fd, readable: true, writable: false })
        : createReadStream('', { fd, autoClose: true, highWaterMark: 1024 * 1024 });
    const reading = stream;
    const onAbort = (): void => void reading.destroy();
    signal.addEventListener('abort', onAbort, { once: true });
    try {
      const rest = await readBounded(reading, maxBytes - first.length, path);
      return first.length > 0 ? Buffer.concat([first, rest]) : rest;
    } catch (err) {
      if (err instanceof ImgverifyError && err.code === 'SIZE_LIMIT_EXCEEDED') throw tooLarge(path, maxBytes);
      throw err;
    } finally {
      signal.removeEventListener('abort', onAbort);
    }
  } catch (err) {
    if (deadline.aborted) {
      throw new ImgverifyError('FETCH_FAILED', `SBOM file ${path} was not read completely within ${timeoutMs} ms`, { cause: err, details: { source: path } });
    }
    if (signal.aborted) throw signal.reason;
    if (err instanceof ImgverifyError) throw err;
    throw unreadable(err);
  } finally {
    if (stream !== undefined) stream.destroy();
    else await closeFd(fd).catch(() => undefined);
  }
}
