/**
 * Local input files (trust roots, keys, CA and certificate PEM, policies) read with a bound:
 * only regular files (a FIFO blocked the reader forever, a device such as /dev/zero fed it 5 GB
 * in 8 s), opened without blocking, and read in chunks up to the bound, refusing the file as
 * soon as it has more (its size as stat reports it is not trusted: /proc files say 0, and a
 * file may grow while it is read). Symbolic links are followed (a mounted Secret is a link).
 */
import { closeSync, constants, fstatSync, openSync, readSync, type Stats } from 'node:fs';
import { open } from 'node:fs/promises';

/** PEM files (keys, certificates, CA bundles): far more than any real one. */
export const MAX_PEM_FILE_BYTES = 1024 * 1024;

/** Why a file was not read (`message` says why, without the path: the caller names the file). */
export class BoundedFileError extends Error {
  override name = 'BoundedFileError';
}

// O_NONBLOCK: opening a FIFO must not wait for a writer (it is refused right after). Windows has neither flag.
const FLAGS = constants.O_RDONLY | (constants.O_NONBLOCK ?? 0) | (constants.O_NOCTTY ?? 0);
const CHUNK = 64 * 1024;

function kind(stats: Stats): string {
  if (stats.isDirectory()) return 'a directory';
  if (stats.isFIFO()) return 'a FIFO (named pipe)';
  if (stats.isCharacterDevice()) return 'a character device';
  if (stats.isBlockDevice()) return 'a block device';
  if (stats.isSocket()) return 'a socket';
  return 'not a regular file';
}

function notRegular(stats: Stats): BoundedFileError {
  return new BoundedFileError(`not a regular file (${kind(stats)}): refused`);
}

function tooLarge(maxBytes: number): BoundedFileError {
  return new BoundedFileError(`larger than ${maxBytes} bytes: refused`);
}

/**
 * The reading, written once for both callers: checks the file's stats, then yields each buffer
 * to fill and receives how many bytes were read into it (0 at the end); returns the content.
 */
function* boundedRead(stats: Stats, maxBytes: number): Generator<Buffer, Buffer, number> {
  if (!stats.isFile()) throw notRegular(stats);
  if (stats.size > maxBytes) throw tooLarge(maxBytes);
  const chunks: Buffer[] = [];
  let total = 0;
  for (;;) {
    const chunk = Buffer.allocUnsafe(Math.min(CHUNK, maxBytes + 1 - total));
    const n = yield chunk;
    if (n === 0) return Buffer.concat(chunks, total);
    total += n;
    if (total > maxBytes) throw tooLarge(maxBytes);
    chunks.push(chunk.subarray(0, n));
  }
}

/** The bytes of a regular file of at most `maxBytes`; throws BoundedFileError, or the system's error (ENOENT...). */
export function readBoundedFileSync(path: string, maxBytes: number): Buffer {
  const fd = openSync(path, FLAGS);
  try {
    const reading = boundedRead(fstatSync(fd), maxBytes);
    for (let step = reading.next(); ;) {
      if (step.done) return step.value;
      step = reading.next(readSync(fd, step.value, 0, step.value.length, null));
    }
  } finally {
    closeSync(fd);
  }
}

/** As readBoundedFileSync, without blocking the event loop. */
export async function readBoundedFile(path: string, maxBytes: number): Promise<Buffer> {
  const handle = await open(path, FLAGS);
  try {
    const reading = boundedRead(await handle.stat(), maxBytes);
    for (let step = reading.next(); ;) {
      if (step.done) return step.value;
      step = reading.next((await handle.read(step.value, 0, step.value.length, null)).bytesRead);
    }
  } finally {
    await handle.close();
  }
}
