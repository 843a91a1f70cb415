/**
 * The root.json a TUF cache starts from (`imgverify initialize`): the one the user gives (a
 * path, an http(s) URL or its bytes), else the one that ships in `@sigstore/tuf` for the
 * public-good mirror. tuf-js verifies its self-signatures and walks rotations forward from it;
 * here it is only read, bounded, and checked to be root metadata at all.
 */
import { ImgverifyError, type ErrorCode } from '../errors';
import { errorMessage } from '../util/describe';
import { lazy } from '../util/lazy';
import { PUBLIC_GOOD_TUF_MIRROR, publicGoodSeed } from './seeds';

// Loaded when a root is read (imgverify initialize --root), not with the root import (start-up cost, bench/startup.ts).
const netRead = lazy(() => {
  // eslint-disable-next-line @typescript-eslint/no-require-imports -- see above
  const { readFileOrUrl } = require('../net/read') as typeof import('../net/read');
  return { readFileOrUrl };
});

export { PUBLIC_GOOD_TUF_MIRROR };
const MAX_ROOT_BYTES = 512 * 1024;

function rootError(code: ErrorCode, message: string, root: string, cause?: unknown): ImgverifyError {
  return new ImgverifyError(code, message, { details: { root }, ...(cause !== undefined ? { cause } : {}) });
}

/** The root.json that ships in `@sigstore/tuf` for the public-good mirror. */
export function embeddedRoot(mirror: string): Buffer | undefined {
  return mirror === PUBLIC_GOOD_TUF_MIRROR ? publicGoodSeed().root : undefined;
}

/**
 * The bytes of a root given as bytes, an http(s) URL or a path: at most 512 KiB, a regular file
 * (bounded while read), or a URL fetched through imgverify's HTTP stack (https, or http on
 * loopback; proxies; the body bounded while read) within `timeoutMs`.
 */
export async function readInitialRoot(root: string | Buffer, timeoutMs: number): Promise<Buffer> {
  if (Buffer.isBuffer(root)) return root;
  try {
    return await netRead().readFileOrUrl(root, { what: 'the TUF root', maxBytes: MAX_ROOT_BYTES, timeoutMs });
  } catch (err) {
    const code = err instanceof ImgverifyError && err.code === 'FETCH_FAILED' ? 'TUF_MIRROR_UNREACHABLE' : 'TRUST_ROOT_INVALID';
    throw rootError(code, `cannot read the TUF root ${root}: ${errorMessage(err)}`, root, err);
  }
}

/** A root.json the user gave must at least be one (tuf-js checks its self-signatures). */
export function checkRootShape(bytes: Buffer, where: string): void {
  let json: unknown;
  try {
    json = JSON.parse(bytes.toString('utf8'));
  } catch (err) {
    throw rootError('TRUST_ROOT_INVALID', `the TUF root ${where} is not JSON: ${errorMessage(err)}`, where, err);
  }
  const signed = (json as { signed?: { _type?: unknown } } | null)?.signed;
  if (signed?._type !== 'root') throw rootError('TRUST_ROOT_INVALID', `the TUF root ${where} is not TUF root metadata (signed._type is not "root")`, where);
}
