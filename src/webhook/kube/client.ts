/**
 * The one place that loads `@kubernetes/client-node`. It is an ES module (client-node 2.x is
 * ESM-only) and this package is CommonJS: `import()` (kept as such by the `node16` module
 * output) loads it on Node.js 22 and 24 alike. Only the webhook's cluster mode calls this:
 * importing `imgverify` or `imgverify/webhook`, and the folder mode, never load the client.
 */
import type * as KubernetesClientModule from '@kubernetes/client-node' with { 'resolution-mode': 'import' };
import { ImgverifyError } from '../../index';
import { errorMessage } from '../../util/describe';
import { asDependencyMissing } from '../../util/optional-module';

export type KubernetesClient = typeof KubernetesClientModule;
export type KubeConfig = KubernetesClientModule.KubeConfig;

let loading: Promise<KubernetesClient> | undefined;

/**
 * `@kubernetes/client-node`, loaded on the first call. An optional dependency
 * (../../util/optional-module.ts): when it is not installed, DEPENDENCY_MISSING names it.
 */
export function loadKubernetesClient(): Promise<KubernetesClient> {
  loading ??= (async () => {
    try {
      return await import('@kubernetes/client-node');
    } catch (err) {
      loading = undefined;
      const missing = asDependencyMissing(err);
      if (missing instanceof ImgverifyError) throw missing;
      throw new ImgverifyError('INVALID_OPTIONS', `the Kubernetes client (@kubernetes/client-node) cannot be loaded: ${errorMessage(err)}`, { cause: err });
    }
  })();
  return loading;
}
