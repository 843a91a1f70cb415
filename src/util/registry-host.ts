/**
 * One spelling for a registry host, whatever way it was written: the names of an image that a
 * policy glob matches (webhook/glob.ts) and the loopback test that lets plain http through
 * (reference.ts's isLoopbackRegistry) both read hosts here, so they cannot disagree.
 *
 *   - lower case;
 *   - numeric hosts as the resolver reads them (the WHATWG URL parser is what our HTTP stack
 *     connects with): `127.1`, `0x7f.0.0.1`, `017700000001` are `127.0.0.1`; IPv6 compressed
 *     (`[0:0:0:0:0:0:0:1]` is `[::1]`);
 *   - an IPv4-mapped IPv6 address is the IPv4 address it maps (`[::ffff:7f00:1]` and
 *     `[::ffff:127.0.0.1]` are `127.0.0.1`): a socket to it reaches that IPv4 host;
 *   - a port is a number: `05000` is `5000`, `0443` is `443` (Go's and Node's dialers read it
 *     so; an image `ghcr.io:0443/app` is pulled from `ghcr.io`).
 */

/** A registry host split into its canonical host and port (the port without the colon, or ''). */
export interface RegistryHost {
  readonly host: string;
  readonly port: string;
}

const IPV4_MAPPED = /^\[::ffff:([0-9a-f]{1,4}):([0-9a-f]{1,4})\]$/;

/** The canonical spelling of a host name or address (see the module comment). */
export function canonicalHost(host: string): string {
  let out = host.toLowerCase();
  try {
    out = new URL(`http://${out}`).hostname;
  } catch {
    // Not a host the URL parser reads (cannot be connected to either): keep it as written.
  }
  const mapped = IPV4_MAPPED.exec(out);
  if (mapped) {
    const high = parseInt(mapped[1]!, 16);
    const low = parseInt(mapped[2]!, 16);
    out = [high >> 8, high & 0xff, low >> 8, low & 0xff].join('.');
  }
  return out;
}

/** A port as a number without leading zeros; a port that is not one (letters, > 65535) as written. */
export function canonicalPort(port: string): string {
  if (!/^[0-9]{1,10}$/.test(port)) return port;
  const n = Number(port);
  return n <= 65535 ? String(n) : port;
}

/** `host[:port]` (a registry name, or a URL's `host`), bracketed IPv6 included, canonically spelt. */
export function parseRegistryHost(registry: string): RegistryHost {
  const colon = registry.startsWith('[') ? registry.indexOf(':', registry.indexOf(']')) : registry.lastIndexOf(':');
  const host = colon === -1 ? registry : registry.slice(0, colon);
  const port = colon === -1 ? '' : registry.slice(colon + 1);
  return { host: canonicalHost(host), port: canonicalPort(port) };
}

/** Whether a canonical host is the loopback interface: `localhost`, 127.0.0.0/8, `[::1]`. */
export function isLoopbackHost(canonical: string): boolean {
  return canonical === 'localhost' || canonical === '[::1]' || /^127\.\d{1,3}\.\d{1,3}\.\d{1,3}$/.test(canonical);
}
