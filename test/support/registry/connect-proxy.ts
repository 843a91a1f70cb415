/**
 * A real forward HTTP proxy, as users have in front of the internet: CONNECT tunnels for
 * https (the proxy sees only the host name), absolute-form requests for plain http, optional
 * Basic proxy authentication (407 without it). It resolves host names from its own table, as
 * a corporate proxy resolves internal names the client cannot: the tests name registries
 * `registry.zoo.test:443` and only the proxy knows where they are. A name it does not know
 * is answered with 502, as real proxies do for DNS failures.
 *
 * Every tunnel and request is recorded (target, Proxy-Authorization, and for plain http the
 * request's own headers), so tests can see which traffic went through the proxy.
 */
import { createServer, request as httpRequest, type IncomingHttpHeaders, type IncomingMessage, type ServerResponse } from 'node:http';
import { connect, type AddressInfo, type Socket } from 'node:net';

export interface ConnectProxyOptions {
  /** `name:port` → `127.0.0.1:port`: where the proxy sends traffic for a host. */
  readonly hosts?: Readonly<Record<string, string>>;
  /** Require `Proxy-Authorization: Basic` with these credentials (407 otherwise). */
  readonly credentials?: { readonly username: string; readonly password: string };
}

interface ProxiedExchange {
  readonly kind: 'connect' | 'http';
  /** `host:port` asked for. */
  readonly target: string;
  readonly proxyAuthorization?: string;
  /** For plain http: the request line's URL and headers (what the target will see). */
  readonly url?: string;
  readonly headers?: IncomingHttpHeaders;
  /** The status the proxy answered with itself (200 for an open tunnel, 407, 502). */
  readonly status: number;
}

export interface RunningConnectProxy {
  /** `http://127.0.0.1:<port>` */
  readonly url: string;
  readonly exchanges: ProxiedExchange[];
  /** Adds or changes a host mapping. */
  map(name: string, address: string): void;
  stop(): Promise<void>;
}

export async function startConnectProxy(options: ConnectProxyOptions = {}): Promise<RunningConnectProxy> {
  const hosts = new Map(Object.entries(options.hosts ?? {}).map(([k, v]) => [k.toLowerCase(), v]));
  const exchanges: ProxiedExchange[] = [];
  const sockets = new Set<Socket>();
  const expected = options.credentials
    ? `Basic ${Buffer.from(`${options.credentials.username}:${options.credentials.password}`).toString('base64')}`
    : undefined;

  const resolve = (target: string): { host: string; port: number } | undefined => {
    const address = hosts.get(target.toLowerCase());
    if (address === undefined) return undefined;
    const colon = address.lastIndexOf(':');
    return { host: address.slice(0, colon), port: Number(address.slice(colon + 1)) };
  };
  const authorised = (headers: IncomingHttpHeaders): boolean => expected === undefined || headers['proxy-authorization'] === expected;
  const auth = (headers: IncomingHttpHeaders) =>
    headers['proxy-authorization'] !== undefined ? { proxyAuthorization: String(headers['proxy-authorization']) } : {};

  const server = createServer((req: IncomingMessage, res: ServerResponse) => {
    // Absolute-form: GET http://name:port/path HTTP/1.1
    let url: URL;
    try {
      url = new URL(req.url ?? '');
    } catch {
      res.writeHead(400).end('absolute-form request expected');
      return;
    }
    const target = `${url.hostname}:${url.port || '80'}`;
    const base = { kind: 'http' as const, target, url: url.href, headers: req.headers, ...auth(req.headers) };
    if (!authorised(req.headers)) {
      exchanges.push({ ...base, status: 407 });
      res.writeHead(407, { 'proxy-authenticate': 'Basic realm="zoo proxy"' }).end();
      return;
    }
    const to = resolve(target);
    if (to === undefined) {
      exchanges.push({ ...base, status: 502 });
      res.writeHead(502).end(`cannot resolve ${url.hostname}`);
      return;
    }
    exchanges.push({ ...base, status: 200 });
    const headers = { ...req.headers };
    delete headers['proxy-authorization'];
    delete headers['proxy-connection'];
    const upstream = httpRequest({ host: to.host, port: to.port, method: req.method, path: `${url.pathname}${url.search}`, headers }, (answer) => {
      res.writeHead(answer.statusCode ?? 502, answer.headers);
      answer.pipe(res);
    });
    upstream.on('error', () => (res.headersSent ? res.destroy() : res.writeHead(502).end()));
    req.pipe(upstream);
  });

  server.on('connect', (req: IncomingMessage, client: Socket, head: Buffer) => {
    const target = req.url ?? '';
    const base = { kind: 'connect' as const, target, ...auth(req.headers) };
    client.on('error', () => undefined);
    if (!authorised(req.headers)) {
      exchanges.push({ ...base, status: 407 });
      client.end('HTTP/1.1 407 Proxy Authentication Required\r\nProxy-Authenticate: Basic realm="zoo proxy"\r\nContent-Length: 0\r\n\r\n');
      return;
    }
    const to = resolve(target);
    if (to === undefined) {
      exchanges.push({ ...base, status: 502 });
      client.end('HTTP/1.1 502 Bad Gateway\r\nContent-Length: 0\r\n\r\n');
      return;
    }
    const upstream = connect(to.port, to.host, () => {
      exchanges.push({ ...base, status: 200 });
      client.write('HTTP/1.1 200 Connection Established\r\n\r\n');
      if (head.length > 0) upstream.write(head);
      upstream.pipe(client);
      client.pipe(upstream);
    });
    sockets.add(upstream);
    upstream.on('close', () => sockets.delete(upstream));
    upstream.on('error', () => client.destroy());
  });
  server.on('connection', (socket: Socket) => {
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
  });

  await new Promise<void>((done) => server.listen(0, '127.0.0.1', done));
  server.unref();
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    exchanges,
    map: (name, address) => void hosts.set(name.toLowerCase(), address),
    stop: async () => {
      for (const socket of sockets) socket.destroy();
      await new Promise<void>((done) => server.close(() => done()));
    },
  };
}
