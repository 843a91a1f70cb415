/**
 * Image references: the docker/distribution reference grammar, normalised the way the
 * docker CLI, cosign and go-containerregistry normalise it.
 *
 *   reference  := name [ ":" tag ] [ "@" digest ]
 *   name       := [ domain "/" ] path-component { "/" path-component }
 *   domain     := host [ ":" port ]      host := domain-name | IPv4 | "[" IPv6 "]"
 *   tag        := [A-Za-z0-9_][A-Za-z0-9_.-]{0,127}
 *   digest     := algorithm ":" hex
 *
 * The first path component is a registry host only when it contains "." or ":", is
 * "localhost", or has an upper-case letter; otherwise the registry is docker.io and a
 * single-component docker.io repository gets the "library/" prefix. Without tag and
 * digest the tag is "latest". Parsing happens once, at the edge; everything after takes
 * the typed value.
 */
import { ImgverifyError } from './errors';
import { describeValue, errorMessage } from './util/describe';
import { isLoopbackHost, parseRegistryHost } from './util/registry-host';

export const DEFAULT_REGISTRY = 'docker.io';
const DEFAULT_TAG = 'latest';
const LEGACY_DEFAULT_REGISTRY = 'index.docker.io';
/** The host that actually serves docker.io's registry API. */
const DOCKER_HUB_API_HOST = 'registry-1.docker.io';
const MAX_NAME_LENGTH = 255;

const DOMAIN_COMPONENT = '(?:[a-zA-Z0-9]|[a-zA-Z0-9][a-zA-Z0-9-]*[a-zA-Z0-9])';
const DOMAIN_NAME = `${DOMAIN_COMPONENT}(?:\\.${DOMAIN_COMPONENT})*`;
const IPV6 = '\\[(?:[a-fA-F0-9:]+)\\]';
const HOST = `(?:${DOMAIN_NAME}|${IPV6})`;
const DOMAIN_RE = new RegExp(`^${HOST}(?::[0-9]+)?$`);
const PATH_COMPONENT_RE = /^[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*$/;
const TAG_RE = /^[\w][\w.-]{0,127}$/;
const DIGEST_RE = /^[A-Za-z][A-Za-z0-9]*(?:[-_+.][A-Za-z][A-Za-z0-9]*)*:[0-9a-fA-F]{32,}$/;

/** Digest algorithms we can verify bytes against, with their hex length. */
export const SUPPORTED_DIGEST_ALGORITHMS: Readonly<Record<string, number>> = Object.freeze({
  sha256: 64,
  sha512: 128,
});

export interface ImageReference {
  /** Registry host as written after normalisation, with port: `docker.io`, `localhost:5000`, `[::1]:5000`. */
  readonly registry: string;
  /** Repository path inside the registry: `library/nginx`, `kubernetes/kube-apiserver`. */
  readonly repository: string;
  /** Tag, when one was given (or `latest` when neither tag nor digest was given). */
  readonly tag?: string;
  /** Digest (`sha256:<hex>`), when one was given. */
  readonly digest?: string;
}

function invalid(input: string, why: string): ImgverifyError {
  return new ImgverifyError('INVALID_REFERENCE', `invalid image reference "${input}": ${why}`, {
    details: { reference: input },
  });
}

/** Validates a digest string (`algorithm:hex`) and returns it, or throws INVALID_REFERENCE. */
export function parseDigest(digest: string): string {
  if (!DIGEST_RE.test(digest)) {
    throw new ImgverifyError('INVALID_REFERENCE', `invalid digest "${digest}": expected algorithm:hex`, {
      details: { digest },
    });
  }
  const [algorithm, hex] = digest.split(':') as [string, string];
  const length = SUPPORTED_DIGEST_ALGORITHMS[algorithm];
  if (length === undefined) {
    throw new ImgverifyError('INVALID_REFERENCE', `unsupported digest algorithm "${algorithm}" in "${digest}"`, {
      details: { digest },
    });
  }
  if (hex.length !== length || hex !== hex.toLowerCase()) {
    throw new ImgverifyError('INVALID_REFERENCE', `invalid ${algorithm} digest "${digest}": expected ${length} lower-case hex characters`, {
      details: { digest },
    });
  }
  return digest;
}

function splitDomain(name: string): { registry: string; path: string } {
  const slash = name.indexOf('/');
  const first = slash === -1 ? '' : name.slice(0, slash);
  const isDomain = slash !== -1 && (first.includes('.') || first.includes(':') || first === 'localhost' || first !== first.toLowerCase());
  if (!isDomain) return { registry: DEFAULT_REGISTRY, path: name };
  return { registry: first, path: name.slice(slash + 1) };
}

/** Parses and normalises an image reference. Throws ImgverifyError(INVALID_REFERENCE). */
export function parseReference(input: string): ImageReference {
  if (typeof input !== 'string') throw invalid('', `not a string but ${describeValue(input)}`);
  if (input.length === 0) throw invalid(input, 'empty reference');
  if (input !== input.trim()) throw invalid(input, 'leading or trailing white space');

  let rest = input;
  let digest: string | undefined;
  const at = rest.indexOf('@');
  if (at !== -1) {
    const candidate = rest.slice(at + 1);
    rest = rest.slice(0, at);
    if (!DIGEST_RE.test(candidate)) throw invalid(input, `malformed digest "${candidate}"`);
    try {
      digest = parseDigest(candidate);
    } catch (err) {
      throw invalid(input, errorMessage(err));
    }
  }

  // A tag follows the last ':' that comes after the last '/' (a ':' before it is a port).
  let tag: string | undefined;
  const lastColon = rest.lastIndexOf(':');
  if (lastColon > rest.lastIndexOf('/')) {
    tag = rest.slice(lastColon + 1);
    rest = rest.slice(0, lastColon);
    if (!TAG_RE.test(tag)) throw invalid(input, `malformed tag "${tag}"`);
  }

  if (rest.length === 0) throw invalid(input, 'missing repository name');
  const { registry: rawRegistry, path } = splitDomain(rest);
  if (rawRegistry !== DEFAULT_REGISTRY && !DOMAIN_RE.test(rawRegistry)) {
    throw invalid(input, `malformed registry host "${rawRegistry}"`);
  }
  if (path.length === 0) throw invalid(input, 'missing repository path');
  for (const component of path.split('/')) {
    if (!PATH_COMPONENT_RE.test(component)) {
      const hint = component !== component.toLowerCase() ? ' (repository names must be lower case)' : '';
      throw invalid(input, `malformed repository path component "${component}"${hint}`);
    }
  }
  if (rest.length > MAX_NAME_LENGTH) throw invalid(input, `repository name longer than ${MAX_NAME_LENGTH} characters`);

  // Host names are case-insensitive: lower-case them, so `Docker.io/x` gets docker.io's
  // defaults — but only where the lower-case form is still read as a host (`MyHost/x` is a
  // host only because of its capital letter, as in docker; lower-casing it would change what
  // the formatted reference means).
  const lowered = /[.:]/.test(rawRegistry) || rawRegistry.toLowerCase() === 'localhost' ? rawRegistry.toLowerCase() : rawRegistry;
  const registry = lowered === LEGACY_DEFAULT_REGISTRY ? DEFAULT_REGISTRY : lowered;
  let repository = path;
  if (registry === DEFAULT_REGISTRY && !repository.includes('/')) repository = `library/${repository}`;

  if (tag === undefined && digest === undefined) tag = DEFAULT_TAG;
  return Object.freeze({ registry, repository, ...(tag !== undefined ? { tag } : {}), ...(digest ? { digest } : {}) });
}

/** `registry/repository`, the fully-qualified repository name. */
export function repositoryName(ref: Pick<ImageReference, 'registry' | 'repository'>): string {
  return `${ref.registry}/${ref.repository}`;
}

/** The canonical string: `registry/repository[:tag][@digest]`. */
export function formatReference(ref: ImageReference): string {
  return `${repositoryName(ref)}${ref.tag !== undefined ? `:${ref.tag}` : ''}${ref.digest ? `@${ref.digest}` : ''}`;
}

/** The same repository, pinned to a digest (keeping the tag, as `repo:tag@sha256:...`). */
export function withDigest(ref: ImageReference, digest: string): ImageReference {
  return Object.freeze({ ...ref, digest: parseDigest(digest) });
}

/** The host (and port) whose registry API serves this registry name. */
export function registryApiHost(registry: string): string {
  return registry === DEFAULT_REGISTRY ? DOCKER_HUB_API_HOST : registry;
}

/** The bare host name of a registry (no port, no IPv6 brackets). */
export function registryHostname(registry: string): string {
  if (registry.startsWith('[')) return registry.slice(1, registry.indexOf(']'));
  const colon = registry.lastIndexOf(':');
  return colon === -1 ? registry : registry.slice(0, colon);
}

/**
 * Loopback registries, where plain http is used (as go-containerregistry and docker do):
 * `localhost`, 127.0.0.0/8 and `[::1]` in any spelling the resolver reads as one of them
 * (`127.1`, `[::ffff:7f00:1]`, `[0:0:0:0:0:0:0:1]`; util/registry-host.ts, which the webhook's
 * globs read hosts with too).
 */
export function isLoopbackRegistry(registry: string): boolean {
  return isLoopbackHost(parseRegistryHost(registry).host);
}
