import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { BoundedFileError, readBoundedFile, readBoundedFileSync } from '../../../src/util/bounded-file';

let dir: string;
beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'imgverify-bounded-'));
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const readers = [
  ['sync', (path: string, max: number) => Promise.resolve().then(() => readBoundedFileSync(path, max))],
  ['async', readBoundedFile],
] as const;

describe.each(readers)('readBoundedFile (%s) (issue 20.9)', (_name, read) => {
  test('a regular file within the bound', async () => {
    const path = join(dir, 'ok.pem');
    writeFileSync(path, 'x'.repeat(1000));
    expect((await read(path, 1000)).toString()).toBe('x'.repeat(1000));
    expect((await read(path, 200_000)).length).toBe(1000);
  });

  test('a file over the bound is refused', async () => {
    const path = join(dir, 'big.pem');
    writeFileSync(path, Buffer.alloc(300_000));
    await expect(read(path, 299_999)).rejects.toThrow(new BoundedFileError('larger than 299999 bytes: refused'));
  });

  test('/dev/zero (a device: it fed 5 GB in 8 s) is refused before anything is read', async () => {
    await expect(read('/dev/zero', 1024)).rejects.toThrow('not a regular file (a character device): refused');
  });

  test('a FIFO is refused at once (opening it waited for a writer forever)', async () => {
    const fifo = join(dir, `pipe-${_name}`);
    execFileSync('mkfifo', [fifo]);
    await expect(read(fifo, 1024)).rejects.toThrow('not a regular file (a FIFO (named pipe)): refused');
  });

  test('a directory is refused', async () => {
    await expect(read(dir, 1024)).rejects.toThrow(/not a regular file \(a directory\)|EISDIR/);
  });

  test('a file whose size stat does not tell (/proc) is bounded while it is read', async () => {
    expect((await read('/proc/self/status', 1 << 20)).toString()).toContain('Pid:');
    await expect(read('/proc/self/status', 10)).rejects.toThrow('larger than 10 bytes: refused');
  });

  test('a missing file: the system error', async () => {
    await expect(read(join(dir, 'none'), 10)).rejects.toMatchObject({ code: 'ENOENT' });
  });
});
