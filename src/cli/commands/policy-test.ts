/**
 * `imgverify policy test --policies DIR IMAGE...`: what the webhook would decide for each
 * image, with the policy and authority that decided, for people writing policies.
 */
import { parseArgs } from 'node:util';
import { defaultTufCacheDir } from '../..';
import { loadPolicies, PolicyEvaluator, refuseEmptyPolicySet, signaturePullSecretErrors, TrustRootSet, VerifierBackend, type ImageDecision } from '../../webhook';
import { outputFormat, parseDuration } from '../common-flags';
import type { CommandIO } from '../io';
import { trustFromFlags, trustHelp } from '../trust-flags';
import { usageError } from '../usage-error';
import { credentialProvidersFromFlags, noMatchFromFlags, registryFromFlags, requiredFlag, VERIFICATION_FLAGS } from './webhook';
import { jsonText } from '../../util/json-text';

export const POLICY_USAGE = `Usage: imgverify policy test --policies DIR IMAGE... [flags]

Evaluates the ClusterImagePolicies of DIR against each IMAGE as the webhook would, and
prints the verdict, each matching policy and the authority that decided (or why each failed).

  --policies DIR             folder of ClusterImagePolicy YAML/JSON files
  --no-match allow|warn|deny images that no policy matches (default deny)
  --allow-empty-policies     accept a folder with no policies (default: it does not load, as in the webhook)
  --timeout D                deadline for all images (default 30s)
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
  --output json|text         (default text)

Exit status: 0 every image would be admitted (possibly with warnings); 1 an image would be
denied; 2 usage error or policies that do not load.
`;

const LABEL = { allowed: 'ALLOWED', warned: 'WARNED ', denied: 'DENIED ' } as const;

export function decisionToText(decision: ImageDecision, noMatch: string): string {
  const at = decision.digest && !decision.image.includes('@') ? ` (${decision.digest})` : '';
  const lines = [`${LABEL[decision.verdict]}  ${decision.image}${at}`];
  if (!decision.matched) {
    lines.push(decision.policies.length === 0 && decision.reason && !decision.reason.includes('no ClusterImagePolicy matches')
      ? `  ${decision.reason}`
      : `  no policy matches (no-match setting: ${noMatch})`);
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

async function policyTest(argv: string[], io: CommandIO): Promise<number> {
  const { values, positionals } = parseArgs({
    args: argv,
    options: { ...VERIFICATION_FLAGS, output: { type: 'string', short: 'o' } },
    allowPositionals: true,
    strict: true,
  });
  if (values.help) {
    io.stdout(POLICY_USAGE);
    return 0;
  }
  const dir = requiredFlag(values, 'policies');
  if (positionals.length === 0) throw usageError('policy test needs at least one IMAGE');
  const format = outputFormat(values);
  const noMatch = noMatchFromFlags(values);
  const timeoutMs = values.timeout !== undefined ? parseDuration(values.timeout, '--timeout') : 30_000;

  const set = refuseEmptyPolicySet(await loadPolicies(dir), dir, values['allow-empty-policies'] === true);
  for (const w of set.warnings) io.stderr(`warning: ${w.file}: document ${w.document}: ${w.path}: ${w.message}\n`);
  if (set.errors.length > 0) {
    for (const e of set.errors) io.stderr(`error: ${e.message}\n`);
    io.stderr(`imgverify policy test: the policies in ${dir} do not load (${set.errors.length} error${set.errors.length === 1 ? '' : 's'})\n`);
    return 2;
  }
  const trust = await trustFromFlags(values, io, { cacheOnly: true });
  const backend = new VerifierBackend({
    ...(trust.roots ? { trustedRoot: trust.roots } : {}),
    registry: { ...registryFromFlags(values, io.env, timeoutMs, 'policy test'), ...(await credentialProvidersFromFlags(values, io.env)) },
  });
  try {
    const evaluator = new PolicyEvaluator({ backend, noMatch, timeoutMs, cacheTtlMs: 0 });
    const trustRoots = new TrustRootSet({
      cacheDir: typeof values['tuf-cache'] === 'string' ? values['tuf-cache'] : defaultTufCacheDir(io.env),
      ...(values.offline === true ? { offline: true } : {}),
    });
    for (const { name, error } of await trustRoots.load(set.trustRoots)) {
      io.stderr(`warning: TrustRoot "${name}" cannot be loaded; authorities using it fail: ${error.message} [${error.code}]\n`);
    }
    // A Fulcio or Rekor URL no trust root lists does not load, as in the webhook; nor do
    // signaturePullSecrets (Secrets of an admitted object's namespace: here there is neither).
    const urlErrors = [...evaluator.serviceUrlErrors(set.policies, { trustRoots }), ...signaturePullSecretErrors(set.policies, 'policy test')];
    if (urlErrors.length > 0) {
      for (const e of urlErrors) io.stderr(`error: ${e.message}\n`);
      io.stderr(`imgverify policy test: the policies in ${dir} do not load (${urlErrors.length} error${urlErrors.length === 1 ? '' : 's'})\n`);
      return 2;
    }
    evaluator.setPolicies(set, { trustRoots });
    for (const u of evaluator.unusableAuthorities()) io.stderr(`warning: policy "${u.policy}" authority "${u.authority}" can never pass: ${u.reason}\n`);
    const decisions = await evaluator.evaluate(positionals);
    if (format === 'json') {
      io.stdout(`${jsonText({ policySetVersion: set.version, noMatch, decisions })}\n`);
    } else {
      io.stdout(`${set.policies.length} polic${set.policies.length === 1 ? 'y' : 'ies'} from ${dir} (${set.files.join(', ') || 'no files'})\n`);
      for (const decision of decisions) io.stdout(`${decisionToText(decision, noMatch)}\n`);
    }
    return decisions.some((d) => d.verdict === 'denied') ? 1 : 0;
  } finally {
    await backend.close();
  }
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
