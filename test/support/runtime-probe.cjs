/**
 * The runtime probe (test/integration/runtimes.test.ts): a small program that uses the packed
 * imgverify as an embedder does, run as is by Node, Bun and Deno, and bundled by esbuild and
 * ncc and run from a folder without node_modules. Plain CommonJS, no TypeScript: what every
 * runtime and bundler takes. Prints one JSON line per check:
 *   {"check": "...", "verified": true|false, "code"?: "...", "message"?: "...", "signer"?: "..."}
 *
 *   bundle    a Sigstore bundle (v0.2, production) against the embedded public-good root
 *   sig       the real Kubernetes release `.sig` signature with its Rekor SET, through an
 *             injected registry reader (no network)
 *   registry  (when IMGVERIFY_PROBE_IMAGE is set) an image in a real registry, signed by the
 *             test Sigstore whose trusted root is IMGVERIFY_PROBE_TRUSTED_ROOT
 * The fixtures' folder is IMGVERIFY_PROBE_FIXTURES.
 */
'use strict';
const { createHash } = require('node:crypto');
const { readFileSync } = require('node:fs');
const { join } = require('node:path');
const imgverify = require('imgverify');

const env = process.env;
const fixtures = env.IMGVERIFY_PROBE_FIXTURES;

function report(check, outcome) {
  process.stdout.write(`${JSON.stringify({ check, ...outcome })}\n`);
}

function failed(err) {
  return { verified: false, code: err && err.code, message: err && err.message };
}

function bundleCheck() {
  const dir = join(fixtures, 'bundles', 'sigstore-python');
  const verifier = imgverify.createVerifier();
  const result = verifier.verifyBundle(
    readFileSync(join(dir, 'bundle_v3_github.whl.sigstore')),
    { bytes: readFileSync(join(dir, 'bundle_v3_github.whl')) },
    {
      subject: 'https://github.com/trailofbits/rfc8785.py/.github/workflows/release.yml@refs/tags/v0.1.2',
      issuer: 'https://token.actions.githubusercontent.com',
    },
  );
  return result.verified ? { verified: true, signer: result.signer.subject } : failed(result.error);
}

/** A RegistryReader over the fixture's stored bytes (digests computed as a registry client would). */
function fixtureReader(dir, tag) {
  const sha256 = (bytes) => `sha256:${createHash('sha256').update(bytes).digest('hex')}`;
  const blobs = new Map(['config.reconstructed.json', 'payload.json'].map((f) => readFileSync(join(dir, f))).map((b) => [sha256(b), b]));
  const manifest = Buffer.from(JSON.stringify(JSON.parse(readFileSync(join(dir, 'sig-manifest.reconstructed.json'), 'utf8'))));
  const fetched = {
    digest: sha256(manifest),
    mediaType: 'application/vnd.oci.image.manifest.v1+json',
    bytes: manifest,
    json: JSON.parse(manifest.toString('utf8')),
  };
  const notFound = (what) => new imgverify.ImgverifyError('IMAGE_NOT_FOUND', `${what} is not in the fixture`);
  return {
    findManifest: async (_repo, ref) => (ref === tag || ref === fetched.digest ? fetched : null),
    getManifest: async (_repo, ref) => {
      if (ref === tag || ref === fetched.digest) return fetched;
      throw notFound(ref);
    },
    getBlob: async (_repo, digest) => {
      const blob = blobs.get(digest);
      if (!blob) throw notFound(digest);
      return blob;
    },
    listReferrers: async () => ({ descriptors: [], source: 'referrers-api' }),
  };
}

async function sigCheck() {
  const dir = join(fixtures, 'cosign-oci', 'k8s-cluster-api-controller-v1.5.0');
  const digest = JSON.parse(readFileSync(join(dir, 'artifact.json'), 'utf8')).image_manifest_digest;
  const verifier = imgverify.createVerifier({ registryClient: fixtureReader(dir, `${digest.replace(':', '-')}.sig`) });
  try {
    const result = await verifier.verify(`registry.k8s.io/cluster-api/cluster-api-controller@${digest}`, {
      subject: 'krel-trust@k8s-releng-prod.iam.gserviceaccount.com',
      issuer: 'https://accounts.google.com',
    });
    return result.verified ? { verified: true, signer: result.signer.subject, pinned: result.pinnedReference } : failed(result.error);
  } finally {
    await verifier.close();
  }
}

async function registryCheck() {
  const verifier = imgverify.createVerifier({ trustedRoot: env.IMGVERIFY_PROBE_TRUSTED_ROOT });
  try {
    const result = await verifier.verify(env.IMGVERIFY_PROBE_IMAGE, { subject: env.IMGVERIFY_PROBE_SUBJECT, issuer: env.IMGVERIFY_PROBE_ISSUER });
    return result.verified ? { verified: true, signer: result.signer.subject, pinned: result.pinnedReference } : failed(result.error);
  } finally {
    await verifier.close();
  }
}

async function main() {
  const checks = [['bundle', bundleCheck], ['sig', sigCheck], ...(env.IMGVERIFY_PROBE_IMAGE ? [['registry', registryCheck]] : [])];
  for (const [name, check] of checks) {
    try {
      report(name, await check());
    } catch (err) {
      report(name, { ...failed(err), threw: true });
    }
  }
}

main().catch((err) => {
  process.stderr.write(`probe: ${err && err.stack}\n`);
  process.exitCode = 1;
});
