/**
 * The chaos layer: a proxy hook that injects one fault into a chosen share of the registry
 * exchanges passing through a `startProxy` proxy, seeded and replayable.
 *
 * Whether a request is faulted, and with which fault, is a function of (seed, method, path,
 * how many times this path was asked before): the same seed and the same requests give the
 * same faults whatever the interleaving of concurrent requests, and a retry of a faulted
 * request (the next attempt on its path) gets a fresh draw, so it can recover.
 *
 * Faults (docs/reliability.md has the table):
 *   reset-before         connection reset before any answer
 *   reset-mid-body       headers and half the body, then a reset
 *   truncated-lying      Content-Length of the whole body, half of it sent, connection closed
 *   truncated-honest     half the body with a Content-Length that matches it
 *   flipped-byte         one byte of the body changed (a manifest or a blob)
 *   wrong-digest         Docker-Content-Digest of other content
 *   500, 502, 503, 429   an error status (the 503 and 429 kinds also with Retry-After: 1)
 *   stall                no answer for `stallMs` (longer than the client's deadline), then the answer
 *   redirect             307 to another host (another origin) that serves the same path
 *   empty-200            200 with an empty body
 *   not-found            404 for an object that exists
 */
import { createHash } from 'node:crypto';
import type { ProxyHook, ProxyReply, ProxyRequest, ProxyResponse } from './proxy';

export const FAULT_KINDS = [
  'reset-before',
  'reset-mid-body',
  'truncated-lying',
  'truncated-honest',
  'flipped-byte',
  'wrong-digest',
  '500',
  '502',
  '503',
  '503-retry-after',
  '429',
  '429-retry-after',
  'stall',
  'redirect',
  'empty-200',
  'not-found',
] as const;
export type FaultKind = (typeof FAULT_KINDS)[number];

/**
 * Faults that change what the registry says about content (bytes, digests, existence): a
 * verification failure after one of them is the fault's doing. After any other fault (the
 * transport ones) the only acceptable failures are operational.
 */
export const CONTENT_FAULTS: ReadonlySet<FaultKind> = new Set(['truncated-honest', 'flipped-byte', 'wrong-digest', 'empty-200', 'not-found']);

export interface ChaosOptions {
  readonly seed: number;
  /** Share of requests faulted, 0..1. */
  readonly rate: number;
  /** Faults to draw from (default all). */
  readonly kinds?: readonly FaultKind[];
  /** How long a stall lasts (make it longer than the client's deadline). */
  readonly stallMs: number;
  /** Base URL of another host serving the same registry (redirect target); without it, redirect faults are not drawn. */
  readonly redirectTo?: string;
  /** Which requests may be faulted (default all). */
  readonly applies?: (req: ProxyRequest) => boolean;
}

export interface InjectedFault {
  readonly kind: FaultKind;
  readonly method: string;
  readonly path: string;
  /** Method and URL: what a retry asks again. */
  readonly key: string;
  /** 0 for the first request of this path, 1 for the second... */
  readonly attempt: number;
}

export interface ChaosLayer {
  readonly hook: ProxyHook;
  /** Every fault injected, in order. */
  readonly faults: InjectedFault[];
  /** Every request answered without a fault, in order (`ok`: a status below 400). */
  readonly clean: Array<{ readonly key: string; readonly path: string; readonly ok: boolean }>;
  /** Faults by kind. */
  counts(): Record<FaultKind, number>;
  /** Faults whose request was later answered without a fault (by a retry, or by a later request for the same URL). */
  recovered(): number;
  /** Requests seen. */
  requests(): number;
  /** Stops pending stalls (they answer at once). */
  release(): void;
}

/** A uniform draw in [0, 1) from a hash: the same inputs, the same number. */
function draw(seed: number, ...parts: Array<string | number>): number {
  const h = createHash('sha256').update(`${seed}`);
  for (const p of parts) h.update('\0').update(String(p));
  return h.digest().readUInt32BE(0) / 2 ** 32;
}

function withBody(res: ProxyResponse, body: Buffer, extra: Record<string, string> = {}): ProxyResponse {
  return { status: res.status, headers: { ...res.headers, ...extra }, body };
}

export function createChaos(options: ChaosOptions): ChaosLayer {
  const kinds = (options.kinds ?? FAULT_KINDS).filter((k) => k !== 'redirect' || options.redirectTo !== undefined);
  if (kinds.length === 0) throw new Error('no fault kinds to draw from');
  if (!(options.rate >= 0 && options.rate <= 1)) throw new Error(`rate must be in [0, 1], got ${options.rate}`);
  const seen = new Map<string, number>();
  const faults: InjectedFault[] = [];
  const clean: Array<{ key: string; path: string; ok: boolean }> = [];
  const pendingRecovery = new Map<string, number>();
  let recovered = 0;
  let requests = 0;
  const stalls = new Set<() => void>();

  const hook: ProxyHook = async (req, ctx) => {
    requests++;
    const key = `${req.method} ${req.url}`;
    const attempt = seen.get(key) ?? 0;
    seen.set(key, attempt + 1);
    const faulted = (options.applies?.(req) ?? true) && draw(options.seed, 'rate', key, attempt) < options.rate;
    if (!faulted) {
      const res = await ctx.forward();
      clean.push({ key, path: req.path, ok: res.status < 400 });
      const waiting = pendingRecovery.get(key);
      if (waiting !== undefined && res.status < 400) {
        pendingRecovery.delete(key);
        recovered += waiting;
      }
      return res;
    }
    const kind = kinds[Math.floor(draw(options.seed, 'kind', key, attempt) * kinds.length)]!;
    const record = () => {
      faults.push({ kind, method: req.method, path: req.path, key, attempt });
      pendingRecovery.set(key, (pendingRecovery.get(key) ?? 0) + 1);
    };
    const position = (n: number) => Math.floor(draw(options.seed, 'pos', key, attempt) * n);

    switch (kind) {
      case 'reset-before':
        record();
        return { reset: true };
      case '500':
      case '502':
      case '503':
      case '429':
        record();
        return {
          status: Number(kind),
          headers: { 'content-type': 'application/json' },
          body: Buffer.from('{"errors":[{"code":"UNAVAILABLE","message":"chaos"}]}'),
        };
      case '503-retry-after':
      case '429-retry-after':
        record();
        return { status: Number(kind.slice(0, 3)), headers: { 'content-type': 'text/plain', 'retry-after': '1' }, body: Buffer.from('chaos: come back later') };
      case 'redirect':
        record();
        return { status: 307, headers: { location: `${options.redirectTo!}${req.url}` }, body: Buffer.alloc(0) };
      case 'not-found':
        record();
        return {
          status: 404,
          headers: { 'content-type': 'application/json' },
          body: Buffer.from('{"errors":[{"code":"MANIFEST_UNKNOWN","message":"chaos: not found"}]}'),
        };
      case 'stall': {
        record();
        await new Promise<void>((resolve) => {
          const done = () => {
            clearTimeout(timer);
            stalls.delete(done);
            resolve();
          };
          const timer = setTimeout(done, options.stallMs);
          stalls.add(done);
        });
        return ctx.forward();
      }
      default:
        break;
    }
    // The rest change a real answer.
    const res = await ctx.forward();
    const hasBody = res.status === 200 && res.body.length > 1 && req.method === 'GET';
    if (!hasBody && kind !== 'empty-200' && kind !== 'wrong-digest') return res;
    let reply: ProxyReply;
    switch (kind) {
      case 'reset-mid-body':
        reply = { partial: res, sendBytes: Math.max(1, Math.floor(res.body.length / 2)), end: 'reset' };
        break;
      case 'truncated-lying':
        reply = { partial: res, sendBytes: Math.max(1, Math.floor(res.body.length / 2)), end: 'close' };
        break;
      case 'truncated-honest':
        reply = withBody(res, res.body.subarray(0, Math.floor(res.body.length / 2)));
        break;
      case 'flipped-byte': {
        const body = Buffer.from(res.body);
        const i = position(body.length);
        body[i] = body[i]! ^ (1 << position(8));
        reply = withBody(res, body);
        break;
      }
      case 'wrong-digest':
        if (res.headers['docker-content-digest'] === undefined && !req.path.includes('/manifests/')) return res;
        reply = withBody(res, res.body, { 'docker-content-digest': `sha256:${createHash('sha256').update(res.body).update('chaos').digest('hex')}` });
        break;
      case 'empty-200':
        if (req.method !== 'GET') return res;
        reply = { status: 200, headers: { 'content-type': String(res.headers['content-type'] ?? 'application/octet-stream') }, body: Buffer.alloc(0) };
        break;
      default:
        return res;
    }
    record();
    return reply;
  };

  return {
    hook,
    faults,
    clean,
    counts: () => {
      const out = Object.fromEntries(FAULT_KINDS.map((k) => [k, 0])) as Record<FaultKind, number>;
      for (const f of faults) out[f.kind]++;
      return out;
    },
    recovered: () => recovered,
    requests: () => requests,
    release: () => {
      for (const done of [...stalls]) done();
    },
  };
}
