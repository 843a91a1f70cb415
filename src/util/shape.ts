/**
 * Checking the shape of decoded JSON and YAML (hostile input: registry documents, bundles,
 * policies, AdmissionReviews): one `isRecord`, own-property reads, and the core of a shape
 * checker that either returns a value with the shape asked for or reports a problem at a
 * field path.
 *
 * How a problem is reported is the checker's: a parser that stops at the first problem throws
 * (`ShapeChecker<never>`: its checks then never return undefined), one that reports every
 * problem of a document records it and goes on (`ShapeChecker<undefined>`). So are the words a
 * message uses: JSON says `an object`, YAML `a mapping`.
 */

export type JsonObject = Record<string, unknown>;

/** A JSON object: an object that is not null and not an array. */
export function isRecord(value: unknown): value is JsonObject {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** An own property only: nothing inherited from a prototype counts (`constructor`, `__proto__`). */
export function own(obj: JsonObject, key: string): unknown {
  return Object.prototype.hasOwnProperty.call(obj, key) ? obj[key] : undefined;
}

/** A JSON value's kind: `null`, `an array`, `an object`, else its `typeof` (`string`, `number`, ...). */
export function jsonKind(value: unknown): string {
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'an array';
  return typeof value === 'object' ? 'an object' : typeof value;
}

/** A dotted field path: `key` below `path` (the top level is ""). */
export function joinPath(path: string, key: string): string {
  return path === '' ? key : `${path}.${key}`;
}

/**
 * The shape checks every parser of decoded documents needs. `Missing` is what a check returns
 * after reporting a problem: `never` for a checker whose `problem` throws, `undefined` for one
 * that records and goes on.
 */
export abstract class ShapeChecker<Missing extends undefined = undefined> {
  /** What a mapping is called in messages. */
  protected readonly objectWord: string = 'an object';

  /** Reports a problem at `path`: throws, or records it and returns undefined. */
  protected abstract problem(path: string, message: string): Missing;

  /** Describes a value of the wrong shape in a message (never converting it: it is hostile). */
  protected abstract describe(value: unknown): string;

  /** What counts as a mapping (YAML checkers also refuse timestamps, which decode to Date). */
  protected isObject(value: unknown): value is JsonObject {
    return isRecord(value);
  }

  /** A mapping. */
  object(value: unknown, path: string): JsonObject | Missing {
    if (this.isObject(value)) return value;
    return this.problem(path, `expected ${this.objectWord}, got ${this.describe(value)}`);
  }

  /** A list. */
  array(value: unknown, path: string): unknown[] | Missing {
    if (Array.isArray(value)) return value as unknown[];
    return this.problem(path, `expected a list, got ${this.describe(value)}`);
  }

  /** A string. */
  text(value: unknown, path: string): string | Missing {
    if (typeof value === 'string') return value;
    return this.problem(path, `expected a string, got ${this.describe(value)}`);
  }

  /** Reports every key of `obj` not in `known` as an unknown field. */
  onlyKnown(obj: JsonObject, path: string, known: readonly string[]): void {
    for (const key of Object.keys(obj)) {
      if (!known.includes(key)) this.problem(joinPath(path, key), 'unknown field');
    }
  }
}
