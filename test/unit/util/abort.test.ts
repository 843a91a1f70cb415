import { abortable } from '../../../src/util/abort';
import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import ts from 'typescript';

/** Collects the unhandled rejections the process sees while `body` runs (and a little after). */
async function unhandledDuring(body: () => Promise<void>): Promise<unknown[]> {
  const seen: unknown[] = [];
  const listener = (reason: unknown): void => void seen.push(reason);
  process.on('unhandledRejection', listener);
  try {
    await body();
    await new Promise((resolve) => setTimeout(resolve, 50));
  } finally {
    process.off('unhandledRejection', listener);
  }
  return seen;
}

function later<T>(ms: number, outcome: { value: T } | { error: Error }): Promise<T> {
  return new Promise((resolve, reject) => setTimeout(() => ('error' in outcome ? reject(outcome.error) : resolve(outcome.value)), ms));
}

describe('abortable (issue 20.1)', () => {
  test('resolves or rejects with the promise while the signal is quiet', async () => {
    const controller = new AbortController();
    await expect(abortable(later(5, { value: 1 }), controller.signal)).resolves.toBe(1);
    await expect(abortable(later(5, { error: new Error('boom') }), controller.signal)).rejects.toThrow('boom');
    await expect(abortable(later(5, { value: 2 }))).resolves.toBe(2);
  });

  test('rejects with the reason at the abort; the promise rejecting later is handled', async () => {
    const seen = await unhandledDuring(async () => {
      const controller = new AbortController();
      const pending = abortable(later(20, { error: new Error('late') }), controller.signal);
      controller.abort(new Error('deadline'));
      await expect(pending).rejects.toThrow('deadline');
      await new Promise((resolve) => setTimeout(resolve, 40));
    });
    expect(seen).toEqual([]);
  });

  test('a promise handed over with an already aborted signal is never left unhandled', async () => {
    const seen = await unhandledDuring(async () => {
      const controller = new AbortController();
      controller.abort(new Error('deadline'));
      await expect(abortable(later(10, { error: new Error('late') }), controller.signal)).rejects.toThrow('deadline');
      await expect(abortable(Promise.reject(new Error('at once')), controller.signal)).rejects.toThrow('deadline');
      await new Promise((resolve) => setTimeout(resolve, 30));
    });
    expect(seen).toEqual([]);
  });
});

/**
 * Runs `script` in a plain Node.js process with `src/util/pool.ts` (transpiled) as `pool`: jest
 * reports no unhandled rejection that is handled later, a plain process (strict mode) does.
 */
function runWithPool(script: string): { status: number | null; output: string } {
  const pool = ts.transpileModule(readFileSync(join(__dirname, '../../../src/util/pool.ts'), 'utf8'), {
    compilerOptions: { module: ts.ModuleKind.CommonJS, target: ts.ScriptTarget.ES2022 },
  }).outputText;
  const program = `const pool = (() => { const module = { exports: {} }; const exports = module.exports; ${pool}; return module.exports; })();\n${script}`;
  const res = spawnSync(process.execPath, ['--unhandled-rejections=strict', '-e', program], { encoding: 'utf8', timeout: 20_000 });
  return { status: res.status, output: `${res.stdout}${res.stderr}` };
}

describe('mapConcurrent: a rejection is never left unhandled (issue 20.1)', () => {
  test('a rejection while the next item is still being produced, and others rejecting after the first', () => {
    const res = runWithPool(`
      const later = (ms, value, fail) => new Promise((resolve, reject) => setTimeout(() => (fail ? reject(new Error(value)) : resolve(value)), ms));
      async function* slow() { yield 0; await later(50); yield 1; yield 2; }
      (async () => {
        const seen = [];
        try { for await (const v of pool.mapConcurrent(slow(), 2, (i) => (i === 0 ? Promise.reject(new Error('first')) : later(5, i)))) seen.push(v); }
        catch (e) { seen.push(e.message); }
        try { for await (const v of pool.mapConcurrent([0, 1, 2], 3, (i) => later(5 + i * 20, 'item ' + i, true))) seen.push(v); }
        catch (e) { seen.push(e.message); }
        await later(100);
        console.log(JSON.stringify(seen));
      })();
    `);
    expect(res).toEqual({ status: 0, output: '["first","item 0"]\n' });
  });
});
