/** Fetching a blob: bounded, and hashed against the digest it was asked by. */
import { parseDigest } from '../reference';
import { contextDetails, describeRequest, displayUrl, type RequestContext } from './context';
import { verifyDigest } from './digest';
import type { RegistryTransport } from './transport/transport';
import type { CallCredentials, RepositoryRef } from './types';

export async function fetchBlob(
  transport: RegistryTransport,
  ref: RepositoryRef,
  digest: string,
  opts: { readonly maxBytes: number; readonly signal?: AbortSignal; readonly credentials?: CallCredentials },
): Promise<Buffer> {
  parseDigest(digest);
  const ctx: RequestContext = { registry: ref.registry, repository: ref.repository, subject: `blob ${digest}`, reference: digest };
  const res = await transport.get({
    ctx,
    path: `/v2/${ref.repository}/blobs/${digest}`,
    maxBytes: opts.maxBytes,
    // A blob that a manifest lists but the registry cannot serve is a registry fault.
    notFound: 'REGISTRY_ERROR',
    ...(opts.signal ? { signal: opts.signal } : {}),
    ...(opts.credentials ? { credentials: opts.credentials } : {}),
  });
  verifyDigest(digest, res.body, `${describeRequest(ctx)} from ${displayUrl(res.url)}`, contextDetails(ctx, res.url));
  return res.body;
}
