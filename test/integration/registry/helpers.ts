import { RegistryClient, type RegistryClientOptions } from '../../../src/registry';

/** A client that ignores the machine's docker config and retries fast. */
export function testClient(options: RegistryClientOptions = {}): RegistryClient {
  return new RegistryClient({ dockerConfigPath: false, retryBaseDelayMs: 5, ...options });
}

export { rejection } from '../../support/errors';
