import fc from 'fast-check';
import { ProxyRules, parseProxyUrl, proxySettingsFromEnv } from '../../../../src/registry/transport/proxy';
import { errorMessage } from '../../../../src/util/describe';

const PROXY = 'http://proxy.corp:3128';
const rules = (noProxy?: string) =>
  new ProxyRules({ httpsProxy: PROXY, httpProxy: 'http://plain-proxy.corp:8080', ...(noProxy !== undefined ? { noProxy } : {}) });
const via = (r: ProxyRules, url: string) => r.proxyFor(new URL(url))?.host;

describe('proxy settings from the environment (as Go reads them)', () => {
  it('upper case first, then lower case; empty values are unset', () => {
    expect(proxySettingsFromEnv({ HTTPS_PROXY: 'http://a:1', https_proxy: 'http://b:2', no_proxy: 'x.test' })).toEqual({
      httpsProxy: 'http://a:1',
      noProxy: 'x.test',
    });
    expect(proxySettingsFromEnv({ https_proxy: 'http://b:2', HTTP_PROXY: ' ', http_proxy: 'http://c:3' })).toEqual({
      httpsProxy: 'http://b:2',
      httpProxy: 'http://c:3',
    });
    expect(proxySettingsFromEnv({})).toEqual({});
  });

  it('https URLs use the https proxy only, http URLs the http proxy only', () => {
    expect(via(rules(), 'https://ghcr.io/v2/')).toBe('proxy.corp:3128');
    expect(via(rules(), 'http://insecure.corp:5000/v2/')).toBe('plain-proxy.corp:8080');
    expect(via(new ProxyRules({ httpProxy: PROXY }), 'https://ghcr.io/v2/')).toBeUndefined();
  });

  it('loopback is never proxied', () => {
    for (const url of ['https://localhost:5000/', 'https://127.0.0.1/', 'https://127.9.9.9:1/', 'https://[::1]:5000/'])
      expect(via(rules(), url)).toBeUndefined();
  });

  it.each([
    ['*', 'https://ghcr.io/', undefined],
    ['ghcr.io', 'https://ghcr.io/', undefined],
    ['ghcr.io', 'https://pkg.ghcr.io/', undefined],
    ['ghcr.io', 'https://notghcr.io/', 'proxy.corp:3128'],
    ['.ghcr.io', 'https://ghcr.io/', 'proxy.corp:3128'],
    ['.ghcr.io', 'https://pkg.ghcr.io/', undefined],
    ['*.ghcr.io', 'https://pkg.ghcr.io/', undefined],
    ['GHCR.IO', 'https://ghcr.io/', undefined],
    ['ghcr.io:443', 'https://ghcr.io/', undefined],
    ['ghcr.io:8443', 'https://ghcr.io/', 'proxy.corp:3128'],
    ['10.0.0.0/8', 'https://10.1.2.3/', undefined],
    ['10.0.0.0/8', 'https://11.1.2.3/', 'proxy.corp:3128'],
    ['10.1.2.3', 'https://10.1.2.3:5000/', undefined],
    ['10.1.2.3:5000', 'https://10.1.2.3:5000/', undefined],
    ['10.1.2.3:5000', 'https://10.1.2.3/', 'proxy.corp:3128'],
    ['fd00::/8', 'https://[fd00::1]/', undefined],
    [' a.test , ghcr.io ', 'https://ghcr.io/', undefined],
    ['10.0.0.0/99', 'https://10.1.2.3/', 'proxy.corp:3128'],
  ])('NO_PROXY=%j, %s → %s', (noProxy, url, expected) => {
    expect(via(rules(noProxy), url)).toBe(expected);
  });

  it('a proxy without a scheme is http://; other schemes are refused; credentials stay in the URL object', () => {
    expect(parseProxyUrl('proxy.corp:3128', 'HTTPS_PROXY').href).toBe('http://proxy.corp:3128/');
    expect(parseProxyUrl('https://u:p@proxy.corp', 'HTTPS_PROXY').username).toBe('u');
    expect(() => parseProxyUrl('socks5://proxy.corp:1080', 'HTTPS_PROXY')).toThrow(/socks5: is not supported/);
    expect(() => parseProxyUrl('http://u:secret@[bad', 'HTTPS_PROXY')).toThrow(expect.objectContaining({ message: expect.not.stringContaining('secret') }));
  });

  it('never throws on hostile NO_PROXY values, and never proxies loopback whatever they say', () => {
    fc.assert(
      fc.property(fc.string({ maxLength: 200 }), (noProxy) => {
        const r = rules(noProxy);
        expect(via(r, 'https://127.0.0.1:5000/')).toBeUndefined();
        expect(['proxy.corp:3128', undefined]).toContain(via(r, 'https://ghcr.io/'));
      }),
    );
  });
});

describe('a proxy setting that is not a URL is shown without its user info (issue 20.17)', () => {
  it.each([
    ['http://user:pa/ss@proxy.corp:3128', 'http://***@proxy.corp:3128'],
    ['user:pa/ss@proxy.corp:3128', '***@proxy.corp:3128'],
    ['http://user:p ss/w@proxy.corp:3128', 'http://***@proxy.corp:3128'],
  ])('%s', (value, shown) => {
    let message = '';
    try {
      parseProxyUrl(value, 'HTTPS_PROXY');
    } catch (err) {
      message = errorMessage(err);
    }
    expect(message).toBe(`HTTPS_PROXY: not a proxy URL: ${shown}`);
    expect(message).not.toContain('pa/ss');
    expect(message).not.toContain('ss/w');
  });

  it('from the environment, too: the client refuses the setting without printing the password', () => {
    let message = '';
    try {
      new ProxyRules(proxySettingsFromEnv({ HTTPS_PROXY: 'http://user:s3cr/et@proxy.corp:3128' }));
    } catch (err) {
      message = errorMessage(err);
    }
    expect(message).toContain('not a proxy URL');
    expect(message).not.toContain('s3cr');
  });
});
