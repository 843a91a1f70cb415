/**
 * Docker credential helpers (docker/docker-credential-helpers protocol): the program
 * `docker-credential-<name>` is run with the argument `get`, the server URL on stdin, and
 * answers `{"ServerURL","Username","Secret"}` on stdout. A `Username` of `<token>` means
 * `Secret` is an identity (OAuth2 refresh) token. "credentials not found" on stdout with a
 * non-zero exit means the helper has none: the registry is then read anonymously.
 *
 * The helper is found on `PATH` (of the environment given), its name must be a plain file
 * name (no path), and it is bounded: 10 s, 1 MiB of output. Its output is never quoted in
 * messages (it holds secrets); a failure says which helper, for which registry, and how.
 */
import { spawn } from 'node:child_process';
import { ImgverifyError } from '../../errors';
import { sanitise } from '../registry-errors';
import type { RegistryCredentials } from '../types';
import { errorMessage } from '../../util/describe';

export const HELPER_TIMEOUT_MS = 10_000;
const MAX_OUTPUT_BYTES = 1024 * 1024;
const HELPER_NAME_RE = /^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$/;

/** The server URL helpers store Docker Hub under (what `docker login` writes); other registries by host. */
export function helperServerUrl(registry: string): string {
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
}

/** Runs the helper; resolves to its credentials, or undefined when it has none. */
export function runCredentialHelper(req: HelperRequest): Promise<RegistryCredentials | undefined> {
  const program = `docker-credential-${req.name}`;
  const what = `credential helper ${program} (named in ${req.from}) for ${req.registry}`;
  const fail = (code: 'INVALID_OPTIONS' | 'REGISTRY_AUTH_FAILED', why: string, cause?: unknown) =>
    new ImgverifyError(code, `${what}: ${why}`, { ...(cause !== undefined ? { cause } : {}), details: { registry: req.registry, helper: program } });
  if (!HELPER_NAME_RE.test(req.name)) {
    return Promise.reject(fail('INVALID_OPTIONS', 'not a valid helper name (letters, digits, ".", "_", "-")'));
  }
  const timeoutMs = req.timeoutMs ?? HELPER_TIMEOUT_MS;
  return new Promise((resolve, reject) => {
    let settled = false;
    const finish = (err: ImgverifyError | undefined, value?: RegistryCredentials): void => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      if (err) reject(err);
      else resolve(value);
    };
    const child = spawn(program, ['get'], { env: { ...req.env }, stdio: ['pipe', 'pipe', 'pipe'], shell: false });
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      finish(fail('REGISTRY_AUTH_FAILED', `no answer within ${timeoutMs} ms`));
    }, timeoutMs);
    timer.unref();
    const stdout: Buffer[] = [];
    let size = 0;
    const collect = (chunk: Buffer): void => {
      size += chunk.length;
      if (size > MAX_OUTPUT_BYTES) {
        child.kill('SIGKILL');
        finish(fail('REGISTRY_AUTH_FAILED', `more than ${MAX_OUTPUT_BYTES} bytes of output`));
        return;
      }
      stdout.push(chunk);
    };
    child.stdout.on('data', collect);
    // stderr is drained and dropped: it may echo secrets.
    child.stderr.on('data', () => undefined);
    child.stdin.on('error', () => undefined);
    child.on('error', (err: NodeJS.ErrnoException) => {
      if (err.code === 'ENOENT') finish(fail('INVALID_OPTIONS', `${program} is not on PATH`, err));
      else finish(fail('INVALID_OPTIONS', `cannot run ${program} (${err.code ?? err.message})`, err));
    });
    child.on('close', (code, signal) => {
      if (settled) return;
      const out = Buffer.concat(stdout).toString('utf8');
      if (code !== 0) {
        if (/credentials not found/i.test(out)) return finish(undefined, undefined);
        return finish(fail('REGISTRY_AUTH_FAILED', `exited with ${code !== null ? `status ${code}` : `signal ${signal}`}`));
      }
      try {
        finish(undefined, parseHelperOutput(out));
      } catch (err) {
        finish(fail('REGISTRY_AUTH_FAILED', errorMessage(err)));
      }
    });
    child.stdin.end(helperServerUrl(req.registry));
  });
}

/** `{ServerURL, Username, Secret}` → credentials; empty ones mean none. Messages never quote values. */
export function parseHelperOutput(text: string): RegistryCredentials | undefined {
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
