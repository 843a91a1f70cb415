/**
 * The webhook on several processes (`workers` > 1, node:cluster): every core serves admissions,
 * one process reads the policies.
 *
 *   primary (one process)                                  workers (N, one shared port)
 *   ───────────────────                                    ─────────────────────────────
 *   the policy source: a folder, or the cluster's          HTTPS, the routes, the staged
 *     informers, Secrets, statuses                         shutdown, the evaluator with its
 *   TrustRoots and the default trust (TUF loads and        verdict and tag caches, the
 *     refreshes, one TUF cache writer)                     backend (registry client, pull
 *   readiness of all, /metrics of all                      secret reads), the certificate
 *          │ state: the policy set and trust as data (./worker-state) ──────────────► applied
 *          │ readiness (source ready, every worker serving a set) ─────────────────► /readyz
 *          │ shutdown ───────────────────────────────────────────────────────────► staged close
 *          ◄── hello, listening, applied; calls: /metrics (each worker's snapshot, added up),
 *              apply-time validation and Secret/ServiceAccount reads (cluster mode)
 *
 * Why one reader: N informers per replica would multiply the API server's watch load and race
 * on status writes, and N TUF clients would write one cache. Why per-worker caches: a worker
 * answers a warm admission from memory, with no round trip to another process; each worker's
 * verdicts are keyed by the same policy-set and trust versions, its tags bounded by the same
 * refresh interval, so each is correct on its own. The cost is up to N cold verifications of a
 * digest and N background refreshes of a tag (docs/webhook.md, "Workers").
 *
 * A worker that exits unexpectedly is forked again (backoff); the webhook is not ready until it
 * serves. A worker whose primary is gone closes (it could no longer follow policy changes).
 */
import cluster, { type Worker } from 'node:cluster';
import { ImgverifyError, type TrustEntry } from '../index';
import { errorMessage } from '../util/describe';
import { isRecord } from '../util/shape';
import { PolicyEvaluator } from './evaluate';
import { jsonLogger, type Logger } from './log';
import { WebhookMetrics, type MetricSnapshot } from './metrics';
import type { PolicySet } from './policy-folder';
import { validatePolicyObject } from './policy-objects';
import { PullSecretCredentials, type ObjectCredentialSource } from './pull-secrets';
import {
  DEFAULT_PORT,
  serveWebhook,
  startAudit,
  startPolicySource,
  startTrustRefresher,
  WORKER_ENV,
  type PolicySource,
  type RunningWebhookServer,
  type WebhookServerOptions,
  unhandledRejectionHandler,
} from './server';
import { createTlsServer } from './tls-reload';
import { DEFAULT_TRUST_REFRESH_INTERVAL_MS } from './trust-refresh';
import type { ResolvedTrustRoot, TrustRootSet } from './trust-root-set';
import { VerifierBackend } from './verifier-backend';
import { Channel, type Endpoint } from './worker-channel';
import { ReceivedTrust, receivedPolicies, transferState, type TransferredState } from './worker-state';

/** What the primary says about readiness: the source's, and whether every worker serves a set. */
interface Readiness {
  readonly ready: boolean;
  readonly reason?: string;
}

/** The primary's answer to a worker's hello. */
interface Hello {
  readonly seq: number;
  readonly state: TransferredState;
  readonly readiness: Readiness;
  /** Cluster mode: validation and Secret reads go through the primary. */
  readonly cluster: boolean;
}

/** How long a worker waits for its primary's answers (pull secrets, validation, /metrics). */
const CALL_TIMEOUT_MS = 5000;
/** A worker that exits unexpectedly is forked again after this, doubling while it keeps failing, up to the max. */
const RESTART_DELAY_MS = 500;
const MAX_RESTART_DELAY_MS = 30_000;
/** Readiness is computed again this often (the source's own readiness changes without a notice). */
const READINESS_POLL_MS = 1000;

// --- The primary ------------------------------------------------------------------------------------

interface WorkerState {
  readonly id: number;
  readonly worker: Worker;
  readonly channel: Channel;
  listening: boolean;
  /** The policy set version the worker has in force. */
  version: string | undefined;
}

/** The primary: reads the policies and the trust, forks `count` workers and keeps them in step. */
export async function startWebhookPrimary(options: WebhookServerOptions, count: number): Promise<RunningWebhookServer> {
  const log = options.log ?? jsonLogger;
  const metrics = new WebhookMetrics();
  // The TLS pair is checked here too: a bad one fails the start (exit 2) before any worker.
  const tlsCheck = await createTlsServer({
    certFile: options.tlsCertFile,
    keyFile: options.tlsKeyFile,
    pollIntervalMs: 0,
    metrics: new WebhookMetrics(),
    log: () => undefined,
  });
  tlsCheck.stopWatching();
  // The primary is the process the API server's requests depend on too (every worker stops without it).
  const onUnhandledRejection = unhandledRejectionHandler(metrics, log);
  if (options.surviveUnhandledRejections) process.on('unhandledRejection', onUnhandledRejection);
  const stopSurviving = (): void => void process.off('unhandledRejection', onUnhandledRejection);

  // The primary's evaluator never decides an admission: it puts each set in force as a single
  // process would (compiling every authority, finding those that can never pass, checking URLs)
  // and the workers receive what it put in force.
  const backend =
    options.backend ??
    new VerifierBackend({
      ...(options.trustedRoot !== undefined ? { trustedRoot: options.trustedRoot } : {}),
      registry: { ...options.registry, timeoutMs: options.registry?.timeoutMs ?? options.timeoutMs ?? 8000 },
    });
  let active: { set: Pick<PolicySet, 'version' | 'policies'>; roots: readonly ResolvedTrustRoot[] } | undefined;
  let publish = (): void => undefined;
  class PrimaryEvaluator extends PolicyEvaluator {
    override setPolicies(set: Pick<PolicySet, 'policies' | 'version' | 'errors'>, opts: { readonly trustRoots?: TrustRootSet } = {}): void {
      const before = this.version;
      super.setPolicies(set, opts);
      if (this.version === before) return;
      // The roots the set was put in force with (a later load replaces the TrustRootSet's content).
      active = { set: { version: set.version, policies: set.policies }, roots: opts.trustRoots?.all ?? [] };
      publish();
    }
  }
  const evaluator = new PrimaryEvaluator({ backend, metrics, ...(options.noMatch !== undefined ? { noMatch: options.noMatch } : {}) });
  const trust = startTrustRefresher(options, metrics, log, false);
  const defaults = (): readonly TrustEntry[] => (backend.defaultTrust?.() ?? []) as readonly TrustEntry[];

  let seq = 0;
  let published = transferState(undefined, [], defaults());
  let publishedText = JSON.stringify(published);
  const workers = new Map<number, WorkerState>();
  let stopping = false;
  let policies: PolicySource | undefined;
  let readiness: Readiness = { ready: false, reason: 'loading the policies and their TrustRoots' };

  publish = (): void => {
    const state = transferState(active?.set, active?.roots ?? [], defaults());
    const text = JSON.stringify(state);
    if (text === publishedText) return;
    published = state;
    publishedText = text;
    seq++;
    for (const w of workers.values()) w.channel.notify('state', { seq, state });
  };

  const computeReadiness = (): Readiness => {
    if (stopping) return { ready: false, reason: 'shutting down' };
    if (!policies) return { ready: false, reason: 'loading the policies and their TrustRoots' };
    const rejection = policies.rejection();
    if (!evaluator.ready) return { ready: false, reason: `no valid policy set loaded${rejection ? `: ${rejection}` : ''}` };
    if (!policies.ready()) return { ready: false, reason: rejection ?? 'the policy source is not ready' };
    const serving = [...workers.values()].filter((w) => w.listening && w.version !== undefined);
    if (serving.length < count) return { ready: false, reason: `${serving.length} of ${count} workers serve a policy set` };
    // Ready; a rejected newer folder is still said, as a single process says it.
    return { ready: true, ...(rejection ? { reason: rejection } : {}) };
  };
  let readinessText = JSON.stringify(readiness);
  let everReady = false;
  const updateReadiness = (): void => {
    const before = readiness;
    readiness = computeReadiness();
    metrics.ready.set(readiness.ready ? 1 : 0);
    // Changes after the first time ready are worth a line (a worker lost, the source unreadable).
    if (everReady && before.ready !== readiness.ready && !stopping)
      log(readiness.ready ? 'info' : 'warn', readiness.ready ? 'ready again' : 'not ready', readiness.reason ? { reason: readiness.reason } : {});
    everReady ||= readiness.ready;
    const text = JSON.stringify(readiness);
    if (text === readinessText) return;
    readinessText = text;
    for (const w of workers.values()) w.channel.notify('readiness', readiness);
  };

  // Every worker's metrics, added up (a scrape of the shared port sees the whole webhook).
  const renderAll = async (): Promise<string> => {
    const snapshots = await Promise.all(
      [...workers.values()].map((w) =>
        w.channel.call('snapshot', null, CALL_TIMEOUT_MS).then(
          (s) => (isRecord(s) ? (s as Record<string, MetricSnapshot>) : undefined),
          () => undefined,
        ),
      ),
    );
    return WebhookMetrics.aggregate(
      metrics.snapshot(),
      snapshots.filter((s): s is Record<string, MetricSnapshot> => s !== undefined),
    ).render();
  };

  let firstListen: { resolve: (port: number) => void; reject: (err: Error) => void } | undefined;
  const listened = new Promise<number>((resolve, reject) => (firstListen = { resolve, reject }));
  listened.catch(() => undefined);
  let port: number | undefined;
  const restarts = new Map<number, number>();

  const fork = (id: number): void => {
    const worker = cluster.fork({ [WORKER_ENV]: String(id) });
    const channel = new Channel(worker, `worker ${id}`);
    const state: WorkerState = { id, worker, channel, listening: false, version: undefined };
    workers.set(id, state);
    channel
      .handle('hello', (): Hello => ({ seq, state: published, readiness, cluster: options.kubernetes !== undefined }))
      .handle('metrics', () => renderAll())
      .handle('validate', (object) => (policies ? policies.validate(object) : validatePolicyObject(object)))
      .handle('secret', (args) => objects().getSecret(...namespaceAndName(args)))
      .handle('serviceAccount', (args) => objects().getServiceAccount(...namespaceAndName(args)))
      .handle('refreshTrust', () => refreshTrust())
      .listen('listening', (payload) => {
        state.listening = true;
        const at = isRecord(payload) && typeof payload.port === 'number' ? payload.port : undefined;
        if (at !== undefined && port === undefined) {
          port = at;
        }
        if ([...workers.values()].every((w) => w.listening)) firstListen?.resolve(port ?? at ?? 0);
        restarts.delete(id);
        updateReadiness();
      })
      .listen('applied', (payload) => {
        state.version = isRecord(payload) && typeof payload.version === 'string' ? payload.version : undefined;
        updateReadiness();
      });
    worker.on('exit', (code, signal) => {
      channel.close('exited');
      if (workers.get(id) === state) workers.delete(id);
      if (stopping) return;
      const why = `worker ${id} exited (${signal ?? `code ${code}`})`;
      if (!state.listening && port === undefined) {
        // At start: the workers could not serve (the port is taken, a file cannot be read).
        firstListen?.reject(new ImgverifyError('INVALID_OPTIONS', `${why} before it listened; see its messages above`));
        return;
      }
      const delay = Math.min(MAX_RESTART_DELAY_MS, (restarts.get(id) ?? RESTART_DELAY_MS / 2) * 2);
      restarts.set(id, delay);
      log('error', 'webhook worker exited; starting it again', { worker: id, code, signal, restartInMs: delay });
      updateReadiness();
      setTimeout(() => {
        if (!stopping) fork(id);
      }, delay).unref();
    });
  };

  const objects = (): ObjectCredentialSource => {
    const source = policies?.objects;
    if (!source) throw new ImgverifyError('INVALID_OPTIONS', 'pull secrets are read in cluster mode only');
    return source;
  };

  const refreshTrust = async (): Promise<void> => {
    await trust.refresh();
    publish();
  };

  cluster.setupPrimary({ serialization: 'advanced' });
  for (let id = 1; id <= count; id++) fork(id);
  const stopWorkers = async (): Promise<void> => {
    stopping = true;
    const exits = [...workers.values()].map((w) => new Promise<void>((resolve) => (w.worker.isDead() ? resolve() : w.worker.once('exit', () => resolve()))));
    for (const w of workers.values()) w.channel.notify('shutdown', null);
    // Each worker's staged shutdown: the delay, then its requests in flight within the deadline.
    const boundMs = (options.shutdownDelayMs ?? 0) + (options.timeoutMs ?? 8000) + 2000 + 5000;
    const overdue = setTimeout(() => {
      for (const w of workers.values()) if (!w.worker.isDead()) w.worker.process.kill('SIGKILL');
    }, boundMs);
    overdue.unref();
    await Promise.all(exits);
    clearTimeout(overdue);
  };
  // A start that fails leaves nothing running.
  const abandon = async (err: unknown): Promise<never> => {
    await stopWorkers();
    trust.stop();
    if (!options.backend) await (backend as VerifierBackend).close();
    stopSurviving();
    throw err;
  };
  const listenedPort = await listened.catch(abandon);
  const host = options.host && options.host !== '0.0.0.0' && options.host !== '::' ? options.host : '127.0.0.1';
  log('info', 'accepting connections; loading the policies', { port: listenedPort, workers: count });

  // The periodic audit runs here alone (one Pods informer, one writer of reports per replica).
  let audit: { stop(): Promise<void> } | undefined;
  try {
    policies = await startPolicySource(options, { evaluator, trust, metrics, log });
    const source = options.objectCredentials ?? policies.objects;
    const pullSecrets = source ? new PullSecretCredentials(source, options.pullSecretCache) : undefined;
    if (options.audit) audit = await startAudit(options, options.audit, { evaluator, metrics, log, pullSecrets: () => pullSecrets });
  } catch (err) {
    await policies?.stop();
    return abandon(err);
  }
  publish();
  updateReadiness();
  const poll = setInterval(updateReadiness, READINESS_POLL_MS);
  poll.unref();
  const refreshTimer =
    (options.trustRefreshIntervalMs ?? DEFAULT_TRUST_REFRESH_INTERVAL_MS) > 0
      ? setInterval(() => void refreshTrust(), options.trustRefreshIntervalMs ?? DEFAULT_TRUST_REFRESH_INTERVAL_MS)
      : undefined;
  refreshTimer?.unref();
  log('info', 'listening', {
    port: listenedPort,
    timeoutMs: evaluator.timeoutMs,
    noMatch: evaluator.noMatch,
    ready: evaluator.ready && policies.ready(),
    workers: count,
  });

  let closed: Promise<void> | undefined;
  return {
    port: listenedPort,
    url: `https://${host.includes(':') ? `[${host}]` : host}:${listenedPort ?? options.port ?? DEFAULT_PORT}`,
    metrics,
    evaluator,
    ready: () => readiness.ready,
    reloadTls: async () => {
      const results = await Promise.all([...workers.values()].map((w) => w.channel.call('reloadTls', null, CALL_TIMEOUT_MS).catch(() => false)));
      return results.length > 0 && results.every((r) => r === true);
    },
    refreshTrust,
    close: () => {
      closed ??= (async () => {
        stopping = true;
        updateReadiness();
        log('info', 'shutting down the workers', { workers: workers.size, delayMs: options.shutdownDelayMs ?? 0 });
        await stopWorkers();
        clearInterval(poll);
        if (refreshTimer) clearInterval(refreshTimer);
        await audit?.stop();
        await policies?.stop();
        trust.stop();
        if (!options.backend) await (backend as VerifierBackend).close();
        stopSurviving();
      })();
      return closed;
    },
  };
}

function namespaceAndName(args: unknown): [string, string] {
  if (isRecord(args) && typeof args.namespace === 'string' && typeof args.name === 'string') return [args.namespace, args.name];
  throw new ImgverifyError('INVALID_OPTIONS', 'expected a namespace and a name');
}

// --- A worker ----------------------------------------------------------------------------------------

/** A worker: serves on the shared port with the policy set and trust its primary hands it. */
export async function startWebhookWorker(options: WebhookServerOptions): Promise<RunningWebhookServer> {
  const base = options.log ?? jsonLogger;
  const id = Number(process.env[WORKER_ENV]);
  const log: Logger = (level, message, fields) => base(level, message, { worker: id, ...fields });
  const metrics = new WebhookMetrics();
  const channel = new Channel(process as unknown as Endpoint, 'the primary');
  const hello = (await channel.call('hello', null, 30_000)) as Hello;
  const trust = new ReceivedTrust(hello.state.defaults);
  let readiness: Readiness = hello.readiness;
  channel.listen('readiness', (payload) => {
    if (isRecord(payload) && typeof payload.ready === 'boolean') readiness = payload as unknown as Readiness;
  });
  const remoteObjects: ObjectCredentialSource = {
    getSecret: (namespace, name) => channel.call('secret', { namespace, name }, CALL_TIMEOUT_MS),
    getServiceAccount: (namespace, name) => channel.call('serviceAccount', { namespace, name }, CALL_TIMEOUT_MS),
  };

  const server = await serveWebhook(
    { ...options, audit: undefined },
    {
      metrics,
      log,
      quiet: true,
      trustedRoot: trust.defaults,
      startPolicies: (evaluator, serving) => {
        const apply = (payload: unknown): void => {
          if (!isRecord(payload) || typeof payload.seq !== 'number') return;
          const state = payload.state as TransferredState;
          try {
            const trustRoots = trust.update(state);
            if (state.version !== undefined)
              evaluator.setPolicies({ version: state.version, policies: receivedPolicies(state.policies), errors: [] }, { trustRoots });
          } catch (err) {
            // The primary put this set in force; a worker that cannot keeps the one it has, and says so.
            log('error', 'webhook worker cannot apply the policy set', { error: errorMessage(err), version: state.version ?? null });
          }
          channel.notify('applied', { seq: payload.seq, ...(evaluator.version !== undefined ? { version: evaluator.version } : {}) });
        };
        apply({ seq: hello.seq, state: hello.state });
        channel.listen('state', apply);
        channel.handle('snapshot', () => {
          serving.updateGauges();
          return metrics.snapshot();
        });
        channel.handle('reloadTls', () => serving.reloadTls());
        const source: PolicySource = {
          rejection: () => readiness.reason,
          ready: () => readiness.ready,
          validate: hello.cluster
            ? async (object) => checkedMessages(await channel.call('validate', object, CALL_TIMEOUT_MS))
            : (object) => validatePolicyObject(object),
          stop: () => undefined,
          ...(hello.cluster ? { objects: remoteObjects } : {}),
        };
        return Promise.resolve(source);
      },
      renderMetrics: async () => {
        const text = await channel.call('metrics', null, CALL_TIMEOUT_MS);
        if (typeof text !== 'string') throw new ImgverifyError('INTERNAL_ERROR', 'the primary answered /metrics with no text');
        return text;
      },
      refreshTrust: async () => {
        await channel.call('refreshTrust', null, 60_000);
      },
      stop: () => channel.close('the worker is closing'),
    },
  );
  channel.notify('listening', { port: server.port });

  let closing: Promise<void> | undefined;
  const close = (): Promise<void> => {
    closing ??= (async () => {
      await server.close();
      // Nothing of this worker is left to run: let the process end (and make sure it does).
      if (process.connected) process.disconnect();
      setTimeout(() => process.exit(), 2000).unref();
    })();
    return closing;
  };
  channel.listen('shutdown', () => void close());
  // Without its primary a worker could no longer follow the policies: it stops (gracefully).
  process.once('disconnect', () => void close());
  return { ...server, close };
}

function checkedMessages(value: unknown): readonly string[] {
  if (Array.isArray(value) && value.every((m) => typeof m === 'string')) return value;
  throw new ImgverifyError('INTERNAL_ERROR', 'the primary answered a validation with no messages');
}
