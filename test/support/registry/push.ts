/**
 * A minimal registry writer for tests and benchmarks (the library itself only reads):
 * monolithic blob uploads (POST then PUT), manifest PUTs, and builders for OCI images,
 * indexes and OCI 1.1 artifacts. Authenticates with basic credentials or a push-scoped token,
 * parsing challenges with its own small code so it shares no bugs with the client under test.
 */
import { createHash, randomBytes } from 'node:crypto';
import { Agent, type Dispatcher } from 'undici';

export const OCI_MANIFEST = 'application/vnd.oci.image.manifest.v1+json';
const OCI_INDEX = 'application/vnd.oci.image.index.v1+json';
const OCI_CONFIG = 'application/vnd.oci.image.config.v1+json';
const OCI_LAYER = 'application/vnd.oci.image.layer.v1.tar+gzip';
const OCI_EMPTY = 'application/vnd.oci.empty.v1+json';
const DOCKER_MANIFEST = 'application/vnd.docker.distribution.manifest.v2+json';
const DOCKER_MANIFEST_LIST = 'application/vnd.docker.distribution.manifest.list.v2+json';
const DOCKER_CONFIG = 'application/vnd.docker.container.image.v1+json';
const DOCKER_LAYER = 'application/vnd.docker.image.rootfs.diff.tar.gzip';

/** Where to push: a RunningRegistry fits. */
export interface PushTarget {
  readonly url: string;
  readonly ca?: string;
  readonly pushCredentials?: { readonly username: string; readonly password: string };
  /** TLS client certificate the pusher presents (mTLS registries). */
  readonly pushClientCert?: { readonly cert: string; readonly key: string };
}

export interface PushedDescriptor {
  readonly mediaType: string;
  readonly digest: string;
  readonly size: number;
  readonly artifactType?: string;
  readonly annotations?: Record<string, string>;
  readonly platform?: { readonly os: string; readonly architecture: string; readonly variant?: string };
}

export interface PushedManifest {
  readonly digest: string;
  readonly bytes: Buffer;
  readonly mediaType: string;
  readonly descriptor: PushedDescriptor;
}

export interface PushedImage extends PushedManifest {
  readonly config: { readonly digest: string; readonly bytes: Buffer };
  readonly layers: ReadonlyArray<{ readonly digest: string; readonly bytes: Buffer }>;
}

export function sha256(bytes: Uint8Array): string {
  return `sha256:${createHash('sha256').update(bytes).digest('hex')}`;
}

/** Uploads of a blob to one repository in flight (joined), and the last upload of a digest to a registry (waited for). */
const blobUploads = new Map<string, Promise<string>>();
const digestQueues = new Map<string, Promise<unknown>>();

/**
 * Pushes a blob, safely under concurrency: docker-registry 2.8 can fail one of two concurrent
 * uploads of identical content, so a push of content already being uploaded to the same
 * repository joins that upload; uploads of one digest to a registry (other repositories) go
 * one at a time; a blob the repository already has (HEAD) is not uploaded again; and a failed
 * upload is retried once.
 */
export function pushBlob(target: PushTarget, repo: string, bytes: Uint8Array): Promise<string> {
  const digest = sha256(bytes);
  const key = `${target.url} ${repo} ${digest}`;
  let upload = blobUploads.get(key);
  if (upload === undefined) {
    const queue = `${target.url} ${digest}`;
    const created = (digestQueues.get(queue) ?? Promise.resolve()).catch(() => undefined).then(() => uploadBlob(target, repo, bytes, digest));
    digestQueues.set(queue, created);
    upload = created.finally(() => {
      if (blobUploads.get(key) === upload) blobUploads.delete(key);
      if (digestQueues.get(queue) === created) digestQueues.delete(queue);
    });
    blobUploads.set(key, upload);
  }
  return upload;
}

async function uploadBlob(target: PushTarget, repo: string, bytes: Uint8Array, digest: string): Promise<string> {
  for (let attempt = 0; ; attempt++) {
    const head = await send(target, repo, 'HEAD', `/v2/${repo}/blobs/${digest}`, {});
    if (head.status === 200) return digest;
    try {
      return await uploadOnce(target, repo, bytes, digest);
    } catch (err) {
      if (attempt > 0) throw err;
    }
  }
}

async function uploadOnce(target: PushTarget, repo: string, bytes: Uint8Array, digest: string): Promise<string> {
  const start = await send(target, repo, 'POST', `/v2/${repo}/blobs/uploads/`, {});
  if (start.status !== 202) throw new Error(`blob upload start for ${repo}: ${start.status} ${start.body}`);
  const location = start.headers.location;
  if (typeof location !== 'string') throw new Error(`blob upload start for ${repo}: no Location`);
  const upload = new URL(location, target.url);
  upload.searchParams.set('digest', digest);
  const put = await send(target, repo, 'PUT', `${upload.pathname}${upload.search}`, { 'content-type': 'application/octet-stream' }, bytes);
  if (put.status !== 201) throw new Error(`blob upload of ${digest} to ${repo}: ${put.status} ${put.body}`);
  return digest;
}

export async function pushManifest(target: PushTarget, repo: string, tagOrDigest: string, bytes: Uint8Array, mediaType: string): Promise<string> {
  const res = await send(target, repo, 'PUT', `/v2/${repo}/manifests/${tagOrDigest}`, { 'content-type': mediaType }, bytes);
  if (res.status !== 201) throw new Error(`manifest PUT ${repo}:${tagOrDigest}: ${res.status} ${res.body}`);
  return sha256(bytes);
}

/** Deletes a manifest by digest (the registry must allow deletes, as startRegistry's do): its tags go with it. */
export async function deleteManifest(target: PushTarget, repo: string, digest: string): Promise<void> {
  const res = await send(target, repo, 'DELETE', `/v2/${repo}/manifests/${digest}`, {});
  if (res.status !== 202) throw new Error(`manifest DELETE ${repo}@${digest}: ${res.status} ${res.body}`);
}

export interface ImageOptions {
  readonly layers?: number;
  readonly layerSize?: number;
  readonly platform?: { readonly os: string; readonly architecture: string; readonly variant?: string };
  /** `oci` (default) or `docker` (Docker v2 schema 2). */
  readonly format?: 'oci' | 'docker';
  readonly annotations?: Record<string, string>;
}

/** An image with a config and random layers; `tag` undefined pushes by digest only. */
export async function pushImage(target: PushTarget, repo: string, tag: string | undefined, opts: ImageOptions = {}): Promise<PushedImage> {
  const docker = opts.format === 'docker';
  const platform = opts.platform ?? { os: 'linux', architecture: 'amd64' };
  const layers = Array.from({ length: opts.layers ?? 1 }, () => randomBytes(opts.layerSize ?? 512));
  const layerDigests = await Promise.all(layers.map((l) => pushBlob(target, repo, l)));
  const config = Buffer.from(
    JSON.stringify({ ...platform, rootfs: { type: 'layers', diff_ids: layerDigests }, config: {}, created: new Date(0).toISOString() }),
  );
  const configDigest = await pushBlob(target, repo, config);
  const mediaType = docker ? DOCKER_MANIFEST : OCI_MANIFEST;
  const manifest = {
    schemaVersion: 2,
    mediaType,
    config: { mediaType: docker ? DOCKER_CONFIG : OCI_CONFIG, digest: configDigest, size: config.length },
    layers: layers.map((l, i) => ({ mediaType: docker ? DOCKER_LAYER : OCI_LAYER, digest: layerDigests[i]!, size: l.length })),
    ...(opts.annotations ? { annotations: opts.annotations } : {}),
  };
  const bytes = Buffer.from(JSON.stringify(manifest));
  const digest = await pushManifest(target, repo, tag ?? sha256(bytes), bytes, mediaType);
  return {
    digest,
    bytes,
    mediaType,
    descriptor: { mediaType, digest, size: bytes.length, platform },
    config: { digest: configDigest, bytes: config },
    layers: layers.map((l, i) => ({ digest: layerDigests[i]!, bytes: l })),
  };
}

export interface IndexOptions {
  readonly format?: 'oci' | 'docker';
  readonly annotations?: Record<string, string>;
  readonly artifactType?: string;
}

/** An index (multi-arch image, or a referrers list) over already pushed manifests. */
export async function pushIndex(
  target: PushTarget,
  repo: string,
  tag: string | undefined,
  children: readonly PushedDescriptor[],
  opts: IndexOptions = {},
): Promise<PushedManifest> {
  const mediaType = opts.format === 'docker' ? DOCKER_MANIFEST_LIST : OCI_INDEX;
  const index = {
    schemaVersion: 2,
    mediaType,
    ...(opts.artifactType ? { artifactType: opts.artifactType } : {}),
    manifests: children,
    ...(opts.annotations ? { annotations: opts.annotations } : {}),
  };
  const bytes = Buffer.from(JSON.stringify(index));
  const digest = await pushManifest(target, repo, tag ?? sha256(bytes), bytes, mediaType);
  return { digest, bytes, mediaType, descriptor: { mediaType, digest, size: bytes.length } };
}

export interface ArtifactOptions {
  /** The manifest's artifactType; undefined writes none (then registries list it under the config's media type). */
  readonly artifactType: string | undefined;
  readonly subject?: PushedDescriptor;
  readonly payload?: Buffer;
  readonly layerMediaType?: string;
  readonly annotations?: Record<string, string>;
}

/** An OCI 1.1 artifact: empty config, one layer, optional subject; pushed by digest. */
export async function pushArtifact(target: PushTarget, repo: string, opts: ArtifactOptions): Promise<PushedManifest> {
  const empty = Buffer.from('{}');
  const payload = opts.payload ?? randomBytes(64);
  const [emptyDigest, payloadDigest] = await Promise.all([pushBlob(target, repo, empty), pushBlob(target, repo, payload)]);
  const manifest = {
    schemaVersion: 2,
    mediaType: OCI_MANIFEST,
    ...(opts.artifactType !== undefined ? { artifactType: opts.artifactType } : {}),
    config: { mediaType: OCI_EMPTY, digest: emptyDigest, size: empty.length, data: empty.toString('base64') },
    layers: [{ mediaType: opts.layerMediaType ?? 'application/octet-stream', digest: payloadDigest, size: payload.length }],
    ...(opts.subject ? { subject: { mediaType: opts.subject.mediaType, digest: opts.subject.digest, size: opts.subject.size } } : {}),
    ...(opts.annotations ? { annotations: opts.annotations } : {}),
  };
  const bytes = Buffer.from(JSON.stringify(manifest));
  const digest = await pushManifest(target, repo, sha256(bytes), bytes, OCI_MANIFEST);
  return {
    digest,
    bytes,
    mediaType: OCI_MANIFEST,
    descriptor: {
      mediaType: OCI_MANIFEST,
      digest,
      size: bytes.length,
      // As the referrers API lists it: the manifest's artifactType, else its config's media type.
      artifactType: opts.artifactType ?? OCI_EMPTY,
      ...(opts.annotations ? { annotations: opts.annotations } : {}),
    },
  };
}

// --- HTTP with auth -------------------------------------------------------------------------

interface Sent {
  readonly status: number;
  readonly headers: Record<string, string | string[] | undefined>;
  readonly body: string;
}

const agents = new Map<string, Dispatcher>();
const tokens = new Map<string, string>();

function agentFor(target: PushTarget): Dispatcher {
  const key = `${target.ca ?? ''}\n${target.pushClientCert?.cert ?? ''}`;
  let agent = agents.get(key);
  if (agent === undefined) {
    const tls = {
      ...(target.ca ? { ca: target.ca } : {}),
      ...(target.pushClientCert ? { cert: target.pushClientCert.cert, key: target.pushClientCert.key } : {}),
    };
    agent = new Agent({ connections: 4, connect: tls });
    agents.set(key, agent);
  }
  return agent;
}

/** Closes the pusher's pooled connections (call in afterAll of suites that push). */
export async function closePushers(): Promise<void> {
  const all = [...agents.values()];
  agents.clear();
  tokens.clear();
  await Promise.all(all.map((a) => a.close()));
}

async function send(
  target: PushTarget,
  repo: string,
  method: 'HEAD' | 'POST' | 'PUT' | 'DELETE',
  path: string,
  headers: Record<string, string>,
  body?: Uint8Array,
): Promise<Sent> {
  const key = `${target.url} ${repo}`;
  const attempt = async (authorization?: string): Promise<Sent> => {
    const res = await agentFor(target).request({
      origin: target.url,
      path,
      method,
      headers: { ...headers, ...(authorization ? { authorization } : {}) },
      ...(body !== undefined ? { body: Buffer.from(body) } : {}),
    });
    return { status: res.statusCode, headers: res.headers, body: await res.body.text() };
  };
  const cached = tokens.get(key);
  let res = await attempt(cached);
  if (res.status !== 401) return res;
  const creds = target.pushCredentials;
  if (creds === undefined) return res;
  const challenge = String(res.headers['www-authenticate'] ?? '');
  const basic = `Basic ${Buffer.from(`${creds.username}:${creds.password}`).toString('base64')}`;
  let authorization = basic;
  if (/^bearer /i.test(challenge)) {
    const params = Object.fromEntries([...challenge.matchAll(/(\w+)="([^"]*)"/g)].map((m) => [m[1]!.toLowerCase(), m[2]!]));
    const realm = new URL(params.realm!);
    if (params.service) realm.searchParams.set('service', params.service);
    realm.searchParams.set('scope', `repository:${repo}:pull,push`);
    const tokenRes = await agentFor({ url: realm.origin }).request({
      origin: realm.origin,
      path: `${realm.pathname}${realm.search}`,
      method: 'GET',
      headers: { authorization: basic },
    });
    const json = (await tokenRes.body.json()) as { token?: string; access_token?: string };
    authorization = `Bearer ${json.token ?? json.access_token}`;
  }
  tokens.set(key, authorization);
  res = await attempt(authorization);
  return res;
}
