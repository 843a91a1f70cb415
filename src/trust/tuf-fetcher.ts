/**
 * How `tuf-js` gets bytes: from a mirror over HTTP(S), or from the files of a TUF repository
 * held in memory (policy-controller's `repository.mirrorFS`), or not at all (`--offline`).
 * Transport only: every TUF rule (signatures, thresholds, versions, expiry, hashes, lengths)
 * is `tuf-js`'s. Sizes are bounded by the limits `tuf-js` passes; a request has a timeout.
 *
 * The fetcher records what went wrong on the wire, so that a failed update can be told apart:
 * a mirror that did not answer (operational) from one that answered with bad data.
 */
import { randomBytes } from 'node:crypto';
import { mkdir, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { Fetcher } from 'tuf-js';
// tuf-js ends its walk of N.root.json at a 403/404 only when the fetcher throws its own
// DownloadHTTPError (not exported from its entry point).
import { DownloadHTTPError } from 'tuf-js/dist/error';

export type FetcherHandler<T> = (file: string) => Promise<T>;

/** Why a fetch failed before any byte could be judged. */
export interface WireFailure {
  readonly url: string;
  /** `offline`: refused by --offline; `unreachable`: no answer (connection, timeout, 5xx); `missing`: 403/404. */
  readonly kind: 'offline' | 'unreachable' | 'missing';
  readonly message: string;
}

/** A `tuf-js` Fetcher over a function that returns a file's bytes (at most `maxLength`). */
abstract class BytesFetcher implements Fetcher {
  /** Wire failures of this update, in order (a 404 for the next `N.root.json` is normal and not kept). */
  readonly failures: WireFailure[] = [];

  constructor(private readonly scratchDir: string) {}

  protected abstract get(url: string, maxLength: number): Promise<Buffer>;

  async downloadBytes(url: string, maxLength: number): Promise<Buffer> {
    return this.get(url, maxLength);
  }

  /** Targets: written to a scratch file for `tuf-js` to verify and copy (its own default uses os.tmpdir()). */
  async downloadFile<T>(url: string, maxLength: number, handler: FetcherHandler<T>): Promise<T> {
    const bytes = await this.get(url, maxLength);
    await mkdir(this.scratchDir, { recursive: true });
    const file = join(this.scratchDir, `download-${randomBytes(8).toString('hex')}`);
    await writeFile(file, bytes);
    try {
      return await handler(file);
    } finally {
      await rm(file, { force: true });
    }
  }

  protected fail(failure: WireFailure, statusCode = 0): never {
    // tuf-js walks N.root.json until a 403/404: that one is the end of the walk, not a failure.
    if (!(failure.kind === 'missing' && /\/\d+\.root\.json$/.test(failure.url))) this.failures.push(failure);
    throw new WireError(failure, statusCode);
  }
}

/** An error from the wire; its `statusCode` (0 when there was no HTTP answer) lets tuf-js end the root walk at 403/404. */
export class WireError extends DownloadHTTPError {
  constructor(
    readonly failure: WireFailure,
    statusCode: number,
  ) {
    super(failure.message, statusCode);
    this.name = 'WireError';
  }
}

/** The HTTP(S) mirror. */
export class MirrorFetcher extends BytesFetcher {
  constructor(
    scratchDir: string,
    private readonly timeoutMs: number,
    private readonly userAgent: string,
  ) {
    super(scratchDir);
  }

  protected async get(url: string, maxLength: number): Promise<Buffer> {
    let response: Response;
    try {
      response = await fetch(url, { headers: { 'user-agent': this.userAgent }, signal: AbortSignal.timeout(this.timeoutMs), redirect: 'follow' });
    } catch (err) {
      const cause = (err as { cause?: { code?: string; message?: string } }).cause;
      const why = (err as Error).name === 'TimeoutError' ? `no answer within ${this.timeoutMs} ms` : (cause?.code ?? cause?.message ?? (err as Error).message);
      return this.fail({ url, kind: 'unreachable', message: `cannot fetch ${url}: ${why}` });
    }
    if (!response.ok || !response.body) {
      await response.body?.cancel().catch(() => undefined);
      const kind = response.status === 403 || response.status === 404 ? 'missing' : 'unreachable';
      this.fail({ url, kind, message: `${url} answered HTTP ${response.status}` }, response.status);
    }
    const chunks: Buffer[] = [];
    let size = 0;
    const body = response.body as unknown as AsyncIterable<Uint8Array>;
    try {
      for await (const value of body) {
        size += value.byteLength;
        // Bad data, not a wire failure: the length limit is TUF's (what the signed metadata allows).
        if (size > maxLength) throw new LengthError(`${url} is larger than the ${maxLength} bytes the TUF metadata allows`);
        chunks.push(Buffer.from(value));
      }
    } catch (err) {
      if (err instanceof LengthError) {
        await response.body.cancel().catch(() => undefined);
        throw err;
      }
      return this.fail({ url, kind: 'unreachable', message: `reading ${url} failed: ${(err as Error).message}` });
    }
    return Buffer.concat(chunks);
  }
}

/** More bytes than the signed metadata allow (a mirror serving garbage or an endless stream). */
export class LengthError extends Error {
  override name = 'LengthError';
}

/** `--offline`: every request is refused. */
export class OfflineFetcher extends BytesFetcher {
  protected get(url: string): Promise<Buffer> {
    return Promise.resolve(this.fail({ url, kind: 'offline', message: `not fetching ${url}: offline` }));
  }
}

/** The files of a TUF repository held in memory, by URL. No network. */
export class MemoryFetcher extends BytesFetcher {
  constructor(
    scratchDir: string,
    private readonly files: ReadonlyMap<string, Buffer>,
  ) {
    super(scratchDir);
  }

  protected get(url: string, maxLength: number): Promise<Buffer> {
    const bytes = this.files.get(url);
    if (!bytes) return Promise.resolve(this.fail({ url, kind: 'missing', message: `the repository has no ${url}` }, 404));
    if (bytes.length > maxLength) throw new LengthError(`${url} is larger than the ${maxLength} bytes the TUF metadata allows`);
    return Promise.resolve(bytes);
  }
}
