/**
 * When and how long to wait before trying a request again: 408, 429 and 5xx gateway/
 * availability statuses and dropped connections; exponential backoff with jitter; the
 * registry's Retry-After honoured up to a bound.
 */
import { ImgverifyError } from '../../errors';

export interface RetryPolicy {
  /** Retries after the first attempt. */
  readonly retries: number;
  readonly baseDelayMs: number;
  readonly maxDelayMs: number;
}

export const RETRYABLE_STATUSES: ReadonlySet<number> = new Set([408, 429, 500, 502, 503, 504]);

/** Retry-After (seconds or an HTTP date) in ms from `now`, or undefined when absent/invalid. */
export function parseRetryAfter(value: string | undefined, now = Date.now()): number | undefined {
  if (value === undefined) return undefined;
  const trimmed = value.trim();
  if (/^\d{1,10}$/.test(trimmed)) return Number(trimmed) * 1000;
  if (!/^[A-Za-z]{3}, /.test(trimmed)) return undefined;
  const at = Date.parse(trimmed);
  return Number.isNaN(at) ? undefined : Math.max(0, at - now);
}

/**
 * The wait a Retry-After header asks for, when this client is willing to wait that long.
 * A wait beyond `policy.maxDelayMs` (an hour, an HTTP date weeks ahead) is refused at once
 * with the error `refuse` builds: waiting would hold the caller far past any deadline, and
 * timers beyond 2^31 ms do not even work.
 */
export function boundedRetryAfter(header: string | undefined, policy: RetryPolicy, refuse: (waitMs: number) => ImgverifyError): number | undefined {
  const waitMs = parseRetryAfter(header);
  if (waitMs !== undefined && waitMs > policy.maxDelayMs) throw refuse(waitMs);
  return waitMs;
}

/** The error for a Retry-After beyond the bound: `what` says who answered what. */
export function retryAfterRefused(what: string, waitMs: number, policy: RetryPolicy, details: Record<string, unknown>): ImgverifyError {
  return new ImgverifyError(
    'REGISTRY_ERROR',
    `${what} and asks to retry after ${Math.ceil(waitMs / 1000)} s, longer than the ${policy.maxDelayMs} ms this client waits`,
    { details: { ...details, retryAfterMs: waitMs } },
  );
}

/** Delay before retry number `retry` (0-based): half fixed, half random, doubling, capped. */
export function backoffDelay(retry: number, policy: RetryPolicy, random: () => number = Math.random): number {
  const ceiling = Math.min(policy.maxDelayMs, policy.baseDelayMs * 2 ** Math.min(retry, 30));
  return Math.round(ceiling / 2 + (random() * ceiling) / 2);
}

/** Waits `ms`, or rejects with the signal's reason when it aborts first. */
function sleep(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve, reject) => {
    if (signal?.aborted) {
      reject(signal.reason as unknown);
      return;
    }
    const onAbort = () => {
      clearTimeout(timer);
      reject(signal!.reason as unknown);
    };
    // Callers bound their waits; the clamp only keeps Node's timer from overflowing.
    const timer = setTimeout(
      () => {
        signal?.removeEventListener('abort', onAbort);
        resolve();
      },
      Math.min(Math.max(0, ms), 2_147_483_647),
    );
    signal?.addEventListener('abort', onAbort, { once: true });
  });
}

/** What one attempt asks for: a value, or another try (with the error to throw if none is left). */
export type AttemptOutcome<T> =
  { readonly done: true; readonly value: T } | { readonly done: false; readonly error: ImgverifyError; readonly delayMs?: number };

/**
 * Runs `attempt` until it is done, retrying outcomes that ask for it and thrown errors that
 * `isRetryable` accepts, at most `policy.retries` times.
 */
export async function withRetries<T>(
  policy: RetryPolicy,
  signal: AbortSignal | undefined,
  isRetryable: (err: unknown) => boolean,
  attempt: (n: number) => Promise<AttemptOutcome<T>>,
): Promise<T> {
  for (let n = 0; ; n++) {
    let outcome: AttemptOutcome<T>;
    try {
      outcome = await attempt(n);
    } catch (err) {
      if (n >= policy.retries || !isRetryable(err)) throw err;
      await sleep(backoffDelay(n, policy), signal);
      continue;
    }
    if (outcome.done) return outcome.value;
    if (n >= policy.retries) throw outcome.error;
    await sleep(outcome.delayMs ?? backoffDelay(n, policy), signal);
  }
}
