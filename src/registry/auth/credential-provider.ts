/**
 * Kubelet credential provider plugins (KEP-2133), the way EKS, GKE and AKS hand out ECR,
 * Artifact Registry and ACR tokens, run as the kubelet runs them:
 *
 * - The configuration is the kubelet's `CredentialProviderConfig` (`kubelet.config.k8s.io`
 *   v1, v1beta1 or v1alpha1; YAML or JSON; a file, or a folder whose `*.json`, `*.yaml`,
 *   `*.yml` files are merged in lexical order), checked as strictly as the kubelet checks it:
 *   unknown fields, a provider without `name`, `matchImages`, `defaultCacheDuration` or a known
 *   `apiVersion`, a name with `/` or spaces, duplicate names, a missing executable in the
 *   plugin folder. `tokenAttributes` (service account tokens for plugins) is refused: it would
 *   need tokens requested for the admitted object's ServiceAccount.
 * - A provider is asked only about images one of its `matchImages` matches (./keyring's
 *   `urlsMatch`: globs per host label, equal ports, path prefixes). The plugin
 *   (`<bin-dir>/<name> args...`, the process environment plus the configured `env`) gets a
 *   `CredentialProviderRequest` `{"apiVersion","kind","image"}` on stdin and answers a
 *   `CredentialProviderResponse` of the same `apiVersion` with `cacheKeyType` (Image,
 *   Registry, Global), an optional `cacheDuration` and an `auth` map whose keys are matched
 *   against the image like pull secret keys. Anything else is refused (the answer is never
 *   quoted: it holds secrets).
 * - Answers are cached per provider under the image, its registry or one global key, as
 *   `cacheKeyType` says, for `cacheDuration` (else the provider's `defaultCacheDuration`; `0`:
 *   not cached), at most 24 h and 1000 entries; looked up image, then registry, then global.
 *   Concurrent requests for one image share one run. A failed run is not cached.
 * - Bounded like the docker credential helpers (./spawn): 10 s, 1 MiB of output, the process
 *   group killed past either. A request whose deadline passes stops waiting; the run goes on
 *   to its own bound, so a slow plugin's answer still serves the next request.
 */
import { readdir, readFile, stat, access } from 'node:fs/promises';
import { constants } from 'node:fs';
import { join } from 'node:path';
import { ImgverifyError } from '../../errors';
import { abortable } from '../../util/abort';
import { isRecord } from '../../util/shape';
import { describeValue, errorMessage } from '../../util/describe';
import { asDependencyMissing } from '../../util/optional-module';
import type { CredentialCandidate, CredentialLookupResult } from './credential-types';
import { RegistryKeyring, urlsMatch, type KeyringEntry } from './keyring';
import { BoundedRunError, runBounded } from './spawn';

const CONFIG_API_VERSIONS = ['kubelet.config.k8s.io/v1', 'kubelet.config.k8s.io/v1beta1', 'kubelet.config.k8s.io/v1alpha1'] as const;
const PLUGIN_API_VERSIONS = [
  'credentialprovider.kubelet.k8s.io/v1',
  'credentialprovider.kubelet.k8s.io/v1beta1',
  'credentialprovider.kubelet.k8s.io/v1alpha1',
] as const;
type PluginApiVersion = (typeof PLUGIN_API_VERSIONS)[number];

const PLUGIN_TIMEOUT_MS = 10_000;
const MAX_OUTPUT_BYTES = 1024 * 1024;
const MAX_CONFIG_BYTES = 1024 * 1024;
const MAX_CACHE_MS = 24 * 3600_000;
const MAX_CACHE_ENTRIES = 1000;
const GLOBAL_CACHE_KEY = '\0global';

export interface CredentialProviderSpec {
  readonly name: string;
  readonly matchImages: readonly string[];
  /** ms; 0: answers without `cacheDuration` are not cached. */
  readonly defaultCacheDurationMs: number;
  readonly apiVersion: PluginApiVersion;
  readonly args: readonly string[];
  readonly env: ReadonlyArray<{ readonly name: string; readonly value: string }>;
}

/** Where the kubelet keeps its credential provider configuration and plugins. */
export interface CredentialProviderSettings {
  /** `--image-credential-provider-config`: a CredentialProviderConfig file, or a folder of them. */
  readonly config: string;
  /** `--image-credential-provider-bin-dir`: where the plugin executables are. */
  readonly binDir: string;
}

// --- Configuration ------------------------------------------------------------------------

function configError(where: string, why: string): ImgverifyError {
  return new ImgverifyError('INVALID_OPTIONS', `credential provider config ${where}: ${why}`, { details: { credentialProviderConfig: where } });
}

type Json = Record<string, unknown>;
const isObject = isRecord;

function rejectUnknown(obj: Json, allowed: readonly string[], where: string, path: string): void {
  for (const key of Object.keys(obj)) {
    if (!allowed.includes(key)) throw configError(where, `${path}: unknown field ${describeValue(key)}`);
  }
}

/**
 * A Go `time.Duration` string (`5m`, `1h30m`, `0.5s`, `300ms`, `0`) in ms, as
 * `metav1.Duration` reads it; undefined when it is not one.
 */
export function parseGoDuration(text: unknown): number | undefined {
  if (typeof text !== 'string' || text.length === 0 || text.length > 64) return undefined;
  const units: Record<string, number> = { ns: 1e-6, us: 1e-3, µs: 1e-3, μs: 1e-3, ms: 1, s: 1000, m: 60_000, h: 3_600_000 };
  let rest = text;
  let sign = 1;
  if (rest[0] === '-' || rest[0] === '+') {
    sign = rest[0] === '-' ? -1 : 1;
    rest = rest.slice(1);
  }
  if (rest === '0') return 0;
  if (rest === '') return undefined;
  let total = 0;
  const part = /^(\d*(?:\.\d*)?)(ns|us|µs|μs|ms|s|m|h)/u;
  while (rest !== '') {
    const m = part.exec(rest);
    if (!m || m[1] === '' || m[1] === '.') return undefined;
    total += Number(m[1]) * units[m[2]!]!;
    rest = rest.slice(m[0].length);
  }
  return Number.isFinite(total) ? sign * total : undefined;
}

function parseProvider(value: unknown, where: string, path: string, configVersion: string): CredentialProviderSpec {
  if (!isObject(value)) throw configError(where, `${path}: expected an object`);
  rejectUnknown(value, ['name', 'matchImages', 'defaultCacheDuration', 'apiVersion', 'args', 'env', 'tokenAttributes'], where, path);
  const { name, matchImages, defaultCacheDuration, apiVersion, args, env, tokenAttributes } = value;
  if (typeof name !== 'string' || name === '') throw configError(where, `${path}.name: required`);
  if (name.includes('/')) throw configError(where, `${path}.name: provider name cannot contain '/': ${describeValue(name)}`);
  if (/\s/.test(name)) throw configError(where, `${path}.name: provider name cannot contain spaces: ${describeValue(name)}`);
  if (name === '.' || name === '..') throw configError(where, `${path}.name: provider name cannot be ${describeValue(name)}`);
  if (apiVersion === undefined || apiVersion === '') throw configError(where, `${path}.apiVersion: required`);
  if (!PLUGIN_API_VERSIONS.includes(apiVersion as PluginApiVersion)) {
    throw configError(where, `${path}.apiVersion: unsupported value ${describeValue(apiVersion)} (supported: ${PLUGIN_API_VERSIONS.join(', ')})`);
  }
  if (!Array.isArray(matchImages) || matchImages.length === 0) throw configError(where, `${path}.matchImages: at least 1 item in matchImages is required`);
  matchImages.forEach((m: unknown, i) => {
    if (typeof m !== 'string' || !validMatchImage(m)) throw configError(where, `${path}.matchImages[${i}]: match image is invalid: ${describeValue(m)}`);
  });
  if (defaultCacheDuration === undefined) throw configError(where, `${path}.defaultCacheDuration: required`);
  const cacheMs = parseGoDuration(defaultCacheDuration);
  if (cacheMs === undefined) throw configError(where, `${path}.defaultCacheDuration: not a duration (e.g. "10m"): ${describeValue(defaultCacheDuration)}`);
  if (cacheMs < 0) throw configError(where, `${path}.defaultCacheDuration: defaultCacheDuration must be greater than or equal to 0`);
  if (args !== undefined && args !== null && !(Array.isArray(args) && args.every((a) => typeof a === 'string'))) {
    throw configError(where, `${path}.args: expected a list of strings`);
  }
  const envList: Array<{ name: string; value: string }> = [];
  if (env !== undefined && env !== null) {
    if (!Array.isArray(env)) throw configError(where, `${path}.env: expected a list of {name, value}`);
    env.forEach((e: unknown, i) => {
      if (!isObject(e)) throw configError(where, `${path}.env[${i}]: expected {name, value}`);
      rejectUnknown(e, ['name', 'value'], where, `${path}.env[${i}]`);
      if (typeof e.name !== 'string' || e.name === '' || e.name.includes('=') || e.name.includes('\0'))
        throw configError(where, `${path}.env[${i}].name: required, without "="`);
      if (typeof e.value !== 'string' || e.value.includes('\0')) throw configError(where, `${path}.env[${i}].value: expected a string`);
      envList.push({ name: e.name, value: e.value });
    });
  }
  if (tokenAttributes !== undefined && tokenAttributes !== null) {
    if (configVersion !== 'kubelet.config.k8s.io/v1') throw configError(where, `${path}: unknown field "tokenAttributes"`);
    throw configError(
      where,
      `${path}.tokenAttributes: service account tokens for credential providers are not supported (imgverify would have to request tokens for the admitted object's ServiceAccount)`,
    );
  }
  return {
    name,
    matchImages: matchImages as string[],
    defaultCacheDurationMs: cacheMs,
    apiVersion: apiVersion as PluginApiVersion,
    args: args ?? [],
    env: envList,
  };
}

/** What the kubelet's `ParseSchemelessURL` accepts: a host (globs allowed), an optional numeric port, a path. */
function validMatchImage(value: string): boolean {
  const end = value.search(/[/?#]/);
  const host = end === -1 ? value : value.slice(0, end);
  // eslint-disable-next-line no-control-regex -- control characters and blanks cannot be in a host
  if (host === '' || /[\x00-\x20\x7f%"<>\\^`{|}]/.test(host)) return false;
  const port = /^(?:\[[^\]]*\]|[^:]*)(?::(.*))?$/.exec(host);
  return port !== null && (port[1] === undefined || /^\d*$/.test(port[1]));
}

/**
 * `yaml`, loaded when a configuration is parsed: an optional dependency
 * (../../util/optional-module.ts), so without it a configuration fails DEPENDENCY_MISSING naming it.
 */
function yaml(): typeof import('yaml') {
  try {
    // eslint-disable-next-line @typescript-eslint/no-require-imports -- an optional package, loaded when first needed
    return require('yaml') as typeof import('yaml');
  } catch (err) {
    throw asDependencyMissing(err);
  }
}

/** Parses one CredentialProviderConfig document (YAML or JSON); `where` names it in messages. */
export function parseCredentialProviderConfig(text: string, where: string): CredentialProviderSpec[] {
  // YAML 1.1, as the kubelet's decoder reads it; duplicate keys are errors.
  const docs = yaml().parseAllDocuments(text, { version: '1.1', uniqueKeys: true });
  if (!Array.isArray(docs) || docs.length !== 1) throw configError(where, 'expected one YAML or JSON document');
  const doc = docs[0]!;
  if (doc.errors.length > 0) throw configError(where, `not valid YAML or JSON: ${doc.errors[0]!.message.split('\n')[0]}`);
  let json: unknown;
  try {
    json = doc.toJS({ maxAliasCount: 100 });
  } catch (err) {
    // An alias to no anchor, too many aliases.
    throw configError(where, `not valid YAML: ${errorMessage(err)}`);
  }
  if (!isObject(json)) throw configError(where, 'the top level is not an object');
  rejectUnknown(json, ['apiVersion', 'kind', 'providers'], where, '(top level)');
  if (json.kind !== 'CredentialProviderConfig') throw configError(where, `kind: expected CredentialProviderConfig, got ${describeValue(json.kind)}`);
  if (!CONFIG_API_VERSIONS.includes(json.apiVersion as (typeof CONFIG_API_VERSIONS)[number])) {
    throw configError(where, `apiVersion: expected one of ${CONFIG_API_VERSIONS.join(', ')}, got ${describeValue(json.apiVersion)}`);
  }
  const providers = json.providers ?? [];
  if (!Array.isArray(providers)) throw configError(where, 'providers: expected a list');
  return providers.map((p: unknown, i) => parseProvider(p, where, `providers[${i}]`, json.apiVersion as string));
}

async function readConfigFile(path: string): Promise<CredentialProviderSpec[]> {
  let info;
  try {
    info = await stat(path);
  } catch (err) {
    throw configError(path, `cannot be read (${(err as NodeJS.ErrnoException).code ?? errorMessage(err)})`);
  }
  if (info.size > MAX_CONFIG_BYTES) throw configError(path, `larger than ${MAX_CONFIG_BYTES} bytes`);
  return parseCredentialProviderConfig(await readFile(path, 'utf8'), path);
}

/**
 * Reads and checks the configuration (a file or a folder) and the plugin folder: every
 * provider's executable must be there. Throws INVALID_OPTIONS naming the file and field.
 */
export async function loadCredentialProviders(settings: CredentialProviderSettings, options: CredentialProvidersOptions = {}): Promise<CredentialProviders> {
  return new CredentialProviders(await readCredentialProviderSpecs(settings), settings.binDir, options);
}

/** The checked provider list of a configuration (see loadCredentialProviders). */
export async function readCredentialProviderSpecs(settings: CredentialProviderSettings): Promise<CredentialProviderSpec[]> {
  const { config, binDir } = settings;
  let info;
  try {
    info = await stat(config);
  } catch (err) {
    throw configError(config, `cannot be read (${(err as NodeJS.ErrnoException).code ?? errorMessage(err)})`);
  }
  let specs: CredentialProviderSpec[] = [];
  if (info.isDirectory()) {
    const files = (await readdir(config, { withFileTypes: true }))
      .filter((e) => !e.isDirectory() && /\.(?:json|ya?ml)$/.test(e.name))
      .map((e) => join(config, e.name))
      .sort();
    if (files.length === 0) throw configError(config, 'no configuration files (*.json, *.yaml, *.yml) in the folder');
    for (const file of files) specs.push(...(await readConfigFile(file)));
  } else {
    specs = await readConfigFile(config);
  }
  if (specs.length === 0) throw configError(config, 'providers: at least 1 item in plugins is required');
  const seen = new Set<string>();
  for (const spec of specs) {
    if (seen.has(spec.name)) throw configError(config, `duplicate provider name ${describeValue(spec.name)}`);
    seen.add(spec.name);
  }
  try {
    if (!(await stat(binDir)).isDirectory()) throw new Error('not a folder');
  } catch (err) {
    throw new ImgverifyError(
      'INVALID_OPTIONS',
      `credential provider plugin folder ${binDir} does not exist or is not a folder (${(err as NodeJS.ErrnoException).code ?? errorMessage(err)})`,
      {
        details: { credentialProviderBinDir: binDir },
      },
    );
  }
  for (const spec of specs) {
    const program = join(binDir, spec.name);
    try {
      if (!(await stat(program)).isFile()) throw new Error('not a file');
      await access(program, constants.X_OK);
    } catch {
      throw new ImgverifyError(
        'INVALID_OPTIONS',
        `credential provider plugin executable ${program} does not exist or is not executable (provider ${describeValue(spec.name)})`,
        {
          details: { credentialProviderBinDir: binDir, provider: spec.name },
        },
      );
    }
  }
  return specs;
}

// --- The exec protocol --------------------------------------------------------------------

interface PluginAnswer {
  readonly cacheKeyType: 'Image' | 'Registry' | 'Global';
  /** ms; undefined: the provider's default. */
  readonly cacheDurationMs?: number;
  readonly entries: readonly KeyringEntry[];
}

/** Checks a plugin's answer; errors say what is wrong and never quote a value that may be secret. */
export function parsePluginResponse(stdout: Buffer, spec: CredentialProviderSpec): PluginAnswer {
  const source = `credential provider ${spec.name}`;
  let json: unknown;
  try {
    json = JSON.parse(stdout.toString('utf8'));
  } catch {
    throw new Error('its response is not JSON');
  }
  if (!isObject(json)) throw new Error('its response is not a JSON object');
  for (const key of Object.keys(json)) {
    if (!['apiVersion', 'kind', 'cacheKeyType', 'cacheDuration', 'auth'].includes(key))
      throw new Error(`its response has an unknown field ${describeValue(key)}`);
  }
  if (json.apiVersion !== spec.apiVersion) {
    throw new Error(`its response's apiVersion ${describeValue(json.apiVersion)} is not the configured ${spec.apiVersion}`);
  }
  if (json.kind !== 'CredentialProviderResponse') throw new Error(`its response's kind ${describeValue(json.kind)} is not CredentialProviderResponse`);
  const type = json.cacheKeyType;
  if (type !== 'Image' && type !== 'Registry' && type !== 'Global')
    throw new Error(`its response's cacheKeyType ${describeValue(type)} is not Image, Registry or Global`);
  let cacheDurationMs: number | undefined;
  if (json.cacheDuration !== undefined && json.cacheDuration !== null) {
    cacheDurationMs = parseGoDuration(json.cacheDuration);
    if (cacheDurationMs === undefined) throw new Error("its response's cacheDuration is not a duration");
  }
  const entries: KeyringEntry[] = [];
  if (json.auth !== undefined && json.auth !== null) {
    if (!isObject(json.auth)) throw new Error("its response's auth is not an object");
    for (const [key, entry] of Object.entries(json.auth)) {
      if (!isObject(entry)) throw new Error('an auth entry is not an object');
      for (const field of Object.keys(entry))
        if (field !== 'username' && field !== 'password') throw new Error(`an auth entry has an unknown field ${describeValue(field)}`);
      const { username = '', password = '' } = entry;
      if (typeof username !== 'string' || typeof password !== 'string') throw new Error("an auth entry's username and password must be strings");
      if (username.includes(':')) throw new Error('an auth entry\'s username contains ":" (unusable for basic authentication)');
      // An entry with nothing in it grants nothing: anonymous access needs no entry.
      if (username === '' && password === '') continue;
      if (username === '') throw new Error('an auth entry has a password without a username');
      entries.push({ key, credentials: { username, password }, source });
    }
  }
  return { cacheKeyType: type, ...(cacheDurationMs !== undefined ? { cacheDurationMs } : {}), entries };
}

interface CacheEntry {
  readonly keyring: RegistryKeyring;
  readonly expiresAt: number;
}

/** How plugins are run. */
export interface CredentialProvidersOptions {
  /** The environment the plugins inherit (the kubelet passes its own). Default process.env. */
  readonly env?: Readonly<Record<string, string | undefined>> | undefined;
  /** How long one run may take. Default 10 s. */
  readonly timeoutMs?: number | undefined;
  /** Clock for the cache (tests). Default Date.now. */
  readonly now?: (() => number) | undefined;
}

/** One configured plugin: its matching, its cache, its runs. */
class Provider {
  private readonly cache = new Map<string, CacheEntry>();
  private readonly running = new Map<string, Promise<RegistryKeyring>>();

  constructor(
    readonly spec: CredentialProviderSpec,
    private readonly binDir: string,
    private readonly options: { readonly env: Readonly<Record<string, string | undefined>>; readonly timeoutMs: number; readonly now: () => number },
  ) {}

  /** Number of runs (tests and messages). */
  runs = 0;

  matches(image: string): boolean {
    return this.spec.matchImages.some((m) => urlsMatch(m, image));
  }

  /** The plugin's keyring for an image: cached (image, registry, global), else one shared run. */
  async keyring(image: string, signal?: AbortSignal): Promise<RegistryKeyring> {
    const registry = image.split('/', 1)[0]!;
    for (const key of [image, registry, GLOBAL_CACHE_KEY]) {
      const hit = this.cache.get(key);
      if (hit === undefined) continue;
      if (hit.expiresAt > this.options.now()) return hit.keyring;
      this.cache.delete(key);
    }
    let run = this.running.get(image);
    if (run === undefined) {
      const created = this.run(image).finally(() => this.running.delete(image));
      run = created;
      this.running.set(image, created);
      created.catch(() => undefined);
    }
    return abortable(run, signal);
  }

  private async run(image: string): Promise<RegistryKeyring> {
    this.runs++;
    const { spec } = this;
    const env: Record<string, string | undefined> = { ...this.options.env };
    for (const { name, value } of spec.env) env[name] = value;
    let result;
    try {
      result = await runBounded({
        program: join(this.binDir, spec.name),
        args: spec.args,
        env,
        input: JSON.stringify({ apiVersion: spec.apiVersion, kind: 'CredentialProviderRequest', image }),
        timeoutMs: this.options.timeoutMs,
        maxOutputBytes: MAX_OUTPUT_BYTES,
      });
    } catch (err) {
      if (err instanceof BoundedRunError) throw new Error(err.why, { cause: err });
      throw err;
    }
    if (result.code !== 0) throw new Error(`exited with ${result.code !== null ? `status ${result.code}` : `signal ${result.signal}`}`);
    const answer = parsePluginResponse(result.stdout, spec);
    const keyring = new RegistryKeyring(answer.entries);
    const duration = Math.min(answer.cacheDurationMs ?? spec.defaultCacheDurationMs, MAX_CACHE_MS);
    if (duration > 0) {
      const key = answer.cacheKeyType === 'Image' ? image : answer.cacheKeyType === 'Registry' ? image.split('/', 1)[0]! : GLOBAL_CACHE_KEY;
      this.cache.delete(key);
      this.cache.set(key, { keyring, expiresAt: this.options.now() + duration });
      while (this.cache.size > MAX_CACHE_ENTRIES) this.cache.delete(this.cache.keys().next().value as string);
    }
    return keyring;
  }

  clear(): void {
    this.cache.clear();
  }
}

/**
 * The configured plugins, asked in configuration order. A plugin that fails (exits non-zero,
 * times out, answers something invalid) contributes no credentials, as in the kubelet; the
 * failure is said in `searched`, so a refused request names it.
 */
export class CredentialProviders {
  private readonly providers: readonly Provider[];

  /** @internal Use loadCredentialProviders(). */
  constructor(specs: readonly CredentialProviderSpec[], binDir: string, options: CredentialProvidersOptions = {}) {
    const resolved = { env: options.env ?? process.env, timeoutMs: options.timeoutMs ?? PLUGIN_TIMEOUT_MS, now: options.now ?? Date.now };
    this.providers = specs.map((spec) => new Provider(spec, binDir, resolved));
  }

  /** @internal Runs so far per provider name (tests). */
  runs(): Record<string, number> {
    return Object.fromEntries(this.providers.map((p) => [p.spec.name, p.runs]));
  }

  /** Forgets cached answers (credentials changed). */
  clear(): void {
    for (const p of this.providers) p.clear();
  }

  /** The plugins' credentials for one repository, in configuration order; failures are named in `searched`. */
  async lookup(registry: string, repository: string, signal?: AbortSignal): Promise<CredentialLookupResult> {
    const image = `${registry}/${repository}`;
    const candidates: CredentialCandidate[] = [];
    const notes: string[] = [];
    for (const provider of this.providers) {
      if (!provider.matches(image)) continue;
      const label = `credential provider ${provider.spec.name}`;
      try {
        const found = (await provider.keyring(image, signal)).lookup(image);
        candidates.push(...found);
        notes.push(found.length > 0 ? label : `${label}: none for ${image}`);
      } catch (err) {
        if (signal?.aborted) throw err;
        notes.push(`${label} failed: ${errorMessage(err)}`);
      }
    }
    return { candidates, searched: notes.join('; ') };
  }
}
