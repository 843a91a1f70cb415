/**
 * The emulated Kubernetes API server follows the API's conventions, checked over HTTPS as a
 * client sees them (https://kubernetes.io/docs/reference/using-api/api-concepts/): tokens and
 * RBAC, discovery, one storage behind every served version, list with resourceVersion /
 * resourceVersionMatch / limit / continue, watch streams with bookmarks and 410 Expired, the
 * status subresource and generation, optimistic concurrency, patches, pruning.
 * client-node-informer.test.ts shows the official client's informer works against it.
 */
import { Agent, request } from 'undici';
import type { Json } from '../../support/json';
import { startKubeApi, type RunningKubeApi } from '../../support/kube-api';

const CIP = '/apis/policy.sigstore.dev/v1beta1/clusterimagepolicies';
const CIP_ALPHA = '/apis/policy.sigstore.dev/v1alpha1/clusterimagepolicies';

let api: RunningKubeApi;
let agent: Agent;

beforeAll(async () => {
  api = await startKubeApi({ bookmarkIntervalMs: 0 });
  agent = new Agent({ connect: { ca: api.ca } });
});

afterAll(async () => {
  await agent?.close();
  await api?.stop();
});

interface Answer {
  status: number;
  body: Json;
  headers: Record<string, string | string[] | undefined>;
}

async function call(method: string, path: string, body?: unknown, options: { token?: string | null; contentType?: string } = {}): Promise<Answer> {
  const token = options.token === undefined ? api.adminToken : options.token;
  const res = await request(`${api.url}${path}`, {
    method: method as 'GET',
    dispatcher: agent,
    headers: {
      ...(token !== null ? { authorization: `Bearer ${token}` } : {}),
      ...(body !== undefined ? { 'content-type': options.contentType ?? 'application/json' } : {}),
    },
    ...(body !== undefined ? { body: JSON.stringify(body) } : {}),
  });
  const text = await res.body.text();
  return { status: res.statusCode, body: text ? JSON.parse(text) : undefined, headers: res.headers };
}

function policy(name: string, glob = 'registry.example/**', extra: Json = {}): Json {
  return {
    apiVersion: 'policy.sigstore.dev/v1beta1',
    kind: 'ClusterImagePolicy',
    metadata: { name },
    spec: { images: [{ glob }], authorities: [{ static: { action: 'pass' } }] },
    ...extra,
  };
}

/** Opens a watch; collects its events until closed. */
async function openWatch(path: string, token: string = api.adminToken): Promise<{ events: Json[]; closed: Promise<void>; abort: () => void; status: number }> {
  const controller = new AbortController();
  const res = await request(`${api.url}${path}`, { dispatcher: agent, headers: { authorization: `Bearer ${token}` }, signal: controller.signal });
  const events: Json[] = [];
  let buffered = '';
  const closed = (async () => {
    try {
      for await (const chunk of res.body) {
        buffered += (chunk as Buffer).toString('utf8');
        let nl: number;
        while ((nl = buffered.indexOf('\n')) >= 0) {
          events.push(JSON.parse(buffered.slice(0, nl)));
          buffered = buffered.slice(nl + 1);
        }
      }
    } catch {
      // aborted or cut
    }
  })();
  return { events, closed, abort: () => controller.abort(), status: res.statusCode };
}

async function until(check: () => boolean, what: string): Promise<void> {
  const deadline = Date.now() + 5000;
  while (!check()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 10));
  }
}

describe('authentication and authorization', () => {
  test('no token or an unknown token is 401; a token without the permission is 403 naming it', async () => {
    expect((await call('GET', '/api/v1/namespaces', undefined, { token: null })).status).toBe(401);
    const unknown = await call('GET', '/api/v1/namespaces', undefined, { token: 'nope' });
    expect(unknown.status).toBe(401);
    expect(unknown.body).toMatchObject({ kind: 'Status', reason: 'Unauthorized', code: 401 });

    const reader = api.token({ user: 'reader', rules: [{ verbs: ['get', 'list', 'watch'], apiGroups: [''], resources: ['secrets'], namespace: 'default' }] });
    expect((await call('GET', '/api/v1/namespaces/default/secrets', undefined, { token: reader })).status).toBe(200);
    const other = await call('GET', '/api/v1/namespaces/kube-system/secrets', undefined, { token: reader });
    expect(other.status).toBe(403);
    expect(other.body.message).toBe('secrets is forbidden: User "reader" cannot list resource "secrets" in API group "" in the namespace "kube-system"');
    expect((await call('POST', '/api/v1/namespaces/default/secrets', { metadata: { name: 'x' } }, { token: reader })).status).toBe(403);
    // Discovery is open to every authenticated user.
    expect((await call('GET', '/apis', undefined, { token: reader })).status).toBe(200);
  });
});

describe('discovery', () => {
  test('lists the groups, preferred versions and resources with their status subresources', async () => {
    const group = await call('GET', '/apis/policy.sigstore.dev');
    expect(group.body).toMatchObject({ kind: 'APIGroup', name: 'policy.sigstore.dev', preferredVersion: { version: 'v1beta1' } });
    expect(group.body.versions.map((v: Json) => v.version).sort()).toEqual(['v1alpha1', 'v1beta1']);
    const alpha = await call('GET', '/apis/policy.sigstore.dev/v1alpha1');
    expect(alpha.body.resources.map((r: Json) => r.name).sort()).toEqual([
      'clusterimagepolicies',
      'clusterimagepolicies/status',
      'trustroots',
      'trustroots/status',
    ]);
    const core = await call('GET', '/api/v1');
    expect(core.body.resources.find((r: Json) => r.name === 'secrets')).toMatchObject({ namespaced: true, kind: 'Secret' });
    expect((await call('GET', '/api')).body.versions).toEqual(['v1']);
    expect((await call('GET', '/apis/policy.sigstore.dev/v2')).status).toBe(404);
  });
});

describe('objects', () => {
  test('one storage behind both versions: created as v1alpha1, read as v1beta1', async () => {
    const created = await call('POST', CIP_ALPHA, { ...policy('both-versions'), apiVersion: 'policy.sigstore.dev/v1alpha1' });
    expect(created.status).toBe(201);
    expect(created.body.metadata).toMatchObject({ name: 'both-versions', generation: 1 });
    expect(created.body.metadata.uid).toMatch(/^[0-9a-f-]{36}$/);
    const beta = await call('GET', `${CIP}/both-versions`);
    expect(beta.body.apiVersion).toBe('policy.sigstore.dev/v1beta1');
    expect(beta.body.metadata.resourceVersion).toBe(created.body.metadata.resourceVersion);
    const wrong = await call('POST', CIP, { ...policy('mismatch'), apiVersion: 'policy.sigstore.dev/v1alpha1' });
    expect(wrong.status).toBe(400);
    expect((await call('POST', CIP, policy('both-versions'))).body).toMatchObject({ code: 409, reason: 'AlreadyExists' });
    expect((await call('GET', `${CIP}/missing`)).body).toMatchObject({
      code: 404,
      reason: 'NotFound',
      message: 'clusterimagepolicies.policy.sigstore.dev "missing" not found',
    });
  });

  test('namespaced objects need an existing namespace, and a namespace takes its objects with it', async () => {
    expect((await call('POST', '/api/v1/namespaces/nowhere/secrets', { metadata: { name: 's' } })).body).toMatchObject({
      code: 404,
      message: 'namespaces "nowhere" not found',
    });
    expect((await call('POST', '/api/v1/namespaces', { metadata: { name: 'team-x' } })).status).toBe(201);
    expect((await call('POST', '/api/v1/namespaces/team-x/secrets', { metadata: { name: 's' }, data: { k: 'dg==' } })).status).toBe(201);
    const all = await call('GET', '/api/v1/secrets');
    expect(all.body.items.map((s: Json) => `${s.metadata.namespace}/${s.metadata.name}`)).toContain('team-x/s');
    expect((await call('DELETE', '/api/v1/namespaces/team-x')).status).toBe(200);
    expect((await call('GET', '/api/v1/namespaces/team-x/secrets/s')).status).toBe(404);
  });

  test('unknown fields of a custom resource are pruned with a warning, or refused under Strict', async () => {
    const created = await call('POST', CIP, { ...policy('pruned'), spec: { ...policy('pruned').spec, surprise: true } });
    expect(created.status).toBe(201);
    expect(created.body.spec.surprise).toBeUndefined();
    expect(String(created.headers.warning)).toContain('unknown field \\"spec.surprise\\"');
    const strict = await call('POST', `${CIP}?fieldValidation=Strict`, { ...policy('strict'), spec: { ...policy('strict').spec, surprise: true } });
    expect(strict.status).toBe(400);
    expect(strict.body.message).toContain('unknown field "spec.surprise"');
  });

  test('the status subresource: the main resource ignores status, /status changes only status; generation counts spec changes', async () => {
    const created = (await call('POST', CIP, { ...policy('status-rules'), status: { observedGeneration: 7 } })).body;
    expect(created.status).toBeUndefined();
    const withStatus = await call('PUT', `${CIP}/status-rules/status`, {
      ...created,
      spec: { images: [{ glob: 'ignored/**' }] },
      status: { observedGeneration: 1, conditions: [{ type: 'Ready', status: 'True' }] },
    });
    expect(withStatus.status).toBe(200);
    expect(withStatus.body.spec.images).toEqual([{ glob: 'registry.example/**' }]);
    expect(withStatus.body.status.observedGeneration).toBe(1);
    expect(withStatus.body.metadata.generation).toBe(1);

    const edited = await call('PUT', `${CIP}/status-rules`, {
      ...withStatus.body,
      spec: { ...withStatus.body.spec, mode: 'warn' },
      status: { observedGeneration: 99 },
    });
    expect(edited.body.status.observedGeneration).toBe(1);
    expect(edited.body.metadata.generation).toBe(2);
    const relabelled = await call('PUT', `${CIP}/status-rules`, { ...edited.body, metadata: { ...edited.body.metadata, labels: { a: 'b' } } });
    expect(relabelled.body.metadata.generation).toBe(2);

    // A write that changes nothing is no write: same resourceVersion.
    const again = await call('PUT', `${CIP}/status-rules/status`, relabelled.body);
    expect(again.body.metadata.resourceVersion).toBe(relabelled.body.metadata.resourceVersion);
  });

  test('optimistic concurrency: 409 on a stale resourceVersion; a custom resource update must name one', async () => {
    const created = (await call('POST', CIP, policy('concurrency'))).body;
    const first = await call('PUT', `${CIP}/concurrency`, { ...created, spec: { ...created.spec, mode: 'warn' } });
    expect(first.status).toBe(200);
    const stale = await call('PUT', `${CIP}/concurrency`, { ...created, spec: { ...created.spec, mode: 'enforce' } });
    expect(stale.body).toMatchObject({ code: 409, reason: 'Conflict' });
    expect(stale.body.message).toContain('the object has been modified');
    const staleStatus = await call('PUT', `${CIP}/concurrency/status`, { ...created, status: { observedGeneration: 1 } });
    expect(staleStatus.status).toBe(409);
    const unconditional = await call('PUT', `${CIP}/concurrency`, { ...first.body, metadata: { name: 'concurrency' } });
    expect(unconditional.body).toMatchObject({ code: 422, reason: 'Invalid' });
    // Core objects may be updated unconditionally.
    await call('POST', '/api/v1/namespaces/default/secrets', { metadata: { name: 'plain' }, data: {} });
    expect((await call('PUT', '/api/v1/namespaces/default/secrets/plain', { metadata: { name: 'plain' }, data: { a: 'YQ==' } })).status).toBe(200);
    // Delete with a stale precondition.
    const deleted = await call('DELETE', `${CIP}/concurrency`, {
      kind: 'DeleteOptions',
      apiVersion: 'v1',
      preconditions: { resourceVersion: created.metadata.resourceVersion },
    });
    expect(deleted.status).toBe(409);
  });

  test('merge patch and JSON patch, on the object and on /status', async () => {
    await call('POST', CIP, policy('patched'));
    const merged = await call('PATCH', `${CIP}/patched`, { spec: { mode: 'warn' } }, { contentType: 'application/merge-patch+json' });
    expect(merged.body.spec).toMatchObject({ mode: 'warn', images: [{ glob: 'registry.example/**' }] });
    const json = await call('PATCH', `${CIP}/patched`, [{ op: 'replace', path: '/spec/images/0/glob', value: 'other/**' }], {
      contentType: 'application/json-patch+json',
    });
    expect(json.body.spec.images).toEqual([{ glob: 'other/**' }]);
    expect(json.body.metadata.generation).toBe(3);
    const status = await call('PATCH', `${CIP}/patched/status`, { status: { observedGeneration: 3 } }, { contentType: 'application/merge-patch+json' });
    expect(status.body.status).toEqual({ observedGeneration: 3 });
    const precondition = await call(
      'PATCH',
      `${CIP}/patched`,
      { metadata: { resourceVersion: '1' }, spec: { mode: 'enforce' } },
      { contentType: 'application/merge-patch+json' },
    );
    expect(precondition.status).toBe(409);
    expect((await call('PATCH', `${CIP}/patched`, { spec: {} }, { contentType: 'application/strategic-merge-patch+json' })).status).toBe(415);
  });
});

describe('list', () => {
  test('paginates with limit/continue at one resourceVersion; a compacted continue token is 410', async () => {
    for (const name of ['page-a', 'page-b', 'page-c'])
      await call('POST', '/api/v1/namespaces/default/configmaps', { metadata: { name, labels: { page: 'yes' } } });
    const first = await call('GET', '/api/v1/namespaces/default/configmaps?limit=2&labelSelector=page%3Dyes');
    expect(first.body.items.map((i: Json) => i.metadata.name)).toEqual(['page-a', 'page-b']);
    expect(first.body.metadata.remainingItemCount).toBe(1);
    // Created after the first page: not in the second, which shows the list's revision.
    await call('POST', '/api/v1/namespaces/default/configmaps', { metadata: { name: 'page-d', labels: { page: 'yes' } } });
    const second = await call('GET', `/api/v1/namespaces/default/configmaps?limit=2&labelSelector=page%3Dyes&continue=${first.body.metadata.continue}`);
    expect(second.body.items.map((i: Json) => i.metadata.name)).toEqual(['page-c']);
    expect(second.body.metadata.resourceVersion).toBe(first.body.metadata.resourceVersion);
    expect(second.body.metadata.continue).toBeUndefined();
    api.store.compact();
    const expired = await call('GET', `/api/v1/namespaces/default/configmaps?limit=2&continue=${first.body.metadata.continue}`);
    expect(expired.body).toMatchObject({ code: 410, reason: 'Expired' });
  });

  test('resourceVersionMatch=Exact shows the state at that revision; too old is 410, too new 504', async () => {
    const created = (await call('POST', '/api/v1/namespaces/default/configmaps', { metadata: { name: 'exact' }, data: { v: '1' } })).body;
    await call('PUT', '/api/v1/namespaces/default/configmaps/exact', { ...created, data: { v: '2' } });
    const then = await call(
      'GET',
      `/api/v1/namespaces/default/configmaps?resourceVersion=${created.metadata.resourceVersion}&resourceVersionMatch=Exact&fieldSelector=metadata.name%3Dexact`,
    );
    expect(then.body.items.map((i: Json) => i.data.v)).toEqual(['1']);
    const now = await call('GET', '/api/v1/namespaces/default/configmaps?fieldSelector=metadata.name%3Dexact');
    expect(now.body.items.map((i: Json) => i.data.v)).toEqual(['2']);
    api.store.compact();
    expect(
      (await call('GET', `/api/v1/namespaces/default/configmaps?resourceVersion=${created.metadata.resourceVersion}&resourceVersionMatch=Exact`)).status,
    ).toBe(410);
    expect((await call('GET', `/api/v1/namespaces/default/configmaps?resourceVersion=${api.store.revision + 10}`)).status).toBe(504);
    expect((await call('GET', '/api/v1/namespaces/default/configmaps?resourceVersionMatch=Exact')).status).toBe(400);
  });
});

describe('watch', () => {
  test('from a list resourceVersion: MODIFIED and DELETED in order, bookmarks when asked', async () => {
    await call('POST', CIP, policy('watched'));
    const list = await call('GET', CIP);
    const w = await openWatch(`${CIP}?watch=1&allowWatchBookmarks=true&resourceVersion=${list.body.metadata.resourceVersion}`);
    expect(w.status).toBe(200);
    await call('PATCH', `${CIP}/watched`, { spec: { mode: 'warn' } }, { contentType: 'application/merge-patch+json' });
    await call('DELETE', `${CIP}/watched`);
    api.bookmark();
    await until(() => w.events.length >= 3, 'three events');
    expect(w.events.map((e) => e.type)).toEqual(['MODIFIED', 'DELETED', 'BOOKMARK']);
    expect(w.events[0].object).toMatchObject({ apiVersion: 'policy.sigstore.dev/v1beta1', spec: { mode: 'warn' } });
    expect(Number(w.events[1].object.metadata.resourceVersion)).toBeGreaterThan(Number(w.events[0].object.metadata.resourceVersion));
    expect(w.events[2].object).toEqual({
      kind: 'ClusterImagePolicy',
      apiVersion: 'policy.sigstore.dev/v1beta1',
      metadata: { resourceVersion: String(api.store.revision) },
    });
    w.abort();
    await w.closed;
  });

  test('without a resourceVersion: the current objects as ADDED first; no bookmarks unless asked', async () => {
    await call('POST', CIP, policy('initial'));
    const w = await openWatch(`${CIP}?watch=true`);
    await until(() => w.events.some((e) => e.object.metadata.name === 'initial'), 'the initial ADDED');
    api.bookmark();
    await call('POST', CIP, policy('later'));
    await until(() => w.events.some((e) => e.object.metadata.name === 'later'), 'the later ADDED');
    expect(w.events.every((e) => e.type === 'ADDED')).toBe(true);
    w.abort();
  });

  test('a compacted resourceVersion is an ERROR event with 410 Expired, then the stream ends', async () => {
    const old = (await call('GET', CIP)).body.metadata.resourceVersion;
    await call('POST', CIP, policy('after-compaction'));
    api.store.compact();
    const w = await openWatch(`${CIP}?watch=1&resourceVersion=${old}`);
    await w.closed;
    expect(w.events).toEqual([{ type: 'ERROR', object: expect.objectContaining({ kind: 'Status', code: 410, reason: 'Expired' }) }]);
  });

  test('expireWatches ends open watches with 410; dropWatches cuts them', async () => {
    const rv = (await call('GET', CIP)).body.metadata.resourceVersion;
    const a = await openWatch(`${CIP}?watch=1&resourceVersion=${rv}`);
    await until(() => api.watchCount >= 1, 'the watch to open');
    api.expireWatches();
    await a.closed;
    expect(a.events.map((e) => [e.type, e.object.code])).toEqual([['ERROR', 410]]);
    const b = await openWatch(`${CIP}?watch=1`);
    await until(() => api.watchCount >= 1, 'the watch to open');
    api.dropWatches();
    await b.closed;
    expect(api.watchCount).toBe(0);
  });

  test('under a label selector, an object that stops matching is DELETED for the watch', async () => {
    const created = (await call('POST', '/api/v1/namespaces/default/secrets', { metadata: { name: 'labelled', labels: { team: 'a' } } })).body;
    const w = await openWatch(`/api/v1/namespaces/default/secrets?watch=1&labelSelector=team%3Da&resourceVersion=${created.metadata.resourceVersion}`);
    await call(
      'PATCH',
      '/api/v1/namespaces/default/secrets/labelled',
      { metadata: { labels: { team: 'b' } } },
      { contentType: 'application/merge-patch+json' },
    );
    await call(
      'PATCH',
      '/api/v1/namespaces/default/secrets/labelled',
      { metadata: { labels: { team: 'a' } } },
      { contentType: 'application/strategic-merge-patch+json' },
    );
    await until(() => w.events.length >= 2, 'two events');
    expect(w.events.map((e) => e.type)).toEqual(['DELETED', 'ADDED']);
    w.abort();
  });
});

describe('faults', () => {
  test('unreachable refuses connections; reachable serves again on the same port', async () => {
    await api.unreachable();
    await expect(call('GET', '/api/v1/namespaces')).rejects.toThrow(/ECONNREFUSED|other side closed|SocketError/);
    await api.reachable();
    expect((await call('GET', '/api/v1/namespaces')).status).toBe(200);
  });

  test('a hook answers a request the test way', async () => {
    api.hook = ({ verb, resource }) => (verb === 'list' && resource === 'trustroots' ? { status: 500 } : undefined);
    try {
      expect((await call('GET', '/apis/policy.sigstore.dev/v1alpha1/trustroots')).status).toBe(500);
      expect((await call('GET', CIP)).status).toBe(200);
    } finally {
      api.hook = undefined;
    }
  });
});
