/**
 * Test support for pull secrets: an ObjectCredentialSource over Secrets and ServiceAccounts
 * held in memory (counting reads, failing on demand), and Secret objects as the API returns them.
 */
import type { ObjectCredentialSource } from '../../src/webhook/pull-secrets';

/** An ObjectCredentialSource over objects held in memory (tests, and embedders with their own cache). */
export class MemoryObjectSource implements ObjectCredentialSource {
  private readonly secrets = new Map<string, unknown>();
  private readonly accounts = new Map<string, unknown>();
  /** Every read, in order: `Secret ns/name`, `ServiceAccount ns/name`. */
  readonly reads: string[] = [];
  /** When set, reads throw it (an unreachable API server). */
  failure?: Error | undefined;

  setSecret(namespace: string, name: string, secret: unknown): void {
    this.secrets.set(`${namespace}/${name}`, secret);
  }

  deleteSecret(namespace: string, name: string): void {
    this.secrets.delete(`${namespace}/${name}`);
  }

  setServiceAccount(namespace: string, name: string, account: unknown): void {
    this.accounts.set(`${namespace}/${name}`, account);
  }

  deleteServiceAccount(namespace: string, name: string): void {
    this.accounts.delete(`${namespace}/${name}`);
  }

  getSecret(namespace: string, name: string): Promise<unknown> {
    this.reads.push(`Secret ${namespace}/${name}`);
    return this.failure ? Promise.reject(this.failure) : Promise.resolve(this.secrets.get(`${namespace}/${name}`));
  }

  getServiceAccount(namespace: string, name: string): Promise<unknown> {
    this.reads.push(`ServiceAccount ${namespace}/${name}`);
    return this.failure ? Promise.reject(this.failure) : Promise.resolve(this.accounts.get(`${namespace}/${name}`));
  }
}

/** A `kubernetes.io/dockerconfigjson` Secret object holding `auths` (tests, examples). */
export function dockerConfigSecret(auths: Readonly<Record<string, { readonly username: string; readonly password: string }>>): Record<string, unknown> {
  const config = {
    auths: Object.fromEntries(Object.entries(auths).map(([k, v]) => [k, { auth: Buffer.from(`${v.username}:${v.password}`).toString('base64') }])),
  };
  return { type: 'kubernetes.io/dockerconfigjson', data: { '.dockerconfigjson': Buffer.from(JSON.stringify(config)).toString('base64') } };
}
