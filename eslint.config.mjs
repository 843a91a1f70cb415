// ESLint flat config: typescript-eslint's type-checked recommended rules over the library,
// its tests, benchmarks and examples (`npm run lint`, run by .ci/run).
import comments from '@eslint-community/eslint-plugin-eslint-comments/configs';
import js from '@eslint/js';
import path from 'node:path';
import { defineConfig } from 'eslint/config';
import tseslint from 'typescript-eslint';
import layers from './scripts/layers.cjs';

const { LAYERS, layersPlugin } = layers;

export default defineConfig(
  { ignores: ['dist/', 'build/', 'coverage/', '.tmp/'] },
  {
    linterOptions: {
      // A disable comment for a rule that no longer fires is an error, so none go stale.
      reportUnusedDisableDirectives: 'error',
    },
  },
  js.configs.recommended,
  tseslint.configs.recommendedTypeChecked,
  comments.recommended,
  {
    rules: {
      // Every disable comment says why (`// eslint-disable-next-line rule -- reason`).
      '@eslint-community/eslint-comments/require-description': ['error', { ignore: ['eslint-enable'] }],
      '@eslint-community/eslint-comments/no-unused-disable': 'error',
    },
  },
  {
    languageOptions: {
      parserOptions: {
        projectService: true,
        tsconfigRootDir: import.meta.dirname,
      },
    },
    rules: {
      // Promises: the rules that catch real bugs in async code.
      '@typescript-eslint/no-floating-promises': 'error',
      '@typescript-eslint/no-misused-promises': 'error',
      '@typescript-eslint/await-thenable': 'error',
      // An abort signal's reason is `unknown` (usually an Error); passing it on is right.
      '@typescript-eslint/prefer-promise-reject-errors': ['error', { allowThrowingUnknown: true }],
      '@typescript-eslint/return-await': ['error', 'in-try-catch'],
      '@typescript-eslint/switch-exhaustiveness-check': ['error', { considerDefaultExhaustiveForUnions: true }],
      // `typeof import('./x')` types the lazy `require` of the CLI's commands.
      '@typescript-eslint/consistent-type-imports': ['error', { fixStyle: 'inline-type-imports', disallowTypeAnnotations: false }],
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_', caughtErrors: 'none' }],
      'no-console': 'error',
      '@typescript-eslint/no-unnecessary-type-assertion': 'error',
      // String(x) and `${x}` call x's own toString: a value parsed from hostile JSON or YAML
      // ({"toString": null}) makes them throw. Messages use src/util/describe.ts instead.
      '@typescript-eslint/no-base-to-string': ['error', { checkUnknown: true }],
      // `(err as Error).message` is `undefined` when the thrown value is not an Error (a string, a
      // rejected value from a dependency, `{"message": 1}`), and a message then says "undefined".
      // src/util/describe.ts's errorMessage(err) handles every thrown value.
      'no-restricted-syntax': [
        'error',
        {
          selector: 'MemberExpression[property.name="message"] > TSAsExpression.object[typeAnnotation.typeName.name="Error"]',
          message: 'a thrown value need not be an Error: use errorMessage(err) from src/util/describe.ts',
        },
      ],
    },
  },
  // In the library and the fuzz targets, an `any` (JSON.parse's result) is not put in a message
  // unchecked either; tests may.
  {
    files: ['src/**/*.ts', 'fuzz/**/*.ts'],
    rules: {
      '@typescript-eslint/restrict-template-expressions': [
        'error',
        { allowAny: false, allowBoolean: true, allowNullish: true, allowNumber: true, allowRegExp: true },
      ],
    },
  },
  // The layers of src/ (docs/architecture.md): which parts each may import, from one table in
  // scripts/layers.cjs. The CLI and the webhook, like any embedder, use only the public entries
  // (src/index.ts, src/webhook/index.ts) and src/util/.
  {
    files: ['src/**/*.ts'],
    plugins: { imgverify: layersPlugin },
    rules: { 'imgverify/layers': ['error', { root: path.join(import.meta.dirname, 'src'), layers: LAYERS }] },
  },
  {
    // Tests take parsed JSON and YAML (bundles, manifests, registry documents) apart and
    // tamper with it; an `any` slip there fails the test, it cannot weaken the verifier.
    // Explicit `any` still needs a disable comment saying why.
    files: ['test/**'],
    rules: {
      '@typescript-eslint/no-unsafe-argument': 'off',
      '@typescript-eslint/no-unsafe-assignment': 'off',
      '@typescript-eslint/no-unsafe-call': 'off',
      '@typescript-eslint/no-unsafe-member-access': 'off',
      '@typescript-eslint/no-unsafe-return': 'off',
      // Test doubles implement async interfaces; `async () => value` is the plainest way to.
      '@typescript-eslint/require-await': 'off',
    },
  },
  {
    // Benchmarks, examples and the fuzz runner are command-line programs that report on the console.
    files: ['bench/**', 'examples/**', 'fuzz/**'],
    rules: { 'no-console': 'off' },
  },
  {
    // Plain JavaScript (this file, jest.config.js, helper scripts): no type information.
    files: ['**/*.{js,mjs,cjs}'],
    extends: [tseslint.configs.disableTypeChecked],
    languageOptions: {
      globals: { process: 'readonly', console: 'readonly', module: 'writable', require: 'readonly', Buffer: 'readonly', __dirname: 'readonly' },
    },
    rules: { 'no-console': 'off', '@typescript-eslint/no-require-imports': 'off' },
  },
);
