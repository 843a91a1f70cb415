/**
 * Deno's `crypto.verify`, as far as imgverify is concerned: without a digest, an EC (or RSA)
 * key throws "no default digest" (Deno 2.x; docs/upstream/sigstore-core-default-digest.md),
 * where Node.js uses SHA-256. Installed on `node:crypto` for one test, restored after.
 */
import type * as Crypto from 'node:crypto';

// The module object itself (every `verify` call in imgverify and @sigstore/core goes through it), not a namespace copy.
// eslint-disable-next-line @typescript-eslint/no-require-imports -- see above
const nodeCrypto = require('node:crypto') as typeof Crypto;

export function emulateDenoVerify(): jest.SpyInstance {
  const real = nodeCrypto.verify;
  return jest.spyOn(nodeCrypto, 'verify').mockImplementation(((
    algorithm: string | null | undefined,
    data: NodeJS.ArrayBufferView,
    key: Crypto.KeyLike | Crypto.VerifyKeyObjectInput,
    signature: NodeJS.ArrayBufferView,
  ) => {
    const type = key instanceof nodeCrypto.KeyObject ? key.asymmetricKeyType : undefined;
    if ((algorithm === undefined || algorithm === null) && (type === 'ec' || type === 'rsa')) throw new Error('no default digest');
    return real(algorithm, data, key, signature);
  }) as typeof Crypto.verify);
}
