/**
 * The ImgverifyError a call fails with, for tests that look at its code and message: anything
 * else (another error, or no failure at all) fails the test with what happened instead.
 */
import { ImgverifyError, type ErrorCode } from '../../src/errors';

/** The ImgverifyError `promise` rejects with; with `code`, it must have that code. */
export async function rejection(promise: Promise<unknown>, code?: ErrorCode): Promise<ImgverifyError> {
  let result: unknown;
  try {
    result = await promise;
  } catch (err) {
    return expected(err, code);
  }
  throw new Error(`expected ${code ?? 'an ImgverifyError'}, but it resolved to ${JSON.stringify(result)?.slice(0, 200)}`);
}

/** The ImgverifyError `fn` throws; with `code`, it must have that code. */
export function thrown(fn: () => unknown, code?: ErrorCode): ImgverifyError {
  try {
    fn();
  } catch (err) {
    return expected(err, code);
  }
  throw new Error(`expected ${code ?? 'an ImgverifyError'}, nothing was thrown`);
}

function expected(err: unknown, code: ErrorCode | undefined): ImgverifyError {
  if (!(err instanceof ImgverifyError)) throw err;
  if (code !== undefined && err.code !== code) throw new Error(`expected ${code}, got ${err.code}: ${err.message}`, { cause: err });
  return err;
}
