/**
 * The real data committed in the project's `fixtures/` folder: a few small files copied byte
 * for byte from the interop corpus (`../shared/interop`), each at the same relative path, with
 * its origin and licence in `fixtures/README.md`. Unlike the corpus, they are in every clone:
 * the demo and the fast tests read them and never skip.
 *
 * Works from the TypeScript sources (jest) and from the compiled tools (`build/tools/...`,
 * `npm run demo`): the project root is found by walking up to imgverify's package.json.
 */
import { existsSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';

function projectRoot(from: string): string {
  for (let dir = from; ; dir = dirname(dir)) {
    const manifest = join(dir, 'package.json');
    if (existsSync(manifest) && (JSON.parse(readFileSync(manifest, 'utf8')) as { name?: unknown }).name === 'imgverify') return dir;
    if (dirname(dir) === dir) throw new Error(`imgverify's package.json not found above ${from}`);
  }
}

export const PROJECT_ROOT = projectRoot(__dirname);
export const FIXTURES_DIR = join(PROJECT_ROOT, 'fixtures');

/** The path of a fixture, e.g. `fixturePath('trust', 'prod_trusted_root.sigstore-python.json')`; throws when it is not there. */
export function fixturePath(...parts: string[]): string {
  const path = join(FIXTURES_DIR, ...parts);
  if (!existsSync(path)) throw new Error(`fixture ${parts.join('/')} not found at ${path} (see fixtures/README.md)`);
  return path;
}

export function readFixture(...parts: string[]): Buffer {
  return readFileSync(fixturePath(...parts));
}

export function readFixtureJSON<T = unknown>(...parts: string[]): T {
  return JSON.parse(readFileSync(fixturePath(...parts), 'utf8')) as T;
}

/** Fixture paths used by several tests and the demo. */
export const FIXTURE = {
  /** Production public-good `trusted_root.json` (sigstore-python's copy). */
  prodTrustedRoot: ['trust', 'prod_trusted_root.sigstore-python.json'],
  /** Staging `trusted_root.json` (for the staging Rekor v2 bundles). */
  stagingTrustedRoot: ['trust', 'staging_trusted_root.sigstore-python.json'],
  /** registry.k8s.io/cluster-api/cluster-api-controller:v1.5.0, signed by krel-trust@k8s-releng-prod. */
  k8sClusterApi: ['cosign-oci', 'k8s-cluster-api-controller-v1.5.0'],
  /** docker.io/salrashid123/server_image: a real multi-arch index (byte-exact) and its `.sig`. */
  serverImageIndex: ['cosign-oci', 'salrashid123-server_image', 'sha256-c05263d2ff65'],
} as const;
