/**
 * The usual setup of an integration test: a real docker-registry, a fresh test Sigstore, and a
 * verifier that trusts that Sigstore. `stop()` closes all three (call it in afterAll).
 */
import { createVerifier, type ImageVerifier } from '../../src';
import { closePushers, startRegistry, type RunningRegistry } from './registry';
import { createTestSigstore, type TestSigstore } from './sigstore';

export interface VerificationEnvironment {
  readonly registry: RunningRegistry;
  readonly sigstore: TestSigstore;
  readonly verifier: ImageVerifier;
  stop(): Promise<void>;
}

export async function startVerificationEnvironment(): Promise<VerificationEnvironment> {
  const registry = await startRegistry();
  const sigstore = createTestSigstore();
  const verifier = createVerifier({ trustedRoot: sigstore.trustedRoot as unknown as Record<string, unknown> });
  return {
    registry,
    sigstore,
    verifier,
    async stop() {
      await verifier.close();
      await closePushers();
      await registry.stop();
    },
  };
}
