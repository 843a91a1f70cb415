/**
 * A misbehaving-registry simulator that is not a mock: a small HTTP proxy in front of a real
 * registry. A hook sees each request and may forward it (and change the upstream answer:
 * tamper bytes, drop or fake headers), answer by itself (errors, redirects, a referrers API
 * the registry lacks), reset the connection, or delay (latency injection).
 */
import { createServer, type IncomingHttpHeaders, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo, Socket } from 'node:net';
import { Agent } from 'undici';
import { errorMessage } from '../../../src/util/describe';

export interface ProxyRequest {
  readonly method: string;
  /** Path without the query. */
  readonly path: string;
  /** Path with the query. */
  readonly url: string;
  readonly headers: IncomingHttpHeaders;
  readonly body: Buffer;
  /** performance.now() when the request arrived, and when its answer was written (benchmarks read them). */
  readonly timing: { readonly receivedAt: number; answeredAt?: number };
}

export interface ProxyResponse {
  readonly status: number;
  readonly headers: Record<string, string | string[]>;
  readonly body: Buffer;
}

/**
 * A response cut short: the status, the headers (with `contentLength` as Content-Length,
 * default the whole body's length) and the first `sendBytes` bytes of the body, then the
 * connection is reset (`end: 'reset'`, an RST) or closed (`end: 'close'`, a FIN).
 */
interface PartialReply {
  readonly partial: ProxyResponse;
  readonly sendBytes: number;
  readonly contentLength?: number;
  readonly end: 'reset' | 'close';
}

/** What the proxy sends back: a response, a connection reset, or a response cut short. */
export type ProxyReply = ProxyResponse | { readonly reset: true } | PartialReply;

interface ProxyContext {
  /**
   * Sends the request on to the upstream registry and returns its answer, body read;
   * `url` replaces the path and query (a layer that maps paths, like a mirror with a prefix).
   */
  readonly forward: (overrides?: { readonly url?: string; readonly headers?: Record<string, string | undefined> }) => Promise<ProxyResponse>;
}

/** Returns a reply, or undefined to forward the request unchanged. */
export type ProxyHook = (req: ProxyRequest, ctx: ProxyContext) => ProxyReply | undefined | Promise<ProxyReply | undefined>;

export interface ProxyOptions {
  readonly onRequest?: ProxyHook;
  /** Added before every answer. */
  readonly delayMs?: number;
  /** CA of an https upstream. */
  readonly ca?: string;
}

export interface RunningProxy {
  /** `127.0.0.1:<port>` */
  readonly host: string;
  /** `http://127.0.0.1:<port>` */
  readonly url: string;
  /** Every request received, in order. */
  readonly requests: ProxyRequest[];
  setHook(hook: ProxyHook | undefined): void;
  setDelay(ms: number): void;
  stop(): Promise<void>;
}

const HOP_BY_HOP = new Set(['connection', 'keep-alive', 'transfer-encoding', 'content-length', 'host', 'upgrade', 'te', 'trailer', 'proxy-connection']);

/** `target`: the upstream base URL (a RunningRegistry fits), or undefined for a proxy that only answers through its hook. */
export async function startProxy(
  target: string | { readonly url: string; readonly ca?: string } | undefined,
  options: ProxyOptions = {},
): Promise<RunningProxy> {
  const upstream = typeof target === 'string' ? target : target?.url;
  const ca = options.ca ?? (typeof target === 'object' ? target.ca : undefined);
  const agent = new Agent({ connections: 16, ...(ca ? { connect: { ca } } : {}) });
  let hook = options.onRequest;
  let delayMs = options.delayMs ?? 0;
  const requests: ProxyRequest[] = [];
  const sockets = new Set<Socket>();
  const timers = new Set<NodeJS.Timeout>();

  const forward = async (req: ProxyRequest, overrides: Parameters<ProxyContext['forward']>[0] = {}): Promise<ProxyResponse> => {
    if (upstream === undefined) return { status: 502, headers: {}, body: Buffer.from('no upstream') };
    const headers: Record<string, string | string[]> = {};
    for (const [name, value] of Object.entries(req.headers)) if (value !== undefined && !HOP_BY_HOP.has(name)) headers[name] = value;
    for (const [name, value] of Object.entries(overrides.headers ?? {})) {
      if (value === undefined) delete headers[name];
      else headers[name] = value;
    }
    const res = await agent.request({
      origin: upstream,
      path: overrides.url ?? req.url,
      method: req.method,
      headers,
      ...(req.body.length > 0 || req.method === 'PUT' || req.method === 'POST' || req.method === 'PATCH' ? { body: req.body } : {}),
    });
    const out: Record<string, string | string[]> = {};
    for (const [name, value] of Object.entries(res.headers)) if (value !== undefined && !HOP_BY_HOP.has(name)) out[name] = value;
    return { status: res.statusCode, headers: out, body: Buffer.from(await res.body.arrayBuffer()) };
  };

  const handle = async (raw: IncomingMessage, res: ServerResponse): Promise<void> => {
    const receivedAt = performance.now();
    const chunks: Buffer[] = [];
    for await (const chunk of raw) chunks.push(chunk as Buffer);
    const url = raw.url ?? '/';
    const req: ProxyRequest = {
      method: raw.method ?? 'GET',
      path: url.split('?', 1)[0]!,
      url,
      headers: raw.headers,
      body: Buffer.concat(chunks),
      timing: { receivedAt },
    };
    res.on('finish', () => (req.timing.answeredAt = performance.now()));
    requests.push(req);
    if (delayMs > 0) {
      // Cancelled by stop(): a delayed request then simply never answers.
      await new Promise<void>((resolve) => {
        const timer = setTimeout(() => {
          timers.delete(timer);
          resolve();
        }, delayMs);
        timers.add(timer);
      });
    }
    const reply = (hook ? await hook(req, { forward: (overrides) => forward(req, overrides) }) : undefined) ?? (await forward(req));
    if ('reset' in reply) {
      raw.socket.resetAndDestroy();
      return;
    }
    if ('partial' in reply) {
      const { partial, sendBytes } = reply;
      res.writeHead(partial.status, { ...partial.headers, 'content-length': String(reply.contentLength ?? partial.body.length) });
      res.flushHeaders();
      if (sendBytes > 0) res.write(partial.body.subarray(0, sendBytes));
      // Let the bytes leave before the connection ends.
      await new Promise<void>((resolve) => setTimeout(resolve, 5));
      if (reply.end === 'reset') raw.socket.resetAndDestroy();
      else raw.socket.destroySoon();
      return;
    }
    res.writeHead(reply.status, { ...reply.headers, 'content-length': String(reply.body.length) });
    res.end(req.method === 'HEAD' ? undefined : reply.body);
  };

  const server = createServer((req, res) => {
    handle(req, res).catch((err: unknown) => {
      if (!res.headersSent) res.writeHead(502, { 'content-type': 'text/plain' });
      res.end(`proxy error: ${errorMessage(err)}`);
    });
  });
  server.on('connection', (socket) => {
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  server.unref();
  const { port } = server.address() as AddressInfo;
  return {
    host: `127.0.0.1:${port}`,
    url: `http://127.0.0.1:${port}`,
    requests,
    setHook: (h) => {
      hook = h;
    },
    setDelay: (ms) => {
      delayMs = ms;
    },
    stop: async () => {
      for (const timer of timers) clearTimeout(timer);
      for (const socket of sockets) socket.destroy();
      await new Promise<void>((resolve) => server.close(() => resolve()));
      await agent.close();
    },
  };
}

// --- Small building blocks for hooks --------------------------------------------------------

export function jsonReply(status: number, value: unknown, headers: Record<string, string> = {}): ProxyResponse {
  return { status, headers: { 'content-type': 'application/json', ...headers }, body: Buffer.from(JSON.stringify(value)) };
}

export function textReply(status: number, text: string, headers: Record<string, string> = {}): ProxyResponse {
  return { status, headers: { 'content-type': 'text/plain', ...headers }, body: Buffer.from(text) };
}

/** A hook that answers the first `times` matching requests with `reply`, then forwards. */
export function failTimes(times: number, match: (req: ProxyRequest) => boolean, reply: () => ProxyReply): ProxyHook & { readonly hits: () => number } {
  let hits = 0;
  const hook: ProxyHook = (req) => {
    if (!match(req)) return undefined;
    hits++;
    return hits <= times ? reply() : undefined;
  };
  return Object.assign(hook, { hits: () => hits });
}
