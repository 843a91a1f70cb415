/**
 * `imgverify audit`: which running Pods the webhook would deny today. Lists the Pods of the
 * cluster (every namespace, or --namespace), verifies the images they run (the digests their
 * container statuses report) under the policies (a folder, else the cluster's own), with each
 * Pod's evaluation being an admission's, and prints a table or JSON; --write-reports writes one
 * OpenReports Report per namespace. See docs/audit.md.
 */
import { parseArgs } from 'node:util';
import { defaultTufCacheDir } from '../..';
import {
  auditCluster,
  DEFAULT_AUDIT_CONCURRENCY,
  decisionReason,
  PolicyEvaluator,
  VerifierBackend,
  type ClusterAuditResult,
  type PodAudit,
} from '../../webhook';
import { parseDuration } from '../common-flags';
import type { CommandIO } from '../io';
import { trustFromFlags, trustHelp } from '../trust-flags';
import { usageError } from '../usage-error';
import { folderEvaluator } from './policy-test';
import { credentialProvidersFromFlags, jsonLines, noMatchFromFlags, registryFromFlags, VERIFICATION_FLAGS } from './webhook';

const AUDIT_USAGE = `Usage: imgverify audit [--kubeconfig FILE] [--context NAME] [--namespace NS] [--policies DIR] [flags]

Lists the Pods of every namespace (--namespace: one), and verifies the images they run (the
digests their container statuses report; the spec's image while a container has none) under the
policies, each Pod evaluated as an admission of it would be today (spec.match, the ImagePolicies
of its namespace, its pull secrets and its ServiceAccount's, read from the cluster). Each distinct image is verified once per run, for real: nothing is taken from
an earlier verification. Prints one row per image of each Pod; a Pod is denied when any of its
images is.

  --kubeconfig FILE          the cluster's kubeconfig (default: $KUBECONFIG, the in-cluster
                             configuration of a Pod, ~/.kube/config)
  --context NAME             a kubeconfig context other than the current one
  --namespace NS             only the Pods (and Reports) of NS
  --policies DIR             a folder of ClusterImagePolicy / ImagePolicy files (default: the cluster's
                             ClusterImagePolicy, ImagePolicy and TrustRoot objects)
  --webhook-namespace NS     where the cluster's key.secretRef / ca-cert.secretRef Secrets are
                             (the webhook's namespace; default imgverify-system)
  --write-reports            create or update one OpenReports Report (openreports.io/v1alpha1)
                             per namespace, one result per Pod (the CRD: deploy/openreports/)
  --concurrency N            Pods audited at once (default ${DEFAULT_AUDIT_CONCURRENCY}; each verifies up to 2 images at once)
  --timeout D                deadline for one Pod's images (default 60s)
  --no-match allow|warn|deny images that no policy matches (default deny)
  --allow-empty-policies     accept a policy set with no policies
${trustHelp(29)}
  --docker-config FILE       registry credentials (default: $DOCKER_CONFIG/config.json)
  --registry-config FILE     more credential files, repeatable (as the webhook)
  --allow-http-registry      plain http to any registry (loopback registries always use http)
  --registry-cacert FILE     extra CA certificates (PEM) for registry TLS
  --registry-client-cert FILE --registry-client-key FILE
                             client certificate and key (PEM) for mTLS registries
  --registry-credentials-host HOST
                             a registry the client certificate is for (repeatable; required with it)
  --image-credential-provider-config FILE --image-credential-provider-bin-dir DIR
                             kubelet credential provider plugins (as the webhook)
  --output text|json         (default text); a progress bar on stderr when it is a terminal
  --log-level L              warn (default), info or debug: JSON lines on stderr

Exit status: 0 no running Pod would be denied (possibly with warnings); 1 a running Pod would be
denied; 2 usage error, policies that do not load, or no Report CRD for --write-reports; 3 the
cluster cannot be read, or a Report cannot be written.
`;

/** A redrawn bar on a terminal; nothing otherwise (the table follows). */
export function progressBar(io: CommandIO): ((done: number, total: number) => void) | undefined {
  if (!io.isTTY) return undefined;
  return (done, total) => {
    const width = 30;
    const filled = total === 0 ? width : Math.round((done / total) * width);
    io.stderr(`\r[${'#'.repeat(filled)}${'.'.repeat(width - filled)}] ${done}/${total} pods `);
    if (done === total) io.stderr('\n');
  };
}

/** Why, for a row: the decision's reason; for an allowed image, the policies that passed and how. */
function why(image: PodAudit['images'][number]): string {
  const d = image.decision;
  const base =
    decisionReason(d) ??
    (d.matched
      ? d.policies.map((p) => `${p.policy}: ${p.authorities.find((a) => a.authority === p.decidedBy)?.reason ?? 'passed'}`).join('; ')
      : 'no policy matches (no-match: allow)');
  return image.note !== undefined ? `${base} [${image.note}]` : base;
}

function auditTable(result: ClusterAuditResult): string {
  const rows: string[][] = [];
  for (const pod of result.pods) {
    if (pod.malformed !== undefined) rows.push([pod.namespace, pod.name, '-', 'DENIED', pod.malformed]);
    for (const image of pod.images) rows.push([pod.namespace, pod.name, image.image, image.decision.verdict.toUpperCase(), why(image)]);
  }
  const header = ['NAMESPACE', 'POD', 'IMAGE', 'VERDICT', 'WHY'];
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((row) => row[i]!.length)));
  const line = (cells: string[]): string =>
    cells
      .map((c, i) => (i === cells.length - 1 ? c : c.padEnd(widths[i]!)))
      .join('  ')
      .trimEnd();
  const { pods, images } = result.summary;
  const out = [line(header), ...rows.map(line), ''];
  out.push(
    `${result.pods.length} pod${result.pods.length === 1 ? '' : 's'} (${pods.allowed} allowed, ${pods.warned} warned, ${pods.denied} denied)` +
      `${result.skipped > 0 ? `, ${result.skipped} finished pod${result.skipped === 1 ? '' : 's'} skipped` : ''}; ` +
      `${images.allowed + images.warned + images.denied} distinct image${images.allowed + images.warned + images.denied === 1 ? '' : 's'} (${images.allowed} allowed, ${images.warned} warned, ${images.denied} denied); ${(result.durationMs / 1000).toFixed(1)} s`,
  );
  if (result.reports) {
    out.push(
      `Reports: ${result.reports.written} written, ${result.reports.unchanged} unchanged${result.reports.failed.length > 0 ? `, ${result.reports.failed.length} failed: ${result.reports.failed.map((f) => `${f.namespace}: ${f.error}`).join('; ')}` : ''}`,
    );
  }
  return `${out.join('\n')}\n`;
}

export async function auditCommand(argv: string[], io: CommandIO): Promise<number> {
  const { values, positionals } = parseArgs({
    args: argv,
    options: {
      ...VERIFICATION_FLAGS,
      kubeconfig: { type: 'string' },
      context: { type: 'string' },
      namespace: { type: 'string' },
      'webhook-namespace': { type: 'string' },
      'write-reports': { type: 'boolean' },
      concurrency: { type: 'string' },
      output: { type: 'string', short: 'o' },
      'log-level': { type: 'string' },
    },
    allowPositionals: true,
    strict: true,
  });
  if (values.help) {
    io.stdout(AUDIT_USAGE);
    return 0;
  }
  if (positionals.length > 0) throw usageError(`audit takes no arguments, got "${positionals[0]}"`);
  const format = values.output ?? 'text';
  if (format !== 'text' && format !== 'json') throw usageError(`--output must be "text" or "json", got "${format}"`);
  for (const flag of ['kubeconfig', 'context', 'namespace', 'webhook-namespace', 'policies'] as const)
    if (values[flag] === '') throw usageError(`--${flag} needs a value`);
  const concurrencyText = values.concurrency ?? String(DEFAULT_AUDIT_CONCURRENCY);
  const concurrency = Number(concurrencyText);
  if (!/^\d+$/.test(concurrencyText) || concurrency < 1 || concurrency > 64)
    throw usageError(`--concurrency must be an integer from 1 to 64, got "${concurrencyText}"`);
  const timeoutMs = values.timeout !== undefined ? parseDuration(values.timeout, '--timeout') : 60_000;
  const logLevel = values['log-level'] ?? 'warn';
  if (!['debug', 'info', 'warn', 'error'].includes(logLevel)) throw usageError(`--log-level must be debug, info, warn or error, got "${logLevel}"`);
  const log = jsonLines(io, logLevel as 'debug' | 'info' | 'warn' | 'error');
  const tufCacheDir = typeof values['tuf-cache'] === 'string' ? values['tuf-cache'] : defaultTufCacheDir(io.env);

  let evaluator: PolicyEvaluator;
  let backend: VerifierBackend;
  let trustedRoot: Awaited<ReturnType<typeof trustFromFlags>>['roots'];
  if (values.policies !== undefined) {
    // The Secrets signaturePullSecrets name are read from the cluster, as the Pods' pull secrets are.
    const loaded = await folderEvaluator(values, io, values.policies, timeoutMs, 'audit', true);
    if (typeof loaded === 'number') return loaded;
    ({ evaluator, backend } = loaded);
  } else {
    const trust = await trustFromFlags(values, io, { cacheOnly: true });
    trustedRoot = trust.roots;
    backend = new VerifierBackend({
      ...(trust.roots ? { trustedRoot: trust.roots } : {}),
      registry: { ...registryFromFlags(values, io.env, timeoutMs, 'audit'), ...(await credentialProvidersFromFlags(values, io.env)) },
    });
    evaluator = new PolicyEvaluator({ backend, noMatch: noMatchFromFlags(values), timeoutMs, cacheTtlMs: 0 });
  }
  try {
    const progress = format === 'text' ? progressBar(io) : undefined;
    const result = await auditCluster({
      evaluator,
      env: io.env,
      ...(values.kubeconfig !== undefined ? { kubeconfig: values.kubeconfig } : {}),
      ...(values.context !== undefined ? { context: values.context } : {}),
      ...(values.namespace !== undefined ? { namespace: values.namespace } : {}),
      ...(values.policies === undefined
        ? {
            clusterPolicies: {
              tufCacheDir,
              ...(values['webhook-namespace'] !== undefined ? { webhookNamespace: values['webhook-namespace'] } : {}),
              ...(values.offline === true ? { offline: true } : {}),
              ...(trustedRoot ? { trustedRoot: Array.isArray(trustedRoot) ? trustedRoot : [trustedRoot] } : {}),
              ...(values['allow-empty-policies'] === true ? { allowEmpty: true } : {}),
            },
          }
        : {}),
      concurrency,
      timeoutMs,
      ...(values['write-reports'] === true ? { writeReports: true } : {}),
      ...(progress ? { onProgress: progress } : {}),
      log,
    });
    io.stdout(format === 'json' ? `${JSON.stringify(result, null, 2)}\n` : auditTable(result));
    if (result.pods.some((p) => p.verdict === 'denied')) return 1;
    return result.reports && result.reports.failed.length > 0 ? 3 : 0;
  } finally {
    await backend.close();
  }
}
