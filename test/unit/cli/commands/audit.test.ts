/**
 * `imgverify audit`'s progress: a bar redrawn on stderr when it is a terminal, nothing otherwise
 * (stderr of a CI job or a pipe gets no carriage returns).
 */
import { progressBar } from '../../../../src/cli/commands/audit';
import type { CommandIO } from '../../../../src/cli/io';

function io(isTTY: boolean, err: string[]): CommandIO {
  return { stdout: () => undefined, stderr: (s: string) => void err.push(s), env: {}, isTTY };
}

test('no progress when stderr is not a terminal', () => {
  const err: string[] = [];
  expect(progressBar(io(false, err))).toBeUndefined();
  expect(err).toEqual([]);
});

test('on a terminal: one line redrawn after each Pod, ended when all are done', () => {
  const err: string[] = [];
  const progress = progressBar(io(true, err))!;
  progress(0, 4);
  progress(1, 4);
  progress(4, 4);
  expect(err).toEqual([`\r[${'.'.repeat(30)}] 0/4 pods `, `\r[${'#'.repeat(8)}${'.'.repeat(22)}] 1/4 pods `, `\r[${'#'.repeat(30)}] 4/4 pods `, '\n']);
});
