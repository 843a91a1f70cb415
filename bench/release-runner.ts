/**
 * One measured run of the library's SBOM verification in its own process (so its peak
 * memory is its own): reads the SBOM, verifies every image at the given concurrency, prints
 * one JSON line {images, verified, wallMs, cpuMs, maxRssMiB, imagesInFlight} (cpuMs: this
 * process's user + system CPU time; imagesInFlight: the images being verified, averaged from
 * the first image's start to the end, an image counting from when verifyMany took it to when
 * its result came out). Used by
 * bench/verify-release.ts.
 *
 *   node build/tools/bench/release-runner.js SBOM_FILE TRUSTED_ROOT CONCURRENCY SUBJECT ISSUER
 */
import { readFileSync } from 'node:fs';
import { createVerifier } from '../src';
import { imagesFromSbom } from '../src/sbom';

async function main(): Promise<void> {
  const [sbomFile, rootFile, concurrency, subject, issuer] = process.argv.slice(2) as [string, string, string, string, string];
  const start = performance.now();
  // As `imgverify verify-release` does: the verifier's concurrency sizes its connection pool.
  const verifier = createVerifier({ trustedRoot: rootFile, concurrency: Number(concurrency) });
  // verifySbomImages (src/release) is this: the SBOM's images through verifyMany. Spelled
  // out so that the time each image is taken (its start) can be recorded.
  const { images } = imagesFromSbom(readFileSync(sbomFile));
  const started = new Map<string, number>();
  function* taken(): Generator<string> {
    for (const image of images) {
      started.set(image.reference, performance.now());
      yield image.reference;
    }
  }
  let verified = 0;
  let count = 0;
  let busyMs = 0;
  let first: number | undefined;
  for await (const r of verifier.verifyMany(taken(), { subject, issuer }, { concurrency: Number(concurrency) })) {
    count++;
    const began = started.get(r.image) ?? start;
    first = Math.min(first ?? began, began);
    busyMs += performance.now() - began;
    if (r.verified) verified++;
    else process.stderr.write(`not verified: ${r.image}: ${r.error?.message}\n`);
  }
  await verifier.close();
  const wallMs = performance.now() - start;
  const cpu = process.cpuUsage();
  const cpuMs = (cpu.user + cpu.system) / 1000;
  console.log(
    JSON.stringify({
      images: count,
      verified,
      wallMs: Math.round(wallMs),
      cpuMs: Math.round(cpuMs),
      maxRssMiB: Math.round(process.resourceUsage().maxRSS / 1024),
      imagesInFlight: +(busyMs / (performance.now() - (first ?? start))).toFixed(2),
    }),
  );
}

main().catch((err: unknown) => {
  console.error(err);
  process.exitCode = 1;
});
