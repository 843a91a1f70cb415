// The layers of src/ and what each may import: docs/architecture.md draws them, and the ESLint
// rule below (`imgverify/layers`, configured in eslint.config.mjs) holds every file of src/ to
// them. A part is a folder of src/ (everything under it) or a module at the top of src/
// (`index`, `errors`, `reference`). Within its own part a file imports what it likes; across
// parts it imports only what its line below lists: a part (`util`) or one module of a part
// (`webhook/index`, the public entry; `util/describe`).
//
// Hand-written (about fifty lines): ESLint's no-restricted-imports matches the text of an import,
// which differs with the importing file's depth, and does not see require() or
// `typeof import()`; the plugins that resolve paths (eslint-plugin-import-x, -boundaries) would
// bring a module resolver and a dozen packages for what a path.resolve does here.
'use strict';
const { existsSync } = require('node:fs');
const path = require('node:path');

/** @type {Readonly<Record<string, readonly string[]>>} */
const LAYERS = {
  // The foundation: safe descriptions of hostile values, typed errors.
  util: ['errors'],
  errors: ['util/describe'],
  reference: ['errors', 'util'],
  // The OCI registry client knows image references and nothing else of imgverify.
  registry: ['errors', 'reference', 'util'],
  // HTTP to web services, over the registry client's transport.
  net: ['errors', 'reference', 'registry', 'util'],
  // Formats and checks, each usable on its own: never the verifier, the CLI or the webhook.
  attestation: ['errors', 'util'],
  bundle: ['errors', 'util'],
  cosign: ['errors', 'reference', 'registry', 'util'],
  policy: ['errors', 'util'],
  trust: ['errors', 'net', 'util'],
  rekor: ['cosign', 'errors', 'net', 'util'],
  sbom: ['errors', 'reference', 'util'],
  // The verifier puts them together.
  verify: ['attestation', 'bundle', 'cosign', 'errors', 'net', 'policy', 'reference', 'registry', 'rekor', 'trust', 'util'],
  release: ['errors', 'net', 'policy', 'reference', 'registry', 'sbom', 'util', 'verify'],
  // The public entry (`imgverify`): everything but its clients; with the wrappers generated for
  // the functions it loads on first call (scripts/lazy-exports.cjs).
  index: [
    'attestation',
    'bundle',
    'cosign',
    'errors',
    'lazy-exports',
    'net',
    'policy',
    'reference',
    'registry',
    'rekor',
    'release',
    'sbom',
    'trust',
    'util',
    'verify',
  ],
  'lazy-exports': ['net', 'policy', 'registry', 'release', 'sbom', 'trust', 'util', 'verify'],
  // The clients: like any embedder, they use the public entries and util/ only.
  webhook: ['index', 'util'],
  cli: ['index', 'util', 'webhook/index'],
};

/** `registry/auth/token` → `registry`; `errors` → `errors`. */
function partOf(modulePath) {
  return modulePath.split('/')[0];
}

/** The module an import names, relative to `root` without its extension (a folder: its index). */
function targetModule(root, fromFile, specifier) {
  let target = path.resolve(path.dirname(fromFile), specifier);
  if (existsSync(path.join(target, 'index.ts'))) target = path.join(target, 'index');
  const relative = path.relative(root, target).split(path.sep).join('/');
  return relative.replace(/\.(ts|js|json)$/, '');
}

/** Whether `module` is what `entry` (a part, or one module) allows. */
function allows(entry, module) {
  return module === entry || module.startsWith(`${entry}/`);
}

/** @type {import('eslint').Rule.RuleModule} */
const layersRule = {
  meta: {
    type: 'problem',
    docs: { description: 'imports across the layers of src/ follow the layer table (docs/architecture.md)' },
    schema: [
      {
        type: 'object',
        properties: { root: { type: 'string' }, layers: { type: 'object' } },
        required: ['root', 'layers'],
        additionalProperties: false,
      },
    ],
    messages: {
      forbidden: 'src/{{part}} may import only {{allowed}} (docs/architecture.md): "{{specifier}}" is src/{{target}}',
      unknownPart: 'src/{{part}} is not in the layer table (scripts/layers.cjs): give it its place in the architecture',
    },
  },
  create(context) {
    const { root: rootOption, layers } = context.options[0];
    const root = path.resolve(context.cwd, rootOption);
    const file = context.filename;
    const own = path.relative(root, file).split(path.sep).join('/');
    if (own.startsWith('../') || path.isAbsolute(own)) return {};
    const part = partOf(own.replace(/\.ts$/, ''));
    const allowed = layers[part];
    if (!allowed) {
      return { Program: (node) => context.report({ node, messageId: 'unknownPart', data: { part } }) };
    }
    const check = (node, source) => {
      if (!source || typeof source.value !== 'string' || !source.value.startsWith('.')) return;
      const target = targetModule(root, file, source.value);
      // Outside src/ (package.json): not a layer.
      if (target.startsWith('../')) return;
      if (partOf(target) === part || allowed.some((entry) => allows(entry, target))) return;
      context.report({ node, messageId: 'forbidden', data: { part, allowed: allowed.join(', '), specifier: source.value, target } });
    };
    return {
      ImportDeclaration: (node) => check(node, node.source),
      ExportNamedDeclaration: (node) => check(node, node.source),
      ExportAllDeclaration: (node) => check(node, node.source),
      ImportExpression: (node) => check(node, node.source),
      TSImportType: (node) => check(node, node.source ?? node.argument?.literal),
      TSExternalModuleReference: (node) => check(node, node.expression),
      CallExpression: (node) => {
        if (node.callee.type === 'Identifier' && node.callee.name === 'require') check(node, node.arguments[0]);
      },
    };
  },
};

module.exports = { LAYERS, layersPlugin: { rules: { layers: layersRule } } };
