/**
 * Admitted objects' pull secrets from the Kubernetes API (issue 18 section 2): the
 * ObjectCredentialSource of ../pull-secrets over this connection. One `get` per Secret or
 * ServiceAccount an admission needs (cached there: 30 s, not found 5 s), never a list or watch
 * of Secrets cluster-wide; RBAC: `get` on `secrets` and `serviceaccounts` (deploy/rbac.yaml).
 * A read that fails (403 without that rule, an API server that does not answer) throws, and
 * ../pull-secrets names it in the admission's message; each read has the API access's own
 * deadline.
 */
import type { ObjectCredentialSource } from '../pull-secrets';
import type { KubeApi } from './api';
import { SECRETS, SERVICE_ACCOUNTS } from './resources';

export function kubeObjectCredentialSource(api: Pick<KubeApi, 'get'>): ObjectCredentialSource {
  return {
    getSecret: (namespace, name) => api.get(SECRETS, name, namespace),
    getServiceAccount: (namespace, name) => api.get(SERVICE_ACCOUNTS, name, namespace),
  };
}
