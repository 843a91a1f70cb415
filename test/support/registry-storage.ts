/**
 * Places a manifest straight into docker-registry's filesystem storage layout. Used for real
 * manifests whose children we do not hold (an index of a real multi-arch image): the
 * registry refuses to accept those through the API (MANIFEST_BLOB_UNKNOWN) but serves them
 * from storage, byte for byte, as it would any manifest it had accepted.
 *
 * Layout (distribution 2.x, registry/storage/paths.go):
 *   docker/registry/v2/blobs/sha256/<hh>/<hex>/data
 *   docker/registry/v2/repositories/<repo>/_manifests/revisions/sha256/<hex>/link
 *   docker/registry/v2/repositories/<repo>/_manifests/tags/<tag>/current/link
 *   docker/registry/v2/repositories/<repo>/_manifests/tags/<tag>/index/sha256/<hex>/link
 */
import { createHash } from 'node:crypto';
import { mkdirSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';

function write(path: string, content: string | Buffer): void {
  mkdirSync(dirname(path), { recursive: true });
  writeFileSync(path, content);
}

export function placeManifest(storageDir: string, repo: string, tag: string, bytes: Buffer): string {
  const hex = createHash('sha256').update(bytes).digest('hex');
  const digest = `sha256:${hex}`;
  const v2 = join(storageDir, 'docker', 'registry', 'v2');
  write(join(v2, 'blobs', 'sha256', hex.slice(0, 2), hex, 'data'), bytes);
  const manifests = join(v2, 'repositories', repo, '_manifests');
  write(join(manifests, 'revisions', 'sha256', hex, 'link'), digest);
  write(join(manifests, 'tags', tag, 'current', 'link'), digest);
  write(join(manifests, 'tags', tag, 'index', 'sha256', hex, 'link'), digest);
  return digest;
}
