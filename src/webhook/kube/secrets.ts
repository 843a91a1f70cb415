/**
 * `key.secretRef` and `ca-cert.secretRef` as policy-controller reads them
 * (pkg/reconciler/clusterimagepolicy, inlineAndTrackSecret): a Secret in the webhook's own
 * namespace with exactly one data entry, whose value is the PEM. The Secrets come from an
 * informer of that namespace, so a change of a Secret reloads the policies that name it.
 */
import type { SecretLookup } from '../crd-document';
import type { KubeObject } from './resources';

/** A key or CA chain is a few KiB; a bigger Secret value is a mistake. */
export const MAX_SECRET_VALUE_BYTES = 256 * 1024;

const BASE64 = /^[A-Za-z0-9+/]*={0,2}$/;

/**
 * A lookup over the Secrets of `namespace` (`get(name)` from the informer's cache). Every
 * Secret it reads is recorded in `used` (name → resourceVersion), so the caller knows which
 * Secrets a loaded policy depends on.
 */
export function secretLookup(namespace: string, get: (name: string) => KubeObject | undefined, used?: Map<string, string>): SecretLookup {
  return (ref) => {
    const { name } = ref;
    if (ref.namespace !== undefined && ref.namespace !== namespace) {
      return {
        error: `the Secret ${JSON.stringify(`${ref.namespace}/${name}`)} is in another namespace: only the webhook's namespace ${JSON.stringify(namespace)} is read (as policy-controller reads only its own)`,
      };
    }
    const secret = get(name);
    used?.set(name, secret?.metadata.resourceVersion ?? '(missing)');
    if (!secret) return { error: `Secret ${JSON.stringify(name)} not found in namespace ${JSON.stringify(namespace)}`, missing: true };
    const data = secret['data'];
    const entries = typeof data === 'object' && data !== null && !Array.isArray(data) ? Object.entries(data as Record<string, unknown>) : [];
    if (entries.length === 0) return { error: `Secret ${JSON.stringify(name)} contains no data` };
    if (entries.length > 1)
      return {
        error: `Secret ${JSON.stringify(name)} contains multiple data entries (${entries.map(([k]) => JSON.stringify(k)).join(', ')}), only one is supported`,
      };
    const [key, encoded] = entries[0]!;
    if (typeof encoded !== 'string' || !BASE64.test(encoded) || encoded.length % 4 !== 0)
      return { error: `Secret ${JSON.stringify(name)}: data ${JSON.stringify(key)} is not base64` };
    if ((encoded.length / 4) * 3 > MAX_SECRET_VALUE_BYTES)
      return { error: `Secret ${JSON.stringify(name)}: data ${JSON.stringify(key)} is larger than ${MAX_SECRET_VALUE_BYTES} bytes` };
    return { value: Buffer.from(encoded, 'base64').toString('utf8') };
  };
}
