/**
 * The one invariant every fuzz target checks: a parser of untrusted input returns a value or
 * throws an ImgverifyError with a known code. Anything else escaping (a TypeError, a
 * RangeError, a plain Error from a dependency, a string) is a finding; so is INTERNAL_ERROR,
 * which by definition is a bug. Hangs and memory are bounded by the fuzzer's options
 * (`-timeout`, `-rss_limit_mb`, see fuzz/run.ts).
 */
import { ERROR_CODES, ImgverifyError } from '../src/errors';
import { errorMessage } from '../src/util/describe';

/** A finding: what escaped, kept as the cause so the fuzzer prints its stack. */
export class InvariantViolation extends Error {
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'InvariantViolation';
  }
}

/** Throws InvariantViolation unless `err` is an ImgverifyError with a known, non-internal code. */
export function assertTyped(err: unknown, what: string): void {
  if (err instanceof ImgverifyError && Object.hasOwn(ERROR_CODES, err.code) && err.code !== 'INTERNAL_ERROR') {
    if (typeof err.message !== 'string' || err.message.length === 0)
      throw new InvariantViolation(`${what}: ImgverifyError ${err.code} without a message`, { cause: err });
    return;
  }
  const shown = err instanceof Error ? `${err.name}: ${err.message}` : `non-Error: ${errorMessage(err)}`;
  throw new InvariantViolation(`${what}: threw something other than a typed ImgverifyError: ${shown}`, { cause: err });
}

/** Runs `fn`; a typed failure is an answer, anything else is rethrown as a finding. */
export function typed<T>(what: string, fn: () => T): T | undefined {
  try {
    return fn();
  } catch (err) {
    assertTyped(err, what);
    return undefined;
  }
}
