/**
 * Which HTTP proxy a request goes through: `HTTPS_PROXY`, `HTTP_PROXY` and `NO_PROXY`, read
 * the way Go's `net/http` (golang.org/x/net/http/httpproxy) reads them, since cosign and the
 * other tools users run beside imgverify are Go programs:
 *
 * - upper case first, then lower case (`HTTPS_PROXY`, else `https_proxy`);
 * - https URLs use the https proxy only, http URLs the http proxy only;
 * - a proxy without a scheme is `http://`; `http:` and `https:` proxies are supported, with
 *   optional `user:password@` (sent as Proxy-Authorization, never to the target);
 * - `NO_PROXY` is a comma-separated list: `*` (no proxy at all), a host name (matches it and
 *   its subdomains), `.domain` or `*.domain` (subdomains only), an IP address, a CIDR range,
 *   each optionally with `:port`;
 * - requests to `localhost` and loopback addresses never go through a proxy.
 *
 * https goes through the proxy with CONNECT (a tunnel: the proxy sees the host name, never
 * the traffic); plain http is sent to the proxy in absolute form.
 */
import { BlockList, isIP } from 'node:net';
import { ImgverifyError } from '../../errors';

/** Proxy settings as given (all optional); `false` in client options means none at all. */
export interface ProxySettings {
  /** Proxy for `https:` URLs (`HTTPS_PROXY`). */
  readonly httpsProxy?: string | undefined;
  /** Proxy for `http:` URLs (`HTTP_PROXY`). */
  readonly httpProxy?: string | undefined;
  /** Hosts that are reached directly (`NO_PROXY`). */
  readonly noProxy?: string | undefined;
}

/** Settings from environment variables, upper case first (as Go reads them). */
export function proxySettingsFromEnv(env: Readonly<Record<string, string | undefined>>): ProxySettings {
  const get = (upper: string): string | undefined => {
    for (const name of [upper, upper.toLowerCase()]) {
      const value = env[name]?.trim();
      if (value) return value;
    }
    return undefined;
  };
  const httpsProxy = get('HTTPS_PROXY');
  const httpProxy = get('HTTP_PROXY');
  const noProxy = get('NO_PROXY');
  return {
    ...(httpsProxy !== undefined ? { httpsProxy } : {}),
    ...(httpProxy !== undefined ? { httpProxy } : {}),
    ...(noProxy !== undefined ? { noProxy } : {}),
  };
}

interface DomainRule {
  /** With a leading dot. */
  readonly suffix: string;
  /** Whether the name itself (without the dot) matches too. */
  readonly matchHost: boolean;
  readonly port?: number;
}

/** Proxy selection, parsed once. */
export class ProxyRules {
  readonly https?: URL;
  readonly http?: URL;
  private readonly all: boolean = false;
  private readonly domains: DomainRule[] = [];
  private readonly ips = new BlockList();
  private readonly ipPorts: Array<{ readonly ip: string; readonly port: number }> = [];
  private hasIps = false;

  constructor(settings: ProxySettings) {
    if (settings.httpsProxy !== undefined) this.https = parseProxyUrl(settings.httpsProxy, 'HTTPS_PROXY');
    if (settings.httpProxy !== undefined) this.http = parseProxyUrl(settings.httpProxy, 'HTTP_PROXY');
    for (const raw of (settings.noProxy ?? '').split(',')) {
      const entry = raw.trim().toLowerCase();
      if (entry === '') continue;
      if (entry === '*') {
        this.all = true;
        continue;
      }
      this.addNoProxy(entry);
    }
  }

  /** The proxy for a URL, or undefined to connect directly. */
  proxyFor(url: URL): URL | undefined {
    const proxy = url.protocol === 'https:' ? this.https : url.protocol === 'http:' ? this.http : undefined;
    if (proxy === undefined || this.all) return undefined;
    const host = bareHost(url.hostname);
    if (host === 'localhost' || isLoopbackIp(host)) return undefined;
    const port = Number(url.port || (url.protocol === 'https:' ? 443 : 80));
    return this.bypassed(host, port) ? undefined : proxy;
  }

  private bypassed(host: string, port: number): boolean {
    const family = isIP(host);
    if (family !== 0) {
      if (this.hasIps && this.ips.check(host, family === 6 ? 'ipv6' : 'ipv4')) return true;
      return this.ipPorts.some((r) => r.ip === normaliseIp(host) && r.port === port);
    }
    const name = host.endsWith('.') ? host.slice(0, -1) : host;
    return this.domains.some((d) => (d.port === undefined || d.port === port) && (name.endsWith(d.suffix) || (d.matchHost && name === d.suffix.slice(1))));
  }

  private addNoProxy(entry: string): void {
    const slash = entry.indexOf('/');
    if (slash !== -1) {
      const ip = bareHost(entry.slice(0, slash));
      const prefix = Number(entry.slice(slash + 1));
      const family = isIP(ip);
      if (family !== 0 && Number.isInteger(prefix) && prefix >= 0 && prefix <= (family === 6 ? 128 : 32)) {
        this.ips.addSubnet(ip, prefix, family === 6 ? 'ipv6' : 'ipv4');
        this.hasIps = true;
      }
      return; // a malformed CIDR matches nothing (as in Go)
    }
    let host = entry;
    let port: number | undefined;
    const portMatch = /^(\[[^\]]+\]|[^:]+):(\d{1,5})$/.exec(entry);
    if (portMatch) {
      host = portMatch[1]!;
      port = Number(portMatch[2]);
    }
    host = bareHost(host);
    const family = isIP(host);
    if (family !== 0) {
      if (port === undefined) {
        this.ips.addAddress(host, family === 6 ? 'ipv6' : 'ipv4');
        this.hasIps = true;
      } else {
        this.ipPorts.push({ ip: normaliseIp(host), port });
      }
      return;
    }
    if (host.startsWith('*.')) host = host.slice(1);
    if (host.endsWith('.')) host = host.slice(0, -1);
    if (host === '' || host === '.') return;
    const matchHost = !host.startsWith('.');
    this.domains.push({ suffix: matchHost ? `.${host}` : host, matchHost, ...(port !== undefined ? { port } : {}) });
  }
}

/** A proxy URL: `http(s)://[user:pass@]host[:port]`, a bare `host:port` meaning http. */
export function parseProxyUrl(value: string, name: string): URL {
  const text = /^[a-z][a-z0-9+.-]*:\/\//i.test(value) ? value : `http://${value}`;
  let url: URL;
  try {
    url = new URL(text);
  } catch {
    throw new ImgverifyError('INVALID_OPTIONS', `${name}: not a proxy URL: ${redactProxy(value)}`);
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') {
    throw new ImgverifyError('INVALID_OPTIONS', `${name}: proxy scheme ${url.protocol} is not supported (use http:// or https://)`);
  }
  if (url.hostname === '') throw new ImgverifyError('INVALID_OPTIONS', `${name}: proxy URL without a host`);
  return url;
}

/** A proxy URL for messages: no user info. */
export function displayProxy(url: URL): string {
  return `${url.protocol}//${url.host}`;
}

/**
 * A proxy setting for messages, whatever its shape: everything up to its last "@" (after the
 * scheme, if any) is user info and goes, whatever it contains (a password with "/" or "@" made
 * the value an invalid URL, and the old pattern stopped at the "/").
 */
function redactProxy(value: string): string {
  const at = value.lastIndexOf('@');
  if (at === -1) return value.slice(0, 200);
  const scheme = /^[a-z][a-z0-9+.-]*:\/\//i.exec(value)?.[0] ?? '';
  return `${scheme}***${value.slice(at)}`.slice(0, 200);
}

function bareHost(host: string): string {
  return host.startsWith('[') && host.endsWith(']') ? host.slice(1, -1) : host;
}

/** The canonical text of an IP address (`::0001` → `::1`), as the URL parser writes it. */
function normaliseIp(ip: string): string {
  try {
    return bareHost(new URL(`http://${isIP(ip) === 6 ? `[${ip}]` : ip}`).hostname);
  } catch {
    return ip;
  }
}

function isLoopbackIp(host: string): boolean {
  if (isIP(host) === 4) return host.startsWith('127.');
  if (isIP(host) === 6) {
    const canonical = normaliseIp(host);
    return canonical === '::1' || /^::ffff:127\./.test(canonical) || /^::ffff:7f/.test(canonical);
  }
  return false;
}
