/**
 * One reading of registry hosts (src/util/registry-host.ts), shared by the webhook's globs and
 * the loopback test: case, numeric IPv4 forms, IPv6 compression, IPv4-mapped IPv6, ports as
 * numbers (issue 20.14).
 */
import { canonicalHost, canonicalPort, isLoopbackHost, parseRegistryHost } from '../../../src/util/registry-host';

describe('canonicalHost', () => {
  test.each([
    ['GHCR.io', 'ghcr.io'],
    ['127.1', '127.0.0.1'],
    ['0x7f.0.0.1', '127.0.0.1'],
    ['017700000001', '127.0.0.1'],
    ['[0:0:0:0:0:0:0:1]', '[::1]'],
    ['[::ffff:7f00:1]', '127.0.0.1'],
    ['[::FFFF:7F00:0001]', '127.0.0.1'],
    ['[0:0:0:0:0:ffff:a00:7]', '10.0.0.7'],
    ['[::ffff:1:2:3]', '[::ffff:1:2:3]'],
    ['[fe80::1]', '[fe80::1]'],
    ['1.2.3.4.5', '1.2.3.4.5'],
  ])('%s is %s', (host, canonical) => {
    expect(canonicalHost(host)).toBe(canonical);
  });
});

test('ports are numbers without leading zeros; what is not a port stays as written', () => {
  expect(canonicalPort('05000')).toBe('5000');
  expect(canonicalPort('0443')).toBe('443');
  expect(canonicalPort('')).toBe('');
  expect(canonicalPort('99999')).toBe('99999');
  expect(canonicalPort('0000000000000443')).toBe('0000000000000443');
  expect(parseRegistryHost('[::ffff:7f00:1]:05000')).toEqual({ host: '127.0.0.1', port: '5000' });
  expect(parseRegistryHost('ghcr.io')).toEqual({ host: 'ghcr.io', port: '' });
});

test('loopback: localhost, 127.0.0.0/8, [::1], canonical forms only', () => {
  for (const h of ['localhost', '127.0.0.1', '127.255.0.9', '[::1]']) expect(isLoopbackHost(h)).toBe(true);
  for (const h of ['0.0.0.0', '[::]', '128.0.0.1', 'localhost.example', '[::2]']) expect(isLoopbackHost(h)).toBe(false);
});
