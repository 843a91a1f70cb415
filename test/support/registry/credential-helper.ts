/**
 * A real docker credential helper for tests: an executable `docker-credential-<name>` shell
 * script in a temp folder (put it on PATH), speaking the docker-credential-helpers protocol:
 * `get` with the server URL on stdin, `{"ServerURL","Username","Secret"}` on stdout, and
 * "credentials not found in native keychain" with exit 1 for an unknown server, as the
 * real helpers (osxkeychain, pass, secretservice, ecr-login, gcloud) answer. Every call's
 * server URL is logged, so tests can count calls and see what was asked.
 */
import { chmodSync, existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

/**
 * `hang-child`: runs `sleep 100` as its child (not `exec`), which holds the pipes; the sleep's
 * pid is written to `<program>.child` in the helper's folder (`childPid()`).
 */
export type HelperBehaviour = 'normal' | 'hang' | 'hang-child' | 'flood' | 'crash';

export interface InstalledHelper {
  /** The folder to put first on PATH. */
  readonly dir: string;
  /** `docker-credential-<name>` */
  readonly program: string;
  /** Server URLs asked for, in order. */
  calls(): string[];
  /** The pid of the last `sleep` a `hang-child` helper started (undefined before). */
  childPid(): number | undefined;
  /** An environment with the folder first on PATH. */
  env(extra?: Record<string, string>): Record<string, string>;
  remove(): void;
}

const quote = (s: string) => `'${s.replaceAll("'", "'\\''")}'`;

/** Installs `docker-credential-<name>` answering `entries` (server URL → {Username, Secret}). */
export function installCredentialHelper(
  name: string,
  entries: Readonly<Record<string, { readonly Username: string; readonly Secret: string }>>,
  behaviour: HelperBehaviour = 'normal',
  dir = mkdtempSync(join(tmpdir(), 'imgverify-helper-')),
): InstalledHelper {
  const program = `docker-credential-${name}`;
  const log = join(dir, `${program}.log`);
  const cases = Object.entries(entries)
    .map(([url, e]) => `  ${quote(url)}) printf '%s' ${quote(JSON.stringify({ ServerURL: url, ...e }))} ;;`)
    .join('\n');
  const body = {
    normal: `case "$url" in\n${cases}\n  *) echo "credentials not found in native keychain"; exit 1 ;;\nesac`,
    hang: 'exec sleep 60',
    'hang-child': `sleep 100 &\necho $! > ${quote(join(dir, `${program}.child`))}\nwait`,
    flood: 'head -c 2000000 /dev/zero | tr "\\0" "x"',
    crash: 'echo "secret-looking noise" >&2; exit 3',
  }[behaviour];
  const script = [
    '#!/bin/sh',
    '[ "$1" = get ] || exit 2',
    // The server URL comes without a trailing newline, as docker sends it.
    'url=$(cat)',
    `printf '%s\\n' "$url" >> ${quote(log)}`,
    body,
    '',
  ].join('\n');
  const path = join(dir, program);
  writeFileSync(path, script);
  chmodSync(path, 0o755);
  return {
    dir,
    program,
    calls: () => (existsSync(log) ? readFileSync(log, 'utf8').split('\n').filter(Boolean) : []),
    childPid: () => {
      const file = join(dir, `${program}.child`);
      return existsSync(file) ? Number(readFileSync(file, 'utf8').trim()) : undefined;
    },
    env: (extra = {}) => ({ PATH: `${dir}:${process.env.PATH ?? '/usr/bin:/bin'}`, HOME: '/nonexistent', ...extra }),
    remove: () => rmSync(dir, { recursive: true, force: true }),
  };
}
