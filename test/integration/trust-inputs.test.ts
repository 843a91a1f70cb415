/**
 * Issue 20.9: every local trust input is read with a bound, while reading, and only from a
 * regular file; `initialize --root URL` goes through imgverify's HTTP stack and its scheme
 * rules. The built CLI runs as a real process: before, `--trusted-root /dev/zero` read 5 GB in
 * 8 s, a FIFO blocked forever, and `--root URL` used the global fetch (2.2 GB read before the
 * size check; plain http to any host).
 */
import { execFileSync } from 'node:child_process';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { runBuiltCli } from '../support/cli';

let dir: string;
let fifo: string;
let endless: Server;
let endlessUrl: string;
const IMAGE = '127.0.0.1:9/app/x:v1';
const KEYLESS = ['--certificate-identity', 'x@example.test', '--certificate-oidc-issuer', 'https://issuer.example.test'];

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'imgverify-trust-inputs-'));
  fifo = join(dir, 'fifo');
  execFileSync('mkfifo', [fifo]);
  writeFileSync(join(dir, 'key.pem'), '-----BEGIN PRIVATE KEY-----\nMC4CAQAwBQYDK2VwBCIEIA==\n-----END PRIVATE KEY-----\n');
  // A URL that never stops sending.
  endless = createServer((_req, res) => {
    res.writeHead(200, { 'content-type': 'application/json' });
    const chunk = Buffer.alloc(64 * 1024, 0x20);
    const pump = (): void => {
      while (res.write(chunk));
      res.once('drain', pump);
    };
    res.on('close', () => res.removeAllListeners('drain'));
    pump();
  });
  await new Promise<void>((r) => endless.listen(0, '127.0.0.1', r));
  endlessUrl = `http://127.0.0.1:${(endless.address() as AddressInfo).port}/root.json`;
});

afterAll(async () => {
  endless?.closeAllConnections();
  await new Promise((r) => endless?.close(r));
  rmSync(dir, { recursive: true, force: true });
});

const env = () => ({ HOME: dir, XDG_CACHE_HOME: join(dir, 'cache') });

test.each([
  ['--trusted-root /dev/zero', () => ['verify', IMAGE, ...KEYLESS, '--trusted-root', '/dev/zero'], 'not a regular file (a character device)'],
  ['--trusted-root FIFO', () => ['verify', IMAGE, ...KEYLESS, '--trusted-root', fifo], 'not a regular file (a FIFO (named pipe))'],
  ['--key /dev/zero', () => ['verify', IMAGE, '--key', '/dev/zero'], '--key: cannot read /dev/zero: not a regular file (a character device)'],
  ['--registry-cacert FIFO', () => ['verify', IMAGE, ...KEYLESS, '--registry-cacert', fifo], '--registry-cacert: cannot read FIFO: not a regular file'],
  [
    '--registry-client-cert FIFO',
    () => [
      'verify',
      IMAGE,
      ...KEYLESS,
      '--registry-client-cert',
      fifo,
      '--registry-client-key',
      join(dir, 'key.pem'),
      '--registry-credentials-host',
      '127.0.0.1:9',
    ],
    '--registry-client-cert: cannot read FIFO: not a regular file',
  ],
  ['--policy FIFO (CEL)', () => ['verify-attestation', IMAGE, ...KEYLESS, '--policy', fifo], '--policy: cannot read FIFO: not a regular file'],
  ['initialize --root /dev/zero', () => ['initialize', '--root', '/dev/zero', '--tuf-cache', join(dir, 'tuf')], 'cannot read the TUF root /dev/zero'],
])('%s: exit 2 at once, saying why', async (_what, argv, message) => {
  const r = await runBuiltCli(argv(), env(), 30_000);
  expect((r.stderr + r.stdout).replaceAll(fifo, 'FIFO')).toContain(message);
  expect(r.code).toBe(2);
});

test('initialize --root URL is read through the HTTP stack with a bound: an endless body is cut off', async () => {
  const r = await runBuiltCli(['initialize', '--root', endlessUrl, '--tuf-cache', join(dir, 'tuf-endless')], env(), 30_000);
  expect(r.stderr).toContain(`cannot read the TUF root ${endlessUrl}`);
  expect(r.stderr).toContain(`the TUF root from ${endlessUrl} is larger than 524288 bytes`);
  expect(r.code).toBe(2);
});

test('initialize --root http:// to a host that is not loopback is refused (no plain http off the machine)', async () => {
  const r = await runBuiltCli(['initialize', '--root', 'http://tuf.example.invalid/root.json', '--tuf-cache', join(dir, 'tuf-http')], env(), 30_000);
  expect(r.stderr).toContain('refusing plain http to tuf.example.invalid');
  expect(r.code).toBe(2);
});

test('initialize --mirror http:// off loopback is refused at once, as docs/trust.md says (it was tried and reported "did not answer") (issue 20.18)', async () => {
  writeFileSync(join(dir, 'root.json'), '{}');
  const r = await runBuiltCli(
    ['initialize', '--mirror', 'http://tuf.example.invalid', '--root', join(dir, 'root.json'), '--tuf-cache', join(dir, 'tuf-mirror')],
    env(),
    30_000,
  );
  expect(r.stderr).toContain('TUF mirror: refusing plain http to tuf.example.invalid');
  expect(r.code).toBe(2);
});
