/**
 * Options objects from JavaScript callers: a misspelt key (`trustedRot`) must not be ignored
 * silently, so every options object and policy is checked against the keys its type declares.
 */
import { ImgverifyError, type ErrorCode } from '../errors';

/**
 * Every key of `T`, listed once: `keysOf<VerifierOptions>()('trustedRoot', ...)`. Leaving a key
 * out is a compile error (the list and the type cannot drift apart).
 */
export function keysOf<T>() {
  return <const K extends ReadonlyArray<keyof T>>(
    ...keys: K & ([Exclude<keyof T, K[number]>] extends [never] ? unknown : { readonly missing: Exclude<keyof T, K[number]> })
  ): ReadonlySet<string> => new Set(keys.map(String));
}

/** The closest known key, for a "did you mean" (edit distance at most 2). */
function closest(key: string, known: ReadonlySet<string>): string | undefined {
  const distance = (a: string, b: string): number => {
    const row = Array.from({ length: b.length + 1 }, (_, j) => j);
    for (let i = 1; i <= a.length; i++) {
      let diagonal = row[0]!;
      row[0] = i;
      for (let j = 1; j <= b.length; j++) {
        const above = row[j]!;
        row[j] = Math.min(row[j]! + 1, row[j - 1]! + 1, diagonal + (a[i - 1]!.toLowerCase() === b[j - 1]!.toLowerCase() ? 0 : 1));
        diagonal = above;
      }
    }
    return row[b.length]!;
  };
  let best: { key: string; d: number } | undefined;
  for (const k of known) {
    const d = distance(key, k);
    if (d <= 2 && (best === undefined || d < best.d)) best = { key: k, d };
  }
  return best?.key;
}

/** Throws `code` naming the first key of `value` that `known` does not have. */
export function rejectUnknownKeys(value: object, known: ReadonlySet<string>, what: string, code: ErrorCode = 'INVALID_OPTIONS'): void {
  for (const key of Object.keys(value)) {
    if (known.has(key)) continue;
    const hint = closest(key, known);
    throw new ImgverifyError(
      code,
      `${what}: unknown option ${JSON.stringify(key)}${hint ? ` (did you mean ${JSON.stringify(hint)}?)` : ''}; known: ${[...known].join(', ')}`,
      {
        details: { option: key, known: [...known] },
      },
    );
  }
}
