/**
 * Safe renderings of values for error messages.
 *
 * `String(value)` and template literals call a value's own `toString`/`valueOf`, which an object
 * parsed from hostile JSON or YAML can replace: `String(JSON.parse('{"toString":null}'))` throws a
 * TypeError, so a refusal would turn into a crash. They also print whole documents. These never
 * throw and bound what they print.
 */

import { types } from 'node:util';

const MAX_SHOWN = 80;

/** A short description of any value: `string "abc"`, `number 3`, `null`, `an object`, `an array`. */
export function describeValue(value: unknown): string {
  switch (typeof value) {
    case 'string': {
      // Quoted and escaped; cut after escaping, so escapes cannot make it long.
      const quoted = JSON.stringify(value.slice(0, MAX_SHOWN + 1));
      return `string ${quoted.length > MAX_SHOWN + 2 ? `${quoted.slice(0, MAX_SHOWN + 1)}…"` : quoted}`;
    }
    case 'number':
    case 'boolean':
    case 'bigint': {
      const shown = value.toString();
      return `${typeof value} ${shown.length > MAX_SHOWN ? `${shown.slice(0, MAX_SHOWN)}…` : shown}`;
    }
    case 'undefined':
      return 'nothing';
    case 'symbol':
      return 'a symbol';
    case 'function':
      return 'a function';
    default:
      if (value === null) return 'null';
      return Array.isArray(value) ? 'an array' : 'an object';
  }
}

/**
 * The message of a caught value: an Error's message, else a description of what was thrown. An
 * Error of another realm counts too (Node's own errors, fs ENOENT included, are not `instanceof
 * Error` inside a vm context or a jest test).
 */
export function errorMessage(err: unknown): string {
  if (err instanceof Error || types.isNativeError(err)) return typeof err.message === 'string' ? err.message : describeValue(err.message);
  return typeof err === 'string' ? err : `a thrown value (${describeValue(err)})`;
}
