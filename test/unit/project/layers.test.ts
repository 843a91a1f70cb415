/**
 * The layer rule (scripts/layers.cjs, `imgverify/layers` in eslint.config.mjs) refuses an import
 * across the layers of src/ in each form the code writes one, at any folder depth, and lets
 * through what the table allows; every part of src/ has its place in the table.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { Linter, type ESLint } from 'eslint';
import tseslint from 'typescript-eslint';

// eslint-disable-next-line @typescript-eslint/no-require-imports -- a CommonJS script of the repository, outside the TypeScript project
const { LAYERS, layersPlugin } = require('../../../scripts/layers.cjs') as { LAYERS: Readonly<Record<string, readonly string[]>>; layersPlugin: ESLint.Plugin };

const SRC = join(__dirname, '..', '..', '..', 'src');

/** The layer rule's messages for `code` as if it were the file `file` (relative to src/). */
function lint(file: string, code: string): string[] {
  const linter = new Linter({ configType: 'flat' });
  const messages = linter.verify(
    code,
    [
      {
        files: ['**/*.ts'],
        languageOptions: { parser: tseslint.parser },
        plugins: { imgverify: layersPlugin },
        rules: { 'imgverify/layers': ['error', { root: SRC, layers: LAYERS }] },
      },
    ],
    { filename: join(SRC, file) },
  );
  return messages.map((m) => m.message);
}

test.each([
  ['registry/client.ts', "import { verify } from '../verify/core';", 'src/registry may import only errors, reference, util'],
  ['registry/auth/token.ts', "import type { X } from '../../cosign/dsse';", 'is src/cosign/dsse'],
  ['registry/transport/http.ts', "export { y } from '../../policy/policy';", 'is src/policy/policy'],
  ['cosign/dsse.ts', "export * from '../verify/types';", 'src/cosign may import only'],
  ['trust/tuf.ts', "import '../webhook/server';", 'src/trust may import only'],
  ['policy/cel.ts', "const m = require('../cli/run');", 'is src/cli/run'],
  ['util/pool.ts', "import { parseReference } from '../reference';", 'src/util may import only errors'],
  ['errors.ts', "import { x } from './util/shape';", 'src/errors may import only util/describe'],
  ['cli/run.ts', "import { x } from '../webhook/server';", 'is src/webhook/server'],
  ['cli/commands/verify.ts', "type V = typeof import('../../verify/verifier');", 'is src/verify/verifier'],
  ['webhook/server.ts', "const v = await import('../verify/verifier');", 'src/webhook may import only index, util'],
  ['webhook/kube/api.ts', "import x = require('../../registry/client');", 'is src/registry/client'],
  ['webhook/kube/api.ts', "import { isRecord } from '../../registry';", 'is src/registry/index'],
])('%s: %s is refused', (file, code, message) => {
  const messages = lint(file, code);
  expect(messages).toHaveLength(1);
  expect(messages[0]).toContain(message);
});

test.each([
  [
    'registry/auth/token.ts',
    "import { ImgverifyError } from '../../errors'; import type { ImageReference } from '../../reference'; import { x } from '../../util/describe';",
  ],
  ['registry/auth/token.ts', "import { y } from '../types'; import { z } from '../transport/http';"],
  ['cli/run.ts', "import { verify } from '..'; import { w } from '../webhook'; import { x } from '../util/describe'; const p = require('../../package.json');"],
  ['cli/commands/verify.ts', "import { v } from '../../index'; import { w } from '../../webhook/index'; import { o } from '../output';"],
  [
    'webhook/kube/api.ts',
    "import { ImgverifyError } from '../../index'; import type { Logger } from '../log'; import { loadKubernetesClient } from './client';",
  ],
  ['index.ts', "import { x } from './verify/verifier'; const s = require('./sbom');"],
  ['verify/core.ts', "import { t } from '../trust/source'; import { p } from '../policy/policy'; import { undici } from 'undici';"],
])('%s: %s is allowed', (file, code) => {
  expect(lint(file, code)).toEqual([]);
});

test('a part of src/ outside the table is reported, so that a new folder takes its place in the architecture', () => {
  expect(lint('audit/scan.ts', "import { x } from '../util/describe';")).toEqual([expect.stringContaining('src/audit is not in the layer table')]);
});

test('every part of src/ is in the table, and the table names only parts that exist', () => {
  const parts = readdirSync(SRC, { withFileTypes: true }).map((e) => (e.isDirectory() ? e.name : e.name.replace(/\.ts$/, '')));
  expect(Object.keys(LAYERS).sort()).toEqual([...new Set(parts)].sort());
  for (const allowed of Object.values(LAYERS)) for (const entry of allowed) expect(parts).toContain(entry.split('/')[0]);
});

test('docs/architecture.md shows the table the rule holds the code to', () => {
  const doc = readFileSync(join(SRC, '..', 'docs', 'architecture.md'), 'utf8');
  const name = (cell: string): string => cell.replace(/^`|`$/g, '').replace(/\.ts$|\/$/, '');
  const rows = [...doc.matchAll(/^\| (`[\w./-]+`) \| ((?:`[\w./-]+`(?:, )?)+) \|$/gm)].map((m) => [name(m[1]!), m[2]!.split(', ').map(name)] as const);
  expect(Object.fromEntries(rows)).toEqual(LAYERS);
});
