/**
 * A file or an https URL, read with a size bound: what `--signature`, `--certificate` and
 * `--bundle` take (cosign reads them from either), and `initialize --root`. Files are read from
 * disk (regular files only, bounded while reading: ../util/bounded-file.ts); URLs through the
 * web client (https, or http on loopback; redirects followed; FETCH_FAILED when unreachable).
 */
import { ImgverifyError } from '../errors';
import { readBoundedFile } from '../util/bounded-file';
import { errorMessage } from '../util/describe';
import { WebClient } from './web-client';

export interface ReadFileOrUrlOptions {
  /** What is read, for messages (`--signature`). */
  readonly what: string;
  readonly maxBytes: number;
  /** For URLs: the deadline of the request, ms (default 30 s). */
  readonly timeoutMs?: number | undefined;
  readonly signal?: AbortSignal | undefined;
}

function isHttpUrl(source: string): boolean {
  return /^https?:\/\//i.test(source);
}

/**
 * Reads a local file or fetches an https URL (verify-blob's --signature, --certificate, --bundle),
 * size- and time-bounded. A missing or unreadable file is INVALID_OPTIONS (a usage error).
 */
export async function readFileOrUrl(source: string, options: ReadFileOrUrlOptions): Promise<Buffer> {
  if (isHttpUrl(source)) {
    const web = new WebClient(options.timeoutMs !== undefined ? { timeoutMs: options.timeoutMs } : {});
    try {
      return await web.get(source, { what: options.what, maxBytes: options.maxBytes, ...(options.signal ? { signal: options.signal } : {}) });
    } finally {
      await web.close();
    }
  }
  try {
    return await readBoundedFile(source, options.maxBytes);
  } catch (err) {
    throw new ImgverifyError('INVALID_OPTIONS', `${options.what}: cannot read ${source}: ${errorMessage(err)}`, { cause: err });
  }
}
