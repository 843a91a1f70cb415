/**
 * The main job, offline: verify a Kubernetes image signed by the Kubernetes release identity,
 * as "Verify Signed Container Images" does with `cosign verify`, but in-process.
 *
 *   npm run demo
 *
 * registry.k8s.io cannot be reached from an air-gapped machine, so a local docker-registry
 * (127.0.0.1, ephemeral port) is loaded with the real, byte-exact cosign signature of
 * registry.k8s.io/cluster-api/cluster-api-controller:v1.5.0 from the project's fixtures/ folder
 * (signed by krel-trust@k8s-releng-prod.iam.gserviceaccount.com, logged in the public Rekor),
 * and the built CLI verifies it against the embedded Sigstore public-good trust root:
 *   1. with the Kubernetes release identity → VERIFIED (exit 0);
 *   2. with another identity → FAILED, with the reason (exit 1);
 *   3. a real multi-arch image index (docker.io/salrashid123/server_image, byte-exact, signed
 *      by a GitHub Actions release workflow), by tag: the registry serves the index, its digest
 *      is the one the signature binds → VERIFIED (exit 0).
 * Everything it reads is in fixtures/ (see fixtures/README.md): it runs on a fresh clone.
 * With network access, the same verification against the real registry is
 *   imgverify verify registry.k8s.io/kube-apiserver:v1.32.0 \
 *     --certificate-identity krel-trust@k8s-releng-prod.iam.gserviceaccount.com \
 *     --certificate-oidc-issuer https://accounts.google.com
 */
import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { FIXTURE, PROJECT_ROOT, readFixture } from '../test/support/fixtures';
import { closePushers, OCI_MANIFEST, pushBlob, pushManifest, startRegistry } from '../test/support/registry';
import { placeManifest } from '../test/support/registry-storage';

const CLI = join(PROJECT_ROOT, 'dist', 'cli', 'main.js');

const K8S = {
  repo: 'cluster-api/cluster-api-controller',
  digest: 'sha256:f34016d3a494f9544a16137c9bba49d8756c574a0a1baf96257903409ef82f77',
  identity: 'krel-trust@k8s-releng-prod.iam.gserviceaccount.com',
  issuer: 'https://accounts.google.com',
};
const INDEX = {
  repo: 'salrashid123/server_image',
  tag: 'v0.0.30',
  digest: 'sha256:c05263d2ff654c3a94243662440913f045075d59c436e2c69e9145ec2b87a321',
  identity: 'https://github.com/salrashid123/go-bazel-github-workflow/.github/workflows/release.yaml@refs/tags/v0.0.30',
  issuer: 'https://token.actions.githubusercontent.com',
};

function run(args: string[]): number {
  console.log(`\n$ imgverify ${args.join(' ')}`);
  const r = spawnSync(process.execPath, [CLI, ...args], { stdio: 'inherit' });
  console.log(`(exit ${r.status})`);
  return r.status ?? -1;
}

async function main(): Promise<void> {
  const registry = await startRegistry();
  try {
    // The `.sig` artifact exactly as cosign stored it: config, payload (the layer) and manifest.
    const k8s = (name: string) => readFixture(...FIXTURE.k8sClusterApi, name);
    await pushBlob(registry, K8S.repo, k8s('config.reconstructed.json'));
    await pushBlob(registry, K8S.repo, k8s('payload.json'));
    await pushManifest(registry, K8S.repo, `${K8S.digest.replace(':', '-')}.sig`, k8s('sig-manifest.reconstructed.json'), OCI_MANIFEST);
    const image = `${registry.host}/${K8S.repo}@${K8S.digest}`;
    console.log(`Local registry ${registry.host} holds the real signature of registry.k8s.io/${K8S.repo}:v1.5.0 (${K8S.digest}).`);

    // The real index bytes go straight into the registry's storage (the registry would refuse
    // them through the API: their child manifests are not stored); its `.sig` is pushed as usual.
    const idx = (name: string) => readFixture(...FIXTURE.serverImageIndex, name);
    const placed = placeManifest(registry.storageDir, INDEX.repo, INDEX.tag, idx('image-index.json'));
    if (placed !== INDEX.digest) throw new Error(`fixtures/${FIXTURE.serverImageIndex.join('/')}/image-index.json hashes to ${placed}, not ${INDEX.digest}`);
    await pushBlob(registry, INDEX.repo, idx('config.json'));
    await pushBlob(registry, INDEX.repo, idx('payload-0.json'));
    await pushManifest(registry, INDEX.repo, `${INDEX.digest.replace(':', '-')}.sig`, idx('sig-manifest.json'), OCI_MANIFEST);

    const ok = run(['verify', image, '--certificate-identity', K8S.identity, '--certificate-oidc-issuer', K8S.issuer]);
    const bad = run(['verify', image, '--certificate-identity', 'someone@example.com', '--certificate-oidc-issuer', K8S.issuer]);
    console.log(`\nA multi-arch image index (docker.io/${INDEX.repo}, ${INDEX.digest}), by tag:`);
    const multiArch = run([
      'verify',
      `${registry.host}/${INDEX.repo}:${INDEX.tag}`,
      '--certificate-identity',
      INDEX.identity,
      '--certificate-oidc-issuer',
      INDEX.issuer,
    ]);
    if (ok !== 0 || bad !== 1 || multiArch !== 0) {
      console.error(
        `\nunexpected outcome: verification exited ${ok} (expected 0), the wrong identity exited ${bad} (expected 1), ` +
          `the multi-arch index exited ${multiArch} (expected 0)`,
      );
      process.exitCode = 1;
    } else {
      console.log('\nThe Kubernetes release signature verified; the wrong identity was refused; the multi-arch index verified.');
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
