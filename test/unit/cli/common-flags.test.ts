/** Flag credentials go only to registries named on the command line (issue 9.3); durations (issue 20.10). */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { registryFromFlags } from '../../../src/cli/commands/webhook';
import { credentialHosts, MAX_DURATION_MS, parseDuration, verifierOptionsFromFlags } from '../../../src/cli/common-flags';

describe('credentialHosts', () => {
  it('verify: the registries of the IMAGE arguments, de-duplicated', () => {
    expect(credentialHosts({ 'registry-username': 'u' }, ['ghcr.io', 'ghcr.io', 'quay.io'], 'verify')).toEqual(['ghcr.io', 'quay.io']);
  });

  it('--registry-credentials-host replaces them, normalised like image references', () => {
    expect(
      credentialHosts({ 'registry-username': 'u', 'registry-credentials-host': ['GHCR.io', 'index.docker.io', 'registry.corp:5000'] }, ['quay.io'], 'verify'),
    ).toEqual(['ghcr.io', 'docker.io', 'registry.corp:5000']);
  });

  it('without IMAGE arguments (verify-release), flag credentials need --registry-credentials-host', () => {
    expect(() => credentialHosts({ 'registry-username': 'u' }, undefined, 'verify-release')).toThrow(/--registry-username needs --registry-credentials-host/);
    expect(() => credentialHosts({ 'registry-client-cert': 'c.pem' }, undefined, 'verify-release')).toThrow(
      /--registry-client-cert needs --registry-credentials-host/,
    );
    expect(credentialHosts({}, undefined, 'verify-release')).toEqual([]);
  });

  it.each(['https://ghcr.io', 'ghcr', 'ghcr.io/org', ''])('refuses %j as a host', (host) => {
    expect(() => credentialHosts({ 'registry-credentials-host': [host] }, [], 'verify')).toThrow(/is not a registry host/);
  });

  it('the credentials and client certificate go to those hosts only', async () => {
    const io = { stdout: () => undefined, stderr: () => undefined, env: {}, isTTY: false };
    const options = await verifierOptionsFromFlags({ 'registry-username': 'u', 'registry-password': 'p', 'trusted-root': [] }, io, ['ghcr.io']);
    expect(Object.keys(options.registry!.credentials!)).toEqual(['ghcr.io']);
    expect(options.registry!.env).toEqual({});
  });
});

describe('webhook and policy test: --registry-client-cert (registries come from Pods)', () => {
  const dir = mkdtempSync(join(tmpdir(), 'imgverify-client-cert-'));
  const cert = join(dir, 'c.pem');
  const key = join(dir, 'k.pem');
  writeFileSync(cert, 'CERT');
  writeFileSync(key, 'KEY');
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('goes only to the --registry-credentials-host registries', () => {
    const options = registryFromFlags(
      { 'registry-client-cert': cert, 'registry-client-key': key, 'registry-credentials-host': ['registry.corp:5000'] },
      {},
      8000,
      'webhook',
    );
    expect(options.clientCertificates).toEqual({ 'registry.corp:5000': { cert: 'CERT', key: 'KEY' } });
  });

  it('without --registry-credentials-host: a usage error naming the flag', () => {
    expect(() => registryFromFlags({ 'registry-client-cert': cert, 'registry-client-key': key }, {}, 8000, 'webhook')).toThrow(
      /webhook: --registry-client-cert needs --registry-credentials-host HOST \(repeatable\): the registries come from the images admitted/,
    );
  });

  it('without the flags: no client certificate', () => {
    expect(registryFromFlags({}, {}, 8000, 'webhook').clientCertificates).toBeUndefined();
  });
});

test('the shared duration parser (issue 20.10): whole milliseconds, rounded up, bounded', () => {
  expect(parseDuration('0.5ms', '--timeout')).toBe(1);
  expect(parseDuration('1.5s', '--timeout')).toBe(1500);
  expect(parseDuration('60m', '--timeout')).toBe(MAX_DURATION_MS);
  expect(parseDuration(' 30 ', '--timeout')).toBe(30_000);
  expect(() => parseDuration('60.001m', '--timeout')).toThrow(/longer than the longest allowed, 60m/);
  expect(() => parseDuration('31s', '--timeout', { maxMs: 30_000 })).toThrow(/--timeout: 31s is longer than the longest allowed, 30s/);
  expect(() => parseDuration('1e9', '--timeout')).toThrow(/invalid duration/);
});
