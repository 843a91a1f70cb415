// @kubernetes/client-node's own informer against a Kubernetes API server, reporting what it
// sees. @kubernetes/client-node 2.x is ESM-only and jest runs this project as CommonJS, so
// client-node-informer.test.ts runs this script in a child Node process.
//
// Environment: KUBECONFIG (file), GROUP, VERSION, PLURAL (a cluster-scoped custom resource),
// BOOKMARKS=1 to build the informer from client-node's ListWatch with a Watch that asks for
// bookmarks (makeInformer's own Watch does not ask for them).
// Output (stdout): one JSON object per line: {event: add|update|delete|connect|error, name, rv}.
// Input (stdin): "state" prints {state: {name: resourceVersion}, rv: latestResourceVersion()}.
// On an error the informer is started again after 100 ms (client-node's documented pattern:
// its informer stops on an error other than 410 or a timeout).
import { createInterface } from 'node:readline';
import { setTimeout } from 'node:timers';
import * as k8s from '@kubernetes/client-node';

const { GROUP: group, VERSION: version, PLURAL: plural } = process.env;
const kc = new k8s.KubeConfig();
kc.loadFromFile(process.env.KUBECONFIG);
const api = kc.makeApiClient(k8s.CustomObjectsApi);
const path = `/apis/${group}/${version}/${plural}`;
const list = () => api.listClusterCustomObject({ group, version, plural });

class BookmarkWatch extends k8s.Watch {
  watch(watchPath, params, callback, done) {
    return super.watch(watchPath, { ...params, allowWatchBookmarks: true }, callback, done);
  }
}

const informer = process.env.BOOKMARKS === '1' ? new k8s.ListWatch(path, new BookmarkWatch(kc), list, false) : k8s.makeInformer(kc, path, list);
const say = (value) => process.stdout.write(`${JSON.stringify(value)}\n`);
for (const event of ['add', 'update', 'delete']) {
  informer.on(event, (obj) => say({ event, name: obj.metadata.name, rv: obj.metadata.resourceVersion }));
}
informer.on('connect', () => say({ event: 'connect' }));
informer.on('error', (err) => {
  say({ event: 'error', message: String(err?.message ?? err) });
  setTimeout(() => informer.start().catch((e) => say({ event: 'error', message: String(e) })), 100);
});

createInterface({ input: process.stdin }).on('line', (line) => {
  if (line.trim() !== 'state') return;
  const state = Object.fromEntries(informer.list().map((o) => [o.metadata.name, o.metadata.resourceVersion]));
  say({ state, rv: informer.latestResourceVersion() });
});
process.stdin.on('end', () => {
  void informer.stop().then(() => process.exit(0));
});

await informer.start();
say({ event: 'started' });
