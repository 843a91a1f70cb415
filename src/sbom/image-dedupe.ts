/**
 * De-duplication of the image references found in one SBOM (the rule is at `deduplicate`).
 */
import { formatReference, repositoryName } from '../reference';
import type { Candidate, SbomImage } from './image-model';

export type Found = Candidate & { source: string; variantOf?: string };

/**
 * One entry per normalised reference, in document order, then the less specific forms dropped.
 *
 * A reference R is dropped when another reference S of the same repository has every part R
 * has (its tag if any, its digest if any) and more: `repo:tag` goes when `repo:tag@D` exists
 * (the SBOM recorded which image the tag meant; verifying that digest is the stronger check),
 * and `repo@D` goes when `repo:tag@D` exists (same image, the tag only adds information).
 * `repo:tag` and `repo@D` without a `repo:tag@D` both stay: nothing says the tag meant D.
 * Two digests under one tag both stay: the SBOM lists two images and each must verify.
 * The dropped entry's sources are added to the entries that absorb it. Linear: index by
 * repository+tag and repository+digest instead of comparing pairs.
 */
export function deduplicate(found: Found[]): SbomImage[] {
  const byReference = new Map<string, SbomImage>();
  for (const f of found) {
    const reference = formatReference(f.ref);
    const existing = byReference.get(reference);
    if (existing) {
      addSource(existing, f.source);
      fillPlatform(existing, f);
      continue;
    }
    byReference.set(reference, {
      reference,
      source: f.source,
      sources: [f.source],
      repository: repositoryName(f.ref),
      ...(f.ref.tag !== undefined ? { tag: f.ref.tag } : {}),
      ...(f.ref.digest !== undefined ? { digest: f.ref.digest } : {}),
      via: f.via,
      ...(f.architecture ? { architecture: f.architecture } : {}),
      ...(f.os ? { os: f.os } : {}),
      ...(f.variantOf ? { variantOf: f.variantOf } : {}),
    });
  }

  const complete = [...byReference.values()].filter((i) => i.tag !== undefined && i.digest !== undefined);
  const byTag = groupBy(complete, (i) => `${i.repository} ${i.tag}`);
  const byDigest = groupBy(complete, (i) => `${i.repository} ${i.digest}`);
  const kept: SbomImage[] = [];
  for (const image of byReference.values()) {
    const absorbers =
      image.digest === undefined
        ? byTag.get(`${image.repository} ${image.tag}`)
        : image.tag === undefined
          ? byDigest.get(`${image.repository} ${image.digest}`)
          : undefined;
    if (!absorbers) {
      kept.push(image);
      continue;
    }
    for (const a of absorbers) {
      for (const s of image.sources) addSource(a, s);
      fillPlatform(a, image);
    }
  }
  return kept;
}

function groupBy<T>(items: T[], key: (item: T) => string): Map<string, T[]> {
  const map = new Map<string, T[]>();
  for (const item of items) {
    const k = key(item);
    const list = map.get(k);
    if (list) list.push(item);
    else map.set(k, [item]);
  }
  return map;
}

/** Sources already recorded per image: a set, so that many packages naming one image stay linear. */
const recorded = new WeakMap<SbomImage, Set<string>>();

function addSource(image: SbomImage, source: string): void {
  let set = recorded.get(image);
  if (!set) {
    set = new Set(image.sources);
    recorded.set(image, set);
  }
  if (set.has(source)) return;
  set.add(source);
  image.sources.push(source);
}

function fillPlatform(image: SbomImage, from: { architecture?: string; os?: string; variantOf?: string }): void {
  if (image.architecture === undefined && from.architecture) image.architecture = from.architecture;
  if (image.os === undefined && from.os) image.os = from.os;
  if (image.variantOf === undefined && from.variantOf) image.variantOf = from.variantOf;
}
