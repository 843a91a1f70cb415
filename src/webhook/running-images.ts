/**
 * The images a Pod actually runs: each container's `status.*ContainerStatuses[].imageID` (what
 * the container runtime reports it started), matched to the pod spec by container name, else
 * the spec's image. What is verified is the Pod's own repository (and tag) at the running
 * digest: `<spec repository>[:tag]@<running digest>`.
 *
 * `imageID` has several real shapes (the kubelet copies the CRI `ContainerStatus.image_ref`):
 *
 *   docker-pullable://REPO@sha256:HEX   dockershim (Kubernetes' docker integration before 1.24,
 *                                       cri-dockerd since): `toPullableImageID`, the image's
 *                                       first RepoDigest with the `docker-pullable://` prefix
 *   docker://sha256:HEX                 the same, for an image with no RepoDigest (built or
 *                                       loaded locally): HEX is the local image ID
 *   REPO@sha256:HEX                     containerd's CRI plugin and CRI-O: the image's first
 *                                       repo digest
 *   sha256:HEX                          containerd, for an image with no repo digest (imported
 *                                       with `ctr import`, `kind load`): its image ID
 *
 * Handled safely:
 * - an image ID (`docker://sha256:`, `sha256:` alone) is the digest of the image's config, not of
 *   a manifest in any registry: never verified as if it were one. The spec's image is verified
 *   instead, and the note says what runs is not known by a registry digest.
 * - the runtime names the *first* repository that holds the content, which may be another one
 *   than the Pod's (the same image pulled as `a/x` and `b/y`): the digest is taken, the
 *   repository stays the Pod's (its policies, its pull secrets); a note says so.
 * - a container without status yet (Pending, image being pulled) or an imageID that does not
 *   parse: the spec's image, with a note. Image volumes have no status: the spec's reference.
 */
import { parseReference, type ImageReference } from '../index';
import { extractImages, type ContainerField, type ContainerImage } from './admission';
import { isRecord, own } from '../util/shape';
import { describeValue } from '../util/describe';

/** Where the verified reference's digest comes from. */
export type ImageSource = 'imageID' | 'spec';

export interface RunningImage extends ContainerImage {
  /** The image as the pod spec writes it. */
  readonly specImage: string;
  /** The container status's `imageID`, as reported (absent: no status yet). */
  readonly imageID?: string;
  /** `imageID`: `image` pins the digest the runtime reported; `spec`: the spec's image is verified. */
  readonly source: ImageSource;
  /** Why the spec's image is verified, or what differs between the spec and what runs. */
  readonly note?: string;
}

const STATUS_FIELDS: Readonly<Record<Exclude<ContainerField, 'volumes'>, string>> = {
  initContainers: 'initContainerStatuses',
  containers: 'containerStatuses',
  ephemeralContainers: 'ephemeralContainerStatuses',
};

/** An imageID longer than this is not one (a repository name and a digest are a few hundred characters). */
const MAX_IMAGE_ID_LENGTH = 1024;
const IMAGE_ID_ONLY = /^(?:docker:\/\/)?sha256:[a-f0-9]{64}$/;

/** `registry/repository` of a reference, for comparing the repositories two references name. */
function repositoryOf(ref: ImageReference): string {
  return `${ref.registry}/${ref.repository}`;
}

/** The spec image without a digest (`repo:tag@sha256:…` → `repo:tag`). */
function withoutDigest(image: string): string {
  const at = image.indexOf('@');
  return at === -1 ? image : image.slice(0, at);
}

/** What to verify for one container: its spec image and what its status reports. */
export function runningReference(specImage: string, imageID: unknown): { image: string; source: ImageSource; note?: string } {
  const spec = { image: specImage, source: 'spec' as const };
  if (imageID === undefined || imageID === null || imageID === '')
    return { ...spec, note: 'no imageID in the container status yet (not started): the spec image is verified' };
  if (typeof imageID !== 'string' || imageID.length > MAX_IMAGE_ID_LENGTH)
    return {
      ...spec,
      note: `the container status's imageID is not a string of at most ${MAX_IMAGE_ID_LENGTH} characters (${describeValue(imageID)}): the spec image is verified`,
    };
  if (IMAGE_ID_ONLY.test(imageID)) {
    return {
      ...spec,
      note: `the runtime reports only a local image ID (${imageID}: the digest of the image's config, no registry digest; a locally built or imported image): the spec image is verified, which need not be what runs`,
    };
  }
  const reported = imageID.startsWith('docker-pullable://') ? imageID.slice('docker-pullable://'.length) : imageID;
  let running: ImageReference;
  let ref: ImageReference;
  try {
    running = parseReference(reported);
    ref = parseReference(specImage);
  } catch {
    return { ...spec, note: `the imageID ${JSON.stringify(imageID)} (or the spec image) is not an image reference: the spec image is verified` };
  }
  if (running.digest === undefined) return { ...spec, note: `the imageID ${JSON.stringify(imageID)} names no digest: the spec image is verified` };
  const notes: string[] = [];
  if (repositoryOf(running) !== repositoryOf(ref)) {
    notes.push(`the runtime names ${repositoryOf(running)} for this content (the first repository holding it); verified in the Pod's ${repositoryOf(ref)}`);
  }
  if (ref.digest !== undefined && ref.digest !== running.digest)
    notes.push(`the spec pins ${ref.digest}, the runtime reports ${running.digest}: what runs is verified`);
  return { image: `${withoutDigest(specImage)}@${running.digest}`, source: 'imageID', ...(notes.length > 0 ? { note: notes.join('; ') } : {}) };
}

/**
 * The images a Pod runs, in the order of its spec (init, regular, ephemeral containers, image
 * volumes), each with the digest its status reports where it reports one. Throws
 * ImgverifyError(INVALID_OPTIONS) when the pod spec's images cannot be read (as an admission would
 * deny it).
 */
export function runningImages(pod: unknown): RunningImage[] {
  const images = extractImages(pod, 'Pod');
  const status = isRecord(pod) ? own(pod, 'status') : undefined;
  const byField = new Map<string, Map<string, unknown>>();
  for (const [field, statusField] of Object.entries(STATUS_FIELDS)) {
    const list = isRecord(status) ? own(status, statusField) : undefined;
    const names = new Map<string, unknown>();
    if (Array.isArray(list)) {
      for (const entry of list) {
        const name = isRecord(entry) ? own(entry, 'name') : undefined;
        if (typeof name === 'string' && !names.has(name)) names.set(name, own(entry as Record<string, unknown>, 'imageID'));
      }
    }
    byField.set(field, names);
  }
  return images.map((image): RunningImage => {
    if (image.field === 'volumes') {
      return {
        ...image,
        specImage: image.image,
        source: 'spec',
        note: 'an image volume: the kubelet reports no digest for it, the spec reference is verified',
      };
    }
    const statuses = byField.get(image.field)!;
    const imageID = statuses.get(image.container);
    const running = runningReference(image.image, imageID);
    return {
      ...image,
      image: running.image,
      pinned: running.source === 'imageID' || image.pinned,
      specImage: image.image,
      ...(typeof imageID === 'string' && imageID !== '' ? { imageID: imageID.slice(0, MAX_IMAGE_ID_LENGTH) } : {}),
      source: running.source,
      ...(running.note !== undefined ? { note: running.note } : {}),
    };
  });
}
