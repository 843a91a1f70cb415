/**
 * WWW-Authenticate challenges (RFC 7235): `Bearer realm="...",service="...",scope="..."`,
 * `Basic realm="..."`, several challenges in one header or in several headers.
 *
 * The header comes from the registry and is hostile: parsing never throws. What cannot be
 * parsed is skipped, so a malformed header yields fewer (or no) challenges, which the
 * caller reports as an authentication failure.
 */

export interface Challenge {
  /** Auth scheme, lower case (`bearer`, `basic`, ...). */
  readonly scheme: string;
  /** Parameters by lower-case name; the first occurrence of a name wins. */
  readonly params: ReadonlyMap<string, string>;
  /** The token68 form (`Negotiate abc==`), when the challenge has one instead of parameters. */
  readonly token68?: string;
}

const MAX_HEADER_LENGTH = 16 * 1024;
const MAX_CHALLENGES = 16;
const TCHAR = /[!#$%&'*+\-.^_`|~0-9A-Za-z]/;
const TOKEN68_RE = /^[A-Za-z0-9\-._~+/]+=*/;

/** Parses one or several WWW-Authenticate header values. */
export function parseChallenges(header: string | readonly string[] | undefined): Challenge[] {
  if (header === undefined) return [];
  const values = typeof header === 'string' ? [header] : header;
  const out: Challenge[] = [];
  for (const value of values) {
    if (typeof value !== 'string' || value.length > MAX_HEADER_LENGTH) continue;
    new Parser(value).parseInto(out);
    if (out.length >= MAX_CHALLENGES) return out.slice(0, MAX_CHALLENGES);
  }
  return out;
}

/** The challenge for a scheme (`bearer`, `basic`), if the registry offered it. */
export function findChallenge(challenges: readonly Challenge[], scheme: string): Challenge | undefined {
  return challenges.find((c) => c.scheme === scheme);
}

class Parser {
  private i = 0;
  constructor(private readonly s: string) {}

  parseInto(out: Challenge[]): void {
    while (this.i < this.s.length) {
      this.skipSeparators();
      const scheme = this.token();
      if (scheme === '') {
        this.skipPastComma();
        continue;
      }
      const params = new Map<string, string>();
      let token68: string | undefined;
      const hadSpace = this.skipSpaces();
      if (hadSpace && !this.atParam()) {
        const m = TOKEN68_RE.exec(this.s.slice(this.i));
        const after = m ? this.s.slice(this.i + m[0].length).trimStart() : '';
        if (m && (after === '' || after.startsWith(','))) {
          token68 = m[0];
          this.i += m[0].length;
        }
      }
      if (token68 === undefined && hadSpace) this.params(params);
      out.push({ scheme: scheme.toLowerCase(), params, ...(token68 !== undefined ? { token68 } : {}) });
    }
  }

  /** Reads `name=value` pairs separated by commas until the next challenge starts. */
  private params(params: Map<string, string>): void {
    for (;;) {
      this.skipSpaces();
      if (!this.atParam()) return;
      const name = this.token().toLowerCase();
      this.skipSpaces();
      this.i++; // '='
      this.skipSpaces();
      const value = this.s[this.i] === '"' ? this.quoted() : this.bareValue();
      if (value === undefined) return; // unterminated quoted string: drop the rest
      if (!params.has(name)) params.set(name, value);
      this.skipSpaces();
      if (this.s[this.i] !== ',') {
        // Garbage after a parameter: resynchronise at the next comma.
        if (this.i < this.s.length) this.skipPastComma();
        else return;
      } else {
        this.i++;
        // Empty list elements (",,") are allowed by the list grammar.
        while (this.s[this.i] === ',' || this.s[this.i] === ' ' || this.s[this.i] === '\t') this.i++;
      }
    }
  }

  /** True when the input at the cursor is `token BWS "="` (a parameter, not a new scheme). */
  private atParam(): boolean {
    let j = this.i;
    while (j < this.s.length && TCHAR.test(this.s[j]!)) j++;
    if (j === this.i) return false;
    while (this.s[j] === ' ' || this.s[j] === '\t') j++;
    return this.s[j] === '=' && this.s[j + 1] !== '=';
  }

  private token(): string {
    const start = this.i;
    while (this.i < this.s.length && TCHAR.test(this.s[this.i]!)) this.i++;
    return this.s.slice(start, this.i);
  }

  /**
   * An unquoted value. RFC 7235 allows only token characters, but some servers send an
   * unquoted realm URL, so anything up to a comma or white space is taken.
   */
  private bareValue(): string {
    const start = this.i;
    while (this.i < this.s.length && !/[\s,"]/.test(this.s[this.i]!)) this.i++;
    return this.s.slice(start, this.i);
  }

  private quoted(): string | undefined {
    let value = '';
    this.i++; // opening quote
    while (this.i < this.s.length) {
      const c = this.s[this.i]!;
      if (c === '"') {
        this.i++;
        return value;
      }
      if (c === '\\' && this.i + 1 < this.s.length) {
        value += this.s[this.i + 1];
        this.i += 2;
        continue;
      }
      value += c;
      this.i++;
    }
    this.i = this.s.length;
    return undefined;
  }

  private skipSpaces(): boolean {
    const start = this.i;
    while (this.s[this.i] === ' ' || this.s[this.i] === '\t') this.i++;
    return this.i > start;
  }

  private skipSeparators(): void {
    while (this.s[this.i] === ' ' || this.s[this.i] === '\t' || this.s[this.i] === ',') this.i++;
  }

  private skipPastComma(): void {
    // Skips to after the next comma that is not inside a quoted string.
    let inQuote = false;
    while (this.i < this.s.length) {
      const c = this.s[this.i]!;
      if (inQuote && c === '\\') this.i++;
      else if (c === '"') inQuote = !inQuote;
      else if (c === ',' && !inQuote) {
        this.i++;
        return;
      }
      this.i++;
    }
  }
}
