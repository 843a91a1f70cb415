import { type RegistryClient } from '../../../src/registry';
import {
  closePushers,
  pushImage,
  pushIndex,
  startProxy,
  startRegistry,
  type PushedImage,
  type RunningProxy,
  type RunningRegistry,
} from '../../support/registry';
import { rejection, testClient } from './helpers';

/** RegistryClient.tagDigest: a tag's digest from a HEAD where the registry announces it, else from the manifest. */
describe('tagDigest against docker-registry 2.8', () => {
  let registry: RunningRegistry;
  let proxy: RunningProxy;
  let client: RegistryClient;
  let image: PushedImage;
  const repo = (repository: string) => ({ registry: proxy.host, repository });
  const manifestRequests = () => proxy.requests.filter((r) => r.path.includes('/manifests/')).map((r) => `${r.method} ${r.path.split('/manifests/')[1]}`);

  beforeAll(async () => {
    registry = await startRegistry();
    image = await pushImage(registry, 'team/app', 'v1');
    proxy = await startProxy(registry);
    client = testClient();
  });
  beforeEach(() => {
    proxy.requests.length = 0;
    proxy.setHook(undefined);
  });
  afterAll(async () => {
    await client?.close();
    await proxy?.stop();
    await closePushers();
    await registry?.stop();
  });

  it('takes the Docker-Content-Digest of a HEAD: no manifest body is fetched', async () => {
    expect(await client.tagDigest(repo('team/app'), 'v1')).toBe(image.digest);
    expect(manifestRequests()).toEqual(['HEAD v1']);
  });

  it('asks with the manifest and index types, so an index is named by its own digest', async () => {
    const amd = await pushImage(registry, 'team/multi', undefined, { platform: { os: 'linux', architecture: 'amd64' } });
    const index = await pushIndex(registry, 'team/multi', 'v1', [amd.descriptor]);
    expect(await client.tagDigest(repo('team/multi'), 'v1')).toBe(index.digest);
    expect(proxy.requests.find((r) => r.method === 'HEAD')?.headers.accept).toContain('application/vnd.oci.image.index.v1+json');
  });

  it.each([
    ['no Docker-Content-Digest', undefined],
    ['a malformed one', 'sha256:zz'],
    ['a sha512 one (signature tags follow sha256)', `sha512:${'a'.repeat(128)}`],
  ])('falls back to the manifest, hashed, when a HEAD announces %s', async (_what, header) => {
    proxy.setHook(async (req, ctx) => {
      if (req.method !== 'HEAD') return undefined;
      const res = await ctx.forward();
      const headers = { ...res.headers };
      delete headers['docker-content-digest'];
      return { ...res, headers: header === undefined ? headers : { ...headers, 'docker-content-digest': header } };
    });
    expect(await client.tagDigest(repo('team/app'), 'v1')).toBe(image.digest);
    expect(manifestRequests()).toEqual(['HEAD v1', 'GET v1']);
  });

  it('a tag that does not exist is IMAGE_NOT_FOUND, from the HEAD alone', async () => {
    expect((await rejection(client.tagDigest(repo('team/app'), 'missing'))).code).toBe('IMAGE_NOT_FOUND');
    expect(manifestRequests()).toEqual(['HEAD missing']);
  });

  it('refuses a digest where a tag is expected', async () => {
    expect((await rejection(client.tagDigest(repo('team/app'), image.digest))).code).toBe('INVALID_REFERENCE');
    expect(manifestRequests()).toEqual([]);
  });
});
