/**
 * The official client's informer (@kubernetes/client-node's makeInformer and ListWatch: list,
 * then watch) works against the emulated API server, so the emulation is the API and not our
 * reading of it: the initial list, add/update/delete, a watch that ends or is cut resumes from
 * its resourceVersion, 410 Expired makes it list again (and the list shows what changed),
 * bookmarks move its resourceVersion forward. The informer runs in a child process
 * (client-node-informer.mjs: client-node is ESM-only, jest runs CommonJS).
 */
import { spawn, type ChildProcessWithoutNullStreams } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Json } from '../../support/json';
import { startKubeApi, writeKubeconfig, type RunningKubeApi } from '../../support/kube-api';

let api: RunningKubeApi;
let work: string;
let kubeconfig: string;

const GROUP = 'policy.sigstore.dev';
const VERSION = 'v1beta1';
const PATH = `/apis/${GROUP}/${VERSION}/clusterimagepolicies`;

beforeAll(async () => {
  api = await startKubeApi({ bookmarkIntervalMs: 0 });
  work = mkdtempSync(join(tmpdir(), 'imgverify-informer-'));
  kubeconfig = writeKubeconfig(join(work, 'kubeconfig'), api, api.adminToken);
});

afterAll(async () => {
  await api?.stop();
  if (work) rmSync(work, { recursive: true, force: true });
});

const cips = () => api.store.type('clusterimagepolicies.policy.sigstore.dev');

function policy(name: string, mode = 'enforce'): Json {
  return {
    apiVersion: `${GROUP}/${VERSION}`,
    kind: 'ClusterImagePolicy',
    metadata: { name },
    spec: { mode, images: [{ glob: `${name}/**` }], authorities: [{ static: { action: 'pass' } }] },
  };
}

class Informer {
  readonly lines: Json[] = [];
  private readonly child: ChildProcessWithoutNullStreams;
  private stderr = '';

  constructor(bookmarks: boolean) {
    this.child = spawn(process.execPath, [join(__dirname, 'client-node-informer.mjs')], {
      env: { PATH: process.env.PATH, KUBECONFIG: kubeconfig, GROUP, VERSION, PLURAL: 'clusterimagepolicies', BOOKMARKS: bookmarks ? '1' : '0' },
    });
    let buffered = '';
    this.child.stdout.on('data', (d: Buffer) => {
      buffered += d.toString();
      let nl: number;
      while ((nl = buffered.indexOf('\n')) >= 0) {
        this.lines.push(JSON.parse(buffered.slice(0, nl)));
        buffered = buffered.slice(nl + 1);
      }
    });
    this.child.stderr.on('data', (d: Buffer) => (this.stderr += d.toString()));
  }

  /** Waits for a line matching `predicate` after index `from`; returns its index. */
  async waitFor(predicate: (line: Json) => boolean, what: string, from = 0): Promise<number> {
    const deadline = Date.now() + 15_000;
    for (;;) {
      const i = this.lines.findIndex((l, k) => k >= from && predicate(l));
      if (i >= 0) return i;
      if (Date.now() > deadline || this.child.exitCode !== null)
        throw new Error(`timed out waiting for ${what}; saw ${JSON.stringify(this.lines)}; stderr: ${this.stderr}`);
      await new Promise((r) => setTimeout(r, 20));
    }
  }

  async state(): Promise<{ state: Record<string, string>; rv: string }> {
    const from = this.lines.length;
    this.child.stdin.write('state\n');
    return this.lines[await this.waitFor((l) => l.state !== undefined, 'the state', from)];
  }

  events(from: number): string[] {
    return this.lines
      .slice(from)
      .filter((l) => ['add', 'update', 'delete'].includes(l.event))
      .map((l) => `${l.event} ${l.name}`);
  }

  async stop(): Promise<void> {
    const exited = new Promise((r) => this.child.once('exit', r));
    this.child.stdin.end();
    const timer = setTimeout(() => this.child.kill('SIGKILL'), 5000);
    await exited;
    clearTimeout(timer);
  }
}

function watchRequests(since: number): Array<{ verb?: string; resourceVersion?: string }> {
  return api.requests
    .slice(since)
    .filter((r) => r.path === PATH)
    .map((r) => ({ ...(r.verb ? { verb: r.verb } : {}), ...(r.query.resourceVersion !== undefined ? { resourceVersion: r.query.resourceVersion } : {}) }));
}

/** The requests for the watched path since `since`, once there are at least `count`. */
async function requestsFor(since: number, count: number): Promise<Array<{ verb?: string; resourceVersion?: string }>> {
  const deadline = Date.now() + 10_000;
  while (watchRequests(since).length < count) {
    if (Date.now() > deadline) throw new Error(`expected ${count} requests, saw ${JSON.stringify(watchRequests(since))}`);
    await new Promise((r) => setTimeout(r, 20));
  }
  return watchRequests(since);
}

/** The server's objects as the informer should hold them. */
function serverState(): Record<string, string> {
  return Object.fromEntries(api.store.list(cips(), undefined).items.map((o: Json) => [o.metadata.name, o.metadata.resourceVersion]));
}

async function settled(informer: Informer): Promise<void> {
  const deadline = Date.now() + 15_000;
  for (;;) {
    const { state } = await informer.state();
    const sorted = (o: Record<string, string>): string => JSON.stringify(Object.entries(o).sort());
    if (sorted(state) === sorted(serverState())) return;
    if (Date.now() > deadline) throw new Error(`informer state ${JSON.stringify(state)} never matched ${JSON.stringify(serverState())}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

test('makeInformer: list, then watch from the list resourceVersion; add, update, delete; resumes after an end or a cut; 410 lists again', async () => {
  api.store.create(cips(), undefined, policy('first'));
  api.store.create(cips(), undefined, policy('second'));
  const since = api.requests.length;
  const informer = new Informer(false);
  try {
    await informer.waitFor((l) => l.event === 'started', 'the informer to start');
    expect(informer.events(0).sort()).toEqual(['add first', 'add second']);
    const listRv = api.store.revision;
    expect(await requestsFor(since, 2)).toEqual([{ verb: 'list' }, { verb: 'watch', resourceVersion: String(listRv) }]);

    let mark = informer.lines.length;
    api.store.create(cips(), undefined, policy('third'));
    api.store.patch(cips(), undefined, 'first', 'merge', { spec: { mode: 'warn' } });
    api.store.delete(cips(), undefined, 'second');
    await informer.waitFor((l) => l.event === 'delete', 'the delete', mark);
    expect(informer.events(mark)).toEqual(['add third', 'update first', 'delete second']);
    await settled(informer);

    // The server ends the watch (as at its timeout): the informer watches again from where it was, no list.
    let requests = api.requests.length;
    let rv = String(api.store.revision);
    api.endWatches();
    expect(await requestsFor(requests, 1)).toEqual([{ verb: 'watch', resourceVersion: rv }]);

    // The connection is cut: an error, the informer is started again, and resumes the watch;
    // a change made meanwhile arrives through the watch's replay.
    mark = informer.lines.length;
    requests = api.requests.length;
    rv = String(api.store.revision);
    api.dropWatches();
    api.store.patch(cips(), undefined, 'third', 'merge', { spec: { mode: 'warn' } });
    await informer.waitFor((l) => l.event === 'update' && l.name === 'third', 'the change made while cut', mark);
    expect(informer.lines.slice(mark).some((l) => l.event === 'error')).toBe(true);
    expect((await requestsFor(requests, 1))[0]).toEqual({ verb: 'watch', resourceVersion: rv });
    await settled(informer);

    // Changes, then compaction, while the watch is down: resuming answers 410 Expired, and the
    // informer lists again; the list shows the deletion and the addition it missed.
    mark = informer.lines.length;
    requests = api.requests.length;
    rv = String(api.store.revision);
    api.endWatches();
    api.store.delete(cips(), undefined, 'first');
    api.store.create(cips(), undefined, policy('fourth'));
    api.store.compact();
    await informer.waitFor((l) => l.event === 'add' && l.name === 'fourth', 'the relisted addition', mark);
    expect(informer.events(mark).sort()).toEqual(['add fourth', 'delete first']);
    const after = await requestsFor(requests, 3);
    expect(after.slice(0, 3)).toEqual([
      { verb: 'watch', resourceVersion: rv },
      { verb: 'list' },
      { verb: 'watch', resourceVersion: String(api.store.revision) },
    ]);
    await settled(informer);

    // An open watch told it is too old (ERROR 410 in the stream) lists again too.
    requests = api.requests.length;
    api.expireWatches();
    expect((await requestsFor(requests, 1))[0]).toEqual({ verb: 'list' });
    await settled(informer);
  } finally {
    await informer.stop();
  }
});

test('ListWatch with a Watch that asks for bookmarks: a BOOKMARK moves its resourceVersion, and it resumes from there', async () => {
  const informer = new Informer(true);
  try {
    await informer.waitFor((l) => l.event === 'started', 'the informer to start');
    await settled(informer);
    // Writes to another resource move the revision; this informer sees nothing but the bookmark.
    api.store.create(api.store.type('configmaps'), 'default', { metadata: { name: 'elsewhere' } });
    const watch = api.requests.filter((r) => r.path === PATH && r.verb === 'watch').at(-1)!;
    expect(watch.query.allowWatchBookmarks).toBe('true');
    const before = (await informer.state()).rv;
    expect(Number(before)).toBeLessThan(api.store.revision);
    api.bookmark();
    const deadline = Date.now() + 10_000;
    while ((await informer.state()).rv !== String(api.store.revision)) {
      if (Date.now() > deadline) throw new Error('the bookmark never reached the informer');
      await new Promise((r) => setTimeout(r, 20));
    }
    const requests = api.requests.length;
    api.endWatches();
    expect((await requestsFor(requests, 1))[0]).toEqual({ verb: 'watch', resourceVersion: String(api.store.revision) });
    await settled(informer);
  } finally {
    await informer.stop();
  }
});
