/**
 * Issue 9.4 and 9.5: the networks users are behind, and SBOM fetches bounded as a whole.
 *
 * - A real CONNECT proxy (test/support/registry/connect-proxy.ts) in front of a TLS registry
 *   with a private CA, named `registry.zoo.test`: only the proxy can resolve that name, so a
 *   verification that succeeds went through the proxy. HTTPS_PROXY/https_proxy/NO_PROXY come
 *   from the environment as the CLI sees it.
 * - A registry that requires TLS client certificates (docker-registry `http.tls.clientcas`).
 * - SBOM URLs through the same stack; redirect loops, slow servers, /dev/zero and FIFOs.
 */
import { execFileSync, spawn } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer as createHttpServer, type Server } from 'node:http';
import { createServer as createHttpsServer, type Server as HttpsServer } from 'node:https';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { TLSSocket } from 'node:tls';
import { createVerifier } from '../../src';
import { HttpStack } from '../../src/registry';
import { readSbom } from '../../src/release/fetch-sbom';
import { runCli } from '../support/cli';
import {
  closePushers,
  createCa,
  issueClientCert,
  issueServerCert,
  startConnectProxy,
  startRegistry,
  type RunningConnectProxy,
  type RunningRegistry,
} from '../support/registry';
import { releaseSbom } from '../support/release';
import { pushSignatures, pushTestImage } from '../support/signed-images';
import { createTestSigstore, type TestSigstore } from '../support/sigstore';
import { policyYaml } from './webhook/helpers';
import { errorMessage } from '../../src/util/describe';

const ISSUER = 'https://accounts.example.test';
const SIGNER = 'release@example.test';
const ZOO = 'registry.zoo.test';

let sigstore: TestSigstore;
let work: string;
let rootFile: string;
let caFile: string;
let tlsRegistry: RunningRegistry;
let proxy: RunningConnectProxy;
let authProxy: RunningConnectProxy;
let signedRepo: string;
let n = 0;

const identity = () => ['--certificate-identity', SIGNER, '--certificate-oidc-issuer', ISSUER, '--trusted-root', rootFile];

async function pushSigned(registry: RunningRegistry, repo: string): Promise<string> {
  const image = await pushTestImage(registry, repo, 'v1');
  await pushSignatures(registry, repo, image.digest, [sigstore.signImage({ digest: image.digest, identity: { email: SIGNER }, issuer: ISSUER })]);
  return image.digest;
}

beforeAll(async () => {
  sigstore = createTestSigstore();
  work = mkdtempSync(join(tmpdir(), 'imgverify-network-'));
  rootFile = join(work, 'trusted_root.json');
  writeFileSync(rootFile, JSON.stringify(sigstore.trustedRoot));
  tlsRegistry = await startRegistry({ tls: true, tlsNames: [ZOO] });
  caFile = join(work, 'registry-ca.pem');
  writeFileSync(caFile, tlsRegistry.ca!);
  signedRepo = 'zoo/app';
  await pushSigned(tlsRegistry, signedRepo);
  proxy = await startConnectProxy({ hosts: { [`${ZOO}:443`]: tlsRegistry.host } });
  authProxy = await startConnectProxy({ hosts: { [`${ZOO}:443`]: tlsRegistry.host }, credentials: { username: 'proxyuser', password: 'proxy pass' } });
}, 60_000);

afterAll(async () => {
  await proxy?.stop();
  await authProxy?.stop();
  await closePushers();
  await tlsRegistry?.stop();
  if (work) rmSync(work, { recursive: true, force: true });
});

beforeEach(() => {
  proxy.exchanges.splice(0);
  authProxy.exchanges.splice(0);
});

describe('HTTPS_PROXY (CONNECT) in front of a TLS registry with a private CA', () => {
  test.each([['HTTPS_PROXY'], ['https_proxy']])('verify through %s: the registry name is resolved by the proxy; CONNECT only', async (variable) => {
    const r = await runCli(['verify', `${ZOO}/${signedRepo}:v1`, ...identity(), '--registry-cacert', caFile], { [variable]: proxy.url });
    expect(r.stderr).toBe('');
    expect(r.stdout).toMatch(/^VERIFIED/);
    expect(r.code).toBe(0);
    expect(proxy.exchanges.length).toBeGreaterThan(0);
    // https is tunnelled: the proxy saw host names, never a request line or its headers.
    expect(proxy.exchanges.every((e) => e.kind === 'connect' && e.target === `${ZOO}:443` && e.status === 200)).toBe(true);
  });

  test('proxy credentials in the URL are sent to the proxy only; without them the error names the proxy (407)', async () => {
    const without = await runCli(['verify', `${ZOO}/${signedRepo}:v1`, ...identity(), '--registry-cacert', caFile], { HTTPS_PROXY: authProxy.url });
    expect(without.code).toBe(3);
    expect(without.stdout).toContain('REGISTRY_UNREACHABLE');
    expect(without.stdout).toContain(`via proxy ${authProxy.url}`);
    expect(without.stdout).toContain('proxy authentication required');
    // Wrong credentials given: the message says they were refused, not that none were given (issue 20.18).
    const wrong = await runCli(['verify', `${ZOO}/${signedRepo}:v1`, ...identity(), '--registry-cacert', caFile], {
      HTTPS_PROXY: authProxy.url.replace('http://', 'http://proxyuser:not%20it@'),
    });
    expect(wrong.code).toBe(3);
    expect(wrong.stdout).toContain('the proxy did not accept the user:password given in the proxy URL');
    expect(wrong.stdout).not.toContain('give user:password');
    expect(wrong.stdout).not.toContain('not it');
    const url = authProxy.url.replace('http://', 'http://proxyuser:proxy%20pass@');
    const withAuth = await runCli(['verify', `${ZOO}/${signedRepo}:v1`, ...identity(), '--registry-cacert', caFile], { HTTPS_PROXY: url });
    expect(withAuth.code).toBe(0);
    expect(
      authProxy.exchanges
        .filter((e) => e.status === 200)
        .every((e) => e.proxyAuthorization === `Basic ${Buffer.from('proxyuser:proxy pass').toString('base64')}`),
    ).toBe(true);
    // The password is never echoed.
    expect(without.stdout + without.stderr + withAuth.stdout).not.toContain('proxy pass');
  });

  test.each([[ZOO], [`.zoo.test`], [`*.zoo.test`], [`zoo.test`], [`${ZOO}:443`], ['*']])(
    'NO_PROXY=%s: the registry is reached directly (and its name does not resolve)',
    async (noProxy) => {
      const r = await runCli(['verify', `${ZOO}/${signedRepo}:v1`, ...identity(), '--registry-cacert', caFile, '--timeout', '10s'], {
        HTTPS_PROXY: proxy.url,
        NO_PROXY: noProxy,
      });
      expect(r.code).toBe(3);
      expect(r.stdout).toContain('REGISTRY_UNREACHABLE');
      expect(r.stdout).not.toContain('via proxy');
      expect(proxy.exchanges).toHaveLength(0);
    },
  );

  test.each([['other.test'], [`${ZOO}:8443`], ['.registry.zoo.test']])('NO_PROXY=%s does not match: through the proxy', async (noProxy) => {
    const r = await runCli(['verify', `${ZOO}/${signedRepo}:v1`, ...identity(), '--registry-cacert', caFile], { HTTPS_PROXY: proxy.url, NO_PROXY: noProxy });
    expect(r.code).toBe(0);
    expect(proxy.exchanges.length).toBeGreaterThan(0);
  });

  test('a plain-http registry allowed with --allow-http-registry: the https probe goes by CONNECT, then http in absolute form via HTTP_PROXY', async () => {
    const plain = await startRegistry();
    try {
      await pushSigned(plain, 'plain/app');
      proxy.map('plain.zoo.test:5000', plain.host);
      const r = await runCli(['verify', 'plain.zoo.test:5000/plain/app:v1', ...identity(), '--allow-http-registry'], {
        HTTPS_PROXY: proxy.url,
        HTTP_PROXY: proxy.url,
      });
      expect(r.stdout).toMatch(/^VERIFIED/);
      expect(r.code).toBe(0);
      expect(proxy.exchanges.some((e) => e.kind === 'connect' && e.target === 'plain.zoo.test:5000')).toBe(true);
      const http = proxy.exchanges.filter((e) => e.kind === 'http');
      expect(http.length).toBeGreaterThan(0);
      expect(http.every((e) => e.url!.startsWith('http://plain.zoo.test:5000/v2/') && e.status === 200)).toBe(true);
    } finally {
      await plain.stop();
    }
  });

  test('loopback registries are never proxied (as in Go)', async () => {
    const r = await runCli(['verify', `${tlsRegistry.host}/${signedRepo}:v1`, ...identity(), '--registry-cacert', caFile], { HTTPS_PROXY: proxy.url });
    expect(r.code).toBe(0);
    expect(proxy.exchanges).toHaveLength(0);
  });

  test('without the private CA the registry certificate is refused, through the proxy too', async () => {
    const r = await runCli(['verify', `${ZOO}/${signedRepo}:v1`, ...identity()], { HTTPS_PROXY: proxy.url });
    expect(r.code).toBe(3);
    expect(r.stdout).toContain('TLS certificate of registry.zoo.test not accepted');
  });

  test('a malformed proxy URL is a usage error', async () => {
    const r = await runCli(['verify', `${ZOO}/${signedRepo}:v1`, ...identity()], { HTTPS_PROXY: 'socks9://proxy' });
    expect(r.code).toBe(2);
    expect(r.stderr).toContain('HTTPS_PROXY: proxy scheme socks9: is not supported');
  });
});

describe('mTLS: a registry that requires a client certificate', () => {
  let mtls: RunningRegistry;
  let certFile: string;
  let keyFile: string;
  beforeAll(async () => {
    mtls = await startRegistry({ mtls: true });
    await pushSigned(mtls, 'secure/app');
    const client = await issueClientCert(mtls.clientCa!);
    certFile = join(work, 'client.crt');
    keyFile = join(work, 'client.key');
    writeFileSync(certFile, client.certPem);
    writeFileSync(keyFile, client.keyPem);
    writeFileSync(join(work, 'mtls-ca.pem'), mtls.ca!);
  });
  afterAll(() => mtls?.stop());

  test('without a certificate: REGISTRY_UNREACHABLE naming the handshake refusal and the flags', async () => {
    const r = await runCli(['verify', `${mtls.host}/secure/app:v1`, ...identity(), '--registry-cacert', join(work, 'mtls-ca.pem')]);
    expect(r.code).toBe(3);
    expect(r.stdout).toContain('refused the TLS handshake');
    expect(r.stdout).toContain('--registry-client-cert');
  });

  test('--registry-client-cert/--registry-client-key (cosign’s flags): verified', async () => {
    const r = await runCli([
      'verify',
      `${mtls.host}/secure/app:v1`,
      ...identity(),
      '--registry-cacert',
      join(work, 'mtls-ca.pem'),
      '--registry-client-cert',
      certFile,
      '--registry-client-key',
      keyFile,
    ]);
    expect(r.stdout).toMatch(/^VERIFIED/);
    expect(r.code).toBe(0);
  });

  test('one flag without the other is a usage error', async () => {
    const r = await runCli(['verify', `${mtls.host}/secure/app:v1`, ...identity(), '--registry-client-cert', certFile]);
    expect(r.code).toBe(2);
    expect(r.stderr).toContain('--registry-client-cert and --registry-client-key go together');
  });

  describe("policy test (the webhook's registry flags): --registry-client-cert for the --registry-credentials-host registries", () => {
    let policies: string;
    beforeAll(() => {
      policies = join(work, 'mtls-policies');
      mkdirSync(policies, { recursive: true });
      writeFileSync(
        join(policies, 'policy.yaml'),
        policyYaml('secure', [`${mtls.host}/secure/**`], [{ name: 'signed', keyless: { identities: [{ issuer: ISSUER, subject: SIGNER }] } }]),
      );
    });
    const base = () => [
      'policy',
      'test',
      '--policies',
      policies,
      '--trusted-root',
      rootFile,
      '--registry-cacert',
      join(work, 'mtls-ca.pem'),
      `${mtls.host}/secure/app:v1`,
    ];

    test('presented to the named registry: admitted', async () => {
      const r = await runCli([...base(), '--registry-client-cert', certFile, '--registry-client-key', keyFile, '--registry-credentials-host', mtls.host]);
      expect(r.stderr).toBe('');
      expect(r.stdout).toContain('ALLOWED');
      expect(r.code).toBe(0);
    });

    test('negative: named for another registry, it is not presented and the handshake refusal denies', async () => {
      const r = await runCli([
        ...base(),
        '--registry-client-cert',
        certFile,
        '--registry-client-key',
        keyFile,
        '--registry-credentials-host',
        'registry.other.test',
      ]);
      expect(r.stdout).toContain('DENIED');
      expect(r.stdout).toContain('refused the TLS handshake');
      expect(r.code).toBe(1);
    });

    test('negative: without --registry-credentials-host (images come from Pods) it is a usage error', async () => {
      const r = await runCli([...base(), '--registry-client-cert', certFile, '--registry-client-key', keyFile]);
      expect(r.code).toBe(2);
      expect(r.stderr).toContain('--registry-client-cert needs --registry-credentials-host');
    });
  });

  test('library: clientCertificates per registry; a certificate is presented only to its own host', async () => {
    const verifier = createVerifier({
      trustedRoot: rootFile,
      registry: { ca: mtls.ca!, clientCertificates: { [mtls.host]: { cert: execFileSync('cat', [certFile]), key: execFileSync('cat', [keyFile]) } } },
    });
    try {
      expect((await verifier.verify(`${mtls.host}/secure/app:v1`, { subject: SIGNER, issuer: ISSUER })).verified).toBe(true);
    } finally {
      await verifier.close();
    }
    // A TLS server that asks for, but does not require, a client certificate, reached under
    // two names: the certificate given for `localhost:<port>` is not shown to `127.0.0.1:<port>`.
    const ca = await createCa('peer-recording CA');
    const serverCert = await issueServerCert(ca);
    const seen: Array<{ host: string | undefined; presented: boolean }> = [];
    const server: HttpsServer = createHttpsServer(
      { cert: serverCert.certPem, key: serverCert.keyPem, requestCert: true, rejectUnauthorized: false },
      (req, res) => {
        seen.push({ host: req.headers.host, presented: Object.keys((req.socket as TLSSocket).getPeerCertificate()).length > 0 });
        res.end('ok');
      },
    );
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    const port = (server.address() as AddressInfo).port;
    const client = await issueClientCert(ca);
    const stack = new HttpStack({
      proxy: false,
      ca: [ca.certPem],
      clientCertificates: { [`localhost:${port}`]: { cert: client.certPem, key: client.keyPem } },
    });
    try {
      for (const origin of [`https://localhost:${port}`, `https://127.0.0.1:${port}`]) {
        const url = new URL('/', origin);
        const res = await stack.route(url).dispatcher.request({ origin: url.origin, path: '/', method: 'GET' });
        await res.body.text();
      }
      expect(seen).toEqual([
        { host: `localhost:${port}`, presented: true },
        { host: `127.0.0.1:${port}`, presented: false },
      ]);
    } finally {
      await stack.close();
      await new Promise((r) => server.close(r));
    }
  });
});

describe('SBOM fetches: one stack, one deadline, bounded redirects and sizes (9.5)', () => {
  let server: Server;
  let base: string;
  let hits = 0;
  let sbom: string;
  beforeAll(async () => {
    sbom = releaseSbom('v1.32.0', [`${ZOO}/${signedRepo}:v1`]);
    server = createHttpServer((req, res) => {
      hits++;
      if (req.url === '/loop') return void res.writeHead(302, { location: '/loop' }).end();
      if (req.url === '/slow') {
        res.writeHead(200, { 'content-type': 'text/spdx' });
        res.write('SPDXVersion: SPDX-2.2\n');
        return; // never ends
      }
      if (req.url?.startsWith('/hop/')) {
        const left = Number(req.url.slice(5));
        return void res.writeHead(307, { location: left > 0 ? `/hop/${left - 1}` : '/release.spdx' }).end();
      }
      if (req.url === '/release.spdx') return void res.writeHead(200, { 'content-type': 'text/spdx' }).end(sbom);
      res.writeHead(404).end();
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  });
  afterAll(async () => {
    server.closeAllConnections();
    await new Promise((r) => server.close(r));
  });
  beforeEach(() => (hits = 0));

  test('a URL redirecting to itself is followed at most 10 times', async () => {
    const err = await readSbom(`${base}/loop`).catch((e: unknown) => e);
    expect(err).toMatchObject({ code: 'FETCH_FAILED' });
    expect(errorMessage(err)).toContain('more than 10 redirects');
    expect(hits).toBe(11);
  });

  test('ten redirects are followed', async () => {
    expect((await readSbom(`${base}/hop/9`)).toString()).toBe(sbom);
  });

  test('a server that never finishes the body: FETCH_FAILED at the deadline', async () => {
    const started = Date.now();
    const err = await readSbom(`${base}/slow`, { timeoutMs: 800 }).catch((e: unknown) => e);
    expect(err).toMatchObject({ code: 'FETCH_FAILED' });
    expect(errorMessage(err)).toContain('no complete answer within 800 ms');
    expect(Date.now() - started).toBeLessThan(3000);
  });

  test('/dev/zero as the SBOM file: SBOM_INVALID at the size bound, not unbounded memory', async () => {
    const err = await readSbom('/dev/zero', { maxBytes: 1024 * 1024 }).catch((e: unknown) => e);
    expect(err).toMatchObject({ code: 'SBOM_INVALID' });
  });

  test('a FIFO without a writer reads as empty at once; one whose writer never finishes ends at the deadline', async () => {
    const fifo = join(work, `sbom-${++n}.fifo`);
    execFileSync('mkfifo', [fifo]);
    const started = Date.now();
    expect((await readSbom(fifo, { timeoutMs: 5000 })).length).toBe(0);
    expect(Date.now() - started).toBeLessThan(2000);
    // A writer that keeps the FIFO open without finishing.
    const writer = spawn('/bin/sh', ['-c', `exec 3>"${fifo}"; printf 'SPDXVersion: SPDX-2.2\\n' >&3; sleep 30`], { stdio: 'ignore' });
    try {
      await new Promise((r) => setTimeout(r, 200));
      const err = await readSbom(fifo, { timeoutMs: 700 }).catch((e: unknown) => e);
      expect(err).toMatchObject({ code: 'FETCH_FAILED' });
      expect(errorMessage(err)).toContain('not read completely within 700 ms');
    } finally {
      writer.kill('SIGKILL');
    }
  });

  test('verify-release --sbom https://… through HTTPS_PROXY: the SBOM and the registry share the proxy and the CA', async () => {
    // The SBOM is served by the TLS registry's name too: a tiny https server the proxy knows as sbom.zoo.test.
    const ca = await createCa('sbom host CA');
    const cert = await issueServerCert(ca, ['sbom.zoo.test']);
    const https = createHttpsServer({ cert: cert.certPem, key: cert.keyPem }, (_req, res) => res.writeHead(200).end(sbom));
    await new Promise<void>((r) => https.listen(0, '127.0.0.1', r));
    proxy.map('sbom.zoo.test:443', `127.0.0.1:${(https.address() as AddressInfo).port}`);
    const bundle = join(work, 'cas.pem');
    writeFileSync(bundle, `${tlsRegistry.ca!}\n${ca.certPem}`);
    try {
      const r = await runCli(['verify-release', '--sbom', 'https://sbom.zoo.test/release.spdx', ...identity(), '--registry-cacert', bundle], {
        HTTPS_PROXY: proxy.url,
      });
      expect(r.stdout).toContain('1 images: 1 verified');
      expect(r.code).toBe(0);
      expect(proxy.exchanges.map((e) => e.target)).toContain('sbom.zoo.test:443');
      expect(proxy.exchanges.map((e) => e.target)).toContain(`${ZOO}:443`);
    } finally {
      await new Promise((r) => https.close(r));
    }
  });

  test('verify-release --sbom /dev/zero --timeout 5s: refused at the size bound (exit 2, SBOM_INVALID), promptly', async () => {
    const started = Date.now();
    const r = await runCli(['verify-release', '--sbom', '/dev/zero', ...identity(), '--timeout', '5s']);
    expect(r.stderr).toContain('SBOM_INVALID');
    expect(r.code).toBe(2);
    expect(Date.now() - started).toBeLessThan(10_000);
  });
});
