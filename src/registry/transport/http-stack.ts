/**
 * The one HTTP stack of imgverify: connection pools (undici), the proxy each URL goes through
 * (HTTPS_PROXY/HTTP_PROXY/NO_PROXY, see ./proxy), the trusted CAs, and TLS client
 * certificates for the registries that require them (mTLS). The registry client and the SBOM
 * URL fetch both use it, so they agree on proxies, CAs and connection reuse.
 *
 * A client certificate is presented only to the host it was given for: a redirect to another
 * host (blob storage) or a token realm elsewhere gets a connection without it.
 */
import type { Socket } from 'node:net';
import type { buildConnector, Dispatcher } from 'undici';
import { ImgverifyError } from '../../errors';
import { registryApiHost } from '../../reference';
import { normaliseRegistryKey } from '../auth/docker-config';
import { ProxyRules, proxySettingsFromEnv, type ProxySettings } from './proxy';

/** A TLS client certificate (PEM chain) and its private key (PEM). */
export interface ClientCertificate {
  readonly cert: string | Buffer;
  readonly key: string | Buffer;
}

export interface HttpStackOptions {
  /** Root CAs (PEM); replaces Node's roots when given (the registry client passes Node's plus the extra ones). */
  readonly ca?: readonly string[] | undefined;
  /** Proxies; default: from `env`. `false`: always connect directly. */
  readonly proxy?: ProxySettings | false | undefined;
  /** Environment to read proxy variables from (default `process.env`). */
  readonly env?: Readonly<Record<string, string | undefined>>;
  /** Client certificates by registry (`ghcr.io`, `registry.corp:5000`). */
  readonly clientCertificates?: Readonly<Record<string, ClientCertificate>> | undefined;
  /** Connections kept per origin. Default 32. */
  readonly maxConnectionsPerHost?: number | undefined;
  /** TCP + TLS (+ proxy tunnel) connect timeout. Default 30 000 ms. */
  readonly connectTimeoutMs?: number | undefined;
}

/** Where a request goes: the dispatcher, and the proxy it passes through (for messages). */
export interface Route {
  readonly dispatcher: Dispatcher;
  readonly proxy?: URL;
}

/**
 * undici, loaded when the first connection is made: importing imgverify (or creating a verifier
 * that is only used for bundles) does not pay for the HTTP client's hundred modules.
 *
 * Required by its file, `undici/index.js`, not by its bare name: Bun answers
 * `require('undici')` with its own built-in module, whose `Agent` cannot make requests; the
 * file is the npm package on every runtime (Node, Bun, Deno) and in bundles (a static
 * string, which bundlers follow). undici has no `exports` map that would hide the file; the
 * runtime tests (test/integration/runtimes.test.ts) fail if that changes.
 */
function undici(): typeof import('undici') {
  // eslint-disable-next-line @typescript-eslint/no-require-imports -- loaded when first needed (start-up cost); the file, see above
  return require('undici/index.js') as typeof import('undici');
}

export class HttpStack {
  private readonly rules: ProxyRules;
  private readonly certificates = new Map<string, ClientCertificate>();
  private readonly dispatchers = new Map<string, Dispatcher>();
  private readonly connections: number;
  private readonly connectTimeoutMs: number;
  private readonly ca?: readonly string[];
  private closed = false;
  /** Sockets of connections still being set up (TCP, TLS, a proxy's): close() destroys them. */
  private readonly connecting = new Set<Socket>();

  constructor(options: HttpStackOptions = {}) {
    this.rules = new ProxyRules(options.proxy === false ? {} : (options.proxy ?? proxySettingsFromEnv(options.env ?? process.env)));
    this.connections = options.maxConnectionsPerHost ?? 32;
    this.connectTimeoutMs = options.connectTimeoutMs ?? 30_000;
    if (options.ca !== undefined) this.ca = options.ca;
    for (const [registry, certificate] of Object.entries(options.clientCertificates ?? {})) {
      if (typeof certificate !== 'object' || certificate === null || !isPem(certificate.cert) || !isPem(certificate.key)) {
        throw new ImgverifyError('INVALID_OPTIONS', `client certificate for "${registry}": expected {cert, key} as PEM`, { details: { registry } });
      }
      // Keyed by the host the registry's API is served from, as URLs name it.
      this.certificates.set(registryApiHost(normaliseRegistryKey(registry)), certificate);
    }
  }

  /** @internal The most connections open per origin (a client sharing the stack caps its requests in flight by it). */
  get maxConnectionsPerHost(): number {
    return this.connections;
  }

  /** The proxy URLs in use (for messages and tests). */
  get proxies(): { readonly https?: URL; readonly http?: URL } {
    return { ...(this.rules.https ? { https: this.rules.https } : {}), ...(this.rules.http ? { http: this.rules.http } : {}) };
  }

  /** @internal The dispatcher for a URL: direct or through its proxy, with the host's client certificate if any. */
  route(url: URL): Route {
    if (this.closed) throw new ImgverifyError('INVALID_OPTIONS', 'the HTTP stack is closed');
    const proxy = this.rules.proxyFor(url);
    const host = url.host.toLowerCase();
    const certificate = url.protocol === 'https:' ? this.certificates.get(host) : undefined;
    const key = `${proxy?.href ?? 'direct'}\n${certificate !== undefined ? host : ''}`;
    let dispatcher = this.dispatchers.get(key);
    if (dispatcher === undefined) {
      dispatcher = this.create(proxy, certificate);
      this.dispatchers.set(key, dispatcher);
    }
    return { dispatcher, ...(proxy !== undefined ? { proxy } : {}) };
  }

  /**
   * Closes every connection at once, also those still connecting and requests still running
   * (a graceful close waited for a connect that no deadline bounded: up to 30 s).
   */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    // undici's destroy() leaves a connection being set up to its connect timeout.
    for (const socket of this.connecting) socket.destroy();
    this.connecting.clear();
    await Promise.all([...this.dispatchers.values()].map((d) => d.destroy()));
  }

  /** `connector`, with the sockets it is setting up known to close(). */
  private tracked(connector: buildConnector.connector): buildConnector.connector {
    return (options, callback) => {
      // The callback may come before the connector returns the socket (an immediate failure).
      const state: { socket?: Socket; settled: boolean } = { settled: false };
      const socket = connector(options, (err, connected) => {
        state.settled = true;
        if (state.socket !== undefined) this.connecting.delete(state.socket);
        // The signature is a union of (err, null) and (null, socket).
        (callback as (e: Error | null, s: Socket | null) => void)(err, connected);
      }) as Socket | undefined;
      if (!state.settled && socket !== undefined) {
        state.socket = socket;
        this.connecting.add(socket);
      }
      return socket as ReturnType<buildConnector.connector>;
    };
  }

  private create(proxy: URL | undefined, certificate: ClientCertificate | undefined): Dispatcher {
    const tls = {
      ...(this.ca !== undefined ? { ca: [...this.ca] } : {}),
      ...(certificate !== undefined ? { cert: certificate.cert, key: certificate.key } : {}),
    };
    if (proxy === undefined) {
      const connect = this.tracked(undici().buildConnector({ timeout: this.connectTimeoutMs, ...tls }));
      return new (undici().Agent)({ connections: this.connections, keepAliveTimeout: 10_000, connect });
    }
    return new (undici().ProxyAgent)({
      uri: proxy.href,
      connections: this.connections,
      keepAliveTimeout: 10_000,
      connectTimeout: this.connectTimeoutMs,
      // The connections to the proxy (every tunnel starts as one): known to close().
      clientFactory: (origin: URL, options: object) => {
        const { connect } = options as { connect: buildConnector.connector };
        return new (undici().Pool)(origin, { ...options, connect: this.tracked(connect) });
      },
      // The target's TLS inside the tunnel: our CAs and the client certificate.
      requestTls: { timeout: this.connectTimeoutMs, ...tls },
      // An https proxy is verified with the same CAs.
      proxyTls: { timeout: this.connectTimeoutMs, ...(this.ca !== undefined ? { ca: [...this.ca] } : {}) },
    });
  }
}

function isPem(value: unknown): boolean {
  const text = Buffer.isBuffer(value) ? value.toString('utf8') : value;
  return typeof text === 'string' && /-----BEGIN [A-Z0-9 ]+-----/.test(text);
}
