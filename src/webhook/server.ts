/**
 * The admission webhook's HTTPS server: the routes (router.ts), the policies kept in force
 * and the serving certificate that follows its files (tls-reload.ts), started and stopped
 * together.
 *
 * Policies come from a folder (a mounted ConfigMap, policy-reload.ts) that is watched and
 * reloaded, where an invalid edit keeps the last good set; or from the cluster
 * (kube/cluster-policies.ts: ClusterImagePolicy and TrustRoot objects, loaded one by one, with
 * their status written back). The serving certificate is watched too and swapped for new
 * connections; a bad pair keeps the old one. Every admission request is answered within the
 * evaluator's deadline.
 */
import type { AddressInfo, Socket } from 'node:net';
import { defaultTufCacheDir, ImgverifyError, type RegistryClientOptions, type TrustRootInput } from '../index';
import type { VerificationBackend } from './backend';
import { PolicyEvaluator } from './evaluate';
import type { NoMatchAction } from './outcomes';
import { defined } from '../util/object';
import { errorMessage } from '../util/describe';
import { watchCredentialFiles } from './credential-reload';
import { jsonLogger, type Logger } from './log';
import { WebhookMetrics } from './metrics';
import type { PolicySet } from './policy-folder';
import { startPolicyReload } from './policy-reload';
import type { PolicyObjectValidator } from './decide';
import { validatePolicyObject } from './policy-objects';
import { PullSecretCredentials, signaturePullSecretErrors, type ObjectCredentialSource, type PullSecretOptions } from './pull-secrets';
import { createRouter } from './router';
import { AdmissionLimiter } from './admission-limiter';
import { createTlsServer, type TlsServer } from './tls-reload';
import { DEFAULT_TRUST_REFRESH_INTERVAL_MS, TrustRefresher } from './trust-refresh';
import { VerifierBackend } from './verifier-backend';
import { TAG_CACHE_DEFAULTS } from './tag-cache';

export { jsonLogger, type Logger, type LogLevel } from './log';
export { METRICS_PATH } from './router';
/** AdmissionReviews are a few KiB; the API server's own limit on an object is 3 MiB. */
export const DEFAULT_MAX_BODY_BYTES = 3 * 1024 * 1024;
/**
 * Admissions in flight (docs/webhook.md, "Load"): decided at once, body bytes reserved by
 * bodies over `smallBytes` (two reviews of the largest size: a parsed review takes up to 20
 * times its size, and the Deployment's limit is 512 MiB), and waiting for room.
 */
export const ADMISSION_LIMITS = Object.freeze({ maxConcurrent: 32, maxBytes: 2 * DEFAULT_MAX_BODY_BYTES, maxQueued: 128, smallBytes: 64 * 1024 });
export const DEFAULT_PORT = 8443;

/**
 * Cluster mode: where the Kubernetes API is and the webhook's namespace (docs/webhook.md,
 * "Policies from the cluster"). Without `kubeconfig`: `$KUBECONFIG`, the in-cluster
 * configuration of a Pod, then `~/.kube/config`.
 */
export interface KubernetesSourceOptions {
  /** A kubeconfig file. */
  readonly kubeconfig?: string | undefined;
  /** A context of the kubeconfig other than its current one. */
  readonly context?: string | undefined;
  /** Where `secretRef` Secrets are read (default: the kubeconfig context's namespace, else the Pod's, else `imgverify-system`). */
  readonly namespace?: string | undefined;
  /** The environment the configuration is looked up in (`KUBECONFIG`, `KUBERNETES_SERVICE_HOST`, `HOME`); default `process.env`. */
  readonly env?: NodeJS.ProcessEnv | undefined;
  /** Write `status.conditions` on the objects (default true). */
  readonly writeStatus?: boolean | undefined;
  /** @internal A folder the service account's files are read under instead of `/` (tests). */
  readonly serviceAccountRoot?: string;
}

/** The periodic audit of running Pods (docs/audit.md), with the cluster connection it reads them through. */
export interface WebhookAuditOptions {
  /** Every this many ms, the images every running Pod runs are verified again. */
  readonly intervalMs: number;
  /** Write one OpenReports Report per namespace after each run. */
  readonly writeReports?: boolean | undefined;
  /** Pods audited at once (default 2; each verifies up to 2 images at once, apart from admissions). */
  readonly concurrency?: number | undefined;
  /** In folder mode, where the API server is (cluster mode uses `kubernetes`); default `$KUBECONFIG`, in-cluster, `~/.kube/config`. */
  readonly connection?: Pick<KubernetesSourceOptions, 'kubeconfig' | 'context' | 'env'> | undefined;
}

export interface WebhookServerOptions {
  /** The ClusterImagePolicy folder (a mounted ConfigMap). Exactly one of `policiesDir` and `kubernetes`. */
  readonly policiesDir?: string | undefined;
  /** Read the policies from the cluster instead (ClusterImagePolicy, TrustRoot and Secret objects). */
  readonly kubernetes?: KubernetesSourceOptions | undefined;
  /** PEM certificate chain and private key files; watched and reloaded. */
  readonly tlsCertFile: string;
  readonly tlsKeyFile: string;
  /** Default 8443; 0 picks a free port. */
  readonly port?: number | undefined;
  /** Address to listen on; default all interfaces. */
  readonly host?: string | undefined;
  /** Deadline for one admission request's verification, ms (default 8000). */
  readonly timeoutMs?: number | undefined;
  /** For images no policy matches (default deny). */
  readonly noMatch?: NoMatchAction | undefined;
  readonly cacheTtlMs?: number | undefined;
  readonly negativeCacheTtlMs?: number | undefined;
  readonly cacheSize?: number | undefined;
  /** Images of one request verified at once (default 8). */
  readonly concurrency?: number | undefined;
  /**
   * Tags admissions name are kept resolved in the background (docs/webhook.md, "Tags"): a
   * resolution is used at most this long, ms (default 30 s: a tag moved to other content is
   * seen within it), and refreshed at ⅔ of it; 0: every admission by tag asks the registry.
   * Only with the default backend.
   */
  readonly tagRefreshIntervalMs?: number | undefined;
  /** A tag no admission named within this long is no longer refreshed (default 5 min). */
  readonly tagIdleMs?: number | undefined;
  /** Most tags kept resolved (default 10 000). */
  readonly tagCacheSize?: number | undefined;
  /**
   * The default trust of the default backend (default: the embedded public-good root): files,
   * loaded roots or providers; a `TufTrustRoot` is refreshed periodically.
   */
  readonly trustedRoot?: TrustRootInput | readonly TrustRootInput[] | undefined;
  /** Where TrustRoot documents with `remote` keep their TUF caches (default: `defaultTufCacheDir()`). */
  readonly tufCacheDir?: string | undefined;
  /** Never contact a TUF mirror (TrustRoot `remote` then needs a cache from an earlier run). */
  readonly offline?: boolean | undefined;
  /** How often TUF-backed trust is checked for a due refresh (default 10 min; 0: never). */
  readonly trustRefreshIntervalMs?: number | undefined;
  /** Accept a policy folder (or a cluster) with no policies (default false: an empty set is rejected like an invalid one). */
  readonly allowEmptyPolicies?: boolean | undefined;
  /** Registry client options for the default backend (docker config, http, CA). */
  readonly registry?: RegistryClientOptions | undefined;
  /** Verification backend (default: the library verifier over a registry client). */
  readonly backend?: VerificationBackend | undefined;
  /**
   * Where admitted objects' Secrets and ServiceAccounts are read: their pull secrets are then
   * tried first for their images (docs/webhook.md, "Registry credentials"). Default: the
   * Kubernetes API in cluster mode (`kubernetes`); none in folder mode (images are then read
   * with the webhook's own credentials).
   */
  readonly objectCredentials?: ObjectCredentialSource | undefined;
  /** How long pull secret reads are kept (default 30 s, not found 5 s, 1000 entries). */
  readonly pullSecretCache?: PullSecretOptions | undefined;
  readonly maxBodyBytes?: number | undefined;
  /**
   * Bounds on admissions in flight (default ADMISSION_LIMITS): requests decided at once, body
   * bytes they reserve (their Content-Length, or `maxBodyBytes` without one), and requests
   * waiting for room. A request waits at most half the deadline (`timeoutMs`), which the wait
   * counts against; one that finds no room is answered 429 with Retry-After: 1.
   */
  readonly maxConcurrentAdmissions?: number | undefined;
  /** Body bytes reserved by admissions in flight (bodies over 64 KiB reserve their size; see maxConcurrentAdmissions). */
  readonly maxInFlightBodyBytes?: number | undefined;
  /** Admissions waiting for room; more are answered 429 at once (see maxConcurrentAdmissions). */
  readonly maxQueuedAdmissions?: number | undefined;
  /** Policy folder watching (see watchPolicies). */
  readonly policyDebounceMs?: number | undefined;
  readonly policyPollIntervalMs?: number | undefined;
  /** Certificate files are re-read this often besides file events (default 10 s; 0: events only). */
  readonly tlsPollIntervalMs?: number | undefined;
  /** Registry credential files are re-read this often besides file events (default 30 s; 0: events only). */
  readonly credentialPollIntervalMs?: number | undefined;
  /**
   * On close, how long the server keeps serving while /readyz already answers 503, so that
   * Kubernetes takes the pod out of the Service's endpoints before it stops accepting
   * connections (default 0). See docs/webhook.md, "Shutting down".
   */
  readonly shutdownDelayMs?: number | undefined;
  /**
   * The last line of defence of a process that only serves the webhook (the CLI sets it): a
   * promise rejection nobody handles anywhere in the process is logged (level error) and
   * counted in `imgverify_webhook_unhandled_rejections_total` instead of ending the process
   * (Node's default), so one bug cannot take down a webhook that the API server calls with
   * `failurePolicy: Fail`. Installed while the server runs (default false: a library does not
   * change its host process's behaviour unasked).
   */
  readonly surviveUnhandledRejections?: boolean | undefined;
  /**
   * Processes serving admissions (default 1: this one). Above 1 this process becomes their
   * primary (node:cluster): it forks that many workers, which run this same program (the
   * script and arguments this process was started with) and call startWebhookServer with the
   * same options; the primary alone reads the policies (folder or cluster), loads and refreshes
   * the trust, writes statuses, runs the periodic audit, and hands the workers the policy set
   * and the trust as data; each worker serves on the shared port with its own caches
   * (docs/webhook.md, "Workers").
   */
  readonly workers?: number | undefined;
  readonly log?: Logger | undefined;
  /** Audit the running Pods periodically (the Kubernetes API: cluster mode's connection, else `audit.connection`). */
  readonly audit?: WebhookAuditOptions | undefined;
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
  /**
   * Shuts down gracefully: /readyz answers 503 at once; after `shutdownDelayMs` the server
   * stops accepting connections; requests in flight finish (each within the evaluator's
   * deadline); then connections, watchers and the backend the server created are closed.
   * Requests still running a few seconds past the deadline are denied and their connections
   * closed.
   */
  close(): Promise<void>;
}

/** Checks the options every start takes (one process or several); returns the number of workers. */
export function checkedStartOptions(options: WebhookServerOptions): number {
  if ((options.policiesDir === undefined) === (options.kubernetes === undefined)) {
    throw new ImgverifyError('INVALID_OPTIONS', 'give exactly one policy source: policiesDir (a folder) or kubernetes (the cluster)');
  }
  const workers = options.workers ?? 1;
  if (!(Number.isInteger(workers) && workers >= 1 && workers <= MAX_WORKERS))
    throw new ImgverifyError('INVALID_OPTIONS', `workers must be an integer from 1 to ${MAX_WORKERS}, got ${String(workers)}`);
  return workers;
}

/**
 * Starts the webhook server in this process; resolves once it listens and the first policy load
 * is done. It listens first: /healthz answers while the policies and their TrustRoots load
 * (concurrently), /readyz answers 503 until the first valid set is in force. The public
 * `startWebhookServer` (./start.ts) is this, or with `workers` above 1 a primary and its workers.
 */
export async function startWebhookServer(options: WebhookServerOptions): Promise<RunningWebhookServer> {
  checkedStartOptions(options);
  const log = options.log ?? jsonLogger;
  const metrics = new WebhookMetrics();
  const trust = startTrustRefresher(options, metrics, log);
  return serveWebhook(options, {
    metrics,
    log,
    ...(options.trustedRoot !== undefined ? { trustedRoot: options.trustedRoot } : {}),
    startPolicies: (evaluator) => startPolicySource(options, { evaluator, trust, metrics, log }),
    refreshTrust: () => trust.refresh(),
    stop: () => trust.stop(),
  });
}

/** The most workers (`workers`): a webhook pod has a few CPUs. */
export const MAX_WORKERS = 64;

/** Whether this process is a worker a webhook primary forked (./workers.ts). */
export function isWebhookWorker(env: NodeJS.ProcessEnv = process.env): boolean {
  return env[WORKER_ENV] !== undefined && env[WORKER_ENV] !== '';
}

/** Set by the primary in the environment of each worker it forks (its number). */
export const WORKER_ENV = 'IMGVERIFY_WEBHOOK_WORKER';

/** TUF-backed trust (TrustRoot documents, a default TUF root), loaded with each policy set and refreshed periodically. */
export function startTrustRefresher(options: WebhookServerOptions, metrics: WebhookMetrics, log: Logger, interval = true): TrustRefresher {
  const defaultTrust: readonly TrustRootInput[] =
    options.trustedRoot === undefined ? [] : Array.isArray(options.trustedRoot) ? (options.trustedRoot as readonly TrustRootInput[]) : [options.trustedRoot];
  const trust = new TrustRefresher({
    cacheDir: options.tufCacheDir ?? defaultTufCacheDir(),
    ...(options.offline ? { offline: true } : {}),
    defaults: defaultTrust,
    metrics,
    log,
  });
  if (interval) trust.start(options.trustRefreshIntervalMs ?? DEFAULT_TRUST_REFRESH_INTERVAL_MS);
  return trust;
}

/**
 * What serves admissions needs from where the policies come from: in one process, the policy
 * source and the trust refresher themselves; in a worker, its primary (./workers.ts).
 */
export interface PolicyControl {
  readonly metrics: WebhookMetrics;
  readonly log: Logger;
  /** The default trust of the backend the server creates. */
  readonly trustedRoot?: TrustRootInput | readonly TrustRootInput[];
  /** Starts keeping the evaluator's policies in force (once the server listens); resolves after the first load. */
  readonly startPolicies: (evaluator: PolicyEvaluator, serving: ServingHooks) => Promise<PolicySource>;
  /** The /metrics text (default: this process's metrics). */
  readonly renderMetrics?: () => Promise<string>;
  readonly refreshTrust: () => Promise<void>;
  /** Log lines at start (default: 'accepting connections; loading the policies', then 'listening'). */
  readonly quiet?: boolean;
  /** Stops what the control started (the trust refresher); after the server closed. */
  readonly stop: () => void | Promise<void>;
}

/** What a control may do to the server it serves (a worker's primary asks for these). */
interface ServingHooks {
  /** Brings the cache gauges up to date (before a metrics snapshot). */
  readonly updateGauges: () => void;
  /** Re-reads the certificate files now. */
  readonly reloadTls: () => Promise<boolean>;
}

/**
 * The serving half of the webhook: the evaluator and its caches, the backend, the HTTPS server
 * with its certificate, the routes, and the staged shutdown; the policies come from `control`.
 */
export async function serveWebhook(options: WebhookServerOptions, control: PolicyControl): Promise<RunningWebhookServer> {
  const { metrics, log } = control;
  const tagRefreshIntervalMs = options.tagRefreshIntervalMs ?? TAG_CACHE_DEFAULTS.maxAgeMs;
  const ownedBackend = options.backend
    ? undefined
    : new VerifierBackend({
        ...(control.trustedRoot !== undefined ? { trustedRoot: control.trustedRoot } : {}),
        // The registry's own timeout, else the admission deadline (an explicit `timeoutMs: undefined` means the default too).
        registry: { ...options.registry, timeoutMs: options.registry?.timeoutMs ?? options.timeoutMs ?? 8000 },
        ...(tagRefreshIntervalMs > 0
          ? {
              tagCache: {
                maxAgeMs: tagRefreshIntervalMs,
                ...defined({ idleMs: options.tagIdleMs, maxEntries: options.tagCacheSize }),
                onLookup: (result) => metrics.tagLookups.inc({ result }),
                onRefresh: (result) => metrics.tagRefreshes.inc({ result }),
              },
            }
          : {}),
      });
  const backend = options.backend ?? ownedBackend!;
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
  // Two stages of shutting down: `stopping` (readiness false, no keep-alive), and `abort`
  // (requests in flight are cut short: only when they overrun the deadline).
  let stopping = false;
  const abort = new AbortController();

  let tls: TlsServer;
  try {
    tls = await createTlsServer({
      certFile: options.tlsCertFile,
      keyFile: options.tlsKeyFile,
      pollIntervalMs: options.tlsPollIntervalMs ?? 10_000,
      metrics,
      log,
    });
  } catch (err) {
    await control.stop();
    await ownedBackend?.close();
    throw err;
  }
  const { server } = tls;
  // Admitted objects' pull secrets: read where the embedder says (in cluster mode, once the
  // cluster connection is up, from the Kubernetes API).
  let pullSecrets: PullSecretCredentials | undefined = options.objectCredentials
    ? new PullSecretCredentials(options.objectCredentials, options.pullSecretCache)
    : undefined;
  // The server listens before the policies load: loading TrustRoots may wait on their mirrors,
  // and meanwhile /healthz answers (a liveness probe must not restart a pod that is loading)
  // while /readyz answers 503 until the first policy set is in force.
  let policies: PolicySource | undefined;
  // Registry credentials (mounted pull secrets): re-read when they change.
  const stopCredentialWatch = ownedBackend
    ? watchCredentialFiles(
        ownedBackend.credentialFiles(),
        () => {
          ownedBackend.reloadCredentials();
          log('info', 'registry credential files changed; credentials will be read again', { files: ownedBackend.credentialFiles() });
        },
        defined({ pollIntervalMs: options.credentialPollIntervalMs, debounceMs: options.policyDebounceMs }),
      )
    : () => undefined;

  const limiter = new AdmissionLimiter(
    {
      maxConcurrent: options.maxConcurrentAdmissions ?? ADMISSION_LIMITS.maxConcurrent,
      maxBytes: options.maxInFlightBodyBytes ?? ADMISSION_LIMITS.maxBytes,
      maxQueued: options.maxQueuedAdmissions ?? ADMISSION_LIMITS.maxQueued,
      smallBytes: ADMISSION_LIMITS.smallBytes,
    },
    (state) => {
      metrics.admissionsInFlight.set(state.running);
      metrics.admissionBodyBytes.set(state.bytes);
      metrics.admissionsQueued.set(state.queued);
    },
  );
  const updateGauges = (): void => {
    metrics.cacheEntries.set(evaluator.cacheSize);
    metrics.tagCacheEntries.set(ownedBackend?.tagCacheSize ?? 0);
  };
  server.on(
    'request',
    createRouter({
      limiter,
      queueWaitMs: Math.floor(evaluator.timeoutMs / 2),
      evaluator,
      metrics,
      log,
      maxBodyBytes: options.maxBodyBytes ?? DEFAULT_MAX_BODY_BYTES,
      shuttingDown: () => stopping,
      abort: abort.signal,
      policyRejection: () => (policies ? policies.rejection() : 'loading the policies and their TrustRoots'),
      sourceReady: () => policies?.ready() ?? false,
      validatePolicyObject: (object) => (policies ? policies.validate(object) : validatePolicyObject(object)),
      pullSecrets: () => pullSecrets,
      beforeMetrics: updateGauges,
      ...(control.renderMetrics ? { renderMetrics: control.renderMetrics } : {}),
    }),
  );
  server.on('tlsClientError', (err: Error, socket: Socket) => {
    log('debug', 'TLS handshake failed', { error: err.message, remote: socket.remoteAddress ?? null });
  });
  // The API server keeps connections open; a slow client must not hold a socket forever.
  server.headersTimeout = 10_000;
  server.requestTimeout = 30_000;
  server.keepAliveTimeout = 65_000;

  let audit: { stop(): Promise<void> } | undefined;
  const stopAll = async (): Promise<void> => {
    await audit?.stop();
    await policies?.stop();
    stopCredentialWatch();
    await control.stop();
    tls.stopWatching();
    await ownedBackend?.close();
  };
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
    await stopAll();
    throw new ImgverifyError('INVALID_OPTIONS', `cannot listen on port ${port}: ${errorMessage(err)}`, { cause: err });
  }
  const onUnhandledRejection = unhandledRejectionHandler(metrics, log);
  if (options.surviveUnhandledRejections) process.on('unhandledRejection', onUnhandledRejection);
  const address = server.address() as AddressInfo;
  const host = options.host && options.host !== '0.0.0.0' && options.host !== '::' ? options.host : '127.0.0.1';
  // 'listening' keeps its meaning for those who wait for it (serving, the first policy load
  // done); this line says the socket is open while the policies load.
  if (!control.quiet) log('info', 'accepting connections; loading the policies', { port: address.port, address: address.address });
  try {
    policies = await control.startPolicies(evaluator, { updateGauges, reloadTls: tls.reload });
    // In cluster mode, without an embedder's source, the pull secrets come from the cluster.
    if (pullSecrets === undefined && policies.objects !== undefined) pullSecrets = new PullSecretCredentials(policies.objects, options.pullSecretCache);
    if (options.audit) audit = await startAudit(options, options.audit, { evaluator, metrics, log, pullSecrets: () => pullSecrets });
  } catch (err) {
    await new Promise<void>((resolve) => server.close(() => resolve()));
    await stopAll();
    process.off('unhandledRejection', onUnhandledRejection);
    throw err;
  }
  if (!control.quiet)
    log('info', 'listening', {
      port: address.port,
      address: address.address,
      timeoutMs: evaluator.timeoutMs,
      noMatch: evaluator.noMatch,
      ready: evaluator.ready && policies.ready(),
    });

  let closed: Promise<void> | undefined;
  return {
    port: address.port,
    url: `https://${host.includes(':') ? `[${host}]` : host}:${address.port}`,
    metrics,
    evaluator,
    ready: () => evaluator.ready && policies.ready() && !stopping,
    reloadTls: tls.reload,
    refreshTrust: control.refreshTrust,
    close: () => {
      closed ??= (async () => {
        // 1. Not ready: the kubelet's probe fails and the endpoint is removed; meanwhile
        //    requests still routed here are served as usual.
        stopping = true;
        metrics.ready.set(0);
        const delay = options.shutdownDelayMs ?? 0;
        if (delay > 0) {
          log('info', 'shutting down: not ready, still serving', { delayMs: delay });
          await new Promise((resolve) => setTimeout(resolve, delay));
        }
        // 2. Stop accepting; idle keep-alive connections close now, busy ones after their
        //    answer (no keep-alive while stopping). Requests in flight finish within the
        //    evaluator's deadline; past it (and a margin to write the answer) they are
        //    aborted (a denial) and their connections closed.
        const graceMs = evaluator.timeoutMs + 2000;
        log('info', 'shutting down: no longer accepting connections', { graceMs });
        await new Promise<void>((resolve) => {
          const overrun = setTimeout(() => {
            abort.abort(new ImgverifyError('ABORTED', 'the webhook is shutting down'));
            setTimeout(() => server.closeAllConnections(), 1000).unref();
          }, graceMs);
          overrun.unref();
          server.close(() => {
            clearTimeout(overrun);
            resolve();
          });
          server.closeIdleConnections();
        });
        // 3. Nothing is in flight: stop watching and release the registry connections.
        await stopAll();
        process.off('unhandledRejection', onUnhandledRejection);
      })();
      return closed;
    },
  };
}

/** `surviveUnhandledRejections`: logs and counts a rejection nobody handled (a worker's primary installs it too). */
export function unhandledRejectionHandler(metrics: WebhookMetrics, log: Logger): (reason: unknown) => void {
  return (reason) => {
    metrics.unhandledRejections.inc();
    log('error', 'unhandled promise rejection (a bug; the webhook keeps serving)', {
      error: errorMessage(reason),
      ...(reason instanceof Error && reason.stack ? { stack: reason.stack } : {}),
    });
  };
}

/** Where the policies in force come from: a folder, the cluster, or a worker's primary. */
export interface PolicySource {
  /** Why the source's content is not in force (or not ready), if it is not (/readyz). */
  readonly rejection: () => string | undefined;
  readonly ready: () => boolean;
  readonly validate: PolicyObjectValidator;
  readonly stop: () => void | Promise<void>;
  /** Cluster mode: where admitted objects' Secrets and ServiceAccounts are read. */
  readonly objects?: ObjectCredentialSource;
}

export async function startPolicySource(
  options: WebhookServerOptions,
  parts: { evaluator: PolicyEvaluator; trust: TrustRefresher; metrics: WebhookMetrics; log: Logger },
): Promise<PolicySource> {
  const { evaluator, trust, metrics, log } = parts;
  const allowEmpty = options.allowEmptyPolicies === true;
  if (options.kubernetes !== undefined) {
    // Loaded only in cluster mode: the folder mode never loads the Kubernetes client.
    // eslint-disable-next-line @typescript-eslint/no-require-imports -- a lazy load, as the CLI's commands are
    const { startClusterPolicies } = require('./kube/cluster-policies') as typeof import('./kube/cluster-policies');
    const { writeStatus, ...connection } = options.kubernetes;
    const source = await startClusterPolicies({ connection, evaluator, trust, metrics, log, allowEmpty, ...(writeStatus === false ? { writeStatus } : {}) });
    // eslint-disable-next-line @typescript-eslint/no-require-imports -- with the rest of cluster mode
    const { kubeObjectCredentialSource } = require('./kube/object-credentials') as typeof import('./kube/object-credentials');
    return {
      rejection: () => source.notReadyReason(),
      ready: () => source.ready(),
      validate: (object) => source.validate(object),
      stop: () => source.stop(),
      objects: kubeObjectCredentialSource(source.api),
    };
  }
  const reload = await startPolicyReload({
    // The TrustRoot documents of a set are loaded (concurrently) before it is in force; those
    // that fail, fail closed. Until the first set is in force, /readyz answers 503.
    prepare: async (set) => {
      await trust.load(set);
      return { trustRoots: trust.roots };
    },
    dir: options.policiesDir!,
    evaluator,
    // signaturePullSecrets name Secrets of the admitted object's namespace: in a folder only an
    // embedder's objectCredentials can read them; without, such a set does not load.
    ...(options.objectCredentials ? {} : { refuse: (set: PolicySet) => signaturePullSecretErrors(set.policies, 'a policy folder') }),
    metrics,
    log,
    allowEmpty,
    ...defined({ debounceMs: options.policyDebounceMs, pollIntervalMs: options.policyPollIntervalMs }),
  });
  return { rejection: reload.lastRejection, ready: () => true, validate: (object) => validatePolicyObject(object), stop: reload.stop };
}

/**
 * The periodic audit (kube/audit-loop.ts): its own module, started once the policies are, over
 * cluster mode's connection options (else `audit.connection`). Loaded only when asked for.
 */
export async function startAudit(
  options: WebhookServerOptions,
  audit: WebhookAuditOptions,
  parts: { evaluator: PolicyEvaluator; metrics: WebhookMetrics; log: Logger; pullSecrets: () => PullSecretCredentials | undefined },
): Promise<{ stop(): Promise<void> }> {
  if (!(Number.isFinite(audit.intervalMs) && audit.intervalMs >= 1000))
    throw new ImgverifyError('INVALID_OPTIONS', `audit.intervalMs must be at least 1000, got ${audit.intervalMs}`);
  // eslint-disable-next-line @typescript-eslint/no-require-imports -- a lazy load, as cluster mode's
  const { startAuditLoop } = require('./kube/audit-loop') as typeof import('./kube/audit-loop');
  const source: KubernetesSourceOptions = options.kubernetes ?? audit.connection ?? {};
  const { writeStatus: _writeStatus, ...connection } = source;
  return startAuditLoop({
    connection,
    ...parts,
    intervalMs: audit.intervalMs,
    ...(audit.writeReports ? { writeReports: true } : {}),
    ...(audit.concurrency !== undefined ? { concurrency: audit.concurrency } : {}),
  });
}
