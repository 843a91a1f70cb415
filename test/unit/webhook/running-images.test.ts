/**
 * The images a Pod runs, from its container statuses' `imageID`, in each shape real runtimes
 * write it, and what is done when what they write names no registry digest.
 */
import fc from 'fast-check';
import { runningImages, runningReference } from '../../../src/webhook/running-images';

const DIGEST = `sha256:${'a'.repeat(64)}`;
const OTHER = `sha256:${'b'.repeat(64)}`;
const CONFIG = `sha256:${'c'.repeat(64)}`;

describe('runningReference: imageID shapes', () => {
  // dockershim / cri-dockerd: toPullableImageID() writes "docker-pullable://" + the image's first RepoDigest.
  it('docker-pullable://REPO@sha256:… (dockershim, cri-dockerd): the Pod repository at that digest', () => {
    expect(runningReference('ghcr.io/org/app:1.2', `docker-pullable://ghcr.io/org/app@${DIGEST}`)).toEqual({
      image: `ghcr.io/org/app:1.2@${DIGEST}`,
      source: 'imageID',
    });
  });

  // containerd's CRI plugin (ContainerStatus): image.RepoDigests[0] when the image has one; CRI-O likewise.
  it('REPO@sha256:… (containerd, CRI-O), including Docker Hub short names', () => {
    expect(runningReference('nginx:1.25', `docker.io/library/nginx@${DIGEST}`)).toEqual({ image: `nginx:1.25@${DIGEST}`, source: 'imageID' });
  });

  // dockershim without a RepoDigest: "docker://" + the image ID; containerd without one: the image ID (config digest) alone.
  it.each([`docker://${CONFIG}`, CONFIG])('%s (a local image ID: the config digest) is never taken for a registry digest', (imageID) => {
    const got = runningReference('ghcr.io/org/app:1.2', imageID);
    expect(got).toMatchObject({ image: 'ghcr.io/org/app:1.2', source: 'spec' });
    expect(got.note).toContain('local image ID');
  });

  it("the runtime names another repository holding the content (its first RepoDigest): the digest is taken, the repository stays the Pod's", () => {
    const got = runningReference('ghcr.io/org/app:1.2', `docker-pullable://mirror.example/copy/app@${DIGEST}`);
    expect(got).toMatchObject({ image: `ghcr.io/org/app:1.2@${DIGEST}`, source: 'imageID' });
    expect(got.note).toContain('mirror.example/copy/app');
  });

  it('a spec pinned to one digest and a runtime reporting another: what runs is verified', () => {
    const got = runningReference(`ghcr.io/org/app@${OTHER}`, `ghcr.io/org/app@${DIGEST}`);
    expect(got).toMatchObject({ image: `ghcr.io/org/app@${DIGEST}`, source: 'imageID' });
    expect(got.note).toContain(`the spec pins ${OTHER}`);
  });

  it.each([
    ['not started', undefined],
    ['not started', ''],
    ['not a string', 42],
    ['not a string of at most', 'a.io/b@' + 'x'.repeat(2000)],
    ['names no digest', 'ghcr.io/org/app:1.2'],
    ['not an image reference', 'not a ref'],
  ])('the spec image when the imageID is %s', (why, imageID) => {
    const got = runningReference('ghcr.io/org/app:1.2', imageID);
    expect(got).toMatchObject({ image: 'ghcr.io/org/app:1.2', source: 'spec' });
    expect(got.note).toContain(why);
  });

  it('never yields a digest that the imageID does not hold (property)', () => {
    fc.assert(
      fc.property(
        fc.oneof(
          fc.string(),
          fc.constant(`docker-pullable://a.io/b@${DIGEST}`),
          fc.string().map((s) => `${s}@${DIGEST}`),
          fc.anything(),
        ),
        (imageID) => {
          const got = runningReference('a.io/b:1', imageID);
          if (got.source === 'imageID') expect(typeof imageID === 'string' && imageID.includes(got.image.slice(got.image.indexOf('@') + 1))).toBe(true);
          else expect(got.image).toBe('a.io/b:1');
        },
      ),
    );
  });
});

describe('runningImages', () => {
  const pod = {
    apiVersion: 'v1',
    kind: 'Pod',
    metadata: { name: 'p', namespace: 'ns' },
    spec: {
      initContainers: [{ name: 'init', image: 'ghcr.io/org/init:1' }],
      containers: [
        { name: 'app', image: 'ghcr.io/org/app:1' },
        { name: 'sidecar', image: 'ghcr.io/org/sidecar:1' },
      ],
      ephemeralContainers: [{ name: 'debug', image: 'busybox:1' }],
      volumes: [{ name: 'models', image: { reference: 'ghcr.io/org/models:1' } }],
    },
    status: {
      initContainerStatuses: [{ name: 'init', imageID: `ghcr.io/org/init@${DIGEST}` }],
      // Listed in another order than the spec: matched by name.
      containerStatuses: [
        { name: 'sidecar', imageID: CONFIG },
        { name: 'app', imageID: `docker-pullable://ghcr.io/org/app@${OTHER}` },
      ],
      ephemeralContainerStatuses: [{ name: 'debug', imageID: `docker.io/library/busybox@${DIGEST}` }],
    },
  };

  it('each container by name in its own status list; image volumes from the spec', () => {
    expect(runningImages(pod).map((i) => [i.field, i.container, i.image, i.source, i.specImage])).toEqual([
      ['initContainers', 'init', `ghcr.io/org/init:1@${DIGEST}`, 'imageID', 'ghcr.io/org/init:1'],
      ['containers', 'app', `ghcr.io/org/app:1@${OTHER}`, 'imageID', 'ghcr.io/org/app:1'],
      ['containers', 'sidecar', 'ghcr.io/org/sidecar:1', 'spec', 'ghcr.io/org/sidecar:1'],
      ['ephemeralContainers', 'debug', `busybox:1@${DIGEST}`, 'imageID', 'busybox:1'],
      ['volumes', 'models', 'ghcr.io/org/models:1', 'spec', 'ghcr.io/org/models:1'],
    ]);
  });

  it('a Pod without status: every spec image, noted', () => {
    const { status: _s, ...pending } = pod;
    expect(runningImages(pending).every((i) => i.source === 'spec' && i.note !== undefined)).toBe(true);
  });

  it('a status that is not what the API returns is read as no status, never thrown on', () => {
    for (const status of [null, 'x', { containerStatuses: 'x' }, { containerStatuses: [null, 1, { name: 2 }] }]) {
      expect(runningImages({ ...pod, status }).filter((i) => i.source === 'imageID')).toEqual([]);
    }
  });

  it('a pod spec whose images cannot be read throws (an admission would deny it)', () => {
    expect(() => runningImages({ ...pod, spec: { containers: 'x' } })).toThrow(/malformed object at \/spec\/containers/);
  });
});
