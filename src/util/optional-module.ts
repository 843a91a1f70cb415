/**
 * Optional dependencies: packages that only some entry points or features need, declared as
 * optional `peerDependencies` (package.json `peerDependenciesMeta`), so that `npm install
 * imgverify` installs the library and its CLI's verify commands and nothing else
 * (docs/runtimes.md, "Install"). Whatever needs one loads it with a static `require` (or
 * `import()`) inside a `try` whose `catch` throws `asDependencyMissing(err)`: when the package
 * is not installed the feature fails with DEPENDENCY_MISSING (usage: the CLI exits 2) naming the
 * package to install, never with a stack trace from the module loader.
 */
import { ImgverifyError } from '../errors';

/**
 * The optional packages and the versions imgverify works with (package.json's
 * `peerDependencies`, which a unit test holds this equal to), with what needs them.
 */
export const OPTIONAL_PACKAGES = {
  yaml: { range: '^2.9.1', neededBy: 'the admission webhook (imgverify/webhook: policy files) and kubelet credential provider configurations' },
  'tar-stream': { range: '^3.2.2', neededBy: 'the admission webhook (imgverify/webhook: TrustRoot repositories)' },
  '@bufbuild/cel': { range: '^0.6.1', neededBy: 'CEL conditions on attestations' },
  '@bufbuild/protobuf': { range: '^2.17.0', neededBy: 'CEL conditions on attestations (@bufbuild/cel)' },
  '@kubernetes/client-node': { range: '^2.0.1', neededBy: "the admission webhook's cluster mode (policies read from the Kubernetes API)" },
} as const satisfies Record<string, { readonly range: string; readonly neededBy: string }>;

export type OptionalPackage = keyof typeof OPTIONAL_PACKAGES;

const NOT_FOUND_CODES = new Set(['MODULE_NOT_FOUND', 'ERR_MODULE_NOT_FOUND']);

/** The optional package a module-loader error says is missing (the package itself, not a file of another), or undefined. */
export function missingOptionalPackage(err: unknown): OptionalPackage | undefined {
  if (typeof err !== 'object' || err === null) return undefined;
  const { code, message } = err as { code?: unknown; message?: unknown };
  if (typeof message !== 'string') return undefined;
  // Node, Bun, Deno: "Cannot find module 'yaml'" (require); Node, Bun: "Cannot find package 'yaml' imported from …",
  // Deno: 'Import "yaml" not a dependency' (import()).
  const named = /(?:Cannot find (?:module|package)|^Import) ['"]([^'"]+)['"]/.exec(message)?.[1];
  if (named === undefined || (typeof code === 'string' && !NOT_FOUND_CODES.has(code))) return undefined;
  return (Object.keys(OPTIONAL_PACKAGES) as OptionalPackage[]).find((name) => named === name || named.startsWith(`${name}/`));
}

/** DEPENDENCY_MISSING for `name`, saying what needs it and how to install it. */
export function dependencyMissing(name: OptionalPackage, cause?: unknown): ImgverifyError {
  const { range, neededBy } = OPTIONAL_PACKAGES[name];
  return new ImgverifyError(
    'DEPENDENCY_MISSING',
    `${neededBy} needs the package ${name}, which is not installed: npm install ${name}@'${range}' (an optional peer dependency of imgverify)`,
    { details: { package: name, range }, ...(cause !== undefined ? { cause } : {}) },
  );
}

/**
 * The error to throw when loading an optional package (or a module that needs one) failed:
 * DEPENDENCY_MISSING naming the package when it is not installed, else `err` itself. The
 * `require` (or `import()`) stays in the caller, lexically inside its `try`, with a static
 * specifier: bundlers inline the package when it is installed and, when it is not, leave the
 * call to fail at run time rather than failing the build (esbuild's rule for a `require` in a
 * `try`):
 *
 *   try {
 *     return require('yaml') as typeof import('yaml');
 *   } catch (err) {
 *     throw asDependencyMissing(err);
 *   }
 */
export function asDependencyMissing(err: unknown): unknown {
  const missing = missingOptionalPackage(err);
  return missing !== undefined ? dependencyMissing(missing, err) : err;
}
