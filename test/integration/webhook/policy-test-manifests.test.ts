/**
 * `imgverify policy test -f`: Kubernetes manifests of every pod-bearing kind, evaluated through
 * the webhook's own entry against a real registry with signed and unsigned images (the private
 * test Sigstore): ImagePolicies of the object's namespace (AND with the cluster's), spec.match on
 * the object's resource and labels, image volumes, init and ephemeral containers; text, JSON,
 * SARIF (checked against the SARIF 2.1.0 JSON schema with ajv) and JUnit; the built CLI as a
 * process reading standard input, and its exit codes.
 */
import { execFileSync } from 'node:child_process';
import { generateKeyPairSync } from 'node:crypto';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import Ajv from 'ajv';
import { runBuiltCli, runCli } from '../../support/cli';
import { lineOf, manifestYaml, POD_BEARING_KINDS, yamlStream, type PodBearingKind } from '../../support/manifests';
import { closePushers, startRegistry, type RunningRegistry } from '../../support/registry';
import { pushSignedImage } from '../../support/signed-images';
import { createTestSigstore, type TestSigstore } from '../../support/sigstore';
import { policyYaml } from './helpers';

const ISSUER = 'https://accounts.example.test';
const SIGNER = 'release@example.test';

let registry: RunningRegistry;
let sigstore: TestSigstore;
let work: string;
let root: string;
let policies: string;
const images = { signed: '', unsigned: '', dual: '' };
const releaseKeys = generateKeyPairSync('ec', { namedCurve: 'P-256' });

beforeAll(async () => {
  work = mkdtempSync(join(tmpdir(), 'imgverify-policy-test-f-'));
  registry = await startRegistry();
  sigstore = createTestSigstore();
  root = join(work, 'trusted_root.json');
  writeFileSync(root, JSON.stringify(sigstore.trustedRoot));
  const keyless = { email: SIGNER, issuer: ISSUER };
  const push = async (name: string, sign: 'keyless' | 'none' | 'both'): Promise<string> =>
    (
      await pushSignedImage(
        registry,
        sigstore,
        `ci/${name}`,
        'v1',
        sign === 'none' ? {} : sign === 'keyless' ? { keyless } : { keyless, key: releaseKeys.privateKey },
      )
    ).ref;
  images.signed = await push('signed', 'keyless');
  images.unsigned = await push('unsigned', 'none');
  images.dual = await push('dual', 'both');

  policies = join(work, 'policies');
  mkdirSync(policies);
  const glob = `${registry.host}/ci/**`;
  writeFileSync(
    join(policies, 'release.yaml'),
    policyYaml('release', [glob], [{ name: 'ci', keyless: { identities: [{ issuer: ISSUER, subject: SIGNER }] } }]),
  );
  // team-a's own policy: its images must also be signed with the team's key (AND).
  writeFileSync(
    join(policies, 'team-a.yaml'),
    JSON.stringify({
      apiVersion: 'policy.imgverify.dev/v1alpha1',
      kind: 'ImagePolicy',
      metadata: { name: 'needs-key', namespace: 'team-a' },
      spec: {
        images: [{ glob }],
        authorities: [{ name: 'team-key', key: { data: releaseKeys.publicKey.export({ type: 'spki', format: 'pem' }).toString() } }],
      },
    }),
  );
  // spec.match: only Deployments labelled tier=frontend.
  writeFileSync(
    join(policies, 'frontend.yaml'),
    JSON.stringify({
      apiVersion: 'policy.sigstore.dev/v1beta1',
      kind: 'ClusterImagePolicy',
      metadata: { name: 'frontend-review' },
      spec: {
        images: [{ glob }],
        match: [{ group: 'apps', version: 'v1', resource: 'deployments', selector: { matchLabels: { tier: 'frontend' } } }],
        authorities: [{ name: 'review', static: { action: 'fail', message: 'frontend deployments need a review' } }],
      },
    }),
  );
});

afterAll(async () => {
  await closePushers();
  await registry?.stop();
  if (work) rmSync(work, { recursive: true, force: true });
});

const args = (): string[] => ['policy', 'test', '--policies', policies, '--trusted-root', root];

function write(name: string, text: string): string {
  const file = join(work, name);
  writeFileSync(file, text);
  return file;
}

interface JsonReport {
  defaultNamespace: string;
  objects: Array<{
    kind?: string;
    name: string;
    namespace?: string;
    verdict: string;
    ignored?: string;
    position: { line: number };
    images: Array<{
      image: string;
      field: string;
      container: string;
      position: { line: number; column: number };
      decision: { verdict: string; reason?: string };
    }>;
  }>;
  errors: Array<{ document: number; message: string }>;
  summary: Record<string, number>;
}

/** Every pod-bearing kind with signed images in every place, the Deployment with an unsigned image volume; and objects that are not examined. */
function allKinds(): string {
  const docs = (Object.keys(POD_BEARING_KINDS) as PodBearingKind[]).map((kind) =>
    manifestYaml(kind, kind.toLowerCase(), {
      containers: [images.signed],
      ...(kind === 'Pod' ? { initContainers: [images.signed], ephemeralContainers: [images.dual] } : {}),
      ...(kind === 'Deployment' ? { volumes: [images.unsigned] } : {}),
    }),
  );
  docs.push(
    'apiVersion: v1\nkind: Service\nmetadata: {name: web}\nspec: {ports: [{port: 80}]}\n',
    'apiVersion: v1\nkind: ConfigMap\nmetadata: {name: config}\ndata: {image: "not/an:image"}\n',
  );
  return yamlStream(docs);
}

test('every image of every pod-bearing kind, as the webhook would decide it; other kinds ignored; JSON with positions', async () => {
  const text = allKinds();
  const file = write('all.yaml', text);
  const res = await runCli([...args(), '-f', file, '-o', 'json']);
  expect(res.stderr).not.toContain('error');
  expect(res.code).toBe(1);
  const report = JSON.parse(res.stdout) as JsonReport;
  expect(report.defaultNamespace).toBe('default');
  expect(report.objects.map((o) => [o.kind, o.namespace, o.verdict])).toEqual([
    ['Pod', 'default', 'allowed'],
    ['Deployment', 'default', 'denied'],
    ['StatefulSet', 'default', 'allowed'],
    ['DaemonSet', 'default', 'allowed'],
    ['ReplicaSet', 'default', 'allowed'],
    ['Job', 'default', 'allowed'],
    ['CronJob', 'default', 'allowed'],
    ['ReplicationController', 'default', 'allowed'],
    ['Service', undefined, 'ignored'],
    ['ConfigMap', undefined, 'ignored'],
  ]);
  expect(report.objects[8]!.ignored).toBe('kind Service has no pod spec');
  const pod = report.objects[0]!;
  expect(pod.images.map((i) => [i.field, i.image, i.decision.verdict])).toEqual([
    ['initContainers', images.signed, 'allowed'],
    ['containers', images.signed, 'allowed'],
    ['ephemeralContainers', images.dual, 'allowed'],
  ]);
  const deployment = report.objects[1]!;
  const volume = deployment.images.find((i) => i.field === 'volumes')!;
  expect(volume).toMatchObject({
    image: images.unsigned,
    container: 'vol-0',
    decision: { verdict: 'denied', reason: expect.stringContaining('no signatures found') },
  });
  // The field's own place, from the parser: the `reference:` key of the Deployment's volume.
  expect(volume.position).toMatchObject(lineOf(text, `reference: ${images.unsigned}`));
  // Each image at its own `image:` line, in the order written (volumes use `reference:`).
  for (const o of report.objects.filter((x) => x.verdict !== 'ignored')) {
    let from = o.position.line;
    for (const i of o.images) {
      const expected = lineOf(text, i.field === 'volumes' ? `reference: ${i.image}` : `image: ${i.image}`, from);
      expect(i.position).toMatchObject(expected);
      from = expected.line + 1;
    }
  }
  expect(report.summary).toMatchObject({ objects: 10, examined: 8, ignored: 2, images: 11, allowed: 10, warned: 0, denied: 1, deniedObjects: 1 });
});

test("ImagePolicies of the object's namespace apply in addition to the cluster's (AND); --namespace sets where objects without one go", async () => {
  const text = yamlStream([
    manifestYaml('Pod', 'a-keyless', { containers: [images.signed] }, { namespace: 'team-a' }),
    manifestYaml('Pod', 'a-dual', { containers: [images.dual] }, { namespace: 'team-a' }),
    manifestYaml('Pod', 'b-keyless', { containers: [images.signed] }, { namespace: 'team-b' }),
    manifestYaml('Deployment', 'no-namespace', { containers: [images.signed] }),
  ]);
  const file = write('teams.yaml', text);
  const res = await runCli([...args(), '-f', file]);
  expect(res.code).toBe(1);
  expect(res.stdout).toContain(`${file}:2  Pod team-a/a-keyless: DENIED`);
  expect(res.stdout).toMatch(/policy "team-a\/needs-key" \(enforce\): failed/);
  expect(res.stdout).toContain('Pod team-a/a-dual: ALLOWED');
  expect(res.stdout).toContain('Pod team-b/b-keyless: ALLOWED');
  expect(res.stdout).toContain('Deployment default/no-namespace: ALLOWED');
  // Deployed into team-a instead, the object without a namespace must satisfy team-a's policy too.
  const inTeamA = await runCli([...args(), '-f', file, '--namespace', 'team-a', '-o', 'json']);
  const report = JSON.parse(inTeamA.stdout) as JsonReport;
  expect(report.objects.find((o) => o.name === 'no-namespace')).toMatchObject({ namespace: 'team-a', verdict: 'denied' });
  // IMAGE mode: --namespace picks that namespace's ImagePolicies; without it every one applies
  // (and, with no object, a policy with spec.match too: the stricter reading of both).
  const teamB = await runCli([...args(), '--namespace', 'team-b', images.signed]);
  expect(teamB.stdout).not.toContain('team-a/needs-key');
  expect(teamB.stdout).toContain('policy "frontend-review" (enforce): failed');
  const strict = await runCli([...args(), images.signed]);
  expect(strict.code).toBe(1);
  expect(strict.stdout).toContain('(1 ImagePolicies of their namespaces apply to every image: --namespace NS for those of NS only)');
  expect(strict.stdout).toContain('policy "team-a/needs-key" (enforce): failed');
});

test("spec.match reads the object's resource and its own labels, as on admission", async () => {
  const text = yamlStream([
    manifestYaml('Deployment', 'front', { containers: [images.signed] }, { labels: { tier: 'frontend' } }),
    manifestYaml('Deployment', 'back', { containers: [images.signed] }, { labels: { tier: 'backend' } }),
    manifestYaml('Pod', 'front-pod', { containers: [images.signed] }, { labels: { tier: 'frontend' } }),
  ]);
  const res = await runCli([...args(), '-f', write('match.yaml', text), '-o', 'json']);
  const report = JSON.parse(res.stdout) as JsonReport;
  expect(report.objects.map((o) => [o.name, o.verdict])).toEqual([
    ['front', 'denied'],
    ['back', 'allowed'],
    ['front-pod', 'allowed'],
  ]);
  expect(report.objects[0]!.images[0]!.decision.reason).toContain('static: fail: frontend deployments need a review');
});

test('SARIF 2.1.0: valid against the schema, one result per denied or warned image, at its file, line and column', async () => {
  const all = write('sarif-all.yaml', allKinds());
  const teams = write('sarif-teams.yaml', yamlStream([manifestYaml('Pod', 'a-keyless', { containers: [images.signed] }, { namespace: 'team-a' })]));
  const stray = write('sarif-stray.yaml', manifestYaml('Pod', 'stray', { containers: ['registry.example.test/other:v1'] }));
  const res = await runCli([...args(), '--no-match', 'warn', '-f', all, '-f', teams, '-f', stray, '-o', 'sarif']);
  expect(res.code).toBe(1);
  const sarif = JSON.parse(res.stdout);

  // The OASIS SARIF 2.1.0 schema (as @microsoft/jest-sarif ships it), with ajv: every keyword and format checked.
  // eslint-disable-next-line @typescript-eslint/no-require-imports -- the schema file of a package
  const schema = require('@microsoft/jest-sarif/lib/schemas/sarif-2.1.0-rtm.5.json');
  // eslint-disable-next-line @typescript-eslint/no-require-imports -- ajv 6's draft-04 meta-schema, which the SARIF schema declares
  const draft04 = require('ajv/lib/refs/json-schema-draft-04.json');
  const ajv = new Ajv({ schemaId: 'id', allErrors: true, format: 'full' });
  ajv.addMetaSchema(draft04);
  const validate = ajv.compile(schema);
  const valid = validate(sarif);
  expect(validate.errors ?? []).toEqual([]);
  expect(valid).toBe(true);
  // A document the schema refuses is refused (the validator is live).
  expect(validate({ ...sarif, version: '2.0.0' })).toBe(false);

  const run = sarif.runs[0];
  expect(run.tool.driver.name).toBe('imgverify');
  const results = run.results as Array<{
    ruleId: string;
    ruleIndex: number;
    level: string;
    message: { text: string };
    locations: Array<{ physicalLocation: { artifactLocation: { uri: string }; region: { startLine: number; startColumn: number } } }>;
  }>;
  const where = (r: (typeof results)[number]) => ({
    uri: r.locations[0]!.physicalLocation.artifactLocation.uri,
    line: r.locations[0]!.physicalLocation.region.startLine,
    column: r.locations[0]!.physicalLocation.region.startColumn,
  });
  // The files are outside the working directory: file: URIs (inside it, relative ones: artifactUri's unit test).
  const uri = (file: string) => pathToFileURL(file).href;
  expect(results.map((r) => [r.ruleId, r.level, where(r)])).toEqual([
    ['imgverify/image-denied', 'error', { uri: uri(all), ...lineOf(allKinds(), `reference: ${images.unsigned}`) }],
    ['imgverify/image-denied', 'error', { uri: uri(teams), ...lineOf(readFileSync(teams, 'utf8'), `image: ${images.signed}`) }],
    ['imgverify/image-warned', 'warning', { uri: uri(stray), ...lineOf(readFileSync(stray, 'utf8'), 'image: registry.example.test/other:v1') }],
  ]);
  expect(results[0]!.message.text).toMatch(/^Deployment default\/deployment, image volume "vol-0": .*unsigned.*no signatures found/);
  expect(results[1]!.message.text).toContain('policy "team-a/needs-key"');
  expect(run.tool.driver.rules[results[0]!.ruleIndex]).toMatchObject({ id: 'imgverify/image-denied' });
});

test('JUnit: a testsuite per file, a failing testcase per denied image', async () => {
  const res = await runCli([...args(), '-f', write('junit.yaml', allKinds()), '-o', 'junit']);
  expect(res.code).toBe(1);
  expect(res.stdout).toMatch(/^<\?xml version="1.0" encoding="UTF-8"\?>\n<testsuites name="imgverify policy test" tests="11" failures="1" errors="0">/);
  expect(res.stdout).toContain('<testsuite name="');
  expect(res.stdout.match(/<testcase /g)).toHaveLength(11);
  expect(res.stdout).toMatch(
    /<testcase classname="[^"]*junit.yaml: Deployment default\/deployment" name="image volume &quot;vol-0&quot;: [^"]*unsigned:v1" file="[^"]*" line="\d+">\n\s+<failure message="[^"]*no signatures found/,
  );
});

describe('the built CLI (a process)', () => {
  test('-f - reads standard input (kustomize build | imgverify policy test -f -): exit 0 when all would be admitted, 1 when one would be denied', async () => {
    const ok = yamlStream([manifestYaml('Deployment', 'web', { containers: [images.signed] }, { namespace: 'shop' })]);
    const admitted = await runBuiltCli([...args(), '-f', '-'], {}, 60_000, ok);
    // Only the load warning of team-a's key authority (no transparency log).
    expect(admitted.stderr).toMatch(/^warning: team-a\.yaml: document 0: spec\.authorities\[0\]: key authority without a transparency log[^\n]*\n$/);
    expect(admitted.code).toBe(0);
    expect(admitted.stdout).toContain('(stdin):2  Deployment shop/web: ALLOWED');

    const bad = yamlStream([manifestYaml('Pod', 'p', { containers: [images.unsigned] })]);
    const denied = await runBuiltCli([...args(), '-f', '-', '-o', 'sarif', '--stdin-filename', 'rendered/prod.yaml'], {}, 60_000, bad);
    expect(denied.code).toBe(1);
    const sarif = JSON.parse(denied.stdout);
    expect(sarif.runs[0].results[0].locations[0].physicalLocation.artifactLocation.uri).toBe('rendered/prod.yaml');
  });

  test('exit 2: a document that is not valid YAML (a duplicate key), a missing file, sarif without -f', async () => {
    const dup = 'apiVersion: v1\nkind: Pod\nmetadata: {name: d}\nspec:\n  containers:\n    - name: c\n      image: a:1\n      image: b:1\n';
    const res = await runBuiltCli([...args(), '-f', '-'], {}, 60_000, dup);
    expect(res.code).toBe(2);
    expect(res.stdout).toMatch(/\(stdin\):8: ERROR document 0: not valid YAML/);
    const missing = await runBuiltCli([...args(), '-f', join(work, 'nope.yaml')]);
    expect(missing.code).toBe(2);
    expect(missing.stderr).toContain('nope.yaml');
    const sarif = await runBuiltCli([...args(), '-o', 'sarif', images.signed]);
    expect(sarif.code).toBe(2);
    expect(sarif.stderr).toContain('sarif and junit with -f');
    // An endless input stops at the bound (it was read whole first: /dev/zero ran out of memory).
    const endless = await runBuiltCli([...args(), '-f', '/dev/zero']);
    expect(endless.code).toBe(2);
    expect(endless.stderr).toMatch(/-f \/dev\/zero: larger than 16777216 bytes/);
  });

  test('-f reads what is not a regular file as kubectl does: a FIFO (-f <(helm template ...))', async () => {
    const fifo = join(work, 'rendered.fifo');
    execFileSync('mkfifo', [fifo]);
    // The writer opens the FIFO when the CLI reads it (a process substitution's shell does the same).
    const writing = writeFile(fifo, yamlStream([manifestYaml('Pod', 'p', { containers: [images.signed] })]));
    const res = await runBuiltCli([...args(), '-f', fifo]);
    await writing;
    expect(res.stderr).not.toMatch(/error/i);
    expect({ code: res.code, stdout: res.stdout }).toEqual({ code: 0, stdout: expect.stringMatching(/Pod default\/p/) });
  });
});
