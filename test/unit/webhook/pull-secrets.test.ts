/**
 * Issue 18.2: an admitted object's registry credentials, read the way the kubelet reads them
 * for its Pod: the pod spec's imagePullSecrets, then its ServiceAccount's, in the object's
 * namespace, from kubernetes.io/dockerconfigjson and kubernetes.io/dockercfg Secrets; cached
 * with a bound and a TTL. Reads go through the in-memory ObjectCredentialSource.
 */
import fc from 'fast-check';
import { PullSecretCredentials, pullSecretReferences, secretEntries } from '../../../src/webhook/pull-secrets';
import { dockerConfigSecret, MemoryObjectSource } from '../../support/pull-secrets';

const b64 = (s: string) => Buffer.from(s).toString('base64');
const creds = (username: string) => ({ username, password: `${username}-pw` });

const pod = (spec: Record<string, unknown>) => ({
  apiVersion: 'v1',
  kind: 'Pod',
  metadata: { name: 'p' },
  spec: { containers: [{ name: 'c', image: 'x' }], ...spec },
});

describe('pullSecretReferences', () => {
  it.each([
    ['Pod', pod({ imagePullSecrets: [{ name: 'a' }, { name: 'b' }], serviceAccountName: 'builder' })],
    ['Deployment', { spec: { template: { spec: { imagePullSecrets: [{ name: 'a' }, { name: 'b' }], serviceAccountName: 'builder' } } } }],
    [
      'CronJob',
      { spec: { jobTemplate: { spec: { template: { spec: { imagePullSecrets: [{ name: 'a' }, { name: 'b' }], serviceAccountName: 'builder' } } } } } },
    ],
  ])('%s: the pod spec (or pod template) names the Secrets and the ServiceAccount', (kind, object) => {
    expect(pullSecretReferences(object, kind)).toEqual({ secrets: ['a', 'b'], serviceAccount: 'builder' });
  });

  it('the ServiceAccount defaults to the deprecated serviceAccount field, then to "default"', () => {
    expect(pullSecretReferences(pod({ serviceAccount: 'old' }), 'Pod')?.serviceAccount).toBe('old');
    expect(pullSecretReferences(pod({}), 'Pod')).toEqual({ secrets: [], serviceAccount: 'default' });
  });

  it('malformed entries are skipped and duplicates dropped (hostile input)', () => {
    const object = pod({
      imagePullSecrets: [{ name: 'a' }, 'b', null, { name: 3 }, { name: '' }, { name: 'a' }, { name: 'c', extra: 1 }],
      serviceAccountName: ['x'],
    });
    expect(pullSecretReferences(object, 'Pod')).toEqual({ secrets: ['a', 'c'], serviceAccount: 'default' });
    expect(pullSecretReferences(pod({ imagePullSecrets: 'a' }), 'Pod')?.secrets).toEqual([]);
  });

  it('objects without a pod spec have none', () => {
    expect(pullSecretReferences({ spec: {} }, 'ConfigMap')).toBeUndefined();
    expect(pullSecretReferences({ spec: {} }, 'Deployment')).toBeUndefined();
  });
});

describe('secretEntries', () => {
  it('kubernetes.io/dockerconfigjson and kubernetes.io/dockercfg', () => {
    expect(secretEntries(dockerConfigSecret({ 'ghcr.io': creds('gh') }), 'Secret ns/a')).toEqual({
      entries: [{ key: 'ghcr.io', credentials: creds('gh'), source: 'Secret ns/a' }],
    });
    const dockercfg = { type: 'kubernetes.io/dockercfg', data: { '.dockercfg': b64(JSON.stringify({ 'quay.io': { auth: b64('q:pw') } })) } };
    expect(secretEntries(dockercfg, 'Secret ns/b')).toEqual({
      entries: [{ key: 'quay.io', credentials: { username: 'q', password: 'pw' }, source: 'Secret ns/b' }],
    });
  });

  it.each([
    [{ type: 'Opaque', data: { '.dockerconfigjson': b64('{}') } }, 'Secret ns/x is not of type kubernetes.io/dockerconfigjson or kubernetes.io/dockercfg'],
    [{ type: 'kubernetes.io/dockerconfigjson', data: {} }, 'Secret ns/x has no .dockerconfigjson'],
    [{ type: 'kubernetes.io/dockerconfigjson', data: { '.dockerconfigjson': '%%%' } }, 'Secret ns/x: .dockerconfigjson is not base64 of at most 1 MiB'],
    [
      { type: 'kubernetes.io/dockerconfigjson', data: { '.dockerconfigjson': b64('{"auths": {"r": {"auth": "' + b64('hunter2-no-colon') + '"}}}') } },
      'Secret ns/x: auths["r"].auth does not decode to "username:password"',
    ],
    [{ type: 'kubernetes.io/dockerconfigjson', data: { '.dockerconfigjson': b64('hunter2 not json') } }, 'Secret ns/x: not valid JSON'],
    [{ type: 'kubernetes.io/dockerconfigjson', data: { '.dockerconfigjson': b64('{"auths": {"r": {}}}') } }, 'Secret ns/x has no credentials'],
    [null, 'Secret ns/x is not an object'],
    [{ type: { toString: null }, data: null }, 'Secret ns/x is not of type'],
  ])('%j gives none: %s (never quoting the content)', (secret, why) => {
    const read = secretEntries(secret, 'Secret ns/x');
    expect(read).toEqual({ none: expect.stringContaining(why) as string });
    expect(JSON.stringify(read)).not.toContain('hunter2');
  });
});

describe('PullSecretCredentials', () => {
  let source: MemoryObjectSource;
  let clock: number;
  const make = () => new PullSecretCredentials(source, { now: () => clock });
  beforeEach(() => {
    source = new MemoryObjectSource();
    clock = 1_000_000;
  });
  const usernames = async (c: PullSecretCredentials, object: unknown, registry: string, repository = 'team/app') => {
    const found = await c.forObject('team', object, 'Pod')!.credentials.lookup(registry, repository);
    return found.candidates.map((x) => `${(x.credentials as { username: string }).username} from ${x.source}`);
  };

  it("the object's Secrets, then its ServiceAccount's (those it did not name), each only for the registries their keys match", async () => {
    source.setSecret('team', 'a', dockerConfigSecret({ 'registry.example': creds('a'), 'other.example': creds('a-other') }));
    source.setSecret('team', 'b', dockerConfigSecret({ 'registry.example/team': creds('b') }));
    source.setSecret('team', 'sa-secret', dockerConfigSecret({ 'registry.example': creds('sa') }));
    source.setServiceAccount('team', 'builder', { imagePullSecrets: [{ name: 'a' }, { name: 'sa-secret' }] });
    const c = make();
    const object = pod({ imagePullSecrets: [{ name: 'a' }, { name: 'b' }], serviceAccountName: 'builder' });
    // b's key is more specific (registry.example/team): first, as in the kubelet's keyring.
    expect(await usernames(c, object, 'registry.example')).toEqual([
      'b from Secret team/b',
      'a from Secret team/a',
      'sa from Secret team/sa-secret (of ServiceAccount team/builder)',
    ]);
    expect(await usernames(c, object, 'registry.example', 'elsewhere/app')).toEqual([
      'a from Secret team/a',
      'sa from Secret team/sa-secret (of ServiceAccount team/builder)',
    ]);
    expect(await usernames(c, object, 'other.example')).toEqual(['a-other from Secret team/a']);
    expect(await usernames(c, object, 'ghcr.io')).toEqual([]);
  });

  it("reads in the object's namespace only", async () => {
    source.setSecret('other', 'a', dockerConfigSecret({ 'registry.example': creds('other-namespace') }));
    const found = await make()
      .forObject('team', pod({ imagePullSecrets: [{ name: 'a' }] }), 'Pod')!
      .credentials.lookup('registry.example', 'app');
    expect(found.candidates).toEqual([]);
    expect(source.reads).toEqual(['Secret team/a', 'ServiceAccount team/default']);
  });

  it('says what it read and what it skipped (missing, wrong type, unreadable), for messages', async () => {
    source.setSecret('team', 'opaque', { type: 'Opaque', data: {} });
    source.setServiceAccount('team', 'default', { imagePullSecrets: [{ name: 'gone' }] });
    const found = await make()
      .forObject('team', pod({ imagePullSecrets: [{ name: 'missing' }, { name: 'opaque' }] }), 'Pod')!
      .credentials.lookup('registry.example', 'app');
    expect(found.searched).toBe(
      'pull secrets in team: Secret team/missing does not exist; Secret team/opaque is not of type kubernetes.io/dockerconfigjson or kubernetes.io/dockercfg; Secret team/gone does not exist (of ServiceAccount team/default)',
    );
    const bare = await make()
      .forObject('team', pod({ serviceAccountName: 'nobody' }), 'Pod')!
      .credentials.lookup('registry.example', 'app');
    expect(bare.searched).toBe('pull secrets in team: the object names no imagePullSecrets; ServiceAccount team/nobody does not exist');
    source.setServiceAccount('team', 'plain', {});
    const plain = await make()
      .forObject('team', pod({ serviceAccountName: 'plain' }), 'Pod')!
      .credentials.lookup('registry.example', 'app');
    expect(plain.searched).toBe('pull secrets in team: the object names no imagePullSecrets; ServiceAccount team/plain has no imagePullSecrets');
  });

  it('an unreadable Secret (API error) is skipped and named, and not cached', async () => {
    source.setSecret('team', 'a', dockerConfigSecret({ 'registry.example': creds('a') }));
    source.failure = new Error('connect ECONNREFUSED 10.0.0.1:443');
    const c = make();
    const object = pod({ imagePullSecrets: [{ name: 'a' }] });
    const failed = await c.forObject('team', object, 'Pod')!.credentials.lookup('registry.example', 'app');
    expect(failed.candidates).toEqual([]);
    expect(failed.searched).toContain('Secret team/a cannot be read: connect ECONNREFUSED 10.0.0.1:443');
    source.failure = undefined;
    expect(await usernames(c, object, 'registry.example')).toEqual(['a from Secret team/a']);
  });

  it('caches reads 30 s (not found 5 s), one read per object set even for several repositories and objects', async () => {
    source.setSecret('team', 'a', dockerConfigSecret({ 'registry.example': creds('v1') }));
    const c = make();
    const object = pod({ imagePullSecrets: [{ name: 'a' }, { name: 'later' }] });
    await usernames(c, object, 'registry.example', 'x');
    await usernames(c, object, 'registry.example', 'y');
    await usernames(c, pod({ imagePullSecrets: [{ name: 'a' }] }), 'registry.example', 'z');
    expect(source.reads).toEqual(['Secret team/a', 'Secret team/later', 'ServiceAccount team/default']);
    // Rotated and created meanwhile: seen once the entries expire.
    source.setSecret('team', 'a', dockerConfigSecret({ 'registry.example': creds('v2') }));
    source.setSecret('team', 'later', dockerConfigSecret({ 'registry.example': creds('later') }));
    clock += 4000;
    expect(await usernames(c, object, 'registry.example')).toEqual(['v1 from Secret team/a']);
    clock += 2000;
    expect(await usernames(c, object, 'registry.example')).toEqual(['v1 from Secret team/a', 'later from Secret team/later']);
    clock += 25_000;
    expect(await usernames(c, object, 'registry.example')).toEqual(['v2 from Secret team/a', 'later from Secret team/later']);
  });

  it('forget(): a watched change takes effect at once', async () => {
    source.setSecret('team', 'a', dockerConfigSecret({ 'registry.example': creds('v1') }));
    const c = make();
    const object = pod({ imagePullSecrets: [{ name: 'a' }] });
    await usernames(c, object, 'registry.example');
    source.setSecret('team', 'a', dockerConfigSecret({ 'registry.example': creds('v2') }));
    c.forget('Secret', 'team', 'a');
    expect(await usernames(c, object, 'registry.example')).toEqual(['v2 from Secret team/a']);
  });

  it('the cache is bounded', async () => {
    const c = new PullSecretCredentials(source, { maxEntries: 2, now: () => clock });
    for (const name of ['a', 'b', 'c', 'a']) await usernames(c, pod({ imagePullSecrets: [{ name }] }), 'registry.example');
    // a was pushed out by b, c (and the ServiceAccount), so it is read again.
    expect(source.reads.filter((r) => r === 'Secret team/a')).toHaveLength(2);
  });

  it('concurrent lookups share one read', async () => {
    source.setSecret('team', 'a', dockerConfigSecret({ 'registry.example': creds('a') }));
    const c = make();
    await Promise.all([1, 2, 3].map((i) => usernames(c, pod({ imagePullSecrets: [{ name: 'a' }] }), 'registry.example', `r${i}`)));
    expect(source.reads).toEqual(['Secret team/a', 'ServiceAccount team/default']);
  });

  it('the fingerprint names the credentials (namespace, Secrets, ServiceAccount), not the object', () => {
    const c = make();
    const fp = (ns: string, spec: Record<string, unknown>) => c.forObject(ns, pod(spec), 'Pod')!.fingerprint;
    expect(fp('team', { imagePullSecrets: [{ name: 'a' }] })).toBe(
      fp('team', { imagePullSecrets: [{ name: 'a' }], containers: [{ name: 'other', image: 'y' }] }),
    );
    expect(fp('team', { imagePullSecrets: [{ name: 'a' }] })).not.toBe(fp('other', { imagePullSecrets: [{ name: 'a' }] }));
    expect(fp('team', { imagePullSecrets: [{ name: 'a' }] })).not.toBe(fp('team', { imagePullSecrets: [{ name: 'b' }] }));
    expect(fp('team', {})).not.toBe(fp('team', { serviceAccountName: 'builder' }));
  });

  it('no namespace or no pod spec: no object credentials', () => {
    expect(make().forObject(undefined, pod({}), 'Pod')).toBeUndefined();
    expect(make().forObject('team', { data: {} }, 'ConfigMap')).toBeUndefined();
  });
});

describe('hostile Secrets (property)', () => {
  it('secretEntries never throws, whatever the API answers', () => {
    fc.assert(
      fc.property(fc.jsonValue(), fc.constantFrom('kubernetes.io/dockerconfigjson', 'kubernetes.io/dockercfg', 'Opaque'), (data, type) => {
        const encoded = Buffer.from(JSON.stringify(data) ?? '').toString('base64');
        const read = secretEntries({ type, data: { '.dockerconfigjson': encoded, '.dockercfg': encoded } }, 'Secret ns/x');
        return 'entries' in read || typeof read.none === 'string';
      }),
    );
    fc.assert(fc.property(fc.anything(), (secret) => typeof secretEntries(secret, 'Secret ns/x') === 'object'));
  });
});

describe('PullSecretCredentials.forSecrets (signaturePullSecrets)', () => {
  it('named Secrets of a namespace only, no ServiceAccount; same cache', async () => {
    const source = new MemoryObjectSource();
    source.setSecret('team', 'sigs', dockerConfigSecret({ 'signatures.example': creds('sig-reader') }));
    source.setServiceAccount('team', 'default', { imagePullSecrets: [{ name: 'other' }] });
    const c = new PullSecretCredentials(source);
    const found = await c.forSecrets('team', ['sigs', 'missing']).credentials.lookup('signatures.example', 'org/app');
    expect(found.candidates.map((x) => x.source)).toEqual(['Secret team/sigs']);
    expect(found.searched).toBe('secrets in team: Secret team/sigs; Secret team/missing does not exist');
    expect(source.reads).toEqual(['Secret team/sigs', 'Secret team/missing']);
    expect(c.forSecrets('team', ['sigs']).fingerprint).not.toBe(c.forSecrets('other', ['sigs']).fingerprint);
  });
});
