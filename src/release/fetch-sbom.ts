/**
 * Reads an SBOM from a file or an https URL. Plain http only for loopback hosts (a local
 * mirror). The body is bounded in size and time; there is no digest to check it against, so
 * the images it lists are only as trustworthy as their own signatures, which is what gets verified.
 */
import { readFile } from 'node:fs/promises';
import { request } from 'undici';
import { ImgverifyError } from '../errors';
import { isLoopbackRegistry } from '../reference';
import { DEFAULT_MAX_SBOM_BYTES } from '../sbom';

export interface FetchSbomOptions {
  readonly timeoutMs?: number;
  readonly maxBytes?: number;
}

function failed(source: string, why: string, cause?: unknown): ImgverifyError {
  return new ImgverifyError('FETCH_FAILED', `cannot fetch SBOM ${source}: ${why}`, { cause, details: { source } });
}

export function isUrl(source: string): boolean {
  return /^https?:\/\//i.test(source);
}

export async function readSbom(source: string, options: FetchSbomOptions = {}): Promise<Buffer> {
  const maxBytes = options.maxBytes ?? DEFAULT_MAX_SBOM_BYTES;
  if (!isUrl(source)) {
    try {
      return await readFile(source);
    } catch (err) {
      throw new ImgverifyError('SBOM_INVALID', `cannot read SBOM file ${source}: ${(err as Error).message}`, { cause: err });
    }
  }
  const url = new URL(source);
  if (url.protocol === 'http:' && !isLoopbackRegistry(url.host)) {
    throw new ImgverifyError('SBOM_INVALID', `refusing to fetch SBOM over plain http from ${url.host}: use https`);
  }
  const timeoutMs = options.timeoutMs ?? 60_000;
  try {
    // undici's request() does not follow redirects: they are followed below, re-checking the scheme.
    const res = await request(url, { method: 'GET', signal: AbortSignal.timeout(timeoutMs), headers: { accept: '*/*' } });
    if (res.statusCode >= 300 && res.statusCode < 400 && typeof res.headers.location === 'string') {
      await res.body.dump();
      const next = new URL(res.headers.location, url);
      if (next.protocol !== 'https:' && !(next.protocol === 'http:' && isLoopbackRegistry(next.host))) {
        throw failed(source, `redirected to a non-https location ${next.href}`);
      }
      return await readSbom(next.href, options);
    }
    if (res.statusCode !== 200) {
      await res.body.dump();
      throw failed(source, `HTTP ${res.statusCode}`);
    }
    const chunks: Buffer[] = [];
    let size = 0;
    for await (const chunk of res.body) {
      size += (chunk as Buffer).length;
      if (size > maxBytes) {
        res.body.destroy();
        throw new ImgverifyError('SBOM_INVALID', `SBOM ${source} is larger than ${maxBytes} bytes`);
      }
      chunks.push(chunk as Buffer);
    }
    return Buffer.concat(chunks);
  } catch (err) {
    if (err instanceof ImgverifyError) throw err;
    const name = (err as Error).name;
    throw failed(source, name === 'TimeoutError' || name === 'AbortError' ? `no answer within ${timeoutMs} ms` : (err as Error).message, err);
  }
}
