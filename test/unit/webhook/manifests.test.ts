/**
 * Manifest streams: documents, Lists, JSON, positions of image fields from the YAML parser's
 * nodes, and what is refused (duplicate keys, broken documents, alias bombs).
 */
import fc from 'fast-check';
import { extractImages } from '../../../src/webhook/admission';
import { MAX_MANIFEST_DOCUMENTS, manifestWorkload, objectKind, readManifests } from '../../../src/webhook/manifests';

/** The text at a position (1-based line and column, end exclusive), to check what a position points at. */
function textAt(text: string, p: { line: number; column: number; endLine: number; endColumn: number }): string {
  const lines = text.split('\n');
  if (p.line === p.endLine) return lines[p.line - 1]!.slice(p.column - 1, p.endColumn - 1);
  return [lines[p.line - 1]!.slice(p.column - 1), ...lines.slice(p.line, p.endLine - 1), lines[p.endLine - 1]!.slice(0, p.endColumn - 1)].join('\n');
}

/** Each image of each object with the text its position covers. */
function imageFields(text: string, file = 'm.yaml'): Array<{ image: string; at: string; line: number; column: number }> {
  const stream = readManifests(text, file);
  expect(stream.errors).toEqual([]);
  return stream.objects.flatMap((o) => {
    const kind = objectKind(o.object);
    return extractImages(o.object, kind ?? 'none').map((i) => {
      const p = o.locate(i.path);
      return { image: i.image, at: textAt(text, p), line: p.line, column: p.column };
    });
  });
}

const DEPLOYMENT = `# a comment
apiVersion: apps/v1
kind: Deployment
metadata:
  name: web
  namespace: shop
spec:
  template:
    spec:
      initContainers:
        - name: init
          image: registry.example/init:1
      containers:
        - name: app
          image: "registry.example/app:2"   # quoted
        - image: >-
            registry.example/folded:3
          name: folded
      volumes:
        - name: models
          image:
            reference: registry.example/models:4
`;

describe('readManifests', () => {
  it('locates each image field at its key, from the parser', () => {
    expect(imageFields(DEPLOYMENT)).toEqual([
      { image: 'registry.example/init:1', at: 'image: registry.example/init:1', line: 12, column: 11 },
      { image: 'registry.example/app:2', at: 'image: "registry.example/app:2"', line: 15, column: 11 },
      { image: 'registry.example/folded:3', at: expect.stringMatching(/^image: >-\n\s+registry\.example\/folded:3/), line: 16, column: 11 },
      { image: 'registry.example/models:4', at: 'reference: registry.example/models:4', line: 22, column: 13 },
    ]);
  });

  it('reads every document of a stream, skips empty ones, and numbers them', () => {
    const text = `---\n# only a comment\n---\n${DEPLOYMENT}---\napiVersion: v1\nkind: Service\nmetadata: {name: web}\n---\n`;
    const stream = readManifests(text, 'all.yaml');
    expect(stream.errors).toEqual([]);
    expect(stream.objects.map((o) => [o.document, o.object.kind, o.position.line])).toEqual([
      [1, 'Deployment', 5],
      [2, 'Service', 27],
    ]);
  });

  it('flattens List kinds (nested too), locating items inside them', () => {
    const text = [
      'apiVersion: v1',
      'kind: List',
      'items:',
      '  - apiVersion: v1',
      '    kind: Pod',
      '    metadata: {name: one}',
      '    spec: {containers: [{name: a, image: "one:1"}]}',
      '  - apiVersion: v1',
      '    kind: PodList',
      '    items:',
      '      - apiVersion: v1',
      '        kind: Pod',
      '        metadata: {name: two}',
      '        spec:',
      '          containers:',
      '            - {name: b, image: "two:2"}',
      '',
    ].join('\n');
    const stream = readManifests(text, 'list.yaml');
    expect(stream.objects.map((o) => o.items)).toEqual([[0], [1, 0]]);
    expect(imageFields(text)).toEqual([
      { image: 'one:1', at: 'image: "one:1"', line: 7, column: 35 },
      { image: 'two:2', at: 'image: "two:2"', line: 16, column: 25 },
    ]);
  });

  it('reads JSON (a document of the stream) with positions', () => {
    const text =
      '{\n  "apiVersion": "v1",\n  "kind": "Pod",\n  "metadata": {"name": "p"},\n  "spec": {"containers": [\n    {"name": "c", "image": "busybox:1"}\n  ]}\n}\n';
    expect(imageFields(text, 'pod.json')).toEqual([{ image: 'busybox:1', at: '"image": "busybox:1"', line: 6, column: 19 }]);
  });

  it('reads a JSON stream as kubectl does (values one after another, no ---), each value a document with positions', () => {
    // kubectl's YAMLOrJSONDecoder: a stream starting with { is JSON values in a row (as `jq -c` writes them).
    const pod = (name: string, image: string): string =>
      JSON.stringify({ apiVersion: 'v1', kind: 'Pod', metadata: { name }, spec: { containers: [{ name: 'c', image }] } });
    const text = `${pod('a', 'one:1')}\n  ${pod('b', 'two:2')}{"apiVersion":"v1","kind":"List","items":[${pod('c', 'th}ree"{:3')}]}\n`;
    const lines = text.split('\n');
    const columnOf = (line: number, field: string): number => lines[line - 1]!.indexOf(field) + 1;
    expect(imageFields(text, 'pods.json')).toEqual([
      { image: 'one:1', at: '"image":"one:1"', line: 1, column: columnOf(1, '"image":"one:1"') },
      { image: 'two:2', at: '"image":"two:2"', line: 2, column: columnOf(2, '"image":"two:2"') },
      { image: 'th}ree"{:3', at: '"image":"th}ree\\"{:3"', line: 2, column: columnOf(2, '"image":"th}ree\\"{:3"') },
    ]);
    const stream = readManifests(text, 'pods.json');
    expect(stream.objects.map((o) => [o.document, o.items])).toEqual([
      [0, []],
      [1, []],
      [2, [0]],
    ]);
    // What is not JSON between values is an error of its own; the values around it are read.
    const broken = readManifests(`${pod('a', 'one:1')}${pod('b', 'two:2')} junk ${pod('c', 'three:3')} {"unterminated": `, 'x.json');
    expect(broken.objects.map((o) => o.document)).toEqual([0, 1, 3]);
    expect(broken.errors.map((e) => [e.document, e.message])).toEqual([
      [2, expect.stringMatching(/^expected a Kubernetes object \(a mapping\), got string/)],
      [4, expect.stringMatching(/^not valid YAML/)],
    ]);
    // One JSON object followed by --- and YAML: YAML (kubectl flips to YAML, kubernetes#130666).
    const mixed = `${pod('a', 'one:1')}\n---\napiVersion: v1\nkind: Pod\nmetadata: {name: b}\nspec:\n  containers:\n    - {name: c, image: two:2}\n`;
    expect(imageFields(mixed).map((f) => [f.image, f.line])).toEqual([
      ['one:1', 1],
      ['two:2', 8],
    ]);
  });

  it(`reads at most ${MAX_MANIFEST_DOCUMENTS} documents, and says so`, () => {
    const stream = readManifests('apiVersion: v1\nkind: ConfigMap\n---\n'.repeat(MAX_MANIFEST_DOCUMENTS + 5), 'many.yaml');
    expect(stream.objects).toHaveLength(MAX_MANIFEST_DOCUMENTS);
    expect(stream.errors).toEqual([
      { file: 'many.yaml', document: MAX_MANIFEST_DOCUMENTS, message: `more than ${MAX_MANIFEST_DOCUMENTS} documents: the rest of the stream is not read` },
    ]);
  });

  it('locates a field reached through a merge key at what names it, never elsewhere', () => {
    const text = [
      'defaults: &d',
      '  image: merged:1',
      'apiVersion: v1',
      'kind: Pod',
      'metadata: {name: m}',
      'spec:',
      '  containers:',
      '    - <<: *d',
      '      name: m',
      '',
    ].join('\n');
    const [field] = imageFields(text);
    expect(field!.image).toBe('merged:1');
    // The container that merges it in (the key is not written in it).
    expect(field!.line).toBe(8);
  });

  it('refuses a duplicate key (kubectl does: either value would be the wrong one)', () => {
    const text =
      'apiVersion: v1\nkind: Pod\nmetadata: {name: d}\nspec:\n  containers:\n    - name: c\n      image: signed:1\n      image: unsigned:1\n---\napiVersion: v1\nkind: Pod\nmetadata: {name: ok}\n';
    const stream = readManifests(text, 'dup.yaml');
    expect(stream.errors).toHaveLength(1);
    expect(stream.errors[0]).toMatchObject({ file: 'dup.yaml', document: 0, message: expect.stringMatching(/not valid YAML: .*unique/i) });
    expect(stream.errors[0]!.position!.line).toBe(8);
    expect(stream.objects.map((o) => o.document)).toEqual([1]);
  });

  it('refuses an alias bomb and documents that are not objects', () => {
    const bomb = [
      'a: &a [x, x, x, x, x, x, x, x, x, x]',
      'b: &b [*a, *a, *a, *a, *a, *a, *a, *a, *a, *a]',
      'c: &c [*b, *b, *b, *b, *b, *b, *b, *b, *b, *b]',
      'd: &d [*c, *c, *c, *c, *c, *c, *c, *c, *c, *c]',
      'e: [*d, *d, *d, *d, *d, *d, *d, *d, *d, *d]',
      '',
    ].join('\n');
    const stream = readManifests(`${bomb}---\n- a list\n---\njust text\n`, 'bad.yaml');
    expect(stream.objects).toEqual([]);
    expect(stream.errors.map((e) => [e.document, e.message])).toEqual([
      [0, expect.stringMatching(/alias/i)],
      [1, 'expected a Kubernetes object (a mapping), got a list'],
      [2, expect.stringMatching(/^expected a Kubernetes object \(a mapping\), got string/)],
    ]);
  });

  it('never throws on arbitrary text, and every position is inside the text', () => {
    fc.assert(
      fc.property(fc.string({ maxLength: 300 }), (text) => {
        const stream = readManifests(text, 'fuzz.yaml');
        const lines = text.split(/\r?\n|\r/).length;
        for (const o of stream.objects) {
          for (const p of [o.position, o.locate('/spec/containers/0/image'), o.locate('/a/~1b/0')]) {
            expect(p.line).toBeGreaterThanOrEqual(1);
            expect(p.endLine).toBeLessThanOrEqual(lines + 1);
          }
        }
      }),
      { numRuns: 300 },
    );
  });
});

describe('manifestWorkload', () => {
  it('gives the resource the API server admits each pod-bearing kind as, and the namespace', () => {
    const kinds: Array<[string, string, string]> = [
      ['v1', 'Pod', 'pods'],
      ['v1', 'ReplicationController', 'replicationcontrollers'],
      ['apps/v1', 'Deployment', 'deployments'],
      ['apps/v1', 'ReplicaSet', 'replicasets'],
      ['apps/v1', 'StatefulSet', 'statefulsets'],
      ['apps/v1', 'DaemonSet', 'daemonsets'],
      ['batch/v1', 'Job', 'jobs'],
      ['batch/v1', 'CronJob', 'cronjobs'],
    ];
    for (const [apiVersion, kind, resource] of kinds) {
      const got = manifestWorkload({ apiVersion, kind, metadata: { name: 'x' } }, 'ci');
      expect(got).toEqual({
        workload: {
          object: expect.anything(),
          kind: { group: apiVersion.includes('/') ? apiVersion.split('/')[0] : '', version: 'v1', kind },
          resource: { group: apiVersion.includes('/') ? apiVersion.split('/')[0] : '', version: 'v1', resource },
          namespace: 'ci',
        },
      });
    }
    expect(manifestWorkload({ apiVersion: 'v1', kind: 'Pod', metadata: { namespace: 'team-a' } }, 'default')).toMatchObject({
      workload: { namespace: 'team-a' },
    });
  });

  it('says why other objects are not examined', () => {
    expect(manifestWorkload({ apiVersion: 'v1', kind: 'Service' }, 'default')).toEqual({ ignored: 'kind Service has no pod spec' });
    // A custom resource named like a workload is not one (the group decides).
    expect(manifestWorkload({ apiVersion: 'example.com/v1', kind: 'Deployment' }, 'default')).toEqual({
      ignored: 'kind example.com/Deployment has no pod spec',
    });
    expect(manifestWorkload({ kind: 'Pod' }, 'default')).toEqual({ ignored: 'no apiVersion and kind' });
  });
});
