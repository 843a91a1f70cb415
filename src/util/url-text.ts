/**
 * A URL as messages show it: scheme, host and path. The query and fragment (a signed URL's
 * token: `?X-Amz-Signature=...`, `?sig=...`) and user info never appear in a message or a
 * log. Text that is not an http(s) URL (a file path) is returned as it is.
 */
export function urlForMessages(source: string): string {
  if (!/^https?:\/\//i.test(source) || !URL.canParse(source)) return source;
  const url = new URL(source);
  return `${url.protocol}//${url.host}${url.pathname}`;
}
