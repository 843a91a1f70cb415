/**
 * Base URLs that paths are appended to (a TUF mirror and its targets folder): the library
 * (trust/tuf.ts) and the webhook's TrustRoot parser check them with the same rules, so a
 * TrustRoot is refused at load, naming its field, for what the library would refuse later.
 */
import { describeValue } from './describe';

/** Why `text` is not an http(s) base URL (user info, a query or a fragment would ride on every request), or undefined. */
export function baseUrlProblem(text: string): string | undefined {
  let url: URL;
  try {
    url = new URL(text);
  } catch {
    return 'not an http(s) URL';
  }
  if (url.protocol !== 'https:' && url.protocol !== 'http:') return 'not an http(s) URL';
  if (url.username !== '' || url.password !== '') return 'has user info (user:password@): credentials do not belong in a mirror URL';
  // `?` and `#` with nothing after them leave `search` and `hash` empty: look at the text too.
  if (url.search !== '' || /\?/.test(text)) return 'has a query (?…): files are fetched by appending their paths, which a query would swallow';
  if (url.hash !== '' || /#/.test(text)) return 'has a fragment (#…)';
  return undefined;
}

/** Why `path` is not a relative path below a base URL (no query, fragment, backslash or `..`), or undefined. */
export function relativePathProblem(path: string): string | undefined {
  if (/[?#\\]/.test(path)) return 'a path below the mirror may not hold "?", "#" or "\\"';
  if (/^[a-z][a-z0-9+.-]*:/i.test(path)) return 'a path below the mirror, not a URL';
  // The URL parser reads `%2e` as `.`.
  const dots = (segment: string): boolean => ['.', '..'].includes(segment.replace(/%2e/gi, '.'));
  if (path.split('/').some(dots)) return 'a path below the mirror may not hold "." or ".." segments';
  return undefined;
}

/** A URL for a message: scheme, host and path only (user info and query may carry secrets); what does not parse, described. */
export function displayBaseUrl(text: unknown): string {
  if (typeof text !== 'string') return describeValue(text);
  try {
    const url = new URL(text);
    return JSON.stringify(`${url.origin}${url.pathname}`);
  } catch {
    return describeValue(text);
  }
}
