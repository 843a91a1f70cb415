/**
 * The webhook's HTTP routes:
 *
 *   POST /validate   AdmissionReview → allowed, or denied naming each image and why
 *   POST /mutate     AdmissionReview → allowed with a JSONPatch pinning images to digests
 *   GET  /healthz    the process answers
 *   GET  /readyz     a valid policy set is in force (503 until then)
 *   GET  /metrics    Prometheus text format
 *
 * A malformed AdmissionReview is HTTP 400; anything else unexpected after the request uid
 * is known is a denial (fail closed), before it an HTTP 500. Admissions in flight are bounded
 * (./admission-limiter.ts): one that finds no room within its wait is HTTP 429 with
 * Retry-After, before its body is read; the wait counts against its deadline.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import { ImgverifyError } from '../index';
import { admissionResponse, parseAdmissionReview, WEBHOOK_PATHS, type AdmissionRequest } from './admission';
import type { AdmissionLimiter } from './admission-limiter';
import { decideAdmission, type AdmissionDecision, type PolicyObjectValidator } from './decide';
import type { PullSecretCredentials } from './pull-secrets';
import type { PolicyEvaluator } from './evaluate';
import type { Logger } from './log';
import { METRICS_CONTENT_TYPE, type WebhookMetrics } from './metrics';
import { errorMessage } from '../util/describe';

export const METRICS_PATH = '/metrics';

export interface RouterOptions {
  readonly evaluator: PolicyEvaluator;
  readonly metrics: WebhookMetrics;
  readonly log: Logger;
  readonly maxBodyBytes: number;
  /** True once the server is shutting down: /readyz answers 503, connections are not kept alive. */
  readonly shuttingDown: () => boolean;
  /** Aborts evaluations in flight: only when shutting down has run out of time. */
  readonly abort: AbortSignal;
  /** Why the policy folder's current content does not load, if it does not (for /readyz). */
  readonly policyRejection: () => string | undefined;
  /** Cluster mode: false while the policy source cannot vouch for the set in force (/readyz 503, with `policyRejection`). */
  readonly sourceReady?: () => boolean;
  /** Apply-time validation of ClusterImagePolicy and TrustRoot objects sent to /validate. */
  readonly validatePolicyObject?: PolicyObjectValidator;
  /** Reads admitted objects' pull secrets (when the webhook can read them; once the cluster connection is up). */
  readonly pullSecrets?: () => PullSecretCredentials | undefined;
  /** Admissions in flight and their body bytes; `queueWaitMs` is how long one waits for room. */
  readonly limiter: AdmissionLimiter;
  readonly queueWaitMs: number;
  /** Brings gauges up to date before /metrics renders them. */
  readonly beforeMetrics?: () => void;
  /** The /metrics text (default: `metrics` rendered; a worker asks its primary for every process's). */
  readonly renderMetrics?: () => Promise<string>;
}

/** Each response's server's `shuttingDown` (read by send(), right before the answer is written). */
const shutdownOf = new WeakMap<ServerResponse, () => boolean>();

class HttpError extends Error {
  constructor(
    readonly status: number,
    message: string,
  ) {
    super(message);
  }
}

/** The declared body size (Content-Length), if any. */
function declaredLength(req: IncomingMessage): number | undefined {
  const declared = Number(req.headers['content-length']);
  return req.headers['content-length'] !== undefined && Number.isFinite(declared) ? declared : undefined;
}

/** The request body, up to `limit` bytes (413 beyond). */
async function readBody(req: IncomingMessage, limit: number): Promise<Buffer> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of req) {
    size += (chunk as Buffer).length;
    if (size > limit) throw new HttpError(413, `request body exceeds the limit of ${limit} bytes`);
    chunks.push(chunk as Buffer);
  }
  return Buffer.concat(chunks);
}

function send(res: ServerResponse, status: number, contentType: string, body: string, extra: Record<string, string> = {}): void {
  if (res.headersSent) return;
  if (shutdownOf.get(res)?.()) res.shouldKeepAlive = false;
  res.writeHead(status, { 'content-type': contentType, 'content-length': String(Buffer.byteLength(body)), 'cache-control': 'no-store', ...extra });
  res.end(body);
}

function sendJson(res: ServerResponse, status: number, value: unknown, extra: Record<string, string> = {}): void {
  send(res, status, 'application/json', JSON.stringify(value), extra);
}

/** The server's `request` listener. */
export function createRouter(options: RouterOptions): (req: IncomingMessage, res: ServerResponse) => void {
  const { evaluator, metrics, log, maxBodyBytes, shuttingDown, abort } = options;

  /** Answers one AdmissionReview; resolves to the request metric's result. */
  const admission = async (req: IncomingMessage, res: ServerResponse, path: string): Promise<string> => {
    if (req.method !== 'POST') {
      send(res, 405, 'text/plain', 'method not allowed\n', { allow: 'POST' });
      return 'invalid';
    }
    const type = req.headers['content-type'];
    if (type !== undefined && !/^application\/(?:[\w.+-]+\+)?json\b/i.test(type)) {
      send(res, 415, 'text/plain', 'expected application/json\n');
      return 'invalid';
    }
    const declared = declaredLength(req);
    if (declared !== undefined && declared > maxBodyBytes) {
      sendJson(res, 413, { error: `request body of ${declared} bytes exceeds the limit of ${maxBodyBytes}` }, { connection: 'close' });
      return 'invalid';
    }
    // Room before the body is read: a body without Content-Length may be the largest allowed.
    const queued = Date.now();
    const release = await options.limiter.acquire(declared ?? maxBodyBytes, options.queueWaitMs);
    if (!release) {
      log('warn', 'admission refused: too many in flight', { path, ...options.limiter.state });
      sendJson(res, 429, { error: 'too many admission requests in flight; retry' }, { 'retry-after': '1', connection: 'close' });
      return 'overloaded';
    }
    try {
      return await decide(req, res, path, Math.max(1, evaluator.timeoutMs - (Date.now() - queued)));
    } finally {
      release();
    }
  };

  /** Reads, parses and decides one AdmissionReview within `timeoutMs`. */
  const decide = async (req: IncomingMessage, res: ServerResponse, path: string, timeoutMs: number): Promise<string> => {
    let request: AdmissionRequest;
    try {
      const body = await readBody(req, maxBodyBytes);
      let json: unknown;
      try {
        json = JSON.parse(body.toString('utf8'));
      } catch (err) {
        throw new HttpError(400, `request body is not JSON: ${errorMessage(err)}`);
      }
      request = parseAdmissionReview(json);
    } catch (err) {
      const status = err instanceof HttpError ? err.status : err instanceof ImgverifyError && err.code === 'INVALID_OPTIONS' ? 400 : 500;
      if (status === 500) throw err;
      sendJson(res, status, { error: errorMessage(err) }, status === 413 ? { connection: 'close' } : {});
      return 'invalid';
    }
    const started = Date.now();
    let outcome: AdmissionDecision;
    try {
      outcome = await decideAdmission(
        evaluator,
        request,
        path === WEBHOOK_PATHS.mutate,
        abort,
        options.validatePolicyObject,
        options.pullSecrets?.(),
        timeoutMs,
      );
    } catch (err) {
      // The uid is known: answer with a denial rather than an HTTP error (fail closed).
      log('error', 'admission failed unexpectedly', { uid: request.uid, error: errorMessage(err) });
      outcome = {
        review: admissionResponse({ uid: request.uid, allowed: false, message: `imgverify: internal error: ${errorMessage(err)}` }),
        images: 0,
        denied: true,
      };
    }
    sendJson(res, 200, outcome.review);
    const response = outcome.review.response;
    log(outcome.denied ? 'info' : 'debug', 'admission', {
      path,
      uid: request.uid,
      operation: request.operation,
      kind: `${request.kind.group ? `${request.kind.group}/` : ''}${request.kind.kind}`,
      ...(request.namespace ? { namespace: request.namespace } : {}),
      ...(request.name ? { name: request.name } : {}),
      allowed: response.allowed,
      images: outcome.images,
      ...(response.status?.message ? { message: response.status.message } : {}),
      ...(response.warnings ? { warnings: response.warnings } : {}),
      ...(response.patch ? { patched: true } : {}),
      ms: Date.now() - started,
    });
    return response.allowed ? 'allowed' : 'denied';
  };

  const readyz = (res: ServerResponse): void => {
    const rejection = options.policyRejection();
    const stopping = shuttingDown();
    if (!evaluator.ready || stopping || options.sourceReady?.() === false) {
      const why = stopping
        ? 'shutting down'
        : evaluator.ready
          ? (rejection ?? 'the policy source is not ready')
          : `no valid policy set loaded${rejection ? `: ${rejection}` : ''}`;
      send(res, 503, 'text/plain', `not ready: ${why}\n`);
      return;
    }
    const note = rejection ? `; the policy folder changed but does not load, keeping ${evaluator.version}: ${rejection}` : '';
    send(res, 200, 'text/plain', `ok: ${evaluator.policies.length} policies, version ${evaluator.version}${note}\n`);
  };

  const handle = async (req: IncomingMessage, res: ServerResponse): Promise<void> => {
    const path = (req.url ?? '/').split('?', 1)[0]!;
    const started = process.hrtime.bigint();
    if (path === WEBHOOK_PATHS.validate || path === WEBHOOK_PATHS.mutate) {
      let result = 'error';
      try {
        result = await admission(req, res, path);
      } catch (err) {
        log('error', 'request failed', { path, error: errorMessage(err) });
        sendJson(res, 500, { error: 'internal error' });
      } finally {
        metrics.requests.inc({ path, result });
        metrics.duration.observe(Number(process.hrtime.bigint() - started) / 1e9, { path });
      }
      return;
    }
    if (req.method !== 'GET' && req.method !== 'HEAD') {
      send(res, 405, 'text/plain', 'method not allowed\n', { allow: 'GET, HEAD' });
      return;
    }
    switch (path) {
      case WEBHOOK_PATHS.healthz:
        send(res, 200, 'text/plain', 'ok\n');
        return;
      case WEBHOOK_PATHS.readyz:
        readyz(res);
        return;
      case METRICS_PATH:
        metrics.cacheEntries.set(evaluator.cacheSize);
        options.beforeMetrics?.();
        send(res, 200, METRICS_CONTENT_TYPE, options.renderMetrics ? await options.renderMetrics() : metrics.render());
        return;
      default:
        send(res, 404, 'text/plain', 'not found\n');
    }
  };

  return (req, res) => {
    // While shutting down every answer (also of a request that was in flight when it began)
    // closes its connection, so clients reconnect to another replica.
    shutdownOf.set(res, shuttingDown);
    handle(req, res).catch((err: unknown) => {
      log('error', 'request failed', { error: errorMessage(err) });
      if (!res.headersSent) sendJson(res, 500, { error: 'internal error' });
      else res.destroy();
    });
  };
}
