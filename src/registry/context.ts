/**
 * What a request was for, so every error can say what was asked (registry, repository,
 * tag/digest, URL) and what went wrong.
 */

export interface RequestContext {
  readonly registry: string;
  readonly repository: string;
  /** What was asked, e.g. `manifest "latest"`, `blob sha256:...`, `referrers of sha256:...`. */
  readonly subject: string;
  /** The tag or digest asked for, when there is one. */
  readonly reference?: string;
}

/** `manifest "latest" of 127.0.0.1:5000/foo` */
export function describeRequest(ctx: RequestContext): string {
  return `${ctx.subject} of ${ctx.registry}/${ctx.repository}`;
}

/**
 * A URL for messages: origin and path, without the query (signed storage URLs carry
 * credentials there) and without user info.
 */
export function displayUrl(url: URL): string {
  return `${url.protocol}//${url.host}${url.pathname}`;
}

export function contextDetails(ctx: RequestContext, url?: URL): Record<string, unknown> {
  return {
    registry: ctx.registry,
    repository: ctx.repository,
    ...(ctx.reference !== undefined ? { reference: ctx.reference } : {}),
    ...(url !== undefined ? { url: displayUrl(url) } : {}),
  };
}
