/**
 * `imgverify initialize` (and the other commands' duration flags), in-process, with no mirror
 * (issue 20.10): durations are read by the shared parser (no overflow to 1 ms), and a cache
 * folder that cannot be one is a usage error (exit 2) at once.
 */
import { runCli } from '../../../support/cli';

const IMG = '127.0.0.1:1/app:v1';
const ID = ['--certificate-identity', 'a@b.c', '--certificate-oidc-issuer', 'https://issuer.example'];

test.each([
  [['initialize', '--timeout', '40000m'], '--timeout: 40000m is longer than the longest allowed, 60m'],
  [['initialize', '--timeout', '0s'], '--timeout: duration must be positive'],
  [['verify', IMG, ...ID, '--timeout', '40000m'], '--timeout: 40000m is longer than the longest allowed, 60m'],
  [['policy', 'test', '--policies', '/nonexistent', '--timeout', '61m', IMG], '--timeout: 61m is longer than the longest allowed, 60m'],
  [['webhook', '--policies', 'p', '--tls-cert', 'c', '--tls-key', 'k', '--cache-ttl', '1441m'], '--cache-ttl: 1441m is longer than the longest allowed, 1440m'],
  [
    ['webhook', '--policies', 'p', '--tls-cert', 'c', '--tls-key', 'k', '--tag-refresh-interval', '11m'],
    '--tag-refresh-interval: 11m is longer than the longest allowed, 10m',
  ],
  [
    ['webhook', '--policies', 'p', '--tls-cert', 'c', '--tls-key', 'k', '--tag-refresh-interval', '500ms'],
    '--tag-refresh-interval must be at least 1s (or 0: no tag cache)',
  ],
  [['webhook', '--policies', 'p', '--tls-cert', 'c', '--tls-key', 'k', '--workers', '0'], '--workers must be an integer from 1 to 64, got "0"'],
  [['webhook', '--policies', 'p', '--tls-cert', 'c', '--tls-key', 'k', '--workers', '2.5'], '--workers must be an integer from 1 to 64, got "2.5"'],
])('%j exits 2: %s', async (args, message) => {
  const r = await runCli(args);
  expect(r.stderr).toContain(message);
  expect(r.code).toBe(2);
});

test.each(['/dev/null', '/proc/self'])('initialize --tuf-cache %s is a usage error (exit 2) naming the folder, at once', async (dir) => {
  const r = await runCli(['initialize', '--tuf-cache', dir, '--timeout', '2s']);
  expect(r.stderr).toMatch(new RegExp(`the TUF cache folder ${dir} cannot be used`));
  expect(r.stderr).not.toMatch(/INTERNAL_ERROR/);
  expect(r.code).toBe(2);
});
