/**
 * Which container images an SPDX document lists, as normalised image references.
 *
 * A package is an image when (first rule that applies wins):
 *  1. it has a `pkg:oci` or `pkg:docker` purl (ExternalRef PACKAGE_MANAGER purl); the purl says
 *     where the image lives and its digest. Any other purl type (golang, deb, apk...) marks the
 *     package as not an image, whatever its name;
 *  2. its name is an image reference with an explicit registry and an explicit tag or digest
 *     (`registry.k8s.io/kube-apiserver-amd64:v1.26.0`, how Kubernetes release SBOMs up to
 *     v1.26 name image archives; `host/repo@sha256:...` as apko writes);
 *  3. it is a Kubernetes release image archive (`kube-apiserver.tar`) whose SPDXID the `bom`
 *     tool built from the archive's RepoTags (`SPDXRef-Package-registry.k8s.io-kube-apiserver-
 *     amd64-v1.27.0`), how release SBOMs name them since v1.27; only the unambiguous
 *     `<registry>-<archive name>[-<arch>]-<vX.Y.Z[-pre]>` shape is read back.
 * Image packages that another image package CONTAINS (and that are not its VARIANT_OF) are
 * layers, and images another image DESCENDS from are base images: both are skipped, with the
 * reason. So are image-looking packages we cannot resolve (a registry-neutral `pkg:oci` purl
 * without repository_url, a malformed name). Nothing here throws on odd names.
 *
 * De-duplication is explained at `deduplicate`. See docs/sbom.md for the dialects.
 */
import { repositoryName } from '../reference';
import { deduplicate, type Found } from './image-dedupe';
import { fromDockerPurl, fromOciPurl, tryReference, type PurlContext } from './image-purls';
import type { SpdxDocument, SpdxPackage } from './model';
import { parsePurl } from './purl';
import { quote } from './vocabulary';
import type { Candidate, SbomImage } from './image-model';

export interface SkippedPackage {
  spdxId: string;
  name: string;
  /** Why a package that looks like an image is not returned. */
  reason: string;
}

export interface ImageExtraction {
  images: SbomImage[];
  skipped: SkippedPackage[];
  /** Information dropped from an image that is still returned (an unusable tag qualifier...). */
  warnings: string[];
}

interface Analysis {
  candidates: Candidate[];
  reasons: string[];
}

/** Purposes that say a package is something other than an image or an image archive. */
const NOT_IMAGE_PURPOSES: ReadonlySet<string> = new Set(['LIBRARY', 'FRAMEWORK', 'SOURCE', 'DEVICE', 'FIRMWARE', 'OPERATING_SYSTEM', 'INSTALL']);
/** Release archives of Kubernetes: `<registry>-<image>[-<arch>]-<version>` after `SPDXRef-Package-`. */
const K8S_ARCHIVE_ID_RE = /^SPDXRef-Package-(registry\.k8s\.io|k8s\.gcr\.io)-(.+)$/;
const K8S_ARCHES = ['amd64', 'arm', 'arm64', 'ppc64le', 's390x', '386', 'riscv64', 'mips64le', 'loong64'];
const K8S_VERSION = 'v\\d+\\.\\d+\\.\\d+(?:-(?:alpha|beta|rc)\\.\\d+)?';

/** The container images a parsed SPDX document lists, the image-like packages skipped and why. */
export function imagesFromSpdx(doc: SpdxDocument): ImageExtraction {
  const ctx: PurlContext = {
    // bom signs `Tool: sigs.k8s.io/bom/pkg/spdx` (2021-2022, bom-nginx.spdx), later `Tool: bom-<version>`;
    // `k8s.io/release` is its import path from before it moved out of kubernetes/release (assumed).
    bomDialect: doc.creators.some((c) => /^Tool:\s*(?:sigs\.k8s\.io\/bom\b|k8s\.io\/release\b|bom-v?\d)/.test(c)),
    warnings: [],
  };
  const skipped: SkippedPackage[] = [];
  const analysed = new Map<string, Analysis>();
  for (const pkg of doc.packages) {
    const analysis = analysePackage(pkg, ctx);
    if (analysis.candidates.length > 0) analysed.set(pkg.spdxId, analysis);
    else if (analysis.reasons.length > 0) skipped.push({ spdxId: pkg.spdxId, name: pkg.name, reason: analysis.reasons.join('; ') });
  }

  const graph = relationshipIndex(doc);
  const found: Found[] = [];
  for (const pkg of doc.packages) {
    const analysis = analysed.get(pkg.spdxId);
    if (!analysis) continue;
    const isImage = (id: string): boolean => analysed.has(id);
    const container = (graph.containers.get(pkg.spdxId) ?? []).find(
      (q) => isImage(q) && !graph.variants.has(`${pkg.spdxId} ${q}`) && !graph.variants.has(`${q} ${pkg.spdxId}`),
    );
    if (container !== undefined) {
      skipped.push({ spdxId: pkg.spdxId, name: pkg.name, reason: `a layer: image ${container} CONTAINS it` });
      continue;
    }
    const descendant = (graph.descendants.get(pkg.spdxId) ?? []).find(isImage);
    if (descendant !== undefined) {
      skipped.push({ spdxId: pkg.spdxId, name: pkg.name, reason: `a base image: image ${descendant} DESCENDS from it` });
      continue;
    }
    const variantOf = (graph.variantOf.get(pkg.spdxId) ?? []).find(isImage);
    for (const c of analysis.candidates) found.push({ ...c, source: pkg.spdxId, ...(variantOf ? { variantOf } : {}) });
  }
  return { images: deduplicate(found), skipped, warnings: ctx.warnings };
}

/** The normalised references of the images an SPDX document lists (see imagesFromSpdx). */
export function extractImageReferences(doc: SpdxDocument): SbomImage[] {
  return imagesFromSpdx(doc).images;
}

function relationshipIndex(doc: SpdxDocument): {
  containers: Map<string, string[]>;
  descendants: Map<string, string[]>;
  variantOf: Map<string, string[]>;
  variants: Set<string>;
} {
  const containers = new Map<string, string[]>();
  const descendants = new Map<string, string[]>();
  const variantOf = new Map<string, string[]>();
  const variants = new Set<string>();
  const add = (map: Map<string, string[]>, key: string, value: string): void => {
    const list = map.get(key);
    if (list) list.push(value);
    else map.set(key, [value]);
  };
  for (const { element, type, related } of doc.relationships) {
    switch (type) {
      case 'CONTAINS':
        add(containers, related, element);
        break;
      case 'CONTAINED_BY':
        add(containers, element, related);
        break;
      case 'DESCENDANT_OF':
        add(descendants, related, element);
        break;
      case 'ANCESTOR_OF':
        add(descendants, element, related);
        break;
      case 'VARIANT_OF':
        // SPDX: "A VARIANT_OF B: A is a variant of B"; bom writes <platform image> VARIANT_OF <index>.
        add(variantOf, element, related);
        variants.add(`${element} ${related}`);
        break;
      default:
        break;
    }
  }
  return { containers, descendants, variantOf, variants };
}

function analysePackage(pkg: SpdxPackage, ctx: PurlContext): Analysis {
  const reasons: string[] = [];
  const candidates: Candidate[] = [];
  const platform = namePlatform(pkg.name);
  let otherPurl = false;
  for (const ref of pkg.externalRefs) {
    if (ref.category !== 'PACKAGE_MANAGER' || ref.type !== 'purl') continue;
    const purl = parsePurl(ref.locator);
    const looksImage = /^pkg:\/*(?:oci|docker)\//i.test(ref.locator);
    if (!purl) {
      if (looksImage) reasons.push(`malformed purl ${quote(ref.locator)}`);
      continue;
    }
    if (purl.type !== 'oci' && purl.type !== 'docker') {
      otherPurl = true;
      continue;
    }
    const c = purl.type === 'oci' ? fromOciPurl(purl, pkg, ctx) : fromDockerPurl(purl, pkg, ctx);
    if (typeof c === 'string') {
      reasons.push(`${c} (${quote(ref.locator)})`);
      continue;
    }
    candidates.push({
      ...c,
      ...((c.architecture ?? platform.architecture) ? { architecture: c.architecture ?? platform.architecture } : {}),
      ...((c.os ?? platform.os) ? { os: c.os ?? platform.os } : {}),
    });
  }
  if (candidates.length > 0) {
    // `<ref> (<arch>/<os>)` names a platform image after its index: the tag is the index's, not its own.
    const named = platform.base === pkg.name ? withNameTag(candidates, pkg.name) : candidates;
    return { candidates: named, reasons };
  }
  if (otherPurl || reasons.length > 0) return { candidates, reasons };
  if (pkg.primaryPurpose !== undefined && NOT_IMAGE_PURPOSES.has(pkg.primaryPurpose)) return { candidates, reasons };

  if (looksLikeImageReference(platform.base)) {
    const ref = tryReference(platform.base);
    if (typeof ref === 'string') return { candidates, reasons: [`the name looks like an image reference but is not one: ${ref}`] };
    const { architecture, os } = platform;
    return { candidates: [{ ref, via: 'name', ...(architecture ? { architecture } : {}), ...(os ? { os } : {}) }], reasons };
  }
  const archive = fromImageArchive(pkg);
  if (typeof archive === 'string') return { candidates, reasons: [archive] };
  if (archive) return { candidates: [archive], reasons };
  return { candidates, reasons };
}

/**
 * A purl rarely carries a tag while the name often does (bom: `repo@sha256:...` names, or
 * `host/repo:tag`): when the name is a reference to the same repository as a purl, the purl's
 * reference takes the name's tag (if it has none) and keeps its own digest.
 */
function withNameTag(candidates: Candidate[], name: string): Candidate[] {
  if (!looksLikeImageReference(name)) return candidates;
  const named = tryReference(name);
  if (typeof named === 'string') return candidates;
  return candidates.map((c) => {
    if (repositoryName(c.ref) !== repositoryName(named) || c.ref.tag !== undefined || named.tag === undefined) return c;
    if (named.digest !== undefined && c.ref.digest !== undefined && named.digest !== c.ref.digest) return c;
    return { ...c, ref: { ...c.ref, tag: named.tag } };
  });
}

/**
 * `bom` names per-platform images `<ref> (<arch>/<os>)`; the suffix is platform, not name.
 * Scanned by hand rather than with a backtracking regexp: names are untrusted and can be long.
 */
function namePlatform(name: string): { base: string; architecture?: string; os?: string } {
  const open = name.lastIndexOf('(');
  if (!name.endsWith(')') || open <= 0 || !/\s/.test(name.charAt(open - 1))) return { base: name };
  const inner = name.slice(open + 1, -1);
  const base = name.slice(0, open).trimEnd();
  if (base === '' || /[\s()]/.test(inner)) return { base: name };
  const slash = inner.indexOf('/');
  const architecture = slash === -1 ? '' : inner.slice(0, slash);
  const os = slash === -1 ? inner : inner.slice(slash + 1);
  return { base, ...(architecture ? { architecture } : {}), ...(os ? { os } : {}) };
}

/** An explicit registry (a first component with `.` or `:`, or localhost) and a tag or a digest. */
function looksLikeImageReference(value: string): boolean {
  const slash = value.indexOf('/');
  if (slash <= 0) return false;
  const first = value.slice(0, slash);
  if (!first.includes('.') && !first.includes(':') && first !== 'localhost') return false;
  return value.includes('@') || value.indexOf(':', value.lastIndexOf('/')) !== -1;
}

/**
 * Kubernetes release archives since v1.27: package `kube-apiserver.tar`, SPDXID
 * `SPDXRef-Package-registry.k8s.io-kube-apiserver-amd64-v1.27.0` (bom replaced `/` and `:` by
 * `-`). Read back only when the SPDXID is exactly <registry>-<archive name>[-<arch>]-<version>;
 * anything else (a `coredns-coredns` that may be `coredns/coredns`) is reported, not guessed.
 */
function fromImageArchive(pkg: SpdxPackage): Candidate | string | undefined {
  const file = [pkg.name, pkg.fileName].map((n) => n?.slice(n.lastIndexOf('/') + 1)).find((n) => n?.endsWith('.tar'));
  const id = K8S_ARCHIVE_ID_RE.exec(pkg.spdxId);
  if (file === undefined || !id) return undefined;
  const image = file.slice(0, -'.tar'.length);
  const [, registry, rest] = id as unknown as [string, string, string];
  const m = /^[a-z0-9]+(?:[._-][a-z0-9]+)*$/.test(image)
    ? new RegExp(`^${image.replace(/\./g, '\\.')}(?:-(${K8S_ARCHES.join('|')}))?-(${K8S_VERSION})$`).exec(rest)
    : null;
  if (!m) return `image archive ${file}: SPDXID ${pkg.spdxId} is not <registry>-<image>[-<arch>]-<version>, so the image reference cannot be derived from it`;
  const [, architecture, tag] = m as unknown as [string, string | undefined, string];
  const ref = tryReference(`${registry}/${image}${architecture ? `-${architecture}` : ''}:${tag}`);
  if (typeof ref === 'string') return `image archive ${file}: ${ref}`;
  return { ref, via: 'spdx-id', ...(architecture ? { architecture } : {}) };
}
