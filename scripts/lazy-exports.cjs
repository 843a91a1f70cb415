#!/usr/bin/env node
/**
 * Generates src/lazy-exports.ts: the functions of the root entry whose modules load on first
 * call (importing imgverify stays cheap, bench/startup.ts), as wrappers derived from the
 * functions' own declarations — same parameters, return type and doc comment, never restated
 * by hand. The root entry re-exports them (`export * from './lazy-exports'`).
 *
 *   node scripts/lazy-exports.cjs           rewrite src/lazy-exports.ts
 *   node scripts/lazy-exports.cjs --check   fail when it is not what this script generates (CI, by
 *                                           test/unit/lazy-exports.test.ts)
 *
 * To load another function lazily, add it to LAZY below and run the script. A parameter with a
 * default value becomes optional in the wrapper (an omitted or undefined argument reaches the
 * function as undefined, so its own default applies). The types a signature names are imported
 * from the modules that declare them.
 */
'use strict';
const { existsSync, readFileSync, writeFileSync } = require('node:fs');
const { join, relative } = require('node:path');
const ts = require('typescript');

const ROOT = join(__dirname, '..');
const SRC = join(ROOT, 'src');
const OUT = join(SRC, 'lazy-exports.ts');

/** Module (from src/) → the functions of it the root entry exports, loaded when first called. */
const LAZY = {
  './net/read': ['readFileOrUrl'],
  './registry/auth/credentials': ['defaultCredentialFiles', 'defaultDockerConfigPath'],
  './registry/auth/credential-provider': ['loadCredentialProviders'],
  './registry/auth/keyring': ['keyringEntries', 'registryKeyring'],
  './registry/options': ['shareHttpStack'],
  './release/kubernetes-artifacts': ['kubernetesBinaryUrl', 'verifyKubernetesBinaries', 'verifySbomSignature'],
  './release/fetch-sbom': ['readSbom'],
  './release/verify-sbom': ['verifySbomImages'],
  './sbom': ['parseSpdx', 'imagesFromSbom', 'imagesFromSpdx'],
  './trust/describe': ['describeTrustRoot'],
  './trust/from-keys': ['trustRootFromKeys', 'pemCertificates'],
};

function fail(message) {
  throw new Error(`lazy-exports: ${message}`);
}

/** `./release/fetch-sbom` → `releaseFetchSbom`: the loader's name. */
function loaderName(module) {
  return module
    .replace(/^\.\//, '')
    .split(/[/-]/)
    .map((part, i) => (i === 0 ? part : part[0].toUpperCase() + part.slice(1)))
    .join('');
}

/** The module specifier, from src/, of a source file. */
function specifier(fileName) {
  const path = relative(SRC, fileName)
    .replace(/\\/g, '/')
    .replace(/\.ts$/, '')
    .replace(/\/index$/, '');
  return path.startsWith('.') ? path : `./${path}`;
}

/** The source file of a module specifier (from src/). */
function moduleFile(module) {
  const file = join(SRC, `${module}.ts`);
  return existsSync(file) ? file : join(SRC, module, 'index.ts');
}

function generate() {
  const config = ts.getParsedCommandLineOfConfigFile(
    join(ROOT, 'tsconfig.build.json'),
    {},
    { ...ts.sys, onUnRecoverableConfigFileDiagnostic: (d) => fail(ts.flattenDiagnosticMessageText(d.messageText, '\n')) },
  );
  const program = ts.createProgram(Object.keys(LAZY).map(moduleFile), config.options);
  const checker = program.getTypeChecker();
  /** Module specifier → names imported from it as types. */
  const typeImports = new Map();
  const loaders = [];
  const wrappers = [];

  /** Records the import of every named type `node` refers to (interfaces, aliases, classes of src/). */
  function collectTypes(node, local) {
    const visit = (n) => {
      if (ts.isTypeReferenceNode(n) || ts.isExpressionWithTypeArguments(n)) {
        const name = ts.isTypeReferenceNode(n) ? n.typeName : n.expression;
        const head = ts.isQualifiedName(name) ? name.left : name;
        if (ts.isIdentifier(head)) {
          let symbol = checker.getSymbolAtLocation(head);
          if (symbol && symbol.flags & ts.SymbolFlags.Alias) symbol = checker.getAliasedSymbol(symbol);
          const declaration = symbol?.declarations?.[0];
          if (declaration && !(symbol.flags & ts.SymbolFlags.TypeParameter)) {
            const file = declaration.getSourceFile().fileName;
            if (file.startsWith(SRC)) {
              const fileSymbol = checker.getSymbolAtLocation(declaration.getSourceFile());
              const exports = fileSymbol ? checker.getExportsOfModule(fileSymbol) : [];
              if (!exports.some((e) => e.name === symbol.name)) fail(`${local}: the type ${symbol.name} is not exported by ${specifier(file)}`);
              const names = typeImports.get(specifier(file)) ?? new Map();
              names.set(head.text, symbol.name);
              typeImports.set(specifier(file), names);
            }
          }
        }
      }
      ts.forEachChild(n, visit);
    };
    visit(node);
  }

  for (const [module, names] of Object.entries(LAZY)) {
    const loader = loaderName(module);
    // Destructured: what a reader, and the unused-export check (knip), see used of the module.
    const used = names.join(', ');
    loaders.push(`const ${loader} = lazy(() => {\n  const { ${used} } = require('${module}') as typeof import('${module}');\n  return { ${used} };\n});`);
    const file = program.getSourceFile(moduleFile(module));
    const moduleSymbol = checker.getSymbolAtLocation(file);
    const exported = new Map(checker.getExportsOfModule(moduleSymbol).map((s) => [s.name, s]));
    for (const name of names) {
      let symbol = exported.get(name);
      if (!symbol) fail(`${module} does not export ${name}`);
      if (symbol.flags & ts.SymbolFlags.Alias) symbol = checker.getAliasedSymbol(symbol);
      const declarations = (symbol.declarations ?? []).filter(ts.isFunctionDeclaration);
      if (declarations.length !== 1 || symbol.declarations.length !== 1) fail(`${module}.${name}: expected one function declaration (no overloads)`);
      const fn = declarations[0];
      const where = `${specifier(fn.getSourceFile().fileName)}.${name}`;
      if (!fn.type) fail(`${where}: give its return type explicitly`);
      const source = fn.getSourceFile();
      const docs = ts.getJSDocCommentsAndTags(fn).filter(ts.isJSDoc);
      const doc = docs.length > 0 ? `${source.text.slice(docs.at(-1).pos, docs.at(-1).end).trim()}\n` : fail(`${where}: it needs a doc comment`);
      const params = fn.parameters.map((p) => {
        if (!p.type) fail(`${where}: give the type of parameter ${p.name.getText()}`);
        collectTypes(p.type, where);
        const optional = p.questionToken || p.initializer ? '?' : '';
        return `${p.dotDotDotToken ? '...' : ''}${p.name.getText()}${optional}: ${p.type.getText()}`;
      });
      collectTypes(fn.type, where);
      const typeParams = fn.typeParameters ? `<${fn.typeParameters.map((t) => t.getText()).join(', ')}>` : '';
      const args = fn.parameters.map((p) => `${p.dotDotDotToken ? '...' : ''}${p.name.getText()}`).join(', ');
      wrappers.push(`${doc}export function ${name}${typeParams}(${params.join(', ')}): ${fn.type.getText()} {\n  return ${loader}().${name}(${args});\n}`);
    }
  }

  const imports = [...typeImports.entries()]
    .sort(([a], [b]) => a.localeCompare(b))
    .map(([module, names]) => {
      const list = [...names.entries()]
        .sort(([a], [b]) => a.localeCompare(b))
        .map(([local, exported]) => (local === exported ? local : `${exported} as ${local}`));
      return `import type { ${list.join(', ')} } from '${module}';`;
    });
  return [
    '/**',
    ' * GENERATED by scripts/lazy-exports.cjs from the declarations of the functions below: do not',
    ' * edit (change the function, or the list in the script, and run it). The root entry re-exports',
    ' * these; each loads its module on first call, so importing imgverify does not (bench/startup.ts).',
    ' */',
    ...imports,
    "import { lazy } from './util/lazy';",
    '',
    '/* eslint-disable @typescript-eslint/no-require-imports -- the lazily loaded modules, see above */',
    ...loaders,
    '/* eslint-enable @typescript-eslint/no-require-imports */',
    '',
    wrappers.join('\n\n'),
    '',
  ].join('\n');
}

const text = generate();
if (process.argv.includes('--check')) {
  const current = existsSync(OUT) ? readFileSync(OUT, 'utf8') : '';
  if (current !== text) {
    console.error(`${relative(ROOT, OUT)} is not what scripts/lazy-exports.cjs generates: run node scripts/lazy-exports.cjs`);
    process.exitCode = 1;
  }
} else {
  writeFileSync(OUT, text);
  console.log(`wrote ${relative(ROOT, OUT)}: ${Object.values(LAZY).flat().length} functions of ${Object.keys(LAZY).length} modules`);
}
