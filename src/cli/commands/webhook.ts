/** `imgverify webhook`: the Kubernetes admission webhook server (see docs/webhook.md). */
import { parseArgs, type ParseArgsConfig } from 'node:util';
import { defaultTufCacheDir, loadCredentialProviders, type RegistryClientOptions } from '../..';
import cluster from 'node:cluster';
import {
  DEFAULT_PORT,
  EVALUATOR_DEFAULTS,
  isWebhookWorker,
  MAX_WORKERS,
  NO_MATCH_ACTIONS,
  startWebhookServer,
  TAG_CACHE_DEFAULTS,
  type Logger,
  type LogLevel,
  type NoMatchAction,
} from '../../webhook';
import { clientCertificatesFromFlags, credentialHosts, parseDuration, registryTransportFromFlags } from '../common-flags';
import type { CommandIO } from '../io';
import { TRUST_FLAGS, trustFromFlags, trustHelp } from '../trust-flags';
import { usageError } from '../usage-error';
import { usableCpus } from '../../util/cpus';
import { defined } from '../../util/object';

const WEBHOOK_USAGE = `Usage: imgverify webhook [--policies DIR] --tls-cert FILE --tls-key FILE [flags]

Serves the Kubernetes admission webhook over HTTPS: POST /validate (allow or deny; and
apply-time validation of ClusterImagePolicy and TrustRoot objects), POST /mutate (pin images
to digests), GET /healthz, /readyz, /metrics.

Policies come from a folder (--policies), or else from the cluster: ClusterImagePolicy
(policy.sigstore.dev v1beta1/v1alpha1) and TrustRoot objects, watched, with their status
written back; key.secretRef and ca-cert.secretRef Secrets are read in --namespace.

  --policies DIR             folder of ClusterImagePolicy YAML/JSON files (a mounted ConfigMap); reloaded on change
  --kubeconfig FILE          without --policies: the cluster's kubeconfig (default: $KUBECONFIG, else the
                             in-cluster configuration of the Pod, else ~/.kube/config)
  --context NAME             a kubeconfig context other than the current one
  --namespace NS             where secretRef Secrets are read (default: the kubeconfig context's
                             namespace, else the Pod's, else imgverify-system)
  --tls-cert FILE            serving certificate chain (PEM); reloaded on change
  --tls-key FILE             its private key (PEM)
  --port N                   HTTPS port (default ${DEFAULT_PORT}; 0: any free port)
  --host ADDR                address to listen on (default: all)
  --timeout D                deadline for one admission request's verification (default 8s; keep it
                             below the webhook configuration's timeoutSeconds)
  --no-match allow|warn|deny images that no policy matches (default deny)
  --allow-empty-policies     accept a policy folder with no policies (default: such a folder
                             does not load: not ready at start, last good set kept on reload)
  --cache-ttl D              how long a passing verdict per (digest, policy) is kept (default 5m; 0: no cache)
  --cache-size N             most cached verdicts (default ${EVALUATOR_DEFAULTS.cacheSize})
  --tag-refresh-interval D   tags that admissions name are kept resolved in the background and used at
                             most this long after their resolution (a tag moved is seen within it;
                             refreshed at 2/3 of it; default ${TAG_CACHE_DEFAULTS.maxAgeMs / 1000}s, at most 10m; 0: every admission
                             by tag asks the registry)
  --tag-idle-timeout D       a tag no admission named for this long is no longer refreshed (default ${TAG_CACHE_DEFAULTS.idleMs / 60_000}m)
  --tag-cache-size N         most tags kept resolved (default ${TAG_CACHE_DEFAULTS.maxEntries})
${trustHelp(29)}
                             (a TUF root is refreshed from its mirror while the webhook runs; TrustRoot
                             documents in the policy folder bring their own, see docs/webhook.md)
  --docker-config FILE       registry credentials, docker config.json (default: $DOCKER_CONFIG/config.json,
                             then the containers auth.json files; credential helpers are run)
  --registry-config FILE     more credential files (mounted kubernetes.io/dockerconfigjson Secrets),
                             repeatable, consulted in order after --docker-config; all are
                             re-read when they change
  --image-credential-provider-config FILE --image-credential-provider-bin-dir DIR
                             kubelet credential provider plugins (the kubelet's own flags: a
                             CredentialProviderConfig file or folder, and the plugin folder), asked
                             for the images their matchImages match, after the admitted object's
                             pull secrets and before the credential files
  --allow-http-registry      plain http to any registry (loopback registries always use http)
  --registry-cacert FILE     extra CA certificates (PEM) for registry TLS
  --registry-client-cert FILE --registry-client-key FILE
                             client certificate and key (PEM) for registries that require mTLS,
                             presented only to the --registry-credentials-host registries; read at
                             start (restart to rotate them)
  --registry-credentials-host HOST
                             a registry the client certificate is for (repeatable; required with it)
  --audit-interval D         re-verify the images every running Pod runs, this often (e.g. 10m): Pods from
                             an informer (every namespace), imgverify_audit_* metrics, a run apart from
                             admissions (its own verdicts; 2 Pods at a time). With --policies, the Pods
                             are read through --kubeconfig/--context (else in-cluster). docs/audit.md
  --audit-concurrency N      Pods audited at once (default 2; each verifies up to 2 images at once)
  --write-reports            after each audit run, create or update one OpenReports Report per namespace
  --workers N                processes serving admissions (default: the CPUs this process may use,
                             os.availableParallelism() bounded by its cgroup's CPU quota (the
                             container's CPU limit), rounded down; 1: a single process); above 1 one
                             more process, the primary, reads the policies and the trust and hands
                             them to the workers
  --shutdown-delay D         on SIGTERM, keep serving this long with /readyz answering 503 before
                             refusing connections, so the pod leaves the Service first (default 0s)
  --log-level L              debug, info, warn or error (default info); JSON lines on stderr

Runs until SIGTERM or SIGINT, then shuts down gracefully: /readyz answers 503 at once, new
connections are refused after --shutdown-delay, requests in flight finish within --timeout,
then the process exits 0. Exit status 2 for a usage or configuration error.
`;

/** Flags the webhook and \`policy test\` share: how images are verified. */
export const VERIFICATION_FLAGS = {
  policies: { type: 'string' },
  'no-match': { type: 'string' },
  timeout: { type: 'string' },
  ...TRUST_FLAGS,
  'docker-config': { type: 'string' },
  'registry-config': { type: 'string', multiple: true },
  'image-credential-provider-config': { type: 'string' },
  'image-credential-provider-bin-dir': { type: 'string' },
  'allow-http-registry': { type: 'boolean' },
  'registry-cacert': { type: 'string' },
  'registry-client-cert': { type: 'string' },
  'registry-client-key': { type: 'string' },
  'registry-credentials-host': { type: 'string', multiple: true },
  'allow-empty-policies': { type: 'boolean' },
  help: { type: 'boolean', short: 'h' },
} as const satisfies NonNullable<ParseArgsConfig['options']>;

type Values = Record<string, string | boolean | string[] | undefined>;

function str(values: Values, name: string): string | undefined {
  const v = values[name];
  return typeof v === 'string' ? v : undefined;
}

/** The longest --cache-ttl: a day (a verdict is re-checked at least daily). */
const MAX_CACHE_TTL_MS = 24 * 60 * 60_000;
/** The longest --tag-refresh-interval: it is the bound on how late a moved tag is seen. */
const MAX_TAG_REFRESH_MS = 10 * 60_000;

export function noMatchFromFlags(values: Values): NoMatchAction {
  const value = str(values, 'no-match') ?? EVALUATOR_DEFAULTS.noMatch;
  if (!NO_MATCH_ACTIONS.includes(value as NoMatchAction)) throw usageError(`--no-match must be allow, warn or deny, got "${value}"`);
  return value as NoMatchAction;
}

/**
 * Registry options: credential files (never echoed: only their paths), http, CA, timeout,
 * the environment (proxies, default credential files). `--docker-config F` and
 * `--registry-config F...` (mounted pull secrets) are consulted in that order, first answer
 * per registry wins; without either, the default chain (docker config, containers auth files).
 */
export function registryFromFlags(values: Values, env: NodeJS.ProcessEnv, timeoutMs: number, command: string): RegistryClientOptions {
  // Images come from Pods (untrusted): the client certificate goes only to the hosts named.
  const clientCertificates = clientCertificatesFromFlags(values, credentialHosts(values, undefined, command));
  const dockerConfig = str(values, 'docker-config');
  const extra = values['registry-config'];
  const files = Array.isArray(extra) ? extra : typeof extra === 'string' ? [extra] : [];
  if (files.some((f) => f === '')) throw usageError('--registry-config needs a file');
  return {
    ...registryTransportFromFlags(values),
    ...(clientCertificates !== undefined ? { clientCertificates } : {}),
    env,
    ...(dockerConfig !== undefined ? { dockerConfigPath: dockerConfig } : {}),
    ...(files.length > 0 ? { credentialFiles: files } : {}),
    timeoutMs: Math.ceil(timeoutMs),
  };
}

/**
 * Kubelet credential provider plugins from `--image-credential-provider-config` and
 * `--image-credential-provider-bin-dir` (both or neither), loaded and checked now: a bad
 * configuration or a missing plugin is a configuration error (exit 2) at start.
 */
export async function credentialProvidersFromFlags(values: Values, env: NodeJS.ProcessEnv): Promise<Pick<RegistryClientOptions, 'credentialProviders'>> {
  const config = str(values, 'image-credential-provider-config');
  const binDir = str(values, 'image-credential-provider-bin-dir');
  if (config === undefined && binDir === undefined) return {};
  if (config === undefined || config === '' || binDir === undefined || binDir === '') {
    throw usageError('--image-credential-provider-config and --image-credential-provider-bin-dir go together (as in the kubelet)');
  }
  return { credentialProviders: await loadCredentialProviders({ config, binDir }, { env }) };
}

export function requiredFlag(values: Values, name: string): string {
  const value = str(values, name);
  if (value === undefined || value === '') throw usageError(`--${name} is required`);
  return value;
}

const LEVELS: readonly LogLevel[] = ['debug', 'info', 'warn', 'error'];

export function jsonLines(io: CommandIO, minimum: LogLevel): Logger {
  const floor = LEVELS.indexOf(minimum);
  return (level, message, fields = {}) => {
    if (LEVELS.indexOf(level) < floor) return;
    io.stderr(`${JSON.stringify({ time: new Date().toISOString(), level, msg: message, ...fields })}\n`);
  };
}

function integer(values: Values, name: string, fallback: number, min: number, max: number): number {
  const text = str(values, name);
  if (text === undefined) return fallback;
  const n = Number(text);
  if (!/^\d+$/.test(text) || !Number.isSafeInteger(n) || n < min || n > max)
    throw usageError(`--${name} must be an integer from ${min} to ${max}, got "${text}"`);
  return n;
}

/** The message a worker's log line travels in to its primary. */
interface WorkerLine {
  readonly imgverifyLogLine: string;
}

function sendToPrimary(text: string): void {
  const line: WorkerLine = { imgverifyLogLine: text };
  if (process.connected) process.send?.(line);
  else process.stderr.write(text);
}

/** The primary writes its workers' log lines (each arrives whole: one line, one write). */
function forwardWorkerLines(io: CommandIO): void {
  cluster.on('message', (_worker, message: unknown) => {
    if (typeof message === 'object' && message !== null && typeof (message as WorkerLine).imgverifyLogLine === 'string')
      io.stderr((message as WorkerLine).imgverifyLogLine);
  });
}

/** Resolves when the process is asked to stop (SIGTERM, SIGINT). */
function stopSignal(): Promise<NodeJS.Signals> {
  return new Promise((resolve) => {
    const on = (signal: NodeJS.Signals): void => {
      process.off('SIGTERM', on);
      process.off('SIGINT', on);
      resolve(signal);
    };
    process.on('SIGTERM', on);
    process.on('SIGINT', on);
  });
}

/** `until` (tests) replaces waiting for SIGTERM/SIGINT. */
export async function webhookCommand(argv: string[], io: CommandIO, until?: Promise<unknown>): Promise<number> {
  const { values, positionals } = parseArgs({
    args: argv,
    options: {
      ...VERIFICATION_FLAGS,
      'tls-cert': { type: 'string' },
      'tls-key': { type: 'string' },
      port: { type: 'string' },
      host: { type: 'string' },
      'cache-ttl': { type: 'string' },
      'cache-size': { type: 'string' },
      'tag-refresh-interval': { type: 'string' },
      'tag-idle-timeout': { type: 'string' },
      'tag-cache-size': { type: 'string' },
      'log-level': { type: 'string' },
      'shutdown-delay': { type: 'string' },
      workers: { type: 'string' },
      kubeconfig: { type: 'string' },
      context: { type: 'string' },
      namespace: { type: 'string' },
      'audit-interval': { type: 'string' },
      'audit-concurrency': { type: 'string' },
      'write-reports': { type: 'boolean' },
    },
    allowPositionals: true,
    strict: true,
  });
  if (values.help) {
    io.stdout(WEBHOOK_USAGE);
    return 0;
  }
  if (positionals.length > 0) throw usageError(`webhook takes no arguments, got "${positionals[0]}"`);
  const policiesDir = str(values, 'policies');
  if (policiesDir === '') throw usageError('--policies needs a folder');
  const auditIntervalMs = values['audit-interval'] !== undefined ? parseDuration(values['audit-interval'], '--audit-interval') : undefined;
  if (auditIntervalMs !== undefined && auditIntervalMs < 1000) throw usageError('--audit-interval must be at least 1s');
  for (const f of ['write-reports', 'audit-concurrency'] as const)
    if (values[f] !== undefined && auditIntervalMs === undefined) throw usageError(`--${f} goes with --audit-interval`);
  // With --policies, --kubeconfig and --context say where the audit reads the Pods.
  const clusterFlags = (['kubeconfig', 'context', 'namespace'] as const).filter(
    (f) => values[f] !== undefined && !(auditIntervalMs !== undefined && f !== 'namespace'),
  );
  if (policiesDir !== undefined && clusterFlags.length > 0)
    throw usageError(`--${clusterFlags[0]} reads policies from the cluster; it cannot be combined with --policies`);
  for (const f of ['kubeconfig', 'context', 'namespace'] as const) if (values[f] === '') throw usageError(`--${f} needs a value`);
  const connection = { env: io.env, ...defined({ kubeconfig: values.kubeconfig, context: values.context }) };
  const tlsCertFile = requiredFlag(values, 'tls-cert');
  const tlsKeyFile = requiredFlag(values, 'tls-key');
  const timeoutMs = values.timeout !== undefined ? parseDuration(values.timeout, '--timeout') : EVALUATOR_DEFAULTS.timeoutMs;
  if (timeoutMs > 30_000) throw usageError('--timeout must be at most 30s (the longest admission webhook timeout Kubernetes allows)');
  const cacheTtlMs =
    values['cache-ttl'] === undefined
      ? EVALUATOR_DEFAULTS.cacheTtlMs
      : values['cache-ttl'] === '0'
        ? 0
        : parseDuration(values['cache-ttl'], '--cache-ttl', { maxMs: MAX_CACHE_TTL_MS });
  const tagText = values['tag-refresh-interval'];
  const tagRefreshIntervalMs =
    tagText === undefined
      ? TAG_CACHE_DEFAULTS.maxAgeMs
      : /^0+(?:ms|s|m)?$/.test(tagText.trim())
        ? 0
        : parseDuration(tagText, '--tag-refresh-interval', { maxMs: MAX_TAG_REFRESH_MS });
  if (tagRefreshIntervalMs > 0 && tagRefreshIntervalMs < 1000) throw usageError('--tag-refresh-interval must be at least 1s (or 0: no tag cache)');
  const tagIdleMs =
    values['tag-idle-timeout'] === undefined ? undefined : parseDuration(values['tag-idle-timeout'], '--tag-idle-timeout', { maxMs: MAX_CACHE_TTL_MS });
  const logLevel = (values['log-level'] ?? 'info') as LogLevel;
  if (!LEVELS.includes(logLevel)) throw usageError(`--log-level must be one of ${LEVELS.join(', ')}, got "${logLevel}"`);
  const trust = await trustFromFlags(values, io, { cacheOnly: true });
  const delayText = values['shutdown-delay'];
  const shutdownDelayMs = delayText === undefined || /^0+(?:ms|s|m)?$/.test(delayText.trim()) ? 0 : parseDuration(delayText, '--shutdown-delay');
  if (shutdownDelayMs > 60_000) throw usageError('--shutdown-delay must be at most 60s');

  const workers = integer(values, 'workers', Math.min(usableCpus(), MAX_WORKERS), 1, MAX_WORKERS);
  // A worker's lines go to its primary, which writes them: whole lines, never interleaved.
  const worker = workers > 1 && isWebhookWorker(io.env);
  if (workers > 1 && !worker) forwardWorkerLines(io);
  const log = jsonLines(worker ? { ...io, stderr: sendToPrimary } : io, logLevel);
  const server = await startWebhookServer({
    ...(policiesDir !== undefined ? { policiesDir } : { kubernetes: { ...connection, ...defined({ namespace: values.namespace }) } }),
    tlsCertFile,
    tlsKeyFile,
    port: integer(values, 'port', DEFAULT_PORT, 0, 65535),
    ...(values.host !== undefined ? { host: values.host } : {}),
    timeoutMs,
    noMatch: noMatchFromFlags(values),
    allowEmptyPolicies: values['allow-empty-policies'] === true,
    cacheTtlMs,
    cacheSize: integer(values, 'cache-size', EVALUATOR_DEFAULTS.cacheSize, 0, 10_000_000),
    tagRefreshIntervalMs,
    tagCacheSize: integer(values, 'tag-cache-size', TAG_CACHE_DEFAULTS.maxEntries, 1, 10_000_000),
    ...(tagIdleMs !== undefined ? { tagIdleMs } : {}),
    ...(trust.roots ? { trustedRoot: trust.roots } : {}),
    tufCacheDir: typeof values['tuf-cache'] === 'string' ? values['tuf-cache'] : defaultTufCacheDir(io.env),
    ...(values.offline === true ? { offline: true } : {}),
    registry: { ...registryFromFlags(values, io.env, timeoutMs, 'webhook'), ...(await credentialProvidersFromFlags(values, io.env)) },
    shutdownDelayMs,
    // This process only serves the webhook: a stray rejection is logged and counted, not fatal.
    surviveUnhandledRejections: true,
    workers,
    log,
    ...(auditIntervalMs !== undefined
      ? {
          audit: {
            intervalMs: auditIntervalMs,
            ...(values['write-reports'] === true ? { writeReports: true } : {}),
            ...(values['audit-concurrency'] !== undefined ? { concurrency: integer(values, 'audit-concurrency', 2, 1, 64) } : {}),
            ...(policiesDir !== undefined ? { connection } : {}),
          },
        }
      : {}),
  });
  const signal = await (until ?? stopSignal());
  log('info', 'shutting down', typeof signal === 'string' ? { signal } : {});
  await server.close();
  return 0;
}
