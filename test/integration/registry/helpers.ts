import { ImgverifyError, type ErrorCode } from '../../../src/errors';
import { RegistryClient, type RegistryClientOptions } from '../../../src/registry';

/** A client that ignores the machine's docker config and retries fast. */
export function testClient(options: RegistryClientOptions = {}): RegistryClient {
  return new RegistryClient({ dockerConfigPath: false, retryBaseDelayMs: 5, ...options });
}

/** The ImgverifyError a promise rejects with; fails the test for anything else. */
export async function rejection(promise: Promise<unknown>, code: ErrorCode): Promise<ImgverifyError> {
  let result: unknown;
  try {
    result = await promise;
  } catch (err) {
    if (!(err instanceof ImgverifyError)) throw err;
    if (err.code !== code) throw new Error(`expected ${code}, got ${err.code}: ${err.message}`, { cause: err });
    return err;
  }
  throw new Error(`expected ${code}, but it resolved to ${JSON.stringify(result)?.slice(0, 200)}`);
}
