/**
 * The TypeScript examples of the documentation (every ```ts block of README.md and docs/*.md),
 * as files a consumer project type-checks against the packed package: once as an ES module
 * (top-level await) and once as CommonJS (the body inside an async function), each block on its
 * own, imports and declarations hoisted. A block may declare what it assumes
 * (`declare const images: string[];`).
 */
import { readdirSync, readFileSync } from 'node:fs';
import { join, relative } from 'node:path';

export interface DocExample {
  /** `docs/api.md:42`: where the block starts. */
  readonly where: string;
  readonly code: string;
}

export function docExamples(root: string): DocExample[] {
  const files = [
    join(root, 'README.md'),
    ...readdirSync(join(root, 'docs'))
      .filter((f) => f.endsWith('.md'))
      .map((f) => join(root, 'docs', f)),
  ];
  const examples: DocExample[] = [];
  for (const file of files) {
    const text = readFileSync(file, 'utf8');
    const block = /^```ts\n([\s\S]*?)^```$/gm;
    for (let m = block.exec(text); m; m = block.exec(text)) {
      const line = text.slice(0, m.index).split('\n').length;
      examples.push({ where: `${relative(root, file)}:${line}`, code: m[1] ?? '' });
    }
  }
  return examples;
}

/** The example as a module: `esm` keeps top-level await; `cjs` wraps the body in an async function. */
export function exampleModule(example: DocExample, kind: 'esm' | 'cjs'): string {
  const lines = example.code.split('\n');
  const imports: string[] = [];
  const body: string[] = [];
  let inImport = false;
  for (const line of lines) {
    // Imports and declarations of what the example assumes stay at the top of the module.
    if (inImport || /^(import|declare)\s/.test(line)) {
      imports.push(line);
      inImport = !/;\s*(\/\/.*)?$/.test(line);
    } else {
      body.push(line);
    }
  }
  const header = `// ${example.where}\n${imports.join('\n')}\nexport {};\n`;
  return kind === 'esm' ? `${header}${body.join('\n')}\n` : `${header}async function example(): Promise<void> {\n${body.join('\n')}\n}\nvoid example;\n`;
}
