/**
 * The package as a consumer gets it: `npm pack`, installed into a fresh project (dependencies
 * from the npm cache), then loaded with `require` (CommonJS) and `import` (ESM), types present,
 * and the `imgverify` bin runnable. Needs `npm run build` first (npm test does it).
 */
import { execFileSync, spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { docExamples, exampleModule } from '../support/doc-examples';
import { installPacked, npm, PROJECT_ROOT } from '../support/packed-package';
import { errorMessage } from '../../src/util/describe';

const ROOT = PROJECT_ROOT;
let dir: string;
let app: () => string;

beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'imgverify-consumer-'));
  const installed = installPacked(dir, ['@types/node@22']);
  const files = installed.files;
  expect(files).toContain('dist/index.js');
  expect(files).toContain('dist/index.d.ts');
  expect(files).toContain('dist/cli/main.js');
  expect(files.some((f) => f.startsWith('src/') || f.startsWith('test/'))).toBe(false);
  app = () => installed.app;
}, 240_000);

afterAll(() => {
  if (dir) rmSync(dir, { recursive: true, force: true });
});

test('require() from CommonJS', () => {
  const out = execFileSync(
    process.execPath,
    [
      '-e',
      "const m = require('imgverify'); const v = m.createVerifier(); console.log(typeof m.createVerifier, typeof v.verify, m.parseReference('nginx').repository, typeof m.ImgverifyError)",
    ],
    { cwd: app(), encoding: 'utf8' },
  );
  expect(out.trim()).toBe('function function library/nginx function');
});

test('import from ESM (named exports)', () => {
  writeFileSync(
    join(app(), 'use.mjs'),
    "import { createVerifier, parseReference, ImgverifyError } from 'imgverify';\nconst v = createVerifier();\nconsole.log(typeof v.verifyMany, parseReference('ghcr.io/a/b:1').registry, new ImgverifyError('NO_SIGNATURES', 'x').category);\nawait v.close();\n",
  );
  const out = execFileSync(process.execPath, ['use.mjs'], { cwd: app(), encoding: 'utf8' });
  expect(out.trim()).toBe('function ghcr.io verification');
});

describe('optional dependencies: the webhook and CEL conditions', () => {
  const OPTIONAL = ['yaml', 'tar-stream', '@bufbuild/cel', '@bufbuild/protobuf', '@kubernetes/client-node'];

  test('npm install imgverify installs none of them; what needs one fails DEPENDENCY_MISSING naming the package (the CLI exits 2, no stack trace)', () => {
    for (const name of OPTIONAL) expect(existsSync(join(app(), 'node_modules', ...name.split('/')))).toBe(false);
    const webhook = execFileSync(process.execPath, ['-e', "try { require('imgverify/webhook') } catch (e) { console.log(e.code, e.message) }"], {
      cwd: app(),
      encoding: 'utf8',
    });
    expect(webhook.trim()).toBe(
      "DEPENDENCY_MISSING the admission webhook (imgverify/webhook: policy files) and kubelet credential provider configurations needs the package yaml, which is not installed: npm install yaml@'^2.9.1' (an optional peer dependency of imgverify)",
    );
    const cel = execFileSync(
      process.execPath,
      ['-e', "try { require('imgverify').compileAttestationCondition('predicate.x == 1', { origin: 'test' }) } catch (e) { console.log(e.code, e.message) }"],
      { cwd: app(), encoding: 'utf8' },
    );
    expect(cel.trim()).toMatch(
      /^DEPENDENCY_MISSING CEL conditions on attestations needs the package @bufbuild\/cel, which is not installed: npm install @bufbuild\/cel@'\^0\.6\.1'/,
    );
    writeFileSync(join(app(), 'providers.yaml'), 'apiVersion: kubelet.config.k8s.io/v1\nkind: CredentialProviderConfig\nproviders: []\n');
    const providers = execFileSync(
      process.execPath,
      [
        '-e',
        "require('imgverify').loadCredentialProviders({ config: 'providers.yaml', binDir: '.' }).then(() => console.log('loaded'), (e) => console.log(e.code))",
      ],
      { cwd: app(), encoding: 'utf8' },
    );
    expect(providers.trim()).toBe('DEPENDENCY_MISSING');
    for (const args of [
      ['webhook', '--help'],
      ['policy', 'test', '--help'],
    ]) {
      const p = spawnSync(join(app(), 'node_modules', '.bin', 'imgverify'), args, { cwd: app(), encoding: 'utf8' });
      expect(p.status).toBe(2);
      expect(p.stderr).toMatch(
        /^imgverify (webhook|policy): the admission webhook \(imgverify\/webhook: policy files\) and kubelet credential provider configurations needs the package yaml, which is not installed: npm install yaml@'\^2\.9\.1' \(an optional peer dependency of imgverify\) \[DEPENDENCY_MISSING\]\n$/,
      );
    }
  });

  test('once installed, the webhook is the imgverify/webhook subpath, from CommonJS and ESM; the root does not carry it; cluster mode needs its client too', () => {
    const versions = JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as { peerDependencies: Record<string, string> };
    const install = (names: readonly string[]) =>
      npm(['install', '--prefer-offline', '--no-package-lock', ...names.map((name) => `${name}@${versions.peerDependencies[name]}`)], app());
    // The webhook without its cluster mode's client: folder mode works; the cluster client's load names the package.
    install(OPTIONAL.filter((name) => name !== '@kubernetes/client-node'));
    const client = JSON.stringify(join(app(), 'node_modules', 'imgverify', 'dist', 'webhook', 'kube', 'client.js'));
    const missing = execFileSync(
      process.execPath,
      ['-e', `require(${client}).loadKubernetesClient().then(() => console.log('loaded'), (e) => console.log(e.code, e.message))`],
      {
        cwd: app(),
        encoding: 'utf8',
      },
    );
    expect(missing.trim()).toBe(
      "DEPENDENCY_MISSING the admission webhook's cluster mode (policies read from the Kubernetes API) needs the package @kubernetes/client-node, which is not installed: npm install @kubernetes/client-node@'^2.0.1' (an optional peer dependency of imgverify)",
    );
    install(['@kubernetes/client-node']);
    const loaded = execFileSync(process.execPath, ['-e', `require(${client}).loadKubernetesClient().then((k) => console.log(typeof k.KubeConfig))`], {
      cwd: app(),
      encoding: 'utf8',
    });
    expect(loaded.trim()).toBe('function');
    const cjs = execFileSync(
      process.execPath,
      [
        '-e',
        "const w = require('imgverify/webhook'); const m = require('imgverify'); console.log(typeof w.startWebhookServer, typeof w.PolicyEvaluator, 'webhook' in m)",
      ],
      { cwd: app(), encoding: 'utf8' },
    );
    expect(cjs.trim()).toBe('function function false');
    writeFileSync(
      join(app(), 'webhook.mjs'),
      "import { startWebhookServer, loadPolicies } from 'imgverify/webhook';\nconsole.log(typeof startWebhookServer, typeof loadPolicies);\n",
    );
    expect(execFileSync(process.execPath, ['webhook.mjs'], { cwd: app(), encoding: 'utf8' }).trim()).toBe('function function');
    const cel = execFileSync(
      process.execPath,
      ['-e', "console.log(require('imgverify').compileAttestationCondition('predicate.x == 1', { origin: 'test' }).expression)"],
      {
        cwd: app(),
        encoding: 'utf8',
      },
    );
    expect(cel.trim()).toBe('predicate.x == 1');
  }, 120_000);
});

test('type declarations are installed and reachable from the package entry', () => {
  const pkg = JSON.parse(readFileSync(join(app(), 'node_modules', 'imgverify', 'package.json'), 'utf8'));
  expect(existsSync(join(app(), 'node_modules', 'imgverify', pkg.types))).toBe(true);
  const dts = readFileSync(join(app(), 'node_modules', 'imgverify', 'dist', 'index.d.ts'), 'utf8');
  expect(dts).toContain('createVerifier');
});

test('no source maps are shipped, nor native code', () => {
  const files = (dir: string): string[] =>
    readdirSync(dir, { withFileTypes: true }).flatMap((e) => (e.isDirectory() ? files(join(dir, e.name)) : [join(dir, e.name)]));
  const installed = files(join(app(), 'node_modules', 'imgverify'));
  expect(installed.filter((f) => f.endsWith('.map'))).toEqual([]);
  expect(readFileSync(join(app(), 'node_modules', 'imgverify', 'dist', 'index.js'), 'utf8')).not.toContain('sourceMappingURL');
  expect(files(join(app(), 'node_modules')).filter((f) => f.endsWith('.node'))).toEqual([]);
});

test('the imgverify bin runs', () => {
  const out = execFileSync(join(app(), 'node_modules', '.bin', 'imgverify'), ['version'], { cwd: app(), encoding: 'utf8' });
  expect(out.trim()).toMatch(/^imgverify \d+\.\d+\.\d+$/);
});

describe('every TypeScript example of README.md and docs/ type-checks against the packed package', () => {
  const examples = docExamples(ROOT);
  const tsc = join(ROOT, 'node_modules', 'typescript', 'bin', 'tsc');

  test('there are examples to check', () => {
    expect(examples.length).toBeGreaterThanOrEqual(9);
  });

  // A consumer's strict settings; Node's types from @types/node, as the README says a TypeScript user installs.
  const compilerOptions = {
    strict: true,
    noEmit: true,
    skipLibCheck: false,
    target: 'ES2022',
    types: ['node'],
    exactOptionalPropertyTypes: true,
    noUncheckedIndexedAccess: true,
  };

  test.each([
    ['ESM', 'esm', 'esm', { type: 'module' }, { module: 'nodenext', moduleResolution: 'nodenext' }],
    ['CommonJS', 'cjs', 'cjs', { type: 'commonjs' }, { module: 'node16', moduleResolution: 'node16' }],
    // Old resolvers read no `exports`: `imgverify/webhook` is found through `typesVersions`. (esModuleInterop, as
    // `tsc --init` sets it: @sigstore/core's declarations default-import node:crypto.)
    ['CommonJS with moduleResolution node10', 'cjs', 'node10', { type: 'commonjs' }, { module: 'commonjs', moduleResolution: 'node10', esModuleInterop: true }],
  ] as const)(
    '%s consumer',
    (_name, kind, folder, pkg, moduleOptions) => {
      const dir = join(app(), `examples-${folder}`);
      execFileSync('mkdir', ['-p', dir]);
      writeFileSync(join(dir, 'package.json'), JSON.stringify({ name: `examples-${kind}`, private: true, ...pkg }));
      const names = examples.map((example, i) => {
        const name = `example-${i}.${kind === 'esm' ? 'mts' : 'cts'}`;
        writeFileSync(join(dir, name), exampleModule(example, kind));
        return name;
      });
      writeFileSync(
        join(dir, 'tsconfig.json'),
        JSON.stringify({ compilerOptions: { ...compilerOptions, ...moduleOptions, typeRoots: [join(app(), 'node_modules', '@types')] }, files: names }),
      );
      let output = '';
      try {
        execFileSync(process.execPath, [tsc, '-p', 'tsconfig.json'], { cwd: dir, encoding: 'utf8' });
      } catch (err) {
        output = (err as { stdout?: string }).stdout ?? errorMessage(err);
      }
      // Name the documentation line of each error (the files start with a comment naming it).
      const located = output.replace(/example-(\d+)\.[cm]ts/g, (_m, i: string) => examples[Number(i)]!.where);
      expect(located).toBe('');
    },
    120_000,
  );
});
