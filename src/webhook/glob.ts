/**
 * Image globs of a ClusterImagePolicy (`spec.images[].glob`), with policy-controller's
 * semantics (sigstore/policy-controller `pkg/apis/glob`), rule by rule. (Here `*\/*` stands
 * for star-slash-star, which would otherwise end this comment.)
 *
 * 1. A glob is matched against the *fully qualified* image name, the way
 *    go-containerregistry prints it (`ref.Name()`): the Docker Hub registry is spelled
 *    `index.docker.io`, one-component Docker Hub repositories get `library/`, a reference
 *    without tag or digest gets `:latest`, and a digest reference is `repo@sha256:...`
 *    (a tag given next to a digest is dropped).
 *      image `foo`          -> `index.docker.io/library/foo:latest`
 *      image `myuser/myapp` -> `index.docker.io/myuser/myapp:latest`
 *    so `index.docker.io/library/foo:latest`, `index.docker.io/library/*`,
 *    `index.docker.io/*\/*` and `index.docker.io/**` all match `foo`.
 * 2. The glob must match the whole name (anchored at both ends).
 *      `ghcr.io/foo` does not match `prefix-ghcr.io/foo` nor `ghcr.io/foo-suffix`.
 * 3. `*` matches any run of characters except `/` (possibly empty); `**` matches any run
 *    of characters including `/`. `:` and `@` are NOT separators, so `*` also eats a tag
 *    or a digest: to match any tag write `:**` or end the glob with `*`.
 *      `ghcr.io/*\/*` matches `ghcr.io/foo/bar` but not `ghcr.io/foo` (second `*` unmatched);
 *      `ghcr.io/**` matches both; `ghcr.io/foo*` matches `ghcr.io/foo` (0+ characters).
 * 4. `.` is a literal dot, never "any character": `ghcr.io/**` does not match `ghcrxio/foo`.
 * 5. Only `[A-Za-z0-9_:/*.@-]` may appear in a glob; anything else (`[a-z]*`, `.+`, `$FOO*`,
 *    a space) is rejected when the policy is loaded, so a glob can never be a regexp.
 * 6. Two legacy shorthands are rewritten before compiling: the glob `*` means
 *    `index.docker.io/library/*` and the glob `*\/*` means `index.docker.io/*\/*`
 *    (so `*` matches image `foo`, `*\/*` matches `myuser/myapp`).
 * 7. Deprecated fallback of `glob.Match(glob, image)`: when the qualified name does not
 *    match and the image string was not already qualified, the glob is also tried against
 *    the image string as written (so glob `foo` matches image `foo`). policy-controller's
 *    webhook never reaches it — it passes `ref.Name()`, already qualified — and neither
 *    does {@link globMatchesReference}; only the string form {@link globMatch} keeps it.
 *
 * The glob is translated to the same regular expression upstream builds and run with
 * re2js: linear time, so an image name from an untrusted Pod cannot make a glob with many
 * `**` backtrack catastrophically.
 *
 * One deliberate difference: image references are parsed by `../reference` (the docker
 * and containerd grammar, which is what the kubelet pulls), not go-containerregistry's.
 * They agree except that containerd treats a first component `localhost` or one with an
 * upper-case letter as a registry host; there we follow containerd, so the glob sees the
 * registry the image is really pulled from.
 *
 * Stricter than policy-controller (issue 9.6): a policy must not be escaped by naming the
 * same image another way, so the webhook ({@link globMatchesReference}) matches a glob
 * against every name of the image ({@link policyImageNames}):
 *   - the tag form, the digest form and the tag+digest form (`app:v1`, `app@sha256:…`,
 *     `app:v1@sha256:…`), where policy-controller sees only one;
 *   - every spelling of its registry: the default port written or not (`ghcr.io:443`), a
 *     port with leading zeros (`:05000`, `ghcr.io:0443`), IPv4 in any form the resolver
 *     accepts (`127.1`, `0x7f.0.0.1`), IPv6 in any form, IPv4-mapped IPv6 (`[::ffff:7f00:1]`),
 *     Docker Hub's aliases (`docker.io`, `index.docker.io`, `registry-1.docker.io`,
 *     `registry.hub.docker.com`, with and without `library/`), and the loopback names
 *     (`localhost`, `127.0.0.1`, `[::1]`, and `0.0.0.0` / `[::]`, which connect there);
 *   - a glob that accepts every tag or every digest of a repository (`…/app:*`, `…/app:**`,
 *     `…/app@*`) governs that repository, so also its digest-only references, which have
 *     no tag to match. A glob restricted to some tags (`…/app:v1*`) cannot know the tag of a
 *     digest-only reference and does not match it.
 * More policies match, so more must pass: never looser for an image a policy names.
 */
import { RE2JS } from 're2js';
import { DEFAULT_REGISTRY, ImgverifyError, parseReference, type ImageReference } from '../index';
import { describeValue, errorMessage } from '../util/describe';
import { parseRegistryHost } from '../util/registry-host';
import type { ClusterImagePolicy } from './cluster-image-policy-types';

/** How go-containerregistry (and so policy-controller) spells the Docker Hub registry. */
const POLICY_DOCKER_HUB_REGISTRY = 'index.docker.io';

const VALID_GLOB = /^[A-Za-z0-9_:/*.@-]+$/;
/** Longest glob accepted: image names are at most 255 + tag/digest characters. */
const MAX_GLOB_LENGTH = 1024;

export interface ImageGlob {
  /** The glob as written in the policy. */
  readonly glob: string;
  /** The anchored RE2 expression it compiles to (what policy-controller's Compile builds). */
  readonly expression: string;
  /** Whether a fully qualified image name ({@link policyImageName}) matches the glob. */
  matches(qualifiedName: string): boolean;
  /**
   * Whether the glob accepts every tag or every digest of the repository `registry/repo`
   * (it ends in `:*`, `:**`, `@*` or `@**` after a part matching the repository).
   */
  governsRepository(repositoryName: string): boolean;
}

function invalidGlob(glob: string, why: string): ImgverifyError {
  return new ImgverifyError('INVALID_POLICY', `invalid image glob ${JSON.stringify(glob)}: ${why}`, {
    details: { glob },
  });
}

/** Translates a glob to policy-controller's regular expression. Throws INVALID_POLICY. */
export function globToExpression(glob: string): string {
  if (typeof glob !== 'string') throw invalidGlob('', `not a string but ${describeValue(glob)}`);
  if (glob.length === 0) throw invalidGlob(glob, 'empty glob');
  if (glob.length > MAX_GLOB_LENGTH) throw invalidGlob(glob.slice(0, 64) + '...', `longer than ${MAX_GLOB_LENGTH} characters`);
  // Rule 6: legacy shorthands for Docker Hub.
  let source = glob;
  if (source === '*/*') source = `${POLICY_DOCKER_HUB_REGISTRY}/*/*`;
  if (source === '*') source = `${POLICY_DOCKER_HUB_REGISTRY}/library/*`;
  // Rule 5: nothing that could be regexp syntax.
  if (!VALID_GLOB.test(source)) {
    throw invalidGlob(glob, 'only letters, digits and the characters _ : / * . @ - are allowed');
  }
  // Rules 3 and 4, in upstream's order: "." first, then "**" through a placeholder so the
  // single-"*" replacement does not rewrite it. "#" cannot occur in a valid glob.
  const expression = source.replaceAll('.', '\\.').replaceAll('**', '#').replaceAll('*', '[^/]*').replaceAll('#', '.*');
  // Rule 2: anchored.
  return `^${expression}$`;
}

/** Compiles a glob once (at policy load); throws ImgverifyError(INVALID_POLICY). */
export function compileGlob(glob: string): ImageGlob {
  const expression = globToExpression(glob);
  let re: RE2JS;
  try {
    re = RE2JS.compile(expression);
  } catch (err) {
    // Unreachable for globs that passed the character check; kept so a bug fails closed.
    throw invalidGlob(glob, errorMessage(err));
  }
  // `<repository part>:*` and the like: the repository part, compiled on its own.
  const whole = /^(.+[^:@])[:@]\*{1,2}$/.exec(glob === '*' || glob === '*/*' ? '' : glob);
  let repository: RE2JS | undefined;
  if (whole) {
    try {
      repository = RE2JS.compile(globToExpression(whole[1]!));
    } catch {
      repository = undefined;
    }
  }
  return Object.freeze({
    glob,
    expression,
    matches: (qualifiedName: string) => re.testExact(qualifiedName),
    governsRepository: (repositoryName: string) => repository !== undefined && repository.testExact(repositoryName),
  });
}

/**
 * The name a glob is matched against (rule 1): `index.docker.io/library/foo:latest`,
 * `ghcr.io/org/app@sha256:...`. A digest wins over a tag, as in go-containerregistry.
 */
export function policyImageName(ref: ImageReference): string {
  const registry = ref.registry === DEFAULT_REGISTRY ? POLICY_DOCKER_HUB_REGISTRY : ref.registry;
  const identifier = ref.digest !== undefined ? `@${ref.digest}` : `:${ref.tag ?? 'latest'}`;
  return `${registry}/${ref.repository}${identifier}`;
}

const DOCKER_HUB_NAMES = ['index.docker.io', 'docker.io', 'registry-1.docker.io', 'registry.hub.docker.com'];
/** The loopback names, and the unspecified addresses, which a socket connects to the loopback interface. */
const LOOPBACK_NAMES = ['localhost', '127.0.0.1', '[::1]', '0.0.0.0', '[::]'];

/**
 * Every spelling of a registry host (see the module comment): canonical form first. Hosts and
 * ports are read by util/registry-host.ts (the same reading as the loopback test of
 * ../reference): a port is a number (`:05000` is `:5000`, `:0443` the default port), an
 * IPv4-mapped IPv6 address is its IPv4 address (`[::ffff:7f00:1]` is `127.0.0.1`), and the
 * unspecified address (`0.0.0.0`, `[::]`), which a socket connects to the loopback interface,
 * is a loopback name. Exported for tests.
 */
export function registryAliases(registry: string): string[] {
  const { host, port } = parseRegistryHost(registry);
  const hosts = DOCKER_HUB_NAMES.includes(host) || host === DEFAULT_REGISTRY ? DOCKER_HUB_NAMES : LOOPBACK_NAMES.includes(host) ? LOOPBACK_NAMES : [host];
  const ports = port === '' || port === '443' ? ['', ':443'] : [`:${port}`];
  const out = new Set<string>();
  for (const h of hosts) for (const p of ports) out.add(`${h}${p}`);
  return [...out];
}

/** Every repository name an image is known by: `registry/repository` over its aliases. */
function repositoryNames(ref: ImageReference): string[] {
  const aliases = registryAliases(ref.registry);
  const hub = aliases.includes(POLICY_DOCKER_HUB_REGISTRY);
  const repos = [ref.repository];
  if (hub && !ref.repository.includes('/')) repos.push(`library/${ref.repository}`);
  if (hub && /^library\/[^/]+$/.test(ref.repository)) repos.push(ref.repository.slice('library/'.length));
  return aliases.flatMap((a) => repos.map((r) => `${a}/${r}`));
}

/**
 * Every name a glob is matched against for the webhook: tag, digest and tag+digest forms
 * over every spelling of the registry. The first is {@link policyImageName}'s.
 */
export function policyImageNames(ref: ImageReference): string[] {
  const ids: string[] = [];
  if (ref.digest !== undefined) ids.push(`@${ref.digest}`);
  if (ref.tag !== undefined || ref.digest === undefined) ids.push(`:${ref.tag ?? 'latest'}`);
  if (ref.tag !== undefined && ref.digest !== undefined) ids.push(`:${ref.tag}@${ref.digest}`);
  const names = new Set<string>([policyImageName(ref)]);
  for (const repo of repositoryNames(ref)) for (const id of ids) names.add(`${repo}${id}`);
  return [...names];
}

/** The names and repository names of an image, computed once for matching against many globs. */
interface ImageNames {
  readonly names: readonly string[];
  readonly repositories: readonly string[];
}

function imageNames(ref: ImageReference): ImageNames {
  return { names: policyImageNames(ref), repositories: repositoryNames(ref) };
}

/** Whether a glob governs an image under any of its names (see the module comment). */
function globGovernsImage(glob: ImageGlob, names: ImageNames): boolean {
  return names.names.some((n) => glob.matches(n)) || names.repositories.some((r) => glob.governsRepository(r));
}

/** Whether a parsed image reference matches a glob (what the webhook uses; every name, no fallback). */
export function globMatchesReference(glob: ImageGlob | string, ref: ImageReference): boolean {
  const compiled = typeof glob === 'string' ? compileGlob(glob) : glob;
  return globGovernsImage(compiled, imageNames(ref));
}

/**
 * policy-controller's `glob.Match(glob, image)` on strings, including the deprecated
 * fallback of rule 7. Throws INVALID_POLICY for a bad glob, INVALID_REFERENCE for a bad image.
 */
export function globMatch(glob: ImageGlob | string, image: string): boolean {
  const compiled = typeof glob === 'string' ? compileGlob(glob) : glob;
  const name = policyImageName(parseReference(image));
  if (compiled.matches(name)) return true;
  return name !== image && compiled.matches(image);
}

// --- The policies that govern an image ---------------------------------------------------------

const compiledGlobs = new WeakMap<ClusterImagePolicy, readonly ImageGlob[]>();

function globsOf(policy: ClusterImagePolicy): readonly ImageGlob[] {
  let globs = compiledGlobs.get(policy);
  if (!globs) {
    globs = policy.images.map((image) => compileGlob(image.glob));
    compiledGlobs.set(policy, globs);
  }
  return globs;
}

/**
 * The policies that apply to an image: those with at least one glob matching its fully
 * qualified name (see above). Every returned policy must be satisfied (AND); within a
 * policy any one authority suffices (OR). Order is the input order.
 */
export function matchPolicies(policies: readonly ClusterImagePolicy[], image: ImageReference): ClusterImagePolicy[] {
  // Every name of the image (tag, digest, registry spellings): a policy cannot be escaped by
  // naming the image another way (issue 9.6).
  const names = imageNames(image);
  return policies.filter((policy) => globsOf(policy).some((glob) => globGovernsImage(glob, names)));
}
