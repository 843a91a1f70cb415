/**
 * `imgverify policy test --policies DIR IMAGE...`: what the webhook would decide for each
 * image, with the policy and authority that decided, for people writing policies; and
 * `... -f FILE...`: for every image of every pod-bearing object of Kubernetes manifests, each
 * object evaluated through the webhook's own entry (`evaluateWorkload`), reported as text, JSON,
 * SARIF (code scanning) or JUnit (CI).
 */

type Values = Record<string, string | boolean | string[] | undefined>;
import { createReadStream } from 'node:fs';
import { readdir, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { defaultTufCacheDir } from '../..';
import {
  evaluateWorkload,
  loadPolicies,
  manifestCredentialSource,
  manifestName,
  manifestWorkload,
  objectKind,
  PolicyEvaluator,
  PullSecretCredentials,
  readManifests,
  refuseEmptyPolicySet,
  signaturePullSecretErrors,
  TrustRootSet,
  VerificationRun,
  VerifierBackend,
  type ImageDecision,
  type ManifestError,
  type ManifestObject,
  type PolicySet,
} from '../../webhook';
import { errorMessage } from '../../util/describe';
import { mapLimit } from '../../util/pool';
import { parseDuration } from '../common-flags';
import { readAll, type CommandIO } from '../io';
import { manifestReportJunit } from '../junit';
import { manifestReportJSON, manifestReportText, type ManifestReport, type ObjectReport } from '../manifest-report';
import { manifestReportSarif } from '../sarif';
import { trustFromFlags, trustHelp } from '../trust-flags';
import { usageError } from '../usage-error';
import { credentialProvidersFromFlags, noMatchFromFlags, registryFromFlags, requiredFlag, VERIFICATION_FLAGS } from './webhook';
import { jsonText } from '../../util/json-text';

const POLICY_USAGE = `Usage: imgverify policy test --policies DIR IMAGE... [flags]
       imgverify policy test --policies DIR -f FILE... [flags]

Evaluates the ClusterImagePolicies (and ImagePolicies) of DIR as the webhook would, and prints
the verdict, each matching policy and the authority that decided (or why each failed):
- for each IMAGE;
- with -f, for every image of every Pod, Deployment, StatefulSet, DaemonSet, ReplicaSet, Job,
  CronJob, ReplicationController (and PodTemplate) of the manifests: containers, init and
  ephemeral containers, image volumes; each object evaluated exactly as an admission of it
  (spec.match on its resource and labels, the ImagePolicies of its namespace). Other kinds are
  ignored (listed with -v). Multi-document YAML or JSON; List kinds are read item by item.

  --policies DIR             folder of ClusterImagePolicy / ImagePolicy YAML/JSON files
  -f, --filename FILE        a manifest file, a folder of them (*.yaml, *.yml, *.json) or - for
                             standard input (kustomize build . | imgverify policy test -f -); repeatable
  --namespace NS             the namespace of objects that name none (default "default", as kubectl
                             apply without -n); with IMAGE, only NS's ImagePolicies apply (without it:
                             every ImagePolicy applies, the stricter reading)
  --stdin-filename PATH      the file name standard input stands for in results (SARIF: its artifact URI)
  --no-match allow|warn|deny images that no policy matches (default deny)
  --allow-empty-policies     accept a folder with no policies (default: it does not load, as in the webhook)
  --timeout D                deadline for all IMAGEs, or for each object's images with -f (default 30s)
${trustHelp(29)}
  --docker-config FILE       registry credentials (default: $DOCKER_CONFIG/config.json)
  --registry-config FILE     more credential files, repeatable (as the webhook)
  --image-credential-provider-config FILE --image-credential-provider-bin-dir DIR
                             kubelet credential provider plugins (as the webhook)
  --allow-http-registry      plain http to any registry (loopback registries always use http)
  --registry-cacert FILE     extra CA certificates (PEM) for registry TLS
  --registry-client-cert FILE --registry-client-key FILE
                             client certificate and key (PEM) for mTLS registries (as the webhook)
  --registry-credentials-host HOST
                             a registry the client certificate is for (repeatable; required with it)
  --output text|json|sarif|junit
                             (default text; sarif and junit with -f only)
  -v, --verbose              with -f and text output: list the objects that are not examined

Exit status: 0 every image would be admitted (possibly with warnings); 1 an image (or an
object) would be denied; 2 usage error, policies that do not load, or a manifest document that
cannot be read.
`;

/** Most bytes of manifests read in all (files, folders, standard input): the YAML parser takes about 5 s and 65 MB per MiB of Pods. */
const MAX_MANIFEST_BYTES = 16 * 1024 * 1024;
/** Objects of the manifests evaluated at once (each its images, `OBJECT_IMAGE_CONCURRENCY` at a time). */
const OBJECT_CONCURRENCY = 4;
const OBJECT_IMAGE_CONCURRENCY = 4;

const LABEL = { allowed: 'ALLOWED', warned: 'WARNED ', denied: 'DENIED ' } as const;

function decisionToText(decision: ImageDecision, noMatch: string): string {
  const at = decision.digest && !decision.image.includes('@') ? ` (${decision.digest})` : '';
  const lines = [`${LABEL[decision.verdict]}  ${decision.image}${at}`];
  if (!decision.matched) {
    lines.push(
      decision.policies.length === 0 && decision.reason && !decision.reason.includes('no ClusterImagePolicy matches')
        ? `  ${decision.reason}`
        : `  no policy matches (no-match setting: ${noMatch})`,
    );
  }
  for (const policy of decision.policies) {
    const mode = `(${policy.mode})`;
    if (policy.passed) {
      const by = policy.authorities.find((a) => a.authority === policy.decidedBy);
      lines.push(`  policy "${policy.policy}" ${mode}: passed, decided by authority "${policy.decidedBy}" (${by?.kind ?? '?'}): ${by?.reason ?? ''}`);
      for (const a of policy.authorities.filter((x) => !x.passed)) lines.push(`    (authority "${a.authority}" (${a.kind}) failed first: ${a.reason})`);
    } else {
      lines.push(`  policy "${policy.policy}" ${mode}: failed${policy.reason ? `: ${policy.reason}` : ''}`);
      for (const a of policy.authorities) lines.push(`    authority "${a.authority}" (${a.kind}): ${a.reason}`);
    }
  }
  return lines.join('\n');
}

/** A folder's policies in force in an evaluator of their own (closed with `backend.close()`). */
export interface FolderEvaluator {
  readonly evaluator: PolicyEvaluator;
  readonly backend: VerifierBackend;
  readonly set: PolicySet;
}

/**
 * Loads the policy folder as the webhook does (TrustRoots, URL checks, empty sets) into an
 * evaluator without a verdict cache; an exit status (2) when it does not load, after saying why.
 */
export async function folderEvaluator(
  values: Values,
  io: CommandIO,
  dir: string,
  timeoutMs: number,
  command: string,
  readsSecrets: boolean,
): Promise<FolderEvaluator | number> {
  const set = refuseEmptyPolicySet(await loadPolicies(dir), dir, values['allow-empty-policies'] === true);
  for (const w of set.warnings) io.stderr(`warning: ${w.file}: document ${w.document}: ${w.path}: ${w.message}\n`);
  const refuse = (errors: readonly { message: string }[]): number => {
    for (const e of errors) io.stderr(`error: ${e.message}\n`);
    io.stderr(`imgverify ${command}: the policies in ${dir} do not load (${errors.length} error${errors.length === 1 ? '' : 's'})\n`);
    return 2;
  };
  if (set.errors.length > 0) return refuse(set.errors);
  const trust = await trustFromFlags(values, io, { cacheOnly: true });
  const backend = new VerifierBackend({
    ...(trust.roots ? { trustedRoot: trust.roots } : {}),
    registry: { ...registryFromFlags(values, io.env, timeoutMs, command), ...(await credentialProvidersFromFlags(values, io.env)) },
  });
  try {
    const evaluator = new PolicyEvaluator({ backend, noMatch: noMatchFromFlags(values), timeoutMs, cacheTtlMs: 0 });
    const trustRoots = new TrustRootSet({
      cacheDir: typeof values['tuf-cache'] === 'string' ? values['tuf-cache'] : defaultTufCacheDir(io.env),
      ...(values.offline === true ? { offline: true } : {}),
    });
    for (const { name, error } of await trustRoots.load(set.trustRoots)) {
      io.stderr(`warning: TrustRoot "${name}" cannot be loaded; authorities using it fail: ${error.message} [${error.code}]\n`);
    }
    // A Fulcio or Rekor URL no trust root lists does not load, as in the webhook; nor do
    // signaturePullSecrets where no object's namespace has Secrets to read (policy test IMAGE).
    const urlErrors = [...evaluator.serviceUrlErrors(set.policies, { trustRoots }), ...(readsSecrets ? [] : signaturePullSecretErrors(set.policies, command))];
    if (urlErrors.length > 0) {
      await backend.close();
      return refuse(urlErrors);
    }
    evaluator.setPolicies(set, { trustRoots });
    for (const u of evaluator.unusableAuthorities()) io.stderr(`warning: policy "${u.policy}" authority "${u.authority}" can never pass: ${u.reason}\n`);
    return { evaluator, backend, set };
  } catch (err) {
    await backend.close();
    throw err;
  }
}

/**
 * The bytes of a manifest file, at most `maxBytes`: streamed, so that what is not a regular file
 * works as with kubectl (`-f <(helm template ...)`, a FIFO; /dev/stdin) and an endless one
 * (/dev/zero) stops at the bound.
 */
async function readManifestFile(file: string, maxBytes: number): Promise<Buffer> {
  const stream = createReadStream(file, { highWaterMark: 64 * 1024 });
  try {
    return await readAll(stream, maxBytes);
  } catch (err) {
    // readAll's RangeError is the bound; anything else is the file's own error (ENOENT, EACCES...).
    throw usageError(err instanceof RangeError ? `-f ${file}: larger than ${maxBytes} bytes` : `-f ${file}: ${errorMessage(err)}`);
  } finally {
    stream.destroy();
  }
}

/** What `-f` names: each file's text (a folder's *.yaml, *.yml, *.json files; `-` standard input); MAX_MANIFEST_BYTES in all. */
async function readManifestInputs(names: readonly string[], io: CommandIO): Promise<Array<{ file: string; text: string }>> {
  if (names.filter((n) => n === '-').length > 1) throw usageError('-f - (standard input) can be given once');
  const inputs: Array<{ file: string; text: string }> = [];
  let left = MAX_MANIFEST_BYTES;
  const add = (file: string, bytes: Buffer): void => {
    left -= bytes.length;
    inputs.push({ file, text: bytes.toString('utf8') });
  };
  const tooMuch = (file: string): Error => usageError(`-f ${file}: the manifests are larger than ${MAX_MANIFEST_BYTES} bytes in all`);
  for (const name of names) {
    if (name === '') throw usageError('-f needs a file, a folder or -');
    if (left <= 0) throw tooMuch(name);
    if (name === '-') {
      if (!io.readStdin) throw usageError('-f -: standard input cannot be read here');
      const bytes = await io.readStdin(left).catch((err: unknown) => {
        throw usageError(`-f -: standard input: ${errorMessage(err)}`);
      });
      add('-', bytes);
      continue;
    }
    const info = await stat(name).catch((err: unknown) => {
      throw usageError(`-f ${name}: ${errorMessage(err)}`);
    });
    if (info.isDirectory()) {
      // As kubectl -f DIR: the manifest files of the folder, not its subfolders.
      const files = (await readdir(name)).filter((f) => /\.(?:ya?ml|json)$/i.test(f) && !f.startsWith('.')).sort();
      for (const f of files) {
        if (left <= 0) throw tooMuch(join(name, f));
        add(join(name, f), await readManifestFile(join(name, f), left));
      }
    } else {
      add(name, await readManifestFile(name, left));
    }
  }
  return inputs;
}

/** Every object of the manifests, evaluated as the webhook would evaluate an admission of it. */
async function evaluateManifests(
  evaluator: PolicyEvaluator,
  inputs: ReadonlyArray<{ file: string; text: string }>,
  defaultNamespace: string,
): Promise<{ objects: ObjectReport[]; errors: ManifestError[] }> {
  const objects: ManifestObject[] = [];
  const errors: ManifestError[] = [];
  for (const { file, text } of inputs) {
    const stream = readManifests(text, file);
    objects.push(...stream.objects);
    errors.push(...stream.errors);
  }
  // One run for all objects: an image in several manifests is verified once.
  const run = new VerificationRun(OBJECT_IMAGE_CONCURRENCY);
  // The pull secrets (and signaturePullSecrets) the objects would have once applied, as far as
  // the manifests hold the Secrets and ServiceAccounts: read as the webhook reads the cluster's.
  const pullSecrets = new PullSecretCredentials(manifestCredentialSource(objects, defaultNamespace));
  const reports = await mapLimit(objects, OBJECT_CONCURRENCY, async (m): Promise<ObjectReport> => {
    const kind = objectKind(m.object);
    const base = {
      file: m.file,
      document: m.document,
      items: m.items,
      position: m.position,
      ...(kind ? { apiVersion: kind.group === '' ? kind.version : `${kind.group}/${kind.version}`, kind: kind.kind } : {}),
      name: manifestName(m.object),
      warnings: [],
    };
    const target = manifestWorkload(m.object, defaultNamespace);
    if ('ignored' in target) return { ...base, verdict: 'ignored', ignored: target.ignored, images: [] };
    const { images, decisions, summary, malformed } = await evaluateWorkload(evaluator, target.workload, { run, pullSecrets });
    const verdict = !summary.allowed ? 'denied' : decisions.some((d) => d.verdict === 'warned') ? 'warned' : 'allowed';
    return {
      ...base,
      namespace: target.workload.namespace!,
      verdict,
      ...(malformed !== undefined ? { malformed } : {}),
      ...(summary.message !== undefined ? { message: summary.message } : {}),
      warnings: summary.warnings,
      images: images.map((image, i) => ({
        image: image.image,
        container: image.container,
        field: image.field,
        path: image.path,
        position: m.locate(image.path),
        decision: decisions[i]!,
      })),
    };
  });
  return { objects: reports, errors };
}

async function policyTest(argv: string[], io: CommandIO): Promise<number> {
  const { values, positionals } = parseArgs({
    args: argv,
    options: {
      ...VERIFICATION_FLAGS,
      output: { type: 'string', short: 'o' },
      filename: { type: 'string', short: 'f', multiple: true },
      namespace: { type: 'string' },
      'stdin-filename': { type: 'string' },
      verbose: { type: 'boolean', short: 'v' },
    },
    allowPositionals: true,
    strict: true,
  });
  if (values.help) {
    io.stdout(POLICY_USAGE);
    return 0;
  }
  const dir = requiredFlag(values, 'policies');
  const manifests = values.filename ?? [];
  if (positionals.length === 0 && manifests.length === 0) throw usageError('policy test needs at least one IMAGE, or -f FILE');
  if (positionals.length > 0 && manifests.length > 0) throw usageError('policy test takes IMAGEs or -f FILE, not both');
  const format = values.output ?? 'text';
  const formats = manifests.length > 0 ? ['text', 'json', 'sarif', 'junit'] : ['text', 'json'];
  if (!formats.includes(format))
    throw usageError(`--output must be ${formats.map((f) => `"${f}"`).join(', ')}${manifests.length > 0 ? '' : ' (sarif and junit with -f)'}, got "${format}"`);
  const namespace = values.namespace;
  if (namespace !== undefined && !/^[a-z0-9](?:[-a-z0-9]{0,61}[a-z0-9])?$/.test(namespace))
    throw usageError(`--namespace: "${namespace}" is not a namespace name (a lower-case RFC 1123 label)`);
  const noMatch = noMatchFromFlags(values);
  const timeoutMs = values.timeout !== undefined ? parseDuration(values.timeout, '--timeout') : 30_000;
  // Inputs first: a missing file is a usage error before any policy is loaded.
  const inputs = manifests.length > 0 ? await readManifestInputs(manifests, io) : [];

  // With -f, the Secrets are the manifests' own; IMAGEs belong to no object.
  const loaded = await folderEvaluator(values, io, dir, timeoutMs, 'policy test', manifests.length > 0);
  if (typeof loaded === 'number') return loaded;
  const { evaluator, backend, set } = loaded;
  try {
    if (manifests.length > 0) {
      const defaultNamespace = namespace ?? 'default';
      const { objects, errors } = await evaluateManifests(evaluator, inputs, defaultNamespace);
      const report: ManifestReport = { policySetVersion: set.version, noMatch, defaultNamespace, objects, errors };
      if (format === 'json') io.stdout(manifestReportJSON(report));
      else if (format === 'sarif') {
        io.stdout(
          `${jsonText(manifestReportSarif(report, { version: cliVersion(), cwd: process.cwd(), ...(values['stdin-filename'] ? { stdinName: values['stdin-filename'] } : {}) }))}\n`,
        );
      } else if (format === 'junit') io.stdout(manifestReportJunit(report));
      else {
        io.stdout(
          `${set.policies.length} polic${set.policies.length === 1 ? 'y' : 'ies'} from ${dir} (${set.files.join(', ') || 'no files'}); objects without a namespace are evaluated in "${defaultNamespace}"\n`,
        );
        io.stdout(manifestReportText(report, (d) => decisionToText(d, noMatch), values.verbose === true));
      }
      if (errors.length > 0) return 2;
      return objects.some((o) => o.verdict === 'denied') ? 1 : 0;
    }
    const decisions = await evaluator.evaluate(positionals, namespace !== undefined ? { namespace } : {});
    if (format === 'json') {
      io.stdout(`${jsonText({ policySetVersion: set.version, noMatch, ...(namespace !== undefined ? { namespace } : {}), decisions })}\n`);
    } else {
      io.stdout(`${set.policies.length} polic${set.policies.length === 1 ? 'y' : 'ies'} from ${dir} (${set.files.join(', ') || 'no files'})\n`);
      const namespaced = set.policies.filter((p) => p.namespace !== undefined).length;
      if (namespaced > 0 && namespace === undefined)
        io.stdout(`(${namespaced} ImagePolicies of their namespaces apply to every image: --namespace NS for those of NS only)\n`);
      for (const decision of decisions) io.stdout(`${decisionToText(decision, noMatch)}\n`);
    }
    return decisions.some((d) => d.verdict === 'denied') ? 1 : 0;
  } finally {
    await backend.close();
  }
}

/** The installed package's version (SARIF's tool.driver). */
function cliVersion(): string {
  // eslint-disable-next-line @typescript-eslint/no-require-imports -- read at run time from the installed package, as `imgverify version` does
  return (require('../../../package.json') as { version: string }).version;
}

/** `imgverify policy <subcommand>`. */
export async function policyCommand(argv: string[], io: CommandIO): Promise<number> {
  const [sub, ...rest] = argv;
  if (sub === undefined || sub === '--help' || sub === '-h' || sub === 'help') {
    io.stdout(POLICY_USAGE);
    return sub === undefined ? 2 : 0;
  }
  if (sub !== 'test') throw usageError(`unknown policy subcommand "${sub}" (expected: test)`);
  return policyTest(rest, io);
}
