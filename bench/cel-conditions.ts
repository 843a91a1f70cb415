/**
 * Benchmark: CEL attestation conditions as imgverify runs them (`compileAttestationCondition`,
 * evaluation over a verified statement, `@bufbuild/cel`).
 *
 *   npm run bench:cel -- [--runs N]
 *
 * Compile time, and evaluation time over the GitHub Actions SLSA v1 provenance of sigstore-js
 * 2.0.0 and, when ../shared/interop is present, the Kubernetes v1.23.0-alpha.4 SLSA provenance
 * (461 subjects). Prints a table and a JSON line. Numbers go in docs/benchmarks.md.
 */
import { existsSync, readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { compileAttestationCondition } from '../src';
import { evaluateCondition } from '../src/policy/cel';

const GITHUB = {
  predicateType: 'https://slsa.dev/provenance/v1',
  subject: [
    {
      name: 'pkg:npm/sigstore@2.0.0',
      digest: { sha512: '46d4e2f74c4877316640000a6fdf8a8b59f1e0847667973e9859f774dd31b8f1e0937813b777fb66a2ac67d50540fe34640966eee9fc2ccca387082b4c85cd3c' },
    },
  ],
  predicate: {
    buildDefinition: {
      buildType: 'https://slsa-framework.github.io/github-actions-buildtypes/workflow/v1',
      externalParameters: {
        workflow: { ref: 'refs/heads/main', repository: 'https://github.com/sigstore/sigstore-js', path: '.github/workflows/release.yml' },
      },
      internalParameters: { github: { event_name: 'push', repository_id: '495574555', repository_owner_id: '71096353' } },
    },
    runDetails: { builder: { id: 'https://github.com/actions/runner/github-hosted' } },
  },
};
// Compiled to build/tools/bench/: the repository root is three levels up.
const K8S = resolve(__dirname, '..', '..', '..', '..', 'shared', 'interop', 'attestations', 'k8s-1.23.0-alpha.4-provenance.json');

function time(fn: () => unknown, runs: number): number {
  for (let i = 0; i < Math.min(200, runs); i++) fn();
  const start = process.hrtime.bigint();
  for (let i = 0; i < runs; i++) fn();
  return Number(process.hrtime.bigint() - start) / 1e3 / runs;
}

function main(): void {
  const { values } = parseArgs({ options: { runs: { type: 'string', default: '2000' } } });
  const runs = Number(values.runs);
  const cases: Array<[string, Record<string, unknown>, string]> = [
    [
      'GitHub SLSA v1: repository, ID, hosted runner',
      GITHUB,
      'predicate.buildDefinition.externalParameters.workflow.repository == "https://github.com/sigstore/sigstore-js" && predicate.buildDefinition.internalParameters.github.repository_id == "495574555" && predicate.runDetails.builder.id.startsWith("https://github.com/actions/runner/")',
    ],
  ];
  if (existsSync(K8S)) {
    cases.push([
      'Kubernetes SLSA v0.1 (461 subjects): subject.exists',
      JSON.parse(readFileSync(K8S, 'utf8')) as Record<string, unknown>,
      'predicateType == "https://slsa.dev/provenance/v0.1" && subject.exists(s, s.name.endsWith("/bin/linux/amd64/kubectl") && size(s.digest.sha256) == 64)',
    ]);
  } else {
    console.log(`(no ${K8S}: the Kubernetes case is skipped)`);
  }
  const rows = cases.map(([name, statement, expression]) => {
    const compile = time(() => compileAttestationCondition(expression), runs);
    const condition = compileAttestationCondition(expression);
    if (!evaluateCondition(condition, statement).ok) throw new Error(`${name}: the condition does not hold`);
    // A fresh statement object each time: the per-statement input conversion is part of the cost.
    const evaluate = time(() => evaluateCondition(condition, { ...statement }), runs);
    return { name, compileUs: Math.round(compile), evaluateUs: Math.round(evaluate) };
  });
  for (const r of rows) console.log(`${r.name.padEnd(55)} compile ${String(r.compileUs).padStart(6)} µs   evaluate ${String(r.evaluateUs).padStart(6)} µs`);
  console.log(JSON.stringify({ runs, rows }));
}

main();
