/**
 * Image references from `pkg:oci` and `pkg:docker` package URLs, as SBOM producers really
 * write them (the spec, the Kubernetes `bom` tool, apko). Each function returns a candidate
 * reference or a sentence saying why the purl does not locate an image; none throws.
 */
import { isImgverifyError } from '../errors';
import { parseDigest, parseReference, repositoryName, type ImageReference } from '../reference';
import type { Candidate } from './image-model';
import type { SpdxPackage } from './model';
import type { PackageUrl } from './purl';
import { quote, trimEnd } from './vocabulary';

export interface PurlContext {
  /** Documents written by the Kubernetes `bom` tool, whose purl repository_url omits the image name. */
  readonly bomDialect: boolean;
  /** Where to say what was dropped from an image that is still returned. */
  readonly warnings: string[];
}

/** Same as reference.ts: `[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}`. */
const TAG_RE = /^[\w][\w.-]{0,127}$/;
const DOCKER_HUB_HOSTS: ReadonlySet<string> = new Set(['hub.docker.com', 'registry.hub.docker.com', 'index.docker.io', 'registry-1.docker.io']);

/** A parsed reference, or the parser's message. */
export function tryReference(value: string): ImageReference | string {
  try {
    return parseReference(value);
  } catch (err) {
    if (isImgverifyError(err)) return err.message;
    throw err;
  }
}

/** `https://index.docker.io/library/` → `docker.io/library`; undefined if it is not a registry path. */
function registryLocation(url: string): string | undefined {
  const location = trimEnd(url.replace(/^(?:https?|oci|docker):\/\//i, ''), '/');
  if (location === '' || /[\s?#@]/.test(location) || location.includes('://')) return undefined;
  const slash = location.indexOf('/');
  const host = slash === -1 ? location : location.slice(0, slash);
  return DOCKER_HUB_HOSTS.has(host.toLowerCase()) ? `docker.io${location.slice(host.length)}` : location;
}

/**
 * `pkg:oci/<name>@<digest>?repository_url=<location>&tag=<tag>&arch=<arch>`.
 * The spec makes repository_url the full repository (`ghcr.io/debian` for name `debian`);
 * `bom` writes it without the name (`index.docker.io/library` for `nginx`), and apko writes
 * no repository_url but a percent-encoded `host/repo` as the name. Without either, an oci purl
 * is registry-neutral by design and says nothing about where to verify the image.
 */
export function fromOciPurl(purl: PackageUrl, pkg: SpdxPackage, ctx: PurlContext): Candidate | string {
  if (purl.namespace !== undefined) return `pkg:oci purl has a namespace ${quote(purl.namespace)}, which the purl spec prohibits`;
  if (purl.version === undefined) return 'pkg:oci purl has no version (the image digest)';
  const digest = checkDigest(purl.version);
  if (digest === undefined) return `pkg:oci purl version ${quote(purl.version)} is not a sha256/sha512 digest`;
  let repository: string;
  const url = purl.qualifiers['repository_url'];
  if (url !== undefined) {
    const location = registryLocation(url);
    if (location === undefined) return `repository_url ${quote(url)} is not a registry location`;
    const last = location.slice(location.lastIndexOf('/') + 1);
    repository = !ctx.bomDialect && last === purl.name ? location : `${location}/${purl.name}`;
  } else if (purl.name.includes('/')) {
    repository = purl.name;
  } else {
    return 'pkg:oci purl without repository_url names no registry';
  }
  return candidate(repository, undefined, digest, purl, pkg, ctx);
}

/**
 * `pkg:docker/<namespace>/<name>@<tag or digest>?repository_url=<registry>`. The namespace may
 * start with the registry; without a registry, Docker Hub. A bare hex version is an image ID
 * (the config digest), which no registry serves by that name, so it is skipped.
 */
export function fromDockerPurl(purl: PackageUrl, pkg: SpdxPackage, ctx: PurlContext): Candidate | string {
  let repository = purl.namespace !== undefined ? `${purl.namespace}/${purl.name}` : purl.name;
  const url = purl.qualifiers['repository_url'];
  if (url !== undefined) {
    const location = registryLocation(url);
    if (location === undefined) return `repository_url ${quote(url)} is not a registry location`;
    if (!repository.startsWith(`${location}/`)) repository = `${location}/${repository}`;
  }
  const version = purl.version;
  if (version === undefined) return candidate(repository, undefined, undefined, purl, pkg, ctx);
  if (version.includes(':')) {
    const digest = checkDigest(version);
    if (digest === undefined) return `pkg:docker purl version ${quote(version)} is not a sha256/sha512 digest`;
    return candidate(repository, undefined, digest, purl, pkg, ctx);
  }
  if (/^(?:[0-9a-f]{12}|[0-9a-f]{64})$/.test(version)) {
    return `pkg:docker purl version ${quote(version)} looks like an image ID, which a registry does not serve`;
  }
  if (!TAG_RE.test(version)) return `pkg:docker purl version ${quote(version)} is neither a tag nor a digest`;
  return candidate(repository, version, undefined, purl, pkg, ctx);
}

function checkDigest(value: string): string | undefined {
  try {
    return parseDigest(value);
  } catch (err) {
    if (isImgverifyError(err)) return undefined;
    throw err;
  }
}

/** Puts repository, tag (the purl version, else the tag qualifier) and digest together, normalised. */
function candidate(
  repository: string,
  versionTag: string | undefined,
  digest: string | undefined,
  purl: PackageUrl,
  pkg: SpdxPackage,
  ctx: PurlContext,
): Candidate | string {
  if (repository.includes('@') || repository.indexOf(':', repository.lastIndexOf('/')) !== -1) {
    return `repository ${quote(repository)} carries a tag or digest of its own`;
  }
  const located = tryReference(repository);
  if (typeof located === 'string') return located;
  const name = repositoryName(located);
  const tag = versionTag ?? tagQualifier(purl.qualifiers['tag'], name, pkg, ctx);
  if (tag === undefined && digest === undefined) return `pkg:${purl.type} purl has neither a tag nor a digest`;
  const ref = tryReference(`${name}${tag !== undefined ? `:${tag}` : ''}${digest !== undefined ? `@${digest}` : ''}`);
  if (typeof ref === 'string') return ref;
  const architecture = purl.qualifiers['arch'];
  const os = purl.qualifiers['os'];
  return { ref, via: 'purl', ...(architecture ? { architecture } : {}), ...(os ? { os } : {}) };
}

/**
 * The `tag` qualifier. `bom` before 2022 wrote the reference it was given there (`tag=nginx`
 * for `nginx`, `tag=registry.k8s.io/pause:3.9`), so a value that parses as a reference to the
 * same repository gives that reference's tag (`nginx` → `latest`); otherwise it must be a tag.
 */
function tagQualifier(value: string | undefined, repository: string, pkg: SpdxPackage, ctx: PurlContext): string | undefined {
  if (value === undefined) return undefined;
  const asReference = tryReference(value);
  if (typeof asReference !== 'string' && repositoryName(asReference) === repository) return asReference.tag;
  if (TAG_RE.test(value)) return value;
  ctx.warnings.push(`${pkg.spdxId}: ignored tag qualifier ${quote(value)}: neither a tag nor a reference to ${repository}`);
  return undefined;
}
