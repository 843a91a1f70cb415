/**
 * The admission webhook's HTTPS server.
 *
 *   POST /validate   AdmissionReview → allowed, or denied naming each image and why
 *   POST /mutate     AdmissionReview → allowed with a JSONPatch pinning images to digests
 *   GET  /healthz    the process answers
 *   GET  /readyz     a valid policy set is in force (503 until then)
 *   GET  /metrics    Prometheus text format
 *
 * Policies come from a folder (a mounted ConfigMap) that is watched and reloaded; an
 * invalid edit keeps the last good set. The serving certificate is watched too and swapped
 * with `setSecureContext` for new connections; a bad pair (a half-written file, a key that
 * does not match) keeps the old one. Every admission request is answered within the
 * evaluator's deadline. A malformed AdmissionReview is HTTP 400; anything else unexpected
 * after the request uid is known is a denial (fail closed), before it an HTTP 500.
 */
import { createHash } from 'node:crypto';
import { watch, type FSWatcher } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { createServer, type Server } from 'node:https';
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { AddressInfo, Socket } from 'node:net';
import { dirname } from 'node:path';
import { createSecureContext } from 'node:tls';
import { defaultTufCacheDir, ImgverifyError, type RegistryClientOptions, type TrustRootInput } from '../index';
import {
  admissionResponse,
  buildImagePatch,
  changedImages,
  extractImages,
  parseAdmissionReview,
  skipReason,
  WEBHOOK_PATHS,
  type AdmissionRequest,
  type AdmissionReviewResponse,
  type ContainerImage,
} from './admission';
import { PolicyEvaluator, summarize, type NoMatchAction, type VerificationBackend } from './evaluate';
import { METRICS_CONTENT_TYPE, WebhookMetrics } from './metrics';
import { loadPolicies, watchPolicies, type PolicySet } from './policy-folder';
import { DEFAULT_TRUST_REFRESH_INTERVAL_MS, TrustRefresher } from './trust-refresh';
import { VerifierBackend } from './verification';

export const METRICS_PATH = '/metrics';
/** AdmissionReviews are a few KiB; the API server's own limit on an object is 3 MiB. */
export const DEFAULT_MAX_BODY_BYTES = 3 * 1024 * 1024;
export const DEFAULT_PORT = 8443;

export type LogLevel = 'debug' | 'info' | 'warn' | 'error';
export type Logger = (level: LogLevel, message: string, fields?: Record<string, unknown>) => void;

/** One JSON object a line on stderr. */
export const jsonLogger: Logger = (level, message, fields = {}) => {
  process.stderr.write(`${JSON.stringify({ time: new Date().toISOString(), level, msg: message, ...fields })}\n`);
};

export interface WebhookServerOptions {
  /** The ClusterImagePolicy folder (a mounted ConfigMap). */
  readonly policiesDir: string;
  /** PEM certificate chain and private key files; watched and reloaded. */
  readonly tlsCertFile: string;
  readonly tlsKeyFile: string;
  /** Default 8443; 0 picks a free port. */
  readonly port?: number;
  /** Address to listen on; default all interfaces. */
  readonly host?: string;
  /** Deadline for one admission request's verification, ms (default 8000). */
  readonly timeoutMs?: number;
  /** For images no policy matches (default deny). */
  readonly noMatch?: NoMatchAction;
  readonly cacheTtlMs?: number;
  readonly negativeCacheTtlMs?: number;
  readonly cacheSize?: number;
  /** Images of one request verified at once (default 8). */
  readonly concurrency?: number;
  /**
   * The default trust of the default backend (default: the embedded public-good root): files,
   * loaded roots or providers; a `TufTrustRoot` is refreshed periodically.
   */
  readonly trustedRoot?: TrustRootInput | readonly TrustRootInput[];
  /** Where TrustRoot documents with `remote` keep their TUF caches (default: `defaultTufCacheDir()`). */
  readonly tufCacheDir?: string;
  /** Never contact a TUF mirror (TrustRoot `remote` then needs a cache from an earlier run). */
  readonly offline?: boolean;
  /** How often TUF-backed trust is checked for a due refresh (default 10 min; 0: never). */
  readonly trustRefreshIntervalMs?: number;
  /** Registry client options for the default backend (docker config, http, CA). */
  readonly registry?: RegistryClientOptions;
  /** Verification backend (default: the library verifier over a registry client). */
  readonly backend?: VerificationBackend;
  readonly maxBodyBytes?: number;
  /** Policy folder watching (see watchPolicies). */
  readonly policyDebounceMs?: number;
  readonly policyPollIntervalMs?: number;
  /** Certificate files are re-read this often besides file events (default 10 s; 0: events only). */
  readonly tlsPollIntervalMs?: number;
  readonly log?: Logger;
}

export interface RunningWebhookServer {
  /** The port listened on (useful with port 0). */
  readonly port: number;
  /** `https://127.0.0.1:<port>` (or the host given). */
  readonly url: string;
  /** @internal The Prometheus metrics (read them over HTTP at /metrics). */
  readonly metrics: WebhookMetrics;
  readonly evaluator: PolicyEvaluator;
  /** Whether a valid policy set is in force. */
  ready(): boolean;
  /** Re-reads the certificate files now; true when a new certificate is in use. */
  reloadTls(): Promise<boolean>;
  /** Refreshes the TUF-backed trust now (TrustRoot `remote`, a default TUF root): an update from a mirror only when due. */
  refreshTrust(): Promise<void>;
  /** Stops watching and listening; closes idle connections and the backend the server created. */
  close(): Promise<void>;
}

function sha256(...parts: Buffer[]): string {
  const hash = createHash('sha256');
  for (const part of parts) hash.update(part).update('\0');
  return hash.digest('hex');
}

class HttpError extends Error {
  constructor(
    readonly status: number,
    message: string,
  ) {
    super(message);
  }
}

/** The request body, up to `limit` bytes (413 beyond). */
async function readBody(req: IncomingMessage, limit: number): Promise<Buffer> {
  const declared = Number(req.headers['content-length']);
  if (Number.isFinite(declared) && declared > limit) throw new HttpError(413, `request body of ${declared} bytes exceeds the limit of ${limit}`);
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
  res.writeHead(status, { 'content-type': contentType, 'content-length': String(Buffer.byteLength(body)), 'cache-control': 'no-store', ...extra });
  res.end(body);
}

function sendJson(res: ServerResponse, status: number, value: unknown, extra: Record<string, string> = {}): void {
  send(res, status, 'application/json', JSON.stringify(value), extra);
}

/** Starts the webhook server; resolves once it listens and the first policy load is done. */
export async function startWebhookServer(options: WebhookServerOptions): Promise<RunningWebhookServer> {
  const log = options.log ?? jsonLogger;
  const metrics = new WebhookMetrics();
  const maxBodyBytes = options.maxBodyBytes ?? DEFAULT_MAX_BODY_BYTES;
  const ownedBackend = options.backend
    ? undefined
    : new VerifierBackend({
        ...(options.trustedRoot !== undefined ? { trustedRoot: options.trustedRoot } : {}),
        registry: { timeoutMs: options.timeoutMs ?? 8000, ...options.registry },
      });
  const backend = options.backend ?? ownedBackend!;
  const defaultTrust = options.trustedRoot === undefined ? [] : Array.isArray(options.trustedRoot) ? (options.trustedRoot as readonly TrustRootInput[]) : [options.trustedRoot as TrustRootInput];
  const trust = new TrustRefresher({
    cacheDir: options.tufCacheDir ?? defaultTufCacheDir(),
    ...(options.offline ? { offline: true } : {}),
    defaults: defaultTrust,
    metrics,
    log,
  });
  const evaluator = new PolicyEvaluator({
    backend,
    metrics,
    ...(options.noMatch !== undefined ? { noMatch: options.noMatch } : {}),
    ...(options.timeoutMs !== undefined ? { timeoutMs: options.timeoutMs } : {}),
    ...(options.cacheTtlMs !== undefined ? { cacheTtlMs: options.cacheTtlMs } : {}),
    ...(options.negativeCacheTtlMs !== undefined ? { negativeCacheTtlMs: options.negativeCacheTtlMs } : {}),
    ...(options.cacheSize !== undefined ? { cacheSize: options.cacheSize } : {}),
    ...(options.concurrency !== undefined ? { concurrency: options.concurrency } : {}),
  });
  const closing = new AbortController();

  // --- TLS --------------------------------------------------------------------------------
  const readPair = async (): Promise<{ cert: Buffer; key: Buffer }> => {
    const [cert, key] = await Promise.all([readFile(options.tlsCertFile), readFile(options.tlsKeyFile)]);
    return { cert, key };
  };
  let tlsVersion: string;
  let server: Server;
  try {
    const pair = await readPair();
    createSecureContext(pair); // a clear error for a bad pair, before listening
    tlsVersion = sha256(pair.cert, pair.key);
    server = createServer({ ...pair, minVersion: 'TLSv1.2' });
  } catch (err) {
    await ownedBackend?.close();
    throw new ImgverifyError('INVALID_OPTIONS', `cannot load the TLS certificate ${options.tlsCertFile} and key ${options.tlsKeyFile}: ${(err as Error).message}`, { cause: err });
  }
  let tlsRejected: string | undefined;
  const reloadTls = async (): Promise<boolean> => {
    let pair: { cert: Buffer; key: Buffer };
    try {
      pair = await readPair();
    } catch (err) {
      const why = (err as Error).message;
      if (tlsRejected !== why) {
        tlsRejected = why;
        metrics.tlsReloads.inc({ result: 'rejected' });
        log('error', 'cannot read the TLS certificate files; keeping the certificate in use', { error: why });
      }
      return false;
    }
    const version = sha256(pair.cert, pair.key);
    if (version === tlsVersion) return false;
    try {
      createSecureContext(pair);
      server.setSecureContext({ ...pair, minVersion: 'TLSv1.2' });
    } catch (err) {
      // Often a moment between writing the certificate and the key: the next event retries.
      if (tlsRejected !== version) {
        tlsRejected = version;
        metrics.tlsReloads.inc({ result: 'rejected' });
        log('error', 'new TLS certificate or key does not load; keeping the certificate in use', { error: (err as Error).message });
      }
      return false;
    }
    tlsVersion = version;
    tlsRejected = undefined;
    metrics.tlsReloads.inc({ result: 'loaded' });
    log('info', 'TLS certificate reloaded', { certificate: options.tlsCertFile });
    return true;
  };
  let tlsTimer: NodeJS.Timeout | undefined;
  const scheduleTls = (): void => {
    if (closing.signal.aborted) return;
    if (tlsTimer) clearTimeout(tlsTimer);
    tlsTimer = setTimeout(() => void reloadTls(), 100);
    tlsTimer.unref();
  };
  const tlsWatchers: FSWatcher[] = [];
  // The folders, not the files: a mounted Secret changes by swapping its `..data` symlink.
  for (const dir of new Set([dirname(options.tlsCertFile), dirname(options.tlsKeyFile)])) {
    try {
      const w = watch(dir, { persistent: false }, scheduleTls);
      w.on('error', () => w.close());
      tlsWatchers.push(w);
    } catch (err) {
      log('warn', 'cannot watch the TLS certificate folder; relying on polling', { dir, error: (err as Error).message });
    }
  }
  const tlsPollMs = options.tlsPollIntervalMs ?? 10_000;
  const tlsPoll = tlsPollMs > 0 ? setInterval(() => void reloadTls(), tlsPollMs) : undefined;
  tlsPoll?.unref();
  trust.start(options.trustRefreshIntervalMs ?? DEFAULT_TRUST_REFRESH_INTERVAL_MS);

  // --- Policies ---------------------------------------------------------------------------
  let lastRejection: string | undefined;
  const activate = async (set: PolicySet, initial: boolean): Promise<void> => {
    // The TrustRoot documents of the set are loaded before it is in force (those that fail, fail closed).
    await trust.load(set);
    evaluator.setPolicies(set, { trustRoots: trust.roots });
    lastRejection = undefined;
    metrics.ready.set(1);
    if (!initial) metrics.policyReloads.inc({ result: 'loaded' });
    log('info', initial ? 'policies loaded' : 'policies reloaded', {
      version: set.version,
      policies: set.policies.map((p) => p.name),
      files: set.files,
      warnings: set.warnings.map((w) => `${w.file}: document ${w.document}: ${w.path}: ${w.message}`),
    });
    for (const unusable of evaluator.unusableAuthorities()) log('warn', 'authority can never pass', unusable);
  };
  const reject = (set: PolicySet, initial: boolean): void => {
    lastRejection = set.errors.map((e) => e.message).join('; ');
    if (!initial) metrics.policyReloads.inc({ result: 'rejected' });
    log('error', evaluator.ready ? 'policy folder does not load; keeping the policies in force' : 'policy folder does not load; not ready', {
      dir: options.policiesDir,
      activeVersion: evaluator.version ?? null,
      errors: set.errors.map((e) => e.message),
    });
  };
  const initial = await loadPolicies(options.policiesDir);
  if (initial.errors.length === 0) await activate(initial, true);
  else reject(initial, true);
  // Policy updates are applied one at a time, in order (loading TrustRoots may take a moment).
  let applying: Promise<void> = Promise.resolve();
  const stopWatching = watchPolicies(
    options.policiesDir,
    (update) => {
      applying = applying.then(() => (update.kind === 'loaded' ? activate(update.set, false) : reject(update.set, false))).catch((err: unknown) => {
        log('error', 'applying a policy update failed', { error: (err as Error).message });
      });
    },
    {
      ...(evaluator.version !== undefined ? { activeVersion: evaluator.version } : {}),
      ...(options.policyDebounceMs !== undefined ? { debounceMs: options.policyDebounceMs } : {}),
      ...(options.policyPollIntervalMs !== undefined ? { pollIntervalMs: options.policyPollIntervalMs } : {}),
    },
  );

  // --- Admission --------------------------------------------------------------------------
  const decide = async (request: AdmissionRequest, mutate: boolean): Promise<{ review: AdmissionReviewResponse; images: number; denied: boolean }> => {
    const uid = request.uid;
    const skip = skipReason(request);
    if (skip !== undefined) return { review: admissionResponse({ uid, allowed: true }), images: 0, denied: false };
    let images: ContainerImage[];
    try {
      // Validation checks every image of the object (a policy added since creation applies);
      // mutation pins only what changed: rewriting an unchanged image restarts the container.
      images = mutate && request.operation === 'UPDATE' ? changedImages(request.object, request.oldObject, request.kind) : extractImages(request.object, request.kind);
    } catch (err) {
      return { review: admissionResponse({ uid, allowed: false, message: `imgverify: ${(err as Error).message}` }), images: 0, denied: true };
    }
    if (images.length === 0) return { review: admissionResponse({ uid, allowed: true }), images: 0, denied: false };
    const decisions = await evaluator.evaluate(
      images.map((i) => i.image),
      { signal: closing.signal },
    );
    const summary = summarize(decisions);
    if (!summary.allowed) {
      return { review: admissionResponse({ uid, allowed: false, message: summary.message!, warnings: summary.warnings }), images: images.length, denied: true };
    }
    const patch = mutate
      ? buildImagePatch(
          images.flatMap((image, i) => {
            const pinned = decisions[i]!.pinned;
            return pinned !== undefined ? [{ path: image.path, image: image.image, newImage: pinned }] : [];
          }),
        )
      : undefined;
    return {
      review: admissionResponse({ uid, allowed: true, warnings: summary.warnings, ...(patch && patch.length > 0 ? { patch } : {}) }),
      images: images.length,
      denied: false,
    };
  };

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
    let request: AdmissionRequest;
    try {
      const body = await readBody(req, maxBodyBytes);
      let json: unknown;
      try {
        json = JSON.parse(body.toString('utf8'));
      } catch (err) {
        throw new HttpError(400, `request body is not JSON: ${(err as Error).message}`);
      }
      request = parseAdmissionReview(json);
    } catch (err) {
      const status = err instanceof HttpError ? err.status : err instanceof ImgverifyError && err.code === 'INVALID_OPTIONS' ? 400 : 500;
      if (status === 500) throw err;
      sendJson(res, status, { error: (err as Error).message }, status === 413 ? { connection: 'close' } : {});
      return 'invalid';
    }
    const started = Date.now();
    let outcome: { review: AdmissionReviewResponse; images: number; denied: boolean };
    try {
      outcome = await decide(request, path === WEBHOOK_PATHS.mutate);
    } catch (err) {
      // The uid is known: answer with a denial rather than an HTTP error (fail closed).
      log('error', 'admission failed unexpectedly', { uid: request.uid, error: (err as Error).message });
      outcome = { review: admissionResponse({ uid: request.uid, allowed: false, message: `imgverify: internal error: ${(err as Error).message}` }), images: 0, denied: true };
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

  const handle = async (req: IncomingMessage, res: ServerResponse): Promise<void> => {
    const path = (req.url ?? '/').split('?', 1)[0]!;
    const started = process.hrtime.bigint();
    if (path === WEBHOOK_PATHS.validate || path === WEBHOOK_PATHS.mutate) {
      let result = 'error';
      try {
        result = await admission(req, res, path);
      } catch (err) {
        log('error', 'request failed', { path, error: (err as Error).message });
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
      case WEBHOOK_PATHS.readyz: {
        if (!evaluator.ready || closing.signal.aborted) {
          send(res, 503, 'text/plain', `not ready: ${closing.signal.aborted ? 'shutting down' : `no valid policy set loaded${lastRejection ? `: ${lastRejection}` : ''}`}\n`);
          return;
        }
        const note = lastRejection ? `; the policy folder changed but does not load, keeping ${evaluator.version}: ${lastRejection}` : '';
        send(res, 200, 'text/plain', `ok: ${evaluator.policies.length} policies, version ${evaluator.version}${note}\n`);
        return;
      }
      case METRICS_PATH:
        metrics.cacheEntries.set(evaluator.cacheSize);
        send(res, 200, METRICS_CONTENT_TYPE, metrics.render());
        return;
      default:
        send(res, 404, 'text/plain', 'not found\n');
    }
  };

  server.on('request', (req: IncomingMessage, res: ServerResponse) => {
    handle(req, res).catch((err: unknown) => {
      log('error', 'request failed', { error: (err as Error).message });
      if (!res.headersSent) sendJson(res, 500, { error: 'internal error' });
      else res.destroy();
    });
  });
  server.on('tlsClientError', (err: Error, socket: Socket) => {
    log('debug', 'TLS handshake failed', { error: err.message, remote: socket.remoteAddress ?? null });
  });
  // The API server keeps connections open; a slow client must not hold a socket forever.
  server.headersTimeout = 10_000;
  server.requestTimeout = 30_000;
  server.keepAliveTimeout = 65_000;

  const port = options.port ?? DEFAULT_PORT;
  try {
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(port, options.host, () => {
        server.off('error', reject);
        resolve();
      });
    });
  } catch (err) {
    stopWatching();
    trust.stop();
    for (const w of tlsWatchers) w.close();
    if (tlsPoll) clearInterval(tlsPoll);
    await ownedBackend?.close();
    throw new ImgverifyError('INVALID_OPTIONS', `cannot listen on port ${port}: ${(err as Error).message}`, { cause: err });
  }
  const address = server.address() as AddressInfo;
  const host = options.host && options.host !== '0.0.0.0' && options.host !== '::' ? options.host : '127.0.0.1';
  log('info', 'listening', { port: address.port, address: address.address, timeoutMs: evaluator.timeoutMs, noMatch: evaluator.noMatch });

  let closed: Promise<void> | undefined;
  return {
    port: address.port,
    url: `https://${host.includes(':') ? `[${host}]` : host}:${address.port}`,
    metrics,
    evaluator,
    ready: () => evaluator.ready && !closing.signal.aborted,
    reloadTls,
    refreshTrust: () => trust.refresh(),
    close: () => {
      closed ??= (async () => {
        closing.abort(new ImgverifyError('ABORTED', 'the webhook is shutting down'));
        stopWatching();
        trust.stop();
        for (const w of tlsWatchers) w.close();
        if (tlsPoll) clearInterval(tlsPoll);
        if (tlsTimer) clearTimeout(tlsTimer);
        // Requests in flight get a few seconds to finish; then every connection is closed.
        await new Promise<void>((resolve) => {
          const force = setTimeout(() => server.closeAllConnections(), 5000);
          force.unref();
          server.close(() => {
            clearTimeout(force);
            resolve();
          });
          server.closeIdleConnections();
        });
        await ownedBackend?.close();
      })();
      return closed;
    },
  };
}
