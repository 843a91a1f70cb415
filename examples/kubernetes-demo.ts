/**
 * The main job, offline: verify a Kubernetes image signed by the Kubernetes release identity,
 * as "Verify Signed Container Images" does with `cosign verify`, but in-process.
 *
 *   npm run demo
 *
 * registry.k8s.io cannot be reached from an air-gapped machine, so a local docker-registry
 * (127.0.0.1, ephemeral port) is loaded with the real, byte-exact cosign signature of
 * registry.k8s.io/cluster-api/cluster-api-controller:v1.5.0 from ../shared/interop (signed by
 * krel-trust@k8s-releng-prod.iam.gserviceaccount.com, logged in the public Rekor), and the
 * built CLI verifies it against the embedded Sigstore public-good trust root:
 *   1. with the Kubernetes release identity → VERIFIED (exit 0);
 *   2. with another identity → FAILED, with the reason (exit 1).
 * With network access, the same verification against the real registry is
 *   imgverify verify registry.k8s.io/kube-apiserver:v1.32.0 \
 *     --certificate-identity krel-trust@k8s-releng-prod.iam.gserviceaccount.com \
 *     --certificate-oidc-issuer https://accounts.google.com
 */
import { spawnSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { closePushers, pushBlob, pushManifest, startRegistry } from '../test/support/registry';

const ROOT = resolve(__dirname, '..', '..', '..');
const CLI = join(ROOT, 'dist', 'cli', 'main.js');
const INTEROP = resolve(ROOT, '..', 'shared', 'interop');
const VECTOR = join(INTEROP, 'cosign-oci', 'k8s-cluster-api-controller-v1.5.0');
const REPO = 'cluster-api/cluster-api-controller';
const DIGEST = 'sha256:f34016d3a494f9544a16137c9bba49d8756c574a0a1baf96257903409ef82f77';
const IDENTITY = 'krel-trust@k8s-releng-prod.iam.gserviceaccount.com';
const ISSUER = 'https://accounts.google.com';

function run(args: string[]): number {
  console.log(`\n$ imgverify ${args.join(' ')}`);
  const r = spawnSync(process.execPath, [CLI, ...args], { stdio: 'inherit' });
  console.log(`(exit ${r.status})`);
  return r.status ?? -1;
}

async function main(): Promise<void> {
  if (!existsSync(VECTOR)) {
    console.error(`The demo needs the interop data at ${INTEROP} (real cosign signatures); it is not there.`);
    process.exitCode = 2;
    return;
  }
  const registry = await startRegistry();
  try {
    // The `.sig` artifact exactly as cosign stored it: config, payload (the layer) and manifest.
    await pushBlob(registry, REPO, readFileSync(join(VECTOR, 'config.reconstructed.json')));
    await pushBlob(registry, REPO, readFileSync(join(VECTOR, 'payload.json')));
    await pushManifest(registry, REPO, `${DIGEST.replace(':', '-')}.sig`, readFileSync(join(VECTOR, 'sig-manifest.reconstructed.json')), 'application/vnd.oci.image.manifest.v1+json');
    const image = `${registry.host}/${REPO}@${DIGEST}`;
    console.log(`Local registry ${registry.host} holds the real signature of registry.k8s.io/${REPO}:v1.5.0 (${DIGEST}).`);

    const ok = run(['verify', image, '--certificate-identity', IDENTITY, '--certificate-oidc-issuer', ISSUER]);
    const bad = run(['verify', image, '--certificate-identity', 'someone@example.com', '--certificate-oidc-issuer', ISSUER]);
    if (ok !== 0 || bad !== 1) {
      console.error(`\nunexpected outcome: verification exited ${ok} (expected 0), the wrong identity exited ${bad} (expected 1)`);
      process.exitCode = 1;
    } else {
      console.log('\nThe Kubernetes release signature verified; the wrong identity was refused.');
    }
  } finally {
    await closePushers();
    await registry.stop();
  }
}

main().catch((err: unknown) => {
  console.error(err);
  process.exitCode = 1;
});
