/**
 * Turns caller input (a string or the bytes of a file) into text, refusing oversized input
 * before any parsing work and invalid UTF-8 with the line it is on.
 */
import { ImgverifyError } from '../errors';

/** Larger than any real release SBOM (the 1.4 MB bom-nginx.spdx lists 1185 packages). */
export const DEFAULT_MAX_SBOM_BYTES = 64 * 1024 * 1024;

export interface SbomInputOptions {
  /** Refuse documents larger than this many bytes (UTF-8). Default 64 MiB. */
  maxBytes?: number | undefined;
}

export function resolveMaxBytes(opts: SbomInputOptions | undefined): number {
  const max = opts?.maxBytes ?? DEFAULT_MAX_SBOM_BYTES;
  if (!Number.isSafeInteger(max) || max <= 0) {
    throw new ImgverifyError('INVALID_OPTIONS', `maxBytes must be a positive integer, got ${String(max)}`, {
      details: { maxBytes: max },
    });
  }
  return max;
}

function tooLarge(size: number, limit: number): ImgverifyError {
  return new ImgverifyError('SBOM_INVALID', `SBOM is ${size} bytes, larger than the ${limit}-byte limit`, {
    details: { size, limit },
  });
}

/** Decodes the input as UTF-8 (without BOM) after checking its size. */
export function decodeSbomInput(input: string | Uint8Array, maxBytes: number): string {
  if (typeof input === 'string') {
    // A UTF-16 code unit is at least one UTF-8 byte: a long string is refused without encoding it.
    if (input.length > maxBytes) throw tooLarge(input.length, maxBytes);
    const size = Buffer.byteLength(input, 'utf8');
    if (size > maxBytes) throw tooLarge(size, maxBytes);
    return input.charCodeAt(0) === 0xfeff ? input.slice(1) : input;
  }
  if (!(input instanceof Uint8Array)) {
    throw new ImgverifyError('INVALID_OPTIONS', 'an SBOM must be given as a string or a Buffer');
  }
  if (input.byteLength > maxBytes) throw tooLarge(input.byteLength, maxBytes);
  try {
    // TextDecoder drops a leading BOM by default.
    return new TextDecoder('utf-8', { fatal: true }).decode(input);
  } catch {
    const line = firstInvalidUtf8Line(input);
    throw new ImgverifyError('SBOM_INVALID', `SBOM is not valid UTF-8 (line ${line})`, { details: { line } });
  }
}

/** The 1-based line holding the first invalid UTF-8 sequence (UTF-8 never splits a '\n' byte). */
function firstInvalidUtf8Line(bytes: Uint8Array): number {
  const decoder = new TextDecoder('utf-8', { fatal: true });
  let start = 0;
  for (let line = 1; ; line++) {
    const nl = bytes.indexOf(0x0a, start);
    const end = nl === -1 ? bytes.length : nl;
    try {
      decoder.decode(bytes.subarray(start, end));
    } catch {
      return line;
    }
    if (nl === -1) return line;
    start = nl + 1;
  }
}
