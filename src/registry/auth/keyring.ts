/**
 * Registry credentials matched to an image the way the kubelet matches them
 * (kubernetes `pkg/credentialprovider`, its `BasicDockerKeyring` and `URLsMatch`), for pull
 * secrets and credential provider plugins:
 *
 * - A key is a docker config key: a host (`registry.example.com`, `host:5000`), a host and a
 *   path (`quay.io/org`), or a URL (`https://index.docker.io/v1/`; the scheme is dropped, a
 *   leading `/v1/` or `/v2/` of the path too). Host labels may be globs (`*.example.com`,
 *   `*.dkr.ecr.*.amazonaws.com`): each label is matched on its own (Go's `filepath.Match`:
 *   `*`, `?`, `[a-z]`, `[^...]`, `\` escapes), so `*` never spans a dot and the label count
 *   must be equal.
 * - The port must be equal (no port matches only no port), and the key's path must be a prefix
 *   of the image's path (a plain string prefix, as the kubelet does: `quay.io/org` matches
 *   `quay.io/org/app` and also `quay.io/organisation/app`; both on quay.io, the host the key names).
 * - Every matching key contributes its credentials, the keys in reverse lexical order (so
 *   `quay.io/org` comes before `quay.io`), each key's credentials in the order they were added.
 * - When no key matches and the image is on Docker Hub, the credentials of `index.docker.io`
 *   (what `docker login` writes as `https://index.docker.io/v1/`) are used.
 *
 * The image is `registry/repository` of a parsed reference (`docker.io/library/nginx`,
 * `localhost:5000/app`), which is what the kubelet looks up (the repository without tag).
 * Hand-written: no maintained package implements the kubelet's matching, and the glob is
 * Go's per-label `filepath.Match`, not a shell or minimatch glob.
 */
import type { CredentialCandidate, RegistryCredentials } from './credential-types';
import { parseJsonObject, rawAuthEntries } from './docker-config';

/** One credential of a docker config (a pull secret) or a plugin answer, with the key it is for. */
export interface KeyringEntry {
  /** The key as written in the docker config (or a plugin's `auth` map). */
  readonly key: string;
  /** Sent only to registries the key matches. */
  readonly credentials: RegistryCredentials;
  /** Where the entry comes from, for messages: `Secret default/regcred`. */
  readonly source: string;
}

const DEFAULT_REGISTRY_HOST = 'index.docker.io';

interface ParsedUrl {
  readonly host: string;
  readonly path: string;
}

/**
 * A schemeless URL split as Go's `url.Parse("https://" + s)` splits it: the host (user info
 * dropped) up to the first `/`, `?` or `#`; the path up to `?` or `#`. Undefined for a value
 * that cannot be a host.
 */
function parseSchemeless(value: string): ParsedUrl | undefined {
  const end = value.search(/[/?#]/);
  let host = end === -1 ? value : value.slice(0, end);
  const at = host.lastIndexOf('@');
  if (at !== -1) host = host.slice(at + 1);
  let path = '';
  if (end !== -1 && value[end] === '/') {
    const stop = value.slice(end).search(/[?#]/);
    path = stop === -1 ? value.slice(end) : value.slice(end, end + stop);
  }
  // Host names are case-insensitive; references are lower-cased when parsed.
  host = host.toLowerCase();
  // eslint-disable-next-line no-control-regex -- control characters and blanks cannot be in a host
  if (host === '' || /[\x00-\x20\x7f]/.test(host)) return undefined;
  return { host, path };
}

/** The keyring key of a docker config key (kubelet's `BasicDockerKeyring.Add`), or undefined when unusable. */
export function keyringKey(loc: string): string | undefined {
  if (typeof loc !== 'string') return undefined;
  const value = loc.trim();
  const scheme = /^https?:\/\//i.exec(value);
  const parsed = parseSchemeless(scheme ? value.slice(scheme[0].length) : value);
  if (parsed === undefined) return undefined;
  let path = parsed.path;
  if (path.startsWith('/v2/') || path.startsWith('/v1/')) path = path.slice(3);
  return path !== '' && path !== '/' ? parsed.host + path : parsed.host;
}

/** Go's `net.SplitHostPort`, falling back to the whole host without a port when it fails. */
function splitHostPort(host: string): { labels: string[]; port: string } {
  let name = host;
  let port = '';
  const bracketed = /^\[([^\]]*)\]:([^:]*)$/.exec(host);
  if (bracketed) {
    name = bracketed[1]!;
    port = bracketed[2]!;
  } else if (!host.startsWith('[')) {
    const colons = host.split(':').length - 1;
    if (colons === 1) {
      const i = host.indexOf(':');
      name = host.slice(0, i);
      port = host.slice(i + 1);
    }
  }
  return { labels: name.split('.'), port };
}

/**
 * One label against one glob label, as Go's `filepath.Match` (no separator can occur in a
 * label). A malformed pattern matches nothing, as in the kubelet (which ignores the error).
 */
export function matchLabel(pattern: string, name: string): boolean {
  const source = globToRegExp(pattern);
  return source !== undefined && new RegExp(source, 'u').test(name);
}

const REGEXP_SYNTAX = /[\\^$.*+?()[\]{}|/]/;

/** A character matched literally, outside (`inClass` false) or inside a character class. */
function literal(ch: string, inClass = false): string {
  return REGEXP_SYNTAX.test(ch) || (inClass && ch === '-') ? `\\${ch}` : ch;
}

function globToRegExp(pattern: string): string | undefined {
  const chars = [...pattern];
  let out = '^';
  for (let i = 0; i < chars.length; i++) {
    const ch = chars[i]!;
    if (ch === '*') out += '.*';
    else if (ch === '?') out += '.';
    else if (ch === '\\') {
      if (i + 1 >= chars.length) return undefined;
      out += literal(chars[++i]!);
    } else if (ch === '[') {
      i++;
      let negate = false;
      if (chars[i] === '^') {
        negate = true;
        i++;
      }
      const ranges: string[] = [];
      for (;;) {
        if (i >= chars.length) return undefined;
        if (chars[i] === ']' && ranges.length > 0) break;
        const lo = classChar(chars, i);
        if (lo === undefined) return undefined;
        i = lo.next;
        let range = literal(lo.ch, true);
        if (chars[i] === '-') {
          const hi = classChar(chars, i + 1);
          if (hi === undefined) return undefined;
          i = hi.next;
          if (hi.ch.codePointAt(0)! < lo.ch.codePointAt(0)!) return undefined;
          range += `-${literal(hi.ch, true)}`;
        }
        ranges.push(range);
      }
      out += `[${negate ? '^' : ''}${ranges.join('')}]`;
    } else out += literal(ch);
  }
  return `${out}$`;
}

/** One character of a class (Go's `getEsc`): `-` and `]` must be escaped, `\` escapes. */
function classChar(chars: readonly string[], i: number): { ch: string; next: number } | undefined {
  let ch = chars[i];
  if (ch === undefined || ch === '-' || ch === ']') return undefined;
  if (ch === '\\') {
    i++;
    ch = chars[i];
    if (ch === undefined) return undefined;
  }
  return { ch, next: i + 1 };
}

/**
 * Whether `target` (`host[:port]/path`) matches `glob` (a keyring key or a plugin's
 * `matchImages` entry), as the kubelet's `URLsMatchStr`.
 */
export function urlsMatch(glob: string, target: string): boolean {
  const g = parseSchemeless(glob);
  const t = parseSchemeless(target);
  if (g === undefined || t === undefined) return false;
  const gh = splitHostPort(g.host);
  const th = splitHostPort(t.host);
  if (gh.port !== th.port || gh.labels.length !== th.labels.length) return false;
  if (!t.path.startsWith(g.path)) return false;
  return gh.labels.every((label, i) => matchLabel(label, th.labels[i]!));
}

/** Whether the image is pulled from Docker Hub (kubelet's `isDefaultRegistryMatch`). */
function isDefaultRegistryMatch(image: string): boolean {
  const slash = image.indexOf('/');
  const first = slash === -1 ? image : image.slice(0, slash);
  if (first === '') return false;
  if (slash === -1) return true;
  if (first === 'docker.io' || first === DEFAULT_REGISTRY_HOST) return true;
  return !/[.:]/.test(first);
}

/** Credentials indexed by key, looked up for an image as the kubelet does. */
export class RegistryKeyring {
  private readonly byKey = new Map<string, CredentialCandidate[]>();
  private readonly index: string[];

  constructor(entries: readonly KeyringEntry[]) {
    for (const entry of entries) {
      const key = keyringKey(entry.key);
      if (key === undefined) continue;
      let list = this.byKey.get(key);
      if (list === undefined) this.byKey.set(key, (list = []));
      list.push({ credentials: entry.credentials, source: entry.source });
    }
    // Reverse lexical order puts a longer key before its prefix (quay.io/org before quay.io).
    this.index = [...this.byKey.keys()].sort().reverse();
  }

  /** The number of distinct keys. */
  get size(): number {
    return this.index.length;
  }

  /** The credentials for an image (`registry/repository`), most specific key first; [] when none. */
  lookup(image: string): CredentialCandidate[] {
    const out: CredentialCandidate[] = [];
    for (const key of this.index) if (urlsMatch(key, image)) out.push(...this.byKey.get(key)!);
    if (out.length === 0 && isDefaultRegistryMatch(image)) out.push(...(this.byKey.get(DEFAULT_REGISTRY_HOST) ?? []));
    return out;
  }
}

/** Credentials matched to images as the kubelet matches pull secrets (globs per host label, ports, path prefixes). */
export function registryKeyring(entries: readonly KeyringEntry[]): RegistryKeyring {
  return new RegistryKeyring(entries);
}

/**
 * The entries of a docker config document as a pull secret holds it: `dockerconfigjson` (the
 * `.dockerconfigjson` of a `kubernetes.io/dockerconfigjson` Secret: `{"auths": {...}}`) or
 * `dockercfg` (the `.dockercfg` of a `kubernetes.io/dockercfg` Secret: the map itself). Keys
 * are kept as written (matched by {@link RegistryKeyring}); entries without credentials are
 * left out. `source` names the document in messages and candidates. Throws INVALID_OPTIONS,
 * never quoting the content.
 */
export function keyringEntries(text: string, format: 'dockerconfigjson' | 'dockercfg', source: string): KeyringEntry[] {
  const where = { label: source, details: { credentialSource: source } };
  const json = parseJsonObject(text, where);
  const entries: KeyringEntry[] = [];
  for (const { key, credentials } of rawAuthEntries(json, where, format === 'dockercfg' ? 'dockercfg' : 'docker')) {
    if (credentials !== undefined) entries.push({ key, credentials, source });
  }
  return entries;
}
