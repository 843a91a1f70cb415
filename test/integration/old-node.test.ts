/**
 * On a Node.js version imgverify cannot run on (this machine's own Node 20, below undici's floor,
 * where it crashes at load), the library and the CLI refuse at once with a message naming the versions
 * needed, instead of a TypeError deep in a dependency. Needs `npm run build` (npm test does it).
 */
import { execFileSync, spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { resolve } from 'node:path';

const ROOT = resolve(__dirname, '..', '..');
const OLD_NODE = '/usr/bin/node';

function majorOf(node: string): number | undefined {
  try {
    return Number(execFileSync(node, ['-p', 'process.versions.node.split(".")[0]'], { encoding: 'utf8' }).trim());
  } catch {
    return undefined;
  }
}

const major = existsSync(OLD_NODE) ? majorOf(OLD_NODE) : undefined;
const describeOld = major !== undefined && major < 22 ? describe : describe.skip;
if (!(major !== undefined && major < 22)) {
  // eslint-disable-next-line no-console -- a visible skip
  console.warn(`SKIPPED old-node test: no Node.js older than 22 at ${OLD_NODE}`);
}

describeOld(`on Node ${major} (${OLD_NODE})`, () => {
  test("require('imgverify') and require('imgverify/webhook') throw the message", () => {
    for (const entry of ['dist/index.js', 'dist/webhook/index.js']) {
      const p = spawnSync(OLD_NODE, ['-e', `try { require(${JSON.stringify(resolve(ROOT, entry))}) } catch (e) { console.log(e.message); process.exit(7) }`], {
        encoding: 'utf8',
      });
      expect(p.status).toBe(7);
      expect(p.stdout.trim()).toMatch(
        /^imgverify needs Node\.js 22\.19\.0 or later \(found v\d+\.\d+\.\d+\): the oldest version undici, its HTTP client, supports$/,
      );
    }
  });

  test('the CLI exits 2 with one line', () => {
    const p = spawnSync(OLD_NODE, [resolve(ROOT, 'dist', 'cli', 'main.js'), 'version'], { encoding: 'utf8' });
    expect(p.status).toBe(2);
    expect(p.stdout).toBe('');
    expect(p.stderr).toMatch(/^imgverify needs Node\.js 22\.19\.0 or later \(found v\d+\.\d+\.\d+\): the oldest version undici, its HTTP client, supports\n$/);
  });
});
