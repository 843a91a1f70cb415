/**
 * Fault injection at scale: `npm run chaos -- --rate 0.1 --images 200 --seed N`.
 *
 * Pushes signed, unsigned and tampered images to a real docker-registry on 127.0.0.1 and
 * verifies each through the chaos layer (test/support/registry/chaos.ts), which faults the
 * given share of registry exchanges; every outcome is compared with the truth
 * (test/support/chaos-run.ts). `--rate` takes a comma-separated list for one table over
 * several rates. Prints the tables (markdown) and a JSON line; exits 1 when a false accept,
 * a crash, a result without an error code or an unexplained reject happened.
 * Numbers go in docs/reliability.md.
 */
import { cpus } from 'node:os';
import { parseArgs } from 'node:util';
import { chaosTable, runChaos, type ChaosReport } from '../test/support/chaos-run';

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      rate: { type: 'string', default: '0.1' },
      images: { type: 'string', default: '200' },
      seed: { type: 'string', default: '1' },
      concurrency: { type: 'string', default: '8' },
      rounds: { type: 'string', default: '1' },
      timeout: { type: 'string', default: '1500' },
    },
  });
  const rates = values.rate.split(',').map(Number);
  const reports: ChaosReport[] = [];
  for (const rate of rates) {
    const report = await runChaos({
      images: Number(values.images),
      rate,
      seed: Number(values.seed),
      concurrency: Number(values.concurrency),
      rounds: Number(values.rounds),
      timeoutMs: Number(values.timeout),
      log: (line) => console.error(line),
    });
    reports.push(report);
    console.error(
      `rate ${rate}: ${report.verifications} verifications in ${report.seconds.toFixed(1)} s, ${report.faultsInjected} faults, problems ${report.problems.length}`,
    );
    for (const p of report.problems.slice(0, 20))
      console.error(`  ${p.judgement} ${p.class} ${p.image}: ${p.code ?? ''} ${p.message ?? ''} faults=[${p.faults.join(',')}]`);
  }
  console.log(
    `\nimgverify chaos run: seed ${values.seed}, ${values.images} images (signed, unsigned, tampered) x ${values.rounds} round(s), concurrency ${values.concurrency}, client deadline ${values.timeout} ms`,
  );
  console.log(`machine: ${cpus().length} x ${cpus()[0]?.model ?? 'cpu'}, node ${process.version}\n`);
  console.log(chaosTable(reports));
  console.log('\nfailure codes:', reports.map((r) => `rate ${r.rate}: ${JSON.stringify(r.codes)}`).join('; '));
  console.log(JSON.stringify(reports.map((r) => ({ ...r, problems: r.problems.length }))));
  if (reports.some((r) => r.falseAccepts + r.crashes + r.noCode + r.unexplainedRejects > 0)) process.exitCode = 1;
}

main().catch((err: unknown) => {
  console.error(err);
  process.exitCode = 1;
});
