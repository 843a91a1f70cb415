/**
 * One measured run of the library's SBOM verification in its own process (so its peak
 * memory is its own): reads the SBOM, verifies every image at the given concurrency, prints
 * one JSON line {images, verified, wallMs, cpuMs, maxRssMiB} (cpuMs: this process's user + system
 * CPU time). Used by bench/verify-release.ts.
 *
 *   node build/tools/bench/release-runner.js SBOM_FILE TRUSTED_ROOT CONCURRENCY SUBJECT ISSUER
 */
import { readFileSync } from 'node:fs';
import { createVerifier } from '../src';
import { verifySbomImages } from '../src/release';

async function main(): Promise<void> {
  const [sbomFile, rootFile, concurrency, subject, issuer] = process.argv.slice(2) as [string, string, string, string, string];
  const start = performance.now();
  const verifier = createVerifier({ trustedRoot: rootFile });
  const run = verifySbomImages(verifier, readFileSync(sbomFile), { subject, issuer }, { concurrency: Number(concurrency) });
  let verified = 0;
  let count = 0;
  for await (const r of run.results) {
    count++;
    if (r.verified) verified++;
    else process.stderr.write(`not verified: ${r.image}: ${r.error?.message}\n`);
  }
  await verifier.close();
  const wallMs = performance.now() - start;
  const cpu = process.cpuUsage();
  const cpuMs = (cpu.user + cpu.system) / 1000;
  console.log(JSON.stringify({ images: count, verified, wallMs: Math.round(wallMs), cpuMs: Math.round(cpuMs), maxRssMiB: Math.round(process.resourceUsage().maxRSS / 1024) }));
}

main().catch((err: unknown) => {
  console.error(err);
  process.exitCode = 1;
});
