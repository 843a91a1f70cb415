/**
 * RFC 8288 Link headers, as used for pagination (`<url>; rel="next"`). Hostile input never
 * throws: what cannot be parsed is skipped.
 */

export interface LinkValue {
  /** The target as written (relative or absolute); resolve it against the request URL. */
  readonly target: string;
  /** Relation types, lower case. */
  readonly rels: readonly string[];
}

const MAX_HEADER_LENGTH = 16 * 1024;

/** Parses one or several Link header values into links. */
export function parseLinkHeader(header: string | readonly string[] | undefined): LinkValue[] {
  if (header === undefined) return [];
  const values = typeof header === 'string' ? [header] : header;
  const links: LinkValue[] = [];
  for (const value of values) {
    if (typeof value !== 'string' || value.length > MAX_HEADER_LENGTH) continue;
    parseValue(value, links);
  }
  return links;
}

/** The target of the first link with relation `next`, if any. */
export function nextLink(header: string | readonly string[] | undefined): string | undefined {
  return parseLinkHeader(header).find((link) => link.rels.includes('next'))?.target;
}

function parseValue(value: string, out: LinkValue[]): void {
  let i = 0;
  while (i < value.length) {
    const open = value.indexOf('<', i);
    if (open === -1) return;
    const close = value.indexOf('>', open + 1);
    if (close === -1) return;
    const target = value.slice(open + 1, close).trim();
    i = close + 1;
    const rels: string[] = [];
    // Parameters run until the next top-level comma (commas inside quotes do not count).
    while (i < value.length) {
      while (i < value.length && (value[i] === ' ' || value[i] === '\t')) i++;
      if (value[i] === ',') {
        i++;
        break;
      }
      if (value[i] !== ';') {
        // Not a parameter: skip to the next link.
        const comma = value.indexOf(',', i);
        i = comma === -1 ? value.length : comma + 1;
        break;
      }
      i++;
      const eq = value.indexOf('=', i);
      const nameEnd = firstOf(value, i, [';', ',', '=']);
      const name = value.slice(i, nameEnd).trim().toLowerCase();
      i = nameEnd;
      let paramValue = '';
      if (eq !== -1 && eq === nameEnd) {
        i = eq + 1;
        while (i < value.length && (value[i] === ' ' || value[i] === '\t')) i++;
        if (value[i] === '"') {
          const parsed = readQuoted(value, i);
          paramValue = parsed.value;
          i = parsed.end;
        } else {
          const end = firstOf(value, i, [';', ',']);
          paramValue = value.slice(i, end).trim();
          i = end;
        }
      }
      if (name === 'rel') rels.push(...paramValue.toLowerCase().split(/\s+/).filter(Boolean));
    }
    if (target.length > 0) out.push({ target, rels });
  }
}

function firstOf(s: string, from: number, chars: readonly string[]): number {
  for (let i = from; i < s.length; i++) if (chars.includes(s[i]!)) return i;
  return s.length;
}

function readQuoted(s: string, start: number): { value: string; end: number } {
  let value = '';
  let i = start + 1;
  while (i < s.length && s[i] !== '"') {
    if (s[i] === '\\' && i + 1 < s.length) i++;
    value += s[i];
    i++;
  }
  return { value, end: Math.min(i + 1, s.length) };
}
