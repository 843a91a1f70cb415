/**
 * Docker credential helpers (docker/docker-credential-helpers protocol): the program
 * `docker-credential-<name>` is run with the argument `get`, the server URL on stdin, and
 * answers `{"ServerURL","Username","Secret"}` on stdout. A `Username` of `<token>` means
 * `Secret` is an identity (OAuth2 refresh) token. "credentials not found" on stdout with a
 * non-zero exit means the helper has none: the registry is then read anonymously.
 *
 * The helper is found in the absolute directories of `PATH` (of the environment given; empty
 * and relative entries are skipped, as Go's exec.LookPath refuses them with ErrDot, so a
 * helper planted in the working directory never runs), its name must be a plain file name (no
 * path), and it is bounded: 10 s or the caller's signal, 1 MiB of output, run by ./spawn (its
 * process group is killed when a bound is hit and once it has answered). Its output is never
 * quoted in messages (it holds secrets); a failure says which helper, for which registry, and how.
 */
import { ImgverifyError } from '../../errors';
import { sanitise } from '../registry-errors';
import type { RegistryCredentials } from './credential-types';
import { errorMessage } from '../../util/describe';
import { BoundedRunError, findOnPath, runBounded } from './spawn';

const HELPER_TIMEOUT_MS = 10_000;
const MAX_OUTPUT_BYTES = 1024 * 1024;
const HELPER_NAME_RE = /^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$/;

/** The server URL helpers store Docker Hub under (what `docker login` writes); other registries by host. */
function helperServerUrl(registry: string): string {
  return registry === 'docker.io' ? 'https://index.docker.io/v1/' : registry;
}

export interface HelperRequest {
  /** The helper's name: `docker-credential-<name>`. */
  readonly name: string;
  /** The registry (`ImageReference.registry`). */
  readonly registry: string;
  /** Where the helper was named, for messages (`docker config /root/.docker/config.json`). */
  readonly from: string;
  readonly env: Readonly<Record<string, string | undefined>>;
  readonly timeoutMs?: number;
  /** Stops the helper early. */
  readonly signal?: AbortSignal;
}

/** Runs the helper; resolves to its credentials, or undefined when it has none. */
export async function runCredentialHelper(req: HelperRequest): Promise<RegistryCredentials | undefined> {
  const program = `docker-credential-${req.name}`;
  const what = `credential helper ${program} (named in ${req.from}) for ${req.registry}`;
  const fail = (code: 'INVALID_OPTIONS' | 'REGISTRY_AUTH_FAILED', why: string, cause?: unknown) =>
    new ImgverifyError(code, `${what}: ${why}`, { ...(cause !== undefined ? { cause } : {}), details: { registry: req.registry, helper: program } });
  if (!HELPER_NAME_RE.test(req.name)) throw fail('INVALID_OPTIONS', 'not a valid helper name (letters, digits, ".", "_", "-")');
  const path = findOnPath(program, req.env.PATH);
  if (path === undefined) throw fail('INVALID_OPTIONS', `${program} is not on PATH (only its absolute directories are searched)`);
  let result;
  try {
    result = await runBounded({
      program: path,
      args: ['get'],
      env: req.env,
      input: helperServerUrl(req.registry),
      timeoutMs: req.timeoutMs ?? HELPER_TIMEOUT_MS,
      maxOutputBytes: MAX_OUTPUT_BYTES,
      ...(req.signal ? { signal: req.signal } : {}),
    });
  } catch (err) {
    if (!(err instanceof BoundedRunError)) throw err;
    if (err.kind === 'not-found') throw fail('INVALID_OPTIONS', `${program} is not on PATH`, err.cause);
    if (err.kind === 'spawn') throw fail('INVALID_OPTIONS', `${program} ${err.why}`, err.cause);
    throw fail('REGISTRY_AUTH_FAILED', err.why);
  }
  const out = result.stdout.toString('utf8');
  if (result.code !== 0) {
    if (/credentials not found/i.test(out)) return undefined;
    throw fail('REGISTRY_AUTH_FAILED', `exited with ${result.code !== null ? `status ${result.code}` : `signal ${result.signal}`}`);
  }
  try {
    return parseHelperOutput(out);
  } catch (err) {
    throw fail('REGISTRY_AUTH_FAILED', errorMessage(err));
  }
}

/** `{ServerURL, Username, Secret}` → credentials; empty ones mean none. Messages never quote values. */
function parseHelperOutput(text: string): RegistryCredentials | undefined {
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch {
    throw new Error('its output is not JSON');
  }
  if (typeof json !== 'object' || json === null || Array.isArray(json)) throw new Error('its output is not a JSON object');
  const { Username: username, Secret: secret } = json as Record<string, unknown>;
  if ((username !== undefined && typeof username !== 'string') || (secret !== undefined && typeof secret !== 'string')) {
    throw new Error('Username and Secret must be strings');
  }
  if (!secret) return undefined;
  if (username === '<token>') return { identityToken: secret };
  if (!username || username.includes(':')) throw new Error(`${username ? 'a Username with ":"' : 'a Secret without a Username'} cannot be used`);
  return { username, password: secret };
}

/** For messages: a sanitised, short helper name. */
export function helperLabel(name: string): string {
  return `docker-credential-${sanitise(name, 64)}`;
}
