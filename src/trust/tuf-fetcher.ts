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
import { ImgverifyError } from '../errors';
import type { WebClient } from '../net/web-client';
import type { Fetcher } from 'tuf-js';
// tuf-js ends its walk of N.root.json at a 403/404 only when the fetcher throws its own
// DownloadHTTPError (not exported from its entry point).
import { DownloadHTTPError } from 'tuf-js/dist/error';
import { errorMessage } from '../util/describe';

type FetcherHandler<T> = (file: string) => Promise<T>;

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
class WireError extends DownloadHTTPError {
  constructor(
    readonly failure: WireFailure,
    statusCode: number,
  ) {
    super(failure.message, statusCode);
    this.name = 'WireError';
  }
}

/**
 * The HTTP(S) mirror, over the project's HTTP stack (net/web-client.ts): the proxies of the
 * environment (HTTPS_PROXY, NO_PROXY), Node's CAs plus the ones given, redirects re-checked
 * (https, or http on loopback), one timeout per file, bodies bounded by what the TUF metadata
 * allows. `close()` releases its connections.
 */
export class MirrorFetcher extends BytesFetcher {
  private readonly web: WebClient;

  constructor(scratchDir: string, timeoutMs: number, userAgent: string) {
    super(scratchDir);
    // Loaded with the first update (start-up cost: the HTTP stack is not needed to read a cache).
    // eslint-disable-next-line @typescript-eslint/no-require-imports -- loaded when first needed
    this.web = new (require('../net/web-client') as typeof import('../net/web-client')).WebClient({ timeoutMs, userAgent });
  }

  protected async get(url: string, maxLength: number): Promise<Buffer> {
    try {
      return await this.web.get(url, { what: 'a TUF file', maxBytes: maxLength });
    } catch (err) {
      if (err instanceof ImgverifyError && err.code === 'SIZE_LIMIT_EXCEEDED') {
        // Bad data, not a wire failure: the length limit is TUF's (what the signed metadata allows).
        throw new LengthError(`${url} is larger than the ${maxLength} bytes the TUF metadata allows`);
      }
      const status = err instanceof ImgverifyError && typeof err.details?.status === 'number' ? err.details.status : 0;
      const kind = status === 403 || status === 404 ? 'missing' : 'unreachable';
      return this.fail({ url, kind, message: errorMessage(err) }, status);
    }
  }

  close(): Promise<void> {
    return this.web.close();
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
