/**
 * An audit as OpenReports Reports: one per namespace, one result per Pod with the Pod's worst
 * image deciding and every image in it; policies named; a byte budget that keeps failures first;
 * and every field one the Report CRD shipped in deploy/openreports/ declares (the emulated API
 * server, with Strict field validation, stores it unchanged).
 */
import type { AuditResult, PodAudit } from '../../../src/webhook/audit';
import type { ImageDecision } from '../../../src/webhook/outcomes';
import { auditReports, namespaceReport, REPORT_NAME, TRUNCATED_ANNOTATION } from '../../../src/webhook/reports';
import { deployResources, STANDARD_RESOURCES, Store } from '../../support/kube-api';

const D = `sha256:${'1'.repeat(64)}`;
const STARTED = '2025-03-01T10:00:00.250Z';

function decision(image: string, verdict: ImageDecision['verdict'], policy = 'release', operational = false): ImageDecision {
  const passed = verdict === 'allowed';
  return {
    image,
    digest: D,
    verdict,
    matched: true,
    policies: [
      {
        policy,
        mode: verdict === 'warned' ? 'warn' : 'enforce',
        passed,
        ...(passed ? { decidedBy: 'ci' } : {}),
        authorities: [
          { authority: 'ci', kind: 'keyless', passed, reason: passed ? 'verified: a signature by x' : 'no signatures found [NO_SIGNATURES]', operational },
        ],
        operational,
        cached: false,
      },
    ],
    ...(passed ? {} : { reason: `${image}: policy "${policy}": authority "ci" (keyless): no signatures found [NO_SIGNATURES]` }),
  };
}

function podAudit(
  namespace: string,
  name: string,
  images: Array<[container: string, image: string, verdict: ImageDecision['verdict'], policy?: string]>,
  operational = false,
): PodAudit {
  const decisions = images.map(([container, image, verdict, policy]) => ({
    container,
    field: 'containers' as const,
    specImage: image,
    image,
    source: 'imageID' as const,
    decision: decision(image, verdict, policy, operational),
  }));
  const rank = { allowed: 0, warned: 1, denied: 2 } as const;
  const verdict = decisions.reduce<ImageDecision['verdict']>((w, d) => (rank[d.decision.verdict] > rank[w] ? d.decision.verdict : w), 'allowed');
  return { namespace, name, uid: `uid-${name}`, verdict, operational: operational && verdict !== 'allowed', images: decisions, warnings: [] };
}

function result(pods: PodAudit[]): AuditResult {
  return {
    startedAt: STARTED,
    durationMs: 1,
    pods,
    skipped: 0,
    summary: { pods: { allowed: 0, warned: 0, denied: 0 }, images: { allowed: 0, warned: 0, denied: 0 } },
  };
}

test('one Report per namespace, one result per Pod: the worst image decides, every image is in it (kyverno/policies#1233)', () => {
  const reports = auditReports(
    result([
      podAudit('team-b', 'web', [
        ['app', `r.test/app@${D}`, 'allowed'],
        ['sidecar', `r.test/sidecar@${D}`, 'denied', 'sidecars'],
        ['log', `r.test/log@${D}`, 'allowed', 'release'],
      ]),
      podAudit('team-a', 'api', [['app', `r.test/api@${D}`, 'allowed', 'team-a/strict']]),
      podAudit('team-a', 'batch', [['app', `r.test/batch@${D}`, 'warned', 'advisory']]),
      podAudit('team-a', 'flaky', [['app', `r.test/flaky@${D}`, 'denied']], true),
    ]),
  );
  expect(reports.map((r) => [r.metadata.namespace, r.metadata.name, r.summary])).toEqual([
    ['team-a', REPORT_NAME, { pass: 1, fail: 0, warn: 1, error: 1, skip: 0 }],
    ['team-b', REPORT_NAME, { pass: 0, fail: 1, warn: 0, error: 0, skip: 0 }],
  ]);
  const [a, b] = reports;
  expect(a!.results.map((r) => [r.resources[0]!.name, r.result, r.policy])).toEqual([
    ['api', 'pass', 'team-a/strict'],
    ['batch', 'warn', 'advisory'],
    ['flaky', 'error', 'release'],
  ]);
  const web = b!.results[0]!;
  expect(web).toMatchObject({
    source: 'imgverify',
    rule: 'verify-images',
    result: 'fail',
    policy: 'sidecars',
    scored: true,
    timestamp: { seconds: Date.parse(STARTED) / 1000 - 0.25, nanos: 250_000_000 },
    resources: [{ apiVersion: 'v1', kind: 'Pod', name: 'web', namespace: 'team-b', uid: 'uid-web' }],
  });
  expect(web.message).toMatch(
    /^1 of 3 images denied\. containers\.app r\.test\/app@sha256:1+: allowed; containers\.sidecar r\.test\/sidecar@sha256:1+: denied: .*NO_SIGNATURES.*; containers\.log .*: allowed$/,
  );
  expect(web.properties).toEqual({
    'image.containers.app': `allowed r.test/app@${D}`,
    'image.containers.sidecar': `denied r.test/sidecar@${D}`,
    'reason.containers.sidecar': expect.stringContaining('no signatures found'),
    'image.containers.log': `allowed r.test/log@${D}`,
  });
});

test('namespaces of the scope without Pods get an empty Report', () => {
  expect(auditReports(result([]), ['gone']).map((r) => [r.metadata.namespace, r.results, r.summary.pass])).toEqual([['gone', [], 0]]);
});

test('a Report stays under its byte budget: failures kept first, every Pod counted, an annotation says how many were left out', () => {
  const pods = Array.from({ length: 200 }, (_, i) =>
    podAudit('big', `pod-${String(i).padStart(3, '0')}`, [['app', `r.test/app${i}@${D}`, i % 50 === 7 ? 'denied' : 'allowed']]),
  );
  const report = namespaceReport('big', pods, new Date(STARTED), 20_000);
  expect(report.summary).toEqual({ pass: 196, fail: 4, warn: 0, error: 0, skip: 0 });
  expect(JSON.stringify(report.results).length).toBeLessThanOrEqual(20_000);
  expect(report.results.filter((r) => r.result === 'fail')).toHaveLength(4);
  expect(report.results.length).toBeLessThan(200);
  expect(report.metadata.annotations).toEqual({ [TRUNCATED_ANNOTATION]: String(200 - report.results.length) });
});

test('every field is one the shipped Report CRD declares: stored unchanged under Strict field validation', () => {
  const store = new Store([...STANDARD_RESOURCES, ...deployResources()]);
  store.create(store.type('namespaces'), undefined, { metadata: { name: 'team-b' } });
  const [report] = auditReports(
    result([
      podAudit('team-b', 'web', [
        ['app', `r.test/app@${D}`, 'denied'],
        ['side', `r.test/side@${D}`, 'allowed'],
      ]),
    ]),
  );
  const stored = store.create(store.type('reports.openreports.io'), 'team-b', report, 'v1alpha1', { fieldValidation: 'Strict' });
  const { metadata: _m, ...written } = report!;
  const { metadata: _s, ...kept } = stored;
  expect(kept).toEqual({ ...written, apiVersion: 'openreports.io/v1alpha1', kind: 'Report' });
});
