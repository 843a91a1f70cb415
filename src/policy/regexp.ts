/**
 * Regular expressions in policies follow cosign: Go's RE2 syntax, matched as a search
 * (unanchored, like Go's `regexp.MatchString`). re2js runs in linear time, so a pattern
 * from an untrusted policy file cannot cause catastrophic backtracking.
 */
import type { RE2JS } from 're2js';
import { ImgverifyError } from '../errors';
import { errorMessage } from '../util/describe';

export interface CompiledRegExp {
  readonly source: string;
  /** Unanchored, like Go's `MatchString`; callable detached from the object. */
  readonly test: (value: string) => boolean;
}

export function compileRegExp(pattern: string, what: string): CompiledRegExp {
  if (typeof pattern !== 'string' || pattern.length === 0) {
    throw new ImgverifyError('INVALID_POLICY', `${what}: empty regular expression`);
  }
  let re: RE2JS;
  try {
    // Loaded with the first regexp policy (a single large module: start-up cost otherwise).
    // eslint-disable-next-line @typescript-eslint/no-require-imports -- loaded when first needed
    re = (require('re2js') as typeof import('re2js')).RE2JS.compile(pattern);
  } catch (err) {
    throw new ImgverifyError('INVALID_POLICY', `${what}: invalid RE2 regular expression ${JSON.stringify(pattern)}: ${errorMessage(err)}`, {
      cause: err,
      details: { pattern },
    });
  }
  return Object.freeze({ source: pattern, test: (value: string) => re.matcher(value).find() });
}
