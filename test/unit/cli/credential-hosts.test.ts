/** Flag credentials go only to registries named on the command line (issue 9.3). */
import { credentialHosts, verifierOptionsFromFlags } from '../../../src/cli/common-flags';

describe('credentialHosts', () => {
  it('verify: the registries of the IMAGE arguments, de-duplicated', () => {
    expect(credentialHosts({ 'registry-username': 'u' }, ['ghcr.io', 'ghcr.io', 'quay.io'], 'verify')).toEqual(['ghcr.io', 'quay.io']);
  });

  it('--registry-credentials-host replaces them, normalised like image references', () => {
    expect(credentialHosts({ 'registry-username': 'u', 'registry-credentials-host': ['GHCR.io', 'index.docker.io', 'registry.corp:5000'] }, ['quay.io'], 'verify')).toEqual([
      'ghcr.io',
      'docker.io',
      'registry.corp:5000',
    ]);
  });

  it('without IMAGE arguments (verify-release), flag credentials need --registry-credentials-host', () => {
    expect(() => credentialHosts({ 'registry-username': 'u' }, undefined, 'verify-release')).toThrow(/--registry-username needs --registry-credentials-host/);
    expect(() => credentialHosts({ 'registry-client-cert': 'c.pem' }, undefined, 'verify-release')).toThrow(/--registry-client-cert needs --registry-credentials-host/);
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
