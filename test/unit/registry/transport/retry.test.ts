import { backoffDelay, parseRetryAfter, withRetries } from '../../../../src/registry/transport/retry';
import { ImgverifyError } from '../../../../src/errors';

describe('retry policy', () => {
  it('reads Retry-After as seconds or an HTTP date', () => {
    const now = Date.parse('2026-01-01T00:00:00Z');
    expect(parseRetryAfter('3', now)).toBe(3000);
    expect(parseRetryAfter('Thu, 01 Jan 2026 00:00:10 GMT', now)).toBe(10_000);
    expect(parseRetryAfter('Wed, 31 Dec 2025 00:00:00 GMT', now)).toBe(0);
    for (const junk of [undefined, '', '-1', '1.5', 'soon', '99999999999999']) expect(parseRetryAfter(junk, now)).toBeUndefined();
  });

  it('backs off exponentially with jitter, within the cap', () => {
    const policy = { retries: 5, baseDelayMs: 100, maxDelayMs: 1000 };
    expect(backoffDelay(0, policy, () => 0)).toBe(50);
    expect(backoffDelay(0, policy, () => 1)).toBe(100);
    expect(backoffDelay(2, policy, () => 0.5)).toBe(300);
    expect(backoffDelay(40, policy, () => 1)).toBe(1000);
  });

  it('retries up to the limit and then throws the last error', async () => {
    const policy = { retries: 2, baseDelayMs: 1, maxDelayMs: 1 };
    let calls = 0;
    const error = new ImgverifyError('REGISTRY_ERROR', 'busy');
    await expect(
      withRetries(
        policy,
        undefined,
        () => false,
        async () => (calls++, { done: false, error }),
      ),
    ).rejects.toBe(error);
    expect(calls).toBe(3);
    calls = 0;
    await expect(
      withRetries(
        policy,
        undefined,
        () => false,
        async () => (++calls < 2 ? { done: false, error } : { done: true, value: 'ok' }),
      ),
    ).resolves.toBe('ok');
    expect(calls).toBe(2);
  });

  it('does not retry errors it is not told are transient', async () => {
    let calls = 0;
    const boom = new Error('boom');
    await expect(
      withRetries(
        { retries: 3, baseDelayMs: 1, maxDelayMs: 1 },
        undefined,
        () => false,
        async () => {
          calls++;
          throw boom;
        },
      ),
    ).rejects.toBe(boom);
    expect(calls).toBe(1);
  });
});
