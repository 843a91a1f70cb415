import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { WATCHDOG_SCRIPT, registryBinary, startRegistry } from '../../support/registry';

describe('the test registry harness', () => {
  it('starts on an ephemeral loopback port and leaves nothing behind when stopped', async () => {
    const registry = await startRegistry();
    expect(registry.host).toMatch(/^127\.0\.0\.1:\d+$/);
    const pid = registry.pid!;
    expect(() => process.kill(pid, 0)).not.toThrow();
    const res = await fetch(`${registry.url}/v2/`);
    expect(res.status).toBe(200);
    await registry.stop();
    expect(() => process.kill(pid, 0)).toThrow(expect.objectContaining({ code: 'ESRCH' }));
    expect(existsSync(registry.storageDir)).toBe(false);
    await registry.stop(); // idempotent
  });

  it('says how to install docker-registry when it is missing', async () => {
    const saved = process.env.IMGVERIFY_DOCKER_REGISTRY;
    process.env.IMGVERIFY_DOCKER_REGISTRY = '/nonexistent/docker-registry';
    try {
      await expect(startRegistry()).rejects.toThrow('apt-get install -y docker-registry');
    } finally {
      if (saved === undefined) delete process.env.IMGVERIFY_DOCKER_REGISTRY;
      else process.env.IMGVERIFY_DOCKER_REGISTRY = saved;
    }
  });

  it('reports the registry output when it cannot start', async () => {
    const saved = process.env.IMGVERIFY_DOCKER_REGISTRY;
    process.env.IMGVERIFY_DOCKER_REGISTRY = '/bin/false';
    try {
      await expect(startRegistry({ startTimeoutMs: 5000 })).rejects.toThrow(/exited before listening/);
    } finally {
      if (saved === undefined) delete process.env.IMGVERIFY_DOCKER_REGISTRY;
      else process.env.IMGVERIFY_DOCKER_REGISTRY = saved;
    }
  });
});

describe('the registry watchdog', () => {
  it('kills the registry when the process that started it dies without stopping it', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'imgverify-watchdog-'));
    try {
      const config = join(dir, 'config.yml');
      writeFileSync(config, `version: 0.1\nstorage:\n  filesystem:\n    rootdirectory: ${join(dir, 'data')}\nhttp:\n  addr: 127.0.0.1:0\n`);
      // Stands in for a jest worker: starts the watchdog the way startRegistry does, then is SIGKILLed.
      const owner = spawn(
        process.execPath,
        [
          '-e',
          "const c = require('child_process').spawn('/bin/sh', ['-c', process.env.W, process.env.B, process.env.C], { stdio: ['pipe', 'pipe', 'ignore'] }); c.stdout.pipe(process.stdout); setInterval(() => {}, 1000);",
        ],
        { env: { ...process.env, W: WATCHDOG_SCRIPT, B: registryBinary(), C: config }, stdio: ['ignore', 'pipe', 'ignore'] },
      );
      const pid = await new Promise<number>((resolve, reject) => {
        owner.stdout.once('data', (chunk: Buffer) => resolve(Number(chunk.toString().trim())));
        owner.once('exit', () => reject(new Error('owner exited early')));
      });
      expect(() => process.kill(pid, 0)).not.toThrow();
      owner.kill('SIGKILL');
      const deadline = Date.now() + 10_000;
      let alive = true;
      while (alive && Date.now() < deadline) {
        await new Promise((r) => setTimeout(r, 50));
        try {
          process.kill(pid, 0);
        } catch {
          alive = false;
        }
      }
      expect(alive).toBe(false);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
