/**
 * Issue 20.12: plain http on loopback is allowed for a host the user names (a registry on
 * 127.0.0.1), never for a redirect target a remote host names. A remote https registry (and an
 * SBOM's https host) redirecting to http://127.0.0.1:<port> would make the verifier a client of
 * the machine's own plain-http services. The remote host is `front.zoo.test`, reached through a
 * CONNECT proxy that knows where it is (as a corporate proxy resolves names the client cannot).
 */
import { createServer as createHttpServer, type Server } from 'node:http';
import { createServer as createHttpsServer, type Server as HttpsServer } from 'node:https';
import type { AddressInfo } from 'node:net';
import { readSbom } from '../../src';
import { WebClient } from '../../src/net/web-client';
import { HttpStack, RegistryClient } from '../../src/registry';
import { createCa, issueServerCert, startConnectProxy, type RunningConnectProxy, type TestCa } from '../support/registry';
import { rejection } from '../support/errors';

const FRONT = 'front.zoo.test';

let ca: TestCa;
let front: HttpsServer;
let local: Server;
let localHost: string;
let localHits: string[];
let proxy: RunningConnectProxy;

beforeAll(async () => {
  ca = await createCa('imgverify redirect test CA');
  const cert = await issueServerCert(ca, [FRONT]);
  localHits = [];
  // A service on the machine's loopback, plain http: what a hostile redirect would reach.
  local = createHttpServer((req, res) => {
    localHits.push(req.url ?? '');
    res.writeHead(200, { 'content-type': 'application/json' }).end('{}');
  });
  await new Promise<void>((r) => local.listen(0, '127.0.0.1', r));
  localHost = `127.0.0.1:${(local.address() as AddressInfo).port}`;
  // The remote host: a registry API that redirects the manifest, and an SBOM URL that redirects.
  front = createHttpsServer({ cert: cert.certPem, key: cert.keyPem }, (req, res) => {
    if (req.url === '/v2/') res.writeHead(200).end('{}');
    else res.writeHead(307, { location: `http://${localHost}/internal/admin?action=delete` }).end();
  });
  await new Promise<void>((r) => front.listen(0, '127.0.0.1', r));
  proxy = await startConnectProxy({ hosts: { [`${FRONT}:443`]: `127.0.0.1:${(front.address() as AddressInfo).port}` } });
});

afterAll(async () => {
  await proxy?.stop();
  await new Promise((r) => front?.close(r));
  await new Promise((r) => local?.close(r));
});

beforeEach(() => localHits.splice(0));

test('a remote https registry redirecting to plain http on loopback: refused, the local service is never asked', async () => {
  const client = new RegistryClient({ dockerConfigPath: false, env: { HTTPS_PROXY: proxy.url }, ca: [ca.certPem], retries: 0 });
  try {
    const err = await rejection(client.getManifest({ registry: FRONT, repository: 'app' }, 'v1'), 'INSECURE_REGISTRY_REFUSED');
    expect(err.message).toContain(`refusing plain http to http://${localHost}/internal/admin (redirect target)`);
    expect(err.message).toContain(`named by ${FRONT}, which is not itself on loopback`);
    expect(localHits).toEqual([]);
  } finally {
    await client.close();
  }
});

test('listed in allowHttp, that redirect target may be used (the user named it)', async () => {
  const client = new RegistryClient({ dockerConfigPath: false, env: { HTTPS_PROXY: proxy.url }, ca: [ca.certPem], retries: 0, allowHttp: [localHost] });
  try {
    // The local service answers {} (not a manifest): what matters is that it was asked.
    await client.getManifest({ registry: FRONT, repository: 'app' }, 'v1').catch(() => undefined);
    expect(localHits).toEqual(['/internal/admin?action=delete']);
  } finally {
    await client.close();
  }
});

test('a release file (the web client: .sig, .cert, Rekor) on a remote https host redirecting to plain http on loopback: refused', async () => {
  const stack = new HttpStack({ env: { HTTPS_PROXY: proxy.url }, ca: [ca.certPem] });
  const web = new WebClient({ httpStack: stack, timeoutMs: 10_000 });
  try {
    const err = await rejection(web.get(`https://${FRONT}/release/sbom.spdx`, { what: 'the SBOM', maxBytes: 1000 }), 'FETCH_FAILED');
    expect(err.message).toContain(`redirected to http://${localHost}/internal/admin, which is not https`);
    expect(localHits).toEqual([]);
  } finally {
    await web.close();
    await stack.close();
  }
});

test('an SBOM URL (verify-release --sbom) on a remote https host redirecting to plain http on loopback: refused', async () => {
  const stack = new HttpStack({ env: { HTTPS_PROXY: proxy.url }, ca: [ca.certPem] });
  try {
    const err = await rejection(readSbom(`https://${FRONT}/release/sbom.spdx`, { httpStack: stack, timeoutMs: 10_000 }), 'FETCH_FAILED');
    expect(err.message).toContain(`redirected to a non-https location http://${localHost}/internal/admin`);
    expect(localHits).toEqual([]);
  } finally {
    await stack.close();
  }
});

test('a loopback SBOM URL the user gave is still fetched over plain http (a local mirror)', async () => {
  const sbom = await readSbom(`http://${localHost}/sbom.json`, { timeoutMs: 10_000 });
  expect(sbom.toString()).toBe('{}');
});

test('a failing SBOM URL is named without its query: a signed URL carries its token there (issue 20.17)', async () => {
  const stack = new HttpStack({ env: { HTTPS_PROXY: proxy.url }, ca: [ca.certPem] });
  try {
    const err = await rejection(
      readSbom(`https://${FRONT}/release/sbom.spdx?X-Amz-Signature=s3cr3t-token&X-Amz-Credential=AKIA`, { httpStack: stack, timeoutMs: 10_000 }),
      'FETCH_FAILED',
    );
    expect(err.message).toContain(`cannot fetch SBOM https://${FRONT}/release/sbom.spdx:`);
    expect(JSON.stringify({ message: err.message, details: err.details })).not.toMatch(/s3cr3t|AKIA/);
  } finally {
    await stack.close();
  }
});
