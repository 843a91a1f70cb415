/**
 * Issue 20.6: connections that outlive a deadline. A registry that accepts the TCP connection and
 * never answers (the TLS handshake hangs): after the caller's deadline, nothing of the exchange
 * may remain (it kept the process alive about 30 s, the connect timeout), and close() must not
 * wait for it (it blocked 26 to 30 s).
 */
import { within } from '../../support/processes';
import { startSilentServer, type SilentServer } from '../../support/silent-server';
import { testClient } from './helpers';

let silent: SilentServer;

beforeAll(async () => {
  silent = await startSilentServer();
});
afterAll(async () => {
  await silent?.stop();
});

test('the caller aborts while the connection is being set up: the connection is closed', async () => {
  const before = silent.connections();
  const client = testClient({ timeoutMs: 60_000 });
  try {
    await expect(client.getManifest({ registry: silent.host, repository: 'app/a' }, 'v1', { signal: AbortSignal.timeout(500) })).rejects.toThrow(
      'aborted due to timeout',
    );
    expect(silent.connections()).toBeGreaterThan(before);
    expect(await within(5000, () => silent.open() === 0)).toBe(true);
  } finally {
    await client.close();
  }
});

test('close() closes connections still being set up at once, and the request in flight fails saying so', async () => {
  const client = testClient({ timeoutMs: 60_000 });
  const before = silent.connections();
  const pending = client.getManifest({ registry: silent.host, repository: 'app/b' }, 'v1');
  pending.catch(() => undefined);
  expect(await within(5000, () => silent.connections() > before)).toBe(true);
  let closed = false;
  const closing = client.close().then(() => (closed = true));
  expect(await within(5000, () => closed)).toBe(true);
  await closing;
  await expect(pending).rejects.toMatchObject({ code: 'REGISTRY_ERROR', message: expect.stringContaining('the registry client was closed') });
  expect(await within(5000, () => silent.open() === 0)).toBe(true);
});
