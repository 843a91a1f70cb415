/**
 * Package URLs (https://github.com/package-url/purl-spec):
 *
 *   pkg:<type>/<namespace>/<name>@<version>?<qualifiers>#<subpath>
 *
 * A small parser following the spec's "how to parse" steps, enough to read `pkg:oci` and
 * `pkg:docker` locators out of SBOM external references. Components are percent-decoded. The
 * purl project's JavaScript library (packageurl-js) exists, but this is the only place we need
 * purls and the grammar is a dozen lines; a malformed purl gives undefined, never an exception.
 */

import { trimEnd } from './vocabulary';

export interface PackageUrl {
  /** Lower-case: `oci`, `docker`, `golang`... */
  type: string;
  /** Decoded namespace segments joined with `/`, absent when there are none. */
  namespace?: string;
  /** Decoded name; may contain `/` when a producer percent-encoded one (apko writes `host%2Frepo`). */
  name: string;
  version?: string;
  /** Decoded qualifier values by lower-case key; empty values are dropped (as the spec says). */
  qualifiers: Record<string, string>;
  subpath?: string;
}

const TYPE_RE = /^[a-z][a-z0-9.+-]*$/;
const QUALIFIER_KEY_RE = /^[a-z.\-_][a-z0-9.\-_]*$/;

function decode(component: string): string | undefined {
  try {
    return decodeURIComponent(component);
  } catch {
    return undefined; // malformed %-escape
  }
}

export function parsePurl(input: string): PackageUrl | undefined {
  if (typeof input !== 'string' || !/^pkg:/i.test(input) || /\s/.test(input)) return undefined;
  let rest = input.slice(4).replace(/^\/+/, '');

  let subpath: string | undefined;
  const hash = rest.indexOf('#');
  if (hash !== -1) {
    const segments = rest
      .slice(hash + 1)
      .split('/')
      .filter((s) => s !== '' && s !== '.' && s !== '..');
    const decoded = segments.map(decode);
    if (decoded.some((s) => s === undefined)) return undefined;
    if (decoded.length > 0) subpath = decoded.join('/');
    rest = rest.slice(0, hash);
  }

  const qualifiers: Record<string, string> = Object.create(null) as Record<string, string>;
  const question = rest.indexOf('?');
  if (question !== -1) {
    for (const pair of rest.slice(question + 1).split('&')) {
      if (pair === '') continue;
      const eq = pair.indexOf('=');
      if (eq <= 0) return undefined;
      const key = pair.slice(0, eq).toLowerCase();
      const value = decode(pair.slice(eq + 1));
      if (!QUALIFIER_KEY_RE.test(key) || value === undefined || key in qualifiers) return undefined;
      if (value !== '') qualifiers[key] = value;
    }
    rest = rest.slice(0, question);
  }

  rest = trimEnd(rest, '/');
  const slash = rest.indexOf('/');
  if (slash <= 0) return undefined;
  const type = rest.slice(0, slash).toLowerCase();
  if (!TYPE_RE.test(type)) return undefined;
  rest = rest.slice(slash + 1);

  let version: string | undefined;
  const at = rest.lastIndexOf('@');
  if (at !== -1) {
    version = decode(rest.slice(at + 1));
    if (version === undefined || version === '') return undefined;
    rest = rest.slice(0, at);
  }

  const segments = rest.split('/').filter((s) => s !== '');
  const rawName = segments.pop();
  if (rawName === undefined) return undefined;
  const name = decode(rawName);
  const namespace = segments.map(decode);
  if (name === undefined || name === '' || namespace.some((s) => s === undefined)) return undefined;

  return {
    type,
    ...(namespace.length > 0 ? { namespace: namespace.join('/') } : {}),
    name,
    ...(version !== undefined ? { version } : {}),
    qualifiers: { ...qualifiers },
    ...(subpath !== undefined ? { subpath } : {}),
  };
}
