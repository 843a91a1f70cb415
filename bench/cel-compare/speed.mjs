import { createRequire } from 'node:module';
import { readFileSync } from 'node:fs';
const require = createRequire(import.meta.url);
const buf = require('@bufbuild/cel');
const marc = await import('@marcbachmann/cel-js');
const k8s = JSON.parse(readFileSync('/work/shared/interop/attestations/k8s-1.23.0-alpha.4-provenance.json', 'utf8'));
const gh = JSON.parse(
  Buffer.from(
    JSON.parse(readFileSync('/work/shared/interop/bundles/sigstore-go/sigstore.js@2.0.0-provenance.sigstore.json', 'utf8')).dsseEnvelope.payload,
    'base64',
  ),
);
const cases = [
  [
    'k8s-provenance (461 subjects)',
    k8s,
    'predicateType == "https://slsa.dev/provenance/v0.1" && predicate.builder.id.startsWith("pkg:github/") && subject.exists(s, s.name.endsWith("/bin/linux/amd64/kubectl") && s.digest.sha256.size() == 64)',
  ],
  [
    'github slsa v1',
    gh,
    'predicate.buildDefinition.externalParameters.workflow.repository == "https://github.com/sigstore/sigstore-js" && predicate.buildDefinition.internalParameters.github.repository_id == "495574555" && predicate.runDetails.builder.id.startsWith("https://github.com/actions/runner/")',
  ],
];
function time(fn, n) {
  for (let i = 0; i < Math.min(n, 200); i++) fn();
  const t = process.hrtime.bigint();
  for (let i = 0; i < n; i++) fn();
  return Number(process.hrtime.bigint() - t) / 1e3 / n;
}
for (const [name, st, expr] of cases) {
  const vars = { predicateType: st.predicateType, subject: st.subject, predicate: st.predicate };
  // bufbuild
  const env = buf.celEnv();
  const compileB = () => buf.plan(env, buf.parse(expr));
  const pB = compileB();
  const rB = pB(vars);
  const tcB = time(compileB, 2000),
    teB = time(() => pB(vars), name.startsWith('k8s') ? 2000 : 20000);
  // marc
  const menv = new marc.Environment({ unlistedVariablesAreDyn: true });
  const compileM = () => menv.parse(expr);
  const pM = compileM();
  const rM = pM(vars);
  const tcM = time(compileM, 2000),
    teM = time(() => pM(vars), name.startsWith('k8s') ? 2000 : 20000);
  console.log(
    `${name}: bufbuild result=${String(rB)} compile ${tcB.toFixed(1)} µs eval ${teB.toFixed(1)} µs | cel-js result=${String(rM)} compile ${tcM.toFixed(1)} µs eval ${teM.toFixed(1)} µs`,
  );
}
