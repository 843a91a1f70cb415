/**
 * The web client's rules against a local HTTP server: redirects followed only to https (or
 * loopback http), bounded bodies, failures that name what was fetched.
 */
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { checkUrl, WebClient } from '../../../src/net/web-client';
import { rejection } from '../../support/errors';

let server: Server;
let base: string;
const web = new WebClient({ timeoutMs: 5000 });

beforeAll(async () => {
  server = createServer((req, res) => {
    if (req.url === '/file') res.writeHead(200).end('content');
    else if (req.url === '/big') res.writeHead(200).end(Buffer.alloc(2048));
    else if (req.url === '/to-file') res.writeHead(302, { location: '/file' }).end();
    else if (req.url === '/to-plain-http') res.writeHead(302, { location: 'http://example.com/file' }).end();
    else if (req.url === '/loop') res.writeHead(302, { location: '/loop' }).end();
    else res.writeHead(404).end();
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});

afterAll(async () => {
  await web.close();
  await new Promise((r) => server.close(r));
});

test('a body, and a redirect on the same server', async () => {
  expect((await web.get(`${base}/file`, { what: 'file', maxBytes: 100 })).toString()).toBe('content');
  expect((await web.get(`${base}/to-file`, { what: 'file', maxBytes: 100 })).toString()).toBe('content');
});

test('a redirect to plain http on another host is refused', async () => {
  const err = await rejection(web.get(`${base}/to-plain-http`, { what: 'the signature', maxBytes: 100 }));
  expect(err.code).toBe('FETCH_FAILED');
  expect(err.message).toContain('which is not https');
});

test('redirect loops end', async () => {
  expect((await rejection(web.get(`${base}/loop`, { what: 'x', maxBytes: 100 }))).message).toContain('more than 10 redirects');
});

test('404 names the file; more than maxBytes is SIZE_LIMIT_EXCEEDED', async () => {
  const err = await rejection(web.get(`${base}/none`, { what: 'kubectl.sig', maxBytes: 100 }));
  expect(err).toMatchObject({ code: 'FETCH_FAILED', message: `cannot fetch kubectl.sig from ${base}/none: HTTP 404` });
  expect((await rejection(web.get(`${base}/big`, { what: 'big', maxBytes: 1024 }))).code).toBe('SIZE_LIMIT_EXCEEDED');
});

test('URLs: https, or http on loopback; no user info; no other scheme', () => {
  expect(checkUrl('https://dl.k8s.io/x', 'u').href).toBe('https://dl.k8s.io/x');
  expect(checkUrl('http://localhost:8080/x', 'u').host).toBe('localhost:8080');
  expect(() => checkUrl('http://dl.k8s.io/x', 'u')).toThrow(/refusing plain http/);
  expect(() => checkUrl('https://user:pw@dl.k8s.io/x', 'u')).toThrow(/user info/);
  expect(() => checkUrl('file:///etc/passwd', 'u')).toThrow(/unsupported scheme/);
});
