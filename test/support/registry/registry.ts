/**
 * A real registry for tests: Debian's docker-registry (distribution 2.8) as a child process
 * with a generated config in a fresh temp dir, on an ephemeral loopback port.
 *
 * The registry runs under a tiny shell watchdog that holds the test process's pipe on its
 * stdin: when the test process ends in any way (even SIGKILL), the pipe closes and the
 * watchdog kills the registry, so no registry outlives its test run.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { accessSync, constants, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import bcrypt from 'bcryptjs';
import { stringify } from 'yaml';
import { createCa, issueClientCert, issueServerCert, type TestCa } from './certs';
import { startTokenServer, type TestUser, type TokenServer, type TokenServerOptions } from './token-server';

export interface StartRegistryOptions {
  readonly auth?: 'none' | 'htpasswd' | 'token';
  readonly tls?: boolean;
  /** Host names the TLS certificate also carries (names a test proxy resolves). */
  readonly tlsNames?: readonly string[];
  /** Require TLS client certificates issued by `RunningRegistry.clientCa` (mTLS; implies tls). */
  readonly mtls?: boolean;
  /** Users for htpasswd or the token server. Default: one user `tester`. */
  readonly users?: readonly TestUser[];
  /** Token server settings (auth: 'token'). */
  readonly token?: Omit<TokenServerOptions, 'users'>;
  /** How long to wait for "listening on". Default 20 s. */
  readonly startTimeoutMs?: number;
}

export interface RunningRegistry {
  /** `127.0.0.1:<port>`: use as ImageReference.registry. */
  readonly host: string;
  /** `http://127.0.0.1:<port>` (https with tls). */
  readonly url: string;
  readonly storageDir: string;
  /** PEM of the CA that issued the TLS certificate (tls only). */
  readonly ca?: string;
  /** The CA whose client certificates the registry accepts (mtls only): `issueClientCert(clientCa)`. */
  readonly clientCa?: TestCa;
  /** The client certificate the test pusher presents (mtls only). */
  readonly pushClientCert?: { readonly cert: string; readonly key: string };
  readonly tokenServer?: TokenServer;
  readonly users: readonly TestUser[];
  /** Credentials the test pusher uses (htpasswd and token registries). */
  readonly pushCredentials?: { readonly username: string; readonly password: string };
  /** pid of the docker-registry process. */
  readonly pid: number | undefined;
  /** The registry's log so far (bounded). */
  logs(): string;
  stop(): Promise<void>;
}

const DEFAULT_USERS: readonly TestUser[] = Object.freeze([
  { username: 'tester', password: 'correct horse battery staple', identityToken: 'refresh-token-for-tester' },
]);

const MAX_LOG_CHARS = 256 * 1024;
const live = new Set<ChildProcess>();

// Last resort for an exiting test process; the stdin watchdog covers harder deaths.
process.once('exit', () => {
  for (const child of live) child.kill('SIGKILL');
});

/**
 * The watchdog: starts the registry (stdout merged into stderr, which is our pipe), prints
 * its pid, then blocks reading stdin; EOF (stop() or our death) kills the registry.
 */
export const WATCHDOG_SCRIPT = [
  '"$0" serve "$1" </dev/null 1>&2 &',
  'pid=$!',
  'echo "$pid"',
  'exec 2>/dev/null',
  'trap \'kill -TERM "$pid" 2>/dev/null; wait "$pid"\' EXIT',
  'cat >/dev/null',
].join('\n');

export function registryBinary(): string {
  const bin = process.env.IMGVERIFY_DOCKER_REGISTRY ?? '/usr/bin/docker-registry';
  try {
    accessSync(bin, constants.X_OK);
  } catch {
    throw new Error(
      `docker-registry not found at ${bin}: install it with \`apt-get install -y docker-registry\` ` +
        '(or point IMGVERIFY_DOCKER_REGISTRY at a distribution 2.8 binary)',
    );
  }
  return bin;
}

export async function startRegistry(options: StartRegistryOptions = {}): Promise<RunningRegistry> {
  const bin = registryBinary();
  const auth = options.auth ?? 'none';
  const users = options.users ?? DEFAULT_USERS;
  const dir = mkdtempSync(join(tmpdir(), 'imgverify-registry-'));
  let tokenServer: TokenServer | undefined;
  try {
    const http: Record<string, unknown> = { addr: '127.0.0.1:0', secret: randomBytes(16).toString('hex') };
    let ca: string | undefined;
    let clientCa: TestCa | undefined;
    let pushClientCert: { cert: string; key: string } | undefined;
    if (options.tls || options.mtls) {
      const authority = await createCa('imgverify test registry CA');
      const server = await issueServerCert(authority, options.tlsNames ?? []);
      writeFileSync(join(dir, 'server.crt'), server.certPem);
      writeFileSync(join(dir, 'server.key'), server.keyPem, { mode: 0o600 });
      http.tls = { certificate: join(dir, 'server.crt'), key: join(dir, 'server.key') };
      ca = authority.certPem;
      if (options.mtls) {
        clientCa = await createCa('imgverify test client CA');
        writeFileSync(join(dir, 'client-ca.crt'), clientCa.certPem);
        (http.tls as Record<string, unknown>).clientcas = [join(dir, 'client-ca.crt')];
        const pusher = await issueClientCert(clientCa, 'imgverify test pusher');
        pushClientCert = { cert: pusher.certPem, key: pusher.keyPem };
      }
    }
    const authConfig: Record<string, unknown> = {};
    if (auth === 'htpasswd') {
      const lines = users.map((u) => `${u.username}:${bcrypt.hashSync(u.password, 5)}`);
      writeFileSync(join(dir, 'htpasswd'), `${lines.join('\n')}\n`, { mode: 0o600 });
      authConfig.htpasswd = { realm: 'imgverify-test', path: join(dir, 'htpasswd') };
    } else if (auth === 'token') {
      tokenServer = await startTokenServer({ ...options.token, users });
      writeFileSync(join(dir, 'token-root.pem'), tokenServer.rootCertPem);
      authConfig.token = {
        realm: tokenServer.realm,
        service: tokenServer.service,
        issuer: tokenServer.issuer,
        rootcertbundle: join(dir, 'token-root.pem'),
      };
    }
    const config = {
      version: 0.1,
      log: { level: 'info', formatter: 'text', accesslog: { disabled: true } },
      storage: {
        filesystem: { rootdirectory: join(dir, 'data') },
        delete: { enabled: true },
        maintenance: { uploadpurging: { enabled: false } },
      },
      http,
      ...(auth !== 'none' ? { auth: authConfig } : {}),
    };
    writeFileSync(join(dir, 'config.yml'), stringify(config));

    const proc = await launch(bin, join(dir, 'config.yml'), options.startTimeoutMs ?? 20_000);
    const host = proc.address;
    const first = users[0];
    let stopped: Promise<void> | undefined;
    const ts = tokenServer;
    return {
      host,
      url: `${options.tls || options.mtls ? 'https' : 'http'}://${host}`,
      storageDir: join(dir, 'data'),
      ...(ca !== undefined ? { ca } : {}),
      ...(clientCa !== undefined ? { clientCa } : {}),
      ...(pushClientCert !== undefined ? { pushClientCert } : {}),
      ...(ts !== undefined ? { tokenServer: ts } : {}),
      users,
      ...(auth !== 'none' && first !== undefined ? { pushCredentials: { username: first.username, password: first.password } } : {}),
      get pid() {
        return proc.pid();
      },
      logs: proc.logs,
      stop: () => {
        stopped ??= (async () => {
          await proc.stop();
          await ts?.stop();
          rmSync(dir, { recursive: true, force: true });
        })();
        return stopped;
      },
    };
  } catch (err) {
    await tokenServer?.stop();
    rmSync(dir, { recursive: true, force: true });
    throw err;
  }
}

interface Launched {
  readonly address: string;
  readonly pid: () => number | undefined;
  readonly logs: () => string;
  readonly stop: () => Promise<void>;
}

function launch(bin: string, configPath: string, timeoutMs: number): Promise<Launched> {
  const child = spawn('/bin/sh', ['-c', WATCHDOG_SCRIPT, bin, configPath], { stdio: ['pipe', 'pipe', 'pipe'] });
  live.add(child);
  let log = '';
  let pid: number | undefined;
  let registryGone = false;
  const registryClosed = new Promise<void>((resolve) =>
    child.stderr.once('close', () => {
      registryGone = true;
      resolve();
    }),
  );
  const shellExited = new Promise<void>((resolve) =>
    child.once('exit', () => {
      live.delete(child);
      resolve();
    }),
  );
  child.stdout.setEncoding('utf8').on('data', (chunk: string) => {
    const match = /^(\d+)\s/.exec(chunk);
    if (pid === undefined && match) pid = Number(match[1]);
  });
  // Unreferenced: a forgotten stop() must not keep jest alive (the watchdog then cleans up).
  child.unref();
  for (const stream of [child.stdin, child.stdout, child.stderr]) (stream as unknown as { unref?: () => void }).unref?.();

  // The watchdog exits only after reaping the registry, so its exit means the registry is gone.
  const stop = async (): Promise<void> => {
    // Hold the event loop while stopping: with everything unreferenced, a plain script (the
    // demo) would otherwise exit mid-stop, before the registry is reaped and its folder removed.
    child.ref();
    child.stdin.end();
    const done = await Promise.race([shellExited.then(() => true), delay(5000).then(() => false)]);
    if (done) return;
    if (pid !== undefined && !registryGone) {
      try {
        process.kill(pid, 'SIGKILL');
      } catch {
        // already gone
      }
    }
    await Promise.race([shellExited, delay(2000)]);
    child.kill('SIGKILL');
  };

  return new Promise<Launched>((resolve, reject) => {
    const timer = setTimeout(() => {
      void stop().then(() => reject(new Error(`docker-registry did not start within ${timeoutMs} ms; its output:\n${log}`)));
    }, timeoutMs);
    child.stderr.setEncoding('utf8').on('data', (chunk: string) => {
      log = (log + chunk).slice(-MAX_LOG_CHARS);
      const match = /listening on ([^\s",]+)/.exec(log);
      if (match) {
        clearTimeout(timer);
        resolve({ address: match[1]!, pid: () => pid, logs: () => log, stop });
      }
    });
    void registryClosed.then(() => {
      clearTimeout(timer);
      reject(new Error(`docker-registry exited before listening; its output:\n${log}`));
    });
    child.once('error', (err) => {
      clearTimeout(timer);
      reject(err);
    });
  });
}

function delay(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms).unref());
}
