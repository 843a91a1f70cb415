/**
 * Kubelet credential provider plugins (KEP-2133): the CredentialProviderConfig checked as the
 * kubelet checks it, and real plugin executables (written by the test support) run through the
 * exec protocol: the request on stdin, the response's apiVersion, kind, cacheKeyType,
 * cacheDuration and auth map, the cache per cacheKeyType, and the bounds (a plugin that hangs
 * is killed with its process group, one that floods is cut off).
 */
import fc from 'fast-check';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  CredentialProviders,
  loadCredentialProviders,
  parseCredentialProviderConfig,
  parseGoDuration,
  parsePluginResponse,
  readCredentialProviderSpecs,
  type CredentialProviderSpec,
} from '../../../src/registry/auth/credential-provider';
import { credentialProviderConfigYaml, installCredentialProviderPlugin } from '../../support/registry';
import { rejection, thrown } from '../../support/errors';
import { ImgverifyError } from '../../../src/errors';
import { isAlive as alive } from '../../support/processes';

describe('parseGoDuration (metav1.Duration)', () => {
  it.each([
    ['0', 0],
    ['0s', 0],
    ['10m', 600_000],
    ['1h30m', 5_400_000],
    ['1.5h', 5_400_000],
    ['300ms', 300],
    ['2s500ms', 2500],
    ['-1s', -1000],
    ['12h0m0s', 43_200_000],
  ])('%s → %d ms', (text, ms) => expect(parseGoDuration(text)).toBe(ms));

  it.each(['', '10', 'm', '1x', '1 h', '.s', 10, null, '1h-1m'])('%j is not a duration', (text) => expect(parseGoDuration(text)).toBeUndefined());
});

describe('CredentialProviderConfig', () => {
  const where = '/etc/kubernetes/credential-providers.yaml';
  const parse = (text: string) => parseCredentialProviderConfig(text, where);

  it("reads the kubelet's own example (v1): name, matchImages, defaultCacheDuration, apiVersion, args, env", () => {
    const text = [
      'apiVersion: kubelet.config.k8s.io/v1',
      'kind: CredentialProviderConfig',
      'providers:',
      '  - name: ecr-credential-provider',
      '    matchImages:',
      '      - "*.dkr.ecr.*.amazonaws.com"',
      '      - "*.dkr.ecr.*.amazonaws.com.cn"',
      '    defaultCacheDuration: "12h"',
      '    apiVersion: credentialprovider.kubelet.k8s.io/v1',
      '    args:',
      '      - get-credentials',
      '    env:',
      '      - name: AWS_PROFILE',
      '        value: temp',
    ].join('\n');
    expect(parse(text)).toEqual([
      {
        name: 'ecr-credential-provider',
        matchImages: ['*.dkr.ecr.*.amazonaws.com', '*.dkr.ecr.*.amazonaws.com.cn'],
        defaultCacheDurationMs: 12 * 3600_000,
        apiVersion: 'credentialprovider.kubelet.k8s.io/v1',
        args: ['get-credentials'],
        env: [{ name: 'AWS_PROFILE', value: 'temp' }],
      },
    ]);
  });

  it.each(['kubelet.config.k8s.io/v1beta1', 'kubelet.config.k8s.io/v1alpha1'])('reads %s, and JSON', (apiVersion) => {
    const json = JSON.stringify({
      apiVersion,
      kind: 'CredentialProviderConfig',
      providers: [{ name: 'p', matchImages: ['registry.example'], defaultCacheDuration: '0s', apiVersion: 'credentialprovider.kubelet.k8s.io/v1beta1' }],
    });
    expect(parse(json)).toMatchObject([{ name: 'p', defaultCacheDurationMs: 0, apiVersion: 'credentialprovider.kubelet.k8s.io/v1beta1', args: [], env: [] }]);
  });

  const provider = (fields: Record<string, unknown>) =>
    JSON.stringify({
      apiVersion: 'kubelet.config.k8s.io/v1',
      kind: 'CredentialProviderConfig',
      providers: [{ name: 'p', matchImages: ['registry.example'], defaultCacheDuration: '1m', apiVersion: 'credentialprovider.kubelet.k8s.io/v1', ...fields }],
    });

  it.each([
    [provider({ name: 'a/b' }), "providers[0].name: provider name cannot contain '/'"],
    [provider({ name: 'a b' }), 'providers[0].name: provider name cannot contain spaces'],
    [provider({ name: '..' }), 'providers[0].name: provider name cannot be'],
    [provider({ name: '' }), 'providers[0].name: required'],
    [provider({ apiVersion: undefined }), 'providers[0].apiVersion: required'],
    [provider({ apiVersion: 'credentialprovider.kubelet.k8s.io/v2' }), 'providers[0].apiVersion: unsupported value'],
    [provider({ matchImages: [] }), 'providers[0].matchImages: at least 1 item in matchImages is required'],
    [provider({ matchImages: ['registry.example:port'] }), 'providers[0].matchImages[0]: match image is invalid'],
    [provider({ matchImages: ['bad host'] }), 'providers[0].matchImages[0]: match image is invalid'],
    [provider({ defaultCacheDuration: undefined }), 'providers[0].defaultCacheDuration: required'],
    [provider({ defaultCacheDuration: '-1m' }), 'defaultCacheDuration must be greater than or equal to 0'],
    [provider({ defaultCacheDuration: 600 }), 'providers[0].defaultCacheDuration: not a duration'],
    [provider({ args: 'get' }), 'providers[0].args: expected a list of strings'],
    [provider({ env: [{ name: 'A=B', value: 'x' }] }), 'providers[0].env[0].name: required, without "="'],
    [provider({ cacheKeyType: 'Image' }), 'providers[0]: unknown field string "cacheKeyType"'],
    [
      provider({ tokenAttributes: { serviceAccountTokenAudience: 'aud', requireServiceAccount: true, cacheType: 'Token' } }),
      'providers[0].tokenAttributes: service account tokens for credential providers are not supported',
    ],
    ['{"apiVersion":"kubelet.config.k8s.io/v1","kind":"KubeletConfiguration","providers":[]}', 'kind: expected CredentialProviderConfig'],
    ['{"apiVersion":"kubelet.config.k8s.io/v2","kind":"CredentialProviderConfig","providers":[]}', 'apiVersion: expected one of'],
    ['{"apiVersion":"kubelet.config.k8s.io/v1","kind":"CredentialProviderConfig","extra":1}', '(top level): unknown field string "extra"'],
    ['a: 1\n---\nb: 2\n', 'expected one YAML or JSON document'],
    ['a: [1\n', 'not valid YAML or JSON'],
    // fast-check found it: an alias to no anchor made the YAML library throw a ReferenceError.
    ['*toLocale', 'not valid YAML: Unresolved alias'],
  ])('%s is refused: %s', (text, why) => {
    const err = thrown(() => parse(text), 'INVALID_OPTIONS');
    expect(err.message).toContain(`credential provider config ${where}: `);
    expect(err.message).toContain(why);
  });

  it('tokenAttributes in v1beta1 is an unknown field (it exists only in v1)', () => {
    const text = provider({ tokenAttributes: {} }).replace('kubelet.config.k8s.io/v1"', 'kubelet.config.k8s.io/v1beta1"');
    expect(thrown(() => parse(text)).message).toContain('unknown field "tokenAttributes"');
  });
});

describe('loading: the config file or folder and the plugin folder', () => {
  let dir: string;
  beforeEach(() => (dir = mkdtempSync(join(tmpdir(), 'imgverify-cp-load-'))));
  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  it('a folder: its *.json, *.yaml, *.yml files in lexical order, merged; other files ignored', async () => {
    const bin = join(dir, 'bin');
    for (const name of ['a', 'b', 'c']) installCredentialProviderPlugin(bin, name);
    const conf = join(dir, 'conf.d');
    mkdirSync(conf);
    writeFileSync(join(conf, '20-b.yaml'), credentialProviderConfigYaml([{ name: 'b', matchImages: ['b.example'] }]));
    writeFileSync(
      join(conf, '10-a.json'),
      JSON.stringify({
        apiVersion: 'kubelet.config.k8s.io/v1',
        kind: 'CredentialProviderConfig',
        providers: [{ name: 'a', matchImages: ['a.example'], defaultCacheDuration: '1m', apiVersion: 'credentialprovider.kubelet.k8s.io/v1' }],
      }),
    );
    writeFileSync(join(conf, '30-c.yml'), credentialProviderConfigYaml([{ name: 'c', matchImages: ['c.example'] }]));
    writeFileSync(join(conf, 'README.txt'), 'not a config');
    expect((await readCredentialProviderSpecs({ config: conf, binDir: bin })).map((s) => s.name)).toEqual(['a', 'b', 'c']);
  });

  it('a provider name used twice (in one file or across files) is refused', async () => {
    const bin = join(dir, 'bin');
    installCredentialProviderPlugin(bin, 'a');
    const conf = join(dir, 'c.yaml');
    writeFileSync(
      conf,
      credentialProviderConfigYaml([
        { name: 'a', matchImages: ['x.example'] },
        { name: 'a', matchImages: ['y.example'] },
      ]),
    );
    expect((await rejection(readCredentialProviderSpecs({ config: conf, binDir: bin }), 'INVALID_OPTIONS')).message).toContain(
      'duplicate provider name string "a"',
    );
  });

  it('no providers, a missing plugin folder, a missing or non-executable plugin: refused at load, naming it', async () => {
    const bin = join(dir, 'bin');
    installCredentialProviderPlugin(bin, 'present');
    const conf = join(dir, 'c.yaml');
    writeFileSync(conf, 'apiVersion: kubelet.config.k8s.io/v1\nkind: CredentialProviderConfig\nproviders: []\n');
    expect((await rejection(readCredentialProviderSpecs({ config: conf, binDir: bin }))).message).toContain('at least 1 item in plugins is required');
    writeFileSync(conf, credentialProviderConfigYaml([{ name: 'present', matchImages: ['x.example'] }]));
    expect((await rejection(readCredentialProviderSpecs({ config: conf, binDir: join(dir, 'nowhere') }))).message).toContain(
      `credential provider plugin folder ${join(dir, 'nowhere')} does not exist`,
    );
    writeFileSync(conf, credentialProviderConfigYaml([{ name: 'absent', matchImages: ['x.example'] }]));
    expect((await rejection(readCredentialProviderSpecs({ config: conf, binDir: bin }))).message).toContain(
      `credential provider plugin executable ${join(bin, 'absent')} does not exist or is not executable`,
    );
    writeFileSync(join(bin, 'plain'), '#!/bin/sh\n');
    writeFileSync(conf, credentialProviderConfigYaml([{ name: 'plain', matchImages: ['x.example'] }]));
    expect((await rejection(readCredentialProviderSpecs({ config: conf, binDir: bin }))).message).toContain('is not executable');
    expect((await rejection(readCredentialProviderSpecs({ config: join(dir, 'none.yaml'), binDir: bin }))).message).toContain('cannot be read (ENOENT)');
  });
});

describe('running plugins (exec protocol credentialprovider.kubelet.k8s.io)', () => {
  let dir: string;
  let bin: string;
  let clock: number;
  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 'imgverify-cp-run-'));
    bin = join(dir, 'bin');
    clock = 1_000_000;
  });
  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  const spec = (fields: Partial<CredentialProviderSpec> = {}): CredentialProviderSpec => ({
    name: 'plugin',
    matchImages: ['*.registry.example', 'registry.example'],
    defaultCacheDurationMs: 600_000,
    apiVersion: 'credentialprovider.kubelet.k8s.io/v1',
    args: [],
    env: [],
    ...fields,
  });
  const providers = (specs: CredentialProviderSpec[], timeoutMs = 5000) =>
    new CredentialProviders(specs, bin, { env: { PATH: process.env.PATH, HOME: '/home/kubelet', PLUGIN_INHERITED: 'yes' }, timeoutMs, now: () => clock });
  const auth = { 'registry.example': { username: 'AWS', password: 'token-1' } };

  it('sends {"apiVersion","kind","image"} on stdin, with args and the environment plus the configured env; answers become candidates', async () => {
    const plugin = installCredentialProviderPlugin(bin, 'plugin', { auth });
    const p = providers([
      spec({
        args: ['get-credentials', '--verbose'],
        env: [
          { name: 'PLUGIN_REGION', value: 'eu-west-1' },
          { name: 'PLUGIN_INHERITED', value: 'overridden' },
        ],
      }),
    ]);
    const found = await p.lookup('registry.example', 'team/app');
    expect(found.candidates).toEqual([{ credentials: { username: 'AWS', password: 'token-1' }, source: 'credential provider plugin' }]);
    expect(found.searched).toBe('credential provider plugin');
    const [call] = plugin.calls();
    expect(JSON.parse(call!.stdin)).toEqual({
      apiVersion: 'credentialprovider.kubelet.k8s.io/v1',
      kind: 'CredentialProviderRequest',
      image: 'registry.example/team/app',
    });
    expect(call!.argv).toEqual(['get-credentials', '--verbose']);
    expect(call!.env).toEqual({ HOME: '/home/kubelet', PLUGIN_INHERITED: 'overridden', PLUGIN_REGION: 'eu-west-1' });
  });

  it('is not run for images its matchImages do not match', async () => {
    const plugin = installCredentialProviderPlugin(bin, 'plugin', { auth });
    const found = await providers([spec()]).lookup('ghcr.io', 'team/app');
    expect(found).toEqual({ candidates: [], searched: '' });
    expect(plugin.calls()).toHaveLength(0);
  });

  it("the auth map's keys are matched against the image like pull secret keys (globs, paths)", async () => {
    installCredentialProviderPlugin(bin, 'plugin', {
      auth: {
        '*.registry.example': { username: 'glob', password: 'g' },
        'eu.registry.example/team': { username: 'team', password: 't' },
        'other.example': { username: 'elsewhere', password: 'e' },
      },
    });
    const found = await providers([spec()]).lookup('eu.registry.example', 'team/app');
    expect(found.candidates.map((c) => (c.credentials as { username: string }).username)).toEqual(['team', 'glob']);
  });

  it('v1alpha1 and v1beta1 plugins get and must answer their own apiVersion', async () => {
    for (const apiVersion of ['credentialprovider.kubelet.k8s.io/v1alpha1', 'credentialprovider.kubelet.k8s.io/v1beta1'] as const) {
      const plugin = installCredentialProviderPlugin(bin, 'plugin', { auth });
      const found = await providers([spec({ apiVersion })]).lookup('registry.example', 'app');
      expect(found.candidates).toHaveLength(1);
      expect(plugin.calls().at(-1)!.request).toEqual({ apiVersion, kind: 'CredentialProviderRequest', image: 'registry.example/app' });
    }
  });

  it.each([
    [
      { apiVersion: 'credentialprovider.kubelet.k8s.io/v1beta1', auth },
      'its response\'s apiVersion string "credentialprovider.kubelet.k8s.io/v1beta1" is not the configured credentialprovider.kubelet.k8s.io/v1',
    ],
    [{ kind: 'CredentialProviderRequest', auth }, 'its response\'s kind string "CredentialProviderRequest" is not CredentialProviderResponse'],
    [{ cacheKeyType: 'Pod', auth }, 'its response\'s cacheKeyType string "Pod" is not Image, Registry or Global'],
    [{ cacheDuration: 'soon', auth }, "its response's cacheDuration is not a duration"],
    [{ extra: { token: 'secret-value' }, auth }, 'its response has an unknown field string "token"'],
    [{ auth: { 'registry.example': { username: 'u', password: 'p', token: 'secret-value' } } }, 'an auth entry has an unknown field string "token"'],
    [
      { auth: { 'registry.example': { username: 'a:b', password: 'secret-value' } } },
      'an auth entry\'s username contains ":" (unusable for basic authentication)',
    ],
    [{ mode: 'raw', raw: 'secret-value not json' }, 'its response is not JSON'],
    [{ mode: 'exit', exitCode: 3, raw: 'secret-value' }, 'exited with status 3'],
  ] as const)('a bad answer contributes nothing and is named, never quoted: %j', async (behaviour, why) => {
    installCredentialProviderPlugin(bin, 'plugin', behaviour);
    const found = await providers([spec()]).lookup('registry.example', 'app');
    expect(found.candidates).toEqual([]);
    expect(found.searched).toBe(`credential provider plugin failed: ${why}`);
    expect(found.searched).not.toContain('secret-value');
  });

  it('a plugin that hangs is killed with its process group at the bound; the next run starts afresh', async () => {
    const plugin = installCredentialProviderPlugin(bin, 'plugin', { mode: 'hang' });
    const p = providers([spec()], 700);
    const started = Date.now();
    const found = await p.lookup('registry.example', 'app');
    expect(Date.now() - started).toBeLessThan(5000);
    expect(found.searched).toBe('credential provider plugin failed: no answer within 700 ms');
    const child = plugin.hungChildPid();
    expect(child).toBeDefined();
    // The plugin's own child (a `sleep 600`) died with the group.
    await waitUntil(() => !alive(child!));
    plugin.behave({ auth });
    expect((await p.lookup('registry.example', 'app')).candidates).toHaveLength(1);
  });

  it('a plugin that writes too much is cut off', async () => {
    installCredentialProviderPlugin(bin, 'plugin', { mode: 'flood' });
    const found = await providers([spec()]).lookup('registry.example', 'app');
    expect(found.searched).toBe(`credential provider plugin failed: more than ${1024 * 1024} bytes of output`);
  });

  it('a request whose deadline passes stops waiting; the run goes on and serves the next request from the cache', async () => {
    const plugin = installCredentialProviderPlugin(bin, 'plugin', { auth });
    const p = providers([spec()]);
    const err = await p.lookup('registry.example', 'app', AbortSignal.abort(new Error('deadline'))).catch((e: unknown) => e);
    expect(err).toEqual(new Error('deadline'));
    await waitUntil(() => plugin.calls().length === 1);
    await new Promise((r) => setTimeout(r, 300));
    expect((await p.lookup('registry.example', 'app')).candidates).toHaveLength(1);
    expect(plugin.calls()).toHaveLength(1);
  });

  it('concurrent requests for one image share one run', async () => {
    const plugin = installCredentialProviderPlugin(bin, 'plugin', { auth, cacheDuration: '0s' });
    const p = providers([spec()]);
    const all = await Promise.all([1, 2, 3].map(() => p.lookup('registry.example', 'app')));
    expect(all.every((f) => f.candidates.length === 1)).toBe(true);
    expect(plugin.calls()).toHaveLength(1);
  });

  describe('the cache, per cacheKeyType', () => {
    it('Image: the same image is answered from the cache; another image of the registry runs the plugin', async () => {
      const plugin = installCredentialProviderPlugin(bin, 'plugin', { auth, cacheKeyType: 'Image', cacheDuration: '5m' });
      const p = providers([spec()]);
      await p.lookup('registry.example', 'a');
      await p.lookup('registry.example', 'a');
      expect(plugin.calls()).toHaveLength(1);
      await p.lookup('registry.example', 'b');
      expect(plugin.calls().map((c) => c.request.image)).toEqual(['registry.example/a', 'registry.example/b']);
    });

    it('Registry: every image of the registry is answered from the cache; another registry runs the plugin', async () => {
      const plugin = installCredentialProviderPlugin(bin, 'plugin', {
        auth: { '*.registry.example': { username: 'u', password: 'p' }, 'registry.example': { username: 'u', password: 'p' } },
        cacheKeyType: 'Registry',
      });
      const p = providers([spec()]);
      await p.lookup('registry.example', 'a');
      expect((await p.lookup('registry.example', 'b/c')).candidates).toHaveLength(1);
      expect(plugin.calls()).toHaveLength(1);
      await p.lookup('eu.registry.example', 'a');
      expect(plugin.calls()).toHaveLength(2);
    });

    it('Global: every image the plugin matches is answered from the cache', async () => {
      const plugin = installCredentialProviderPlugin(bin, 'plugin', { auth, cacheKeyType: 'Global' });
      const p = providers([spec()]);
      await p.lookup('registry.example', 'a');
      await p.lookup('eu.registry.example', 'b');
      expect(plugin.calls()).toHaveLength(1);
      // The cached keyring still matches per image: its one key is for registry.example only.
      expect((await p.lookup('eu.registry.example', 'b')).candidates).toEqual([]);
    });

    it('cacheDuration decides; without it defaultCacheDuration; 0 never caches; entries expire', async () => {
      const plugin = installCredentialProviderPlugin(bin, 'plugin', { auth, cacheDuration: '30s' });
      const p = providers([spec({ defaultCacheDurationMs: 600_000 })]);
      await p.lookup('registry.example', 'a');
      clock += 29_000;
      await p.lookup('registry.example', 'a');
      expect(plugin.calls()).toHaveLength(1);
      clock += 2000;
      await p.lookup('registry.example', 'a');
      expect(plugin.calls()).toHaveLength(2);

      plugin.behave({ auth });
      clock += 31_000;
      await p.lookup('registry.example', 'a');
      clock += 599_000;
      await p.lookup('registry.example', 'a');
      expect(plugin.calls()).toHaveLength(3);

      plugin.behave({ auth, cacheDuration: '0s' });
      clock += 2000;
      await p.lookup('registry.example', 'a');
      await p.lookup('registry.example', 'a');
      expect(plugin.calls()).toHaveLength(5);
    });

    it('defaultCacheDuration 0: answers without cacheDuration are not cached', async () => {
      const plugin = installCredentialProviderPlugin(bin, 'plugin', { auth });
      const p = providers([spec({ defaultCacheDurationMs: 0 })]);
      await p.lookup('registry.example', 'a');
      await p.lookup('registry.example', 'a');
      expect(plugin.calls()).toHaveLength(2);
    });

    it('a failed run is not cached', async () => {
      const plugin = installCredentialProviderPlugin(bin, 'plugin', { mode: 'exit', exitCode: 1 });
      const p = providers([spec()]);
      await p.lookup('registry.example', 'a');
      plugin.behave({ auth });
      expect((await p.lookup('registry.example', 'a')).candidates).toHaveLength(1);
      expect(plugin.calls()).toHaveLength(2);
    });
  });

  it('several providers: asked in configuration order, each only for what it matches', async () => {
    installCredentialProviderPlugin(bin, 'first', { auth: { 'registry.example': { username: 'first', password: 'p' } } });
    installCredentialProviderPlugin(bin, 'second', { auth: { 'registry.example': { username: 'second', password: 'p' } } });
    const third = installCredentialProviderPlugin(bin, 'third', { auth });
    const p = providers([spec({ name: 'first' }), spec({ name: 'second' }), spec({ name: 'third', matchImages: ['ghcr.io'] })]);
    const found = await p.lookup('registry.example', 'a');
    expect(found.candidates.map((c) => c.source)).toEqual(['credential provider first', 'credential provider second']);
    expect(third.calls()).toHaveLength(0);
  });

  it('loadCredentialProviders: config and plugin folder to a ready provider set', async () => {
    installCredentialProviderPlugin(bin, 'plugin', { auth });
    const conf = join(dir, 'c.yaml');
    writeFileSync(conf, credentialProviderConfigYaml([{ name: 'plugin', matchImages: ['registry.example'] }]));
    const p = await loadCredentialProviders({ config: conf, binDir: bin }, { env: { PATH: process.env.PATH } });
    expect((await p.lookup('registry.example', 'a')).candidates).toHaveLength(1);
  });
});

async function waitUntil(check: () => boolean, timeoutMs = 5000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!check()) {
    if (Date.now() > deadline) throw new Error('condition not met in time');
    await new Promise((r) => setTimeout(r, 50));
  }
}

describe('hostile input (property)', () => {
  const spec: CredentialProviderSpec = {
    name: 'p',
    matchImages: ['r.example'],
    defaultCacheDurationMs: 0,
    apiVersion: 'credentialprovider.kubelet.k8s.io/v1',
    args: [],
    env: [],
  };

  it('a plugin response is parsed or refused with an Error, never quoting it', () => {
    fc.assert(
      fc.property(
        fc.oneof(
          fc.jsonValue(),
          fc.record({
            apiVersion: fc.constant(spec.apiVersion),
            kind: fc.constant('CredentialProviderResponse'),
            cacheKeyType: fc.constantFrom('Image', 'Registry', 'Global', 'x'),
            auth: fc.dictionary(fc.string(), fc.jsonValue()),
          }),
        ),
        (value) => {
          const text = JSON.stringify(value) ?? 'null';
          try {
            parsePluginResponse(Buffer.from(text), spec);
            return true;
          } catch (err) {
            return err instanceof Error && !(text.length > 12 && err.message.includes(text));
          }
        },
      ),
    );
  });

  it('a configuration is loaded or refused with INVALID_OPTIONS', () => {
    fc.assert(
      fc.property(
        fc.oneof(
          fc.string(),
          fc.jsonValue().map((v) => JSON.stringify(v) ?? ''),
        ),
        (text) => {
          try {
            parseCredentialProviderConfig(text, 'c.yaml');
            return true;
          } catch (err) {
            return err instanceof ImgverifyError && err.code === 'INVALID_OPTIONS';
          }
        },
      ),
    );
  });
});
