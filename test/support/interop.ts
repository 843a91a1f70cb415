/**
 * Access to the real-world data beside the project (`../shared/interop`). Tests that need it
 * skip with a visible message when it is absent (a user's clone has no `../shared`); CI has it.
 * The few real files the demo and the fast tests need are committed in `fixtures/` instead
 * (same relative paths): see `./fixtures.ts`.
 */
import { existsSync, readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';

export const INTEROP_DIR = resolve(__dirname, '..', '..', '..', 'shared', 'interop');
export const hasInterop = existsSync(join(INTEROP_DIR, 'README.md'));

/** `describe` when the interop data is present; otherwise a skipped block that says why. */
export function describeInterop(name: string, fn: () => void): void {
  if (hasInterop) {
    describe(name, fn);
  } else {
    describe(name, () => {
      // eslint-disable-next-line no-console -- a skip must be visible in the run's output
      console.warn(`SKIPPED "${name}": interop data not found at ${INTEROP_DIR}`);
      test.skip(`needs ${INTEROP_DIR}`, () => undefined);
    });
  }
}

export function interopPath(...parts: string[]): string {
  return join(INTEROP_DIR, ...parts);
}

export function readInteropJSON<T = unknown>(...parts: string[]): T {
  return JSON.parse(readFileSync(interopPath(...parts), 'utf8')) as T;
}

export const PROD_TRUSTED_ROOT = ['trust', 'prod_trusted_root.sigstore-python.json'];

/** A real cosign legacy signature, as stored in `cosign-oci/**\/artifact*.json`. */
export interface CosignArtifact {
  payload: string;
  signature: string;
  certificate: string;
  /** null where the source did not record the chain annotation */
  chain: string | null;
  bundle: Record<string, unknown> | string;
}

export interface CosignVector {
  artifact: string;
  image: string;
  identity: string;
  issuer: string;
  integratedTime: string;
  rekor_logIndex: number;
  ctlog: string;
}

/** The `.sig` layer annotations cosign would have written for an artifact. */
export function artifactAnnotations(a: CosignArtifact): Record<string, string> {
  return {
    'dev.cosignproject.cosign/signature': a.signature,
    'dev.sigstore.cosign/certificate': a.certificate,
    ...(a.chain ? { 'dev.sigstore.cosign/chain': a.chain } : {}),
    'dev.sigstore.cosign/bundle': typeof a.bundle === 'string' ? a.bundle : JSON.stringify(a.bundle),
  };
}
