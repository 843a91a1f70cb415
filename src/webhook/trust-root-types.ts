/**
 * The model of policy-controller's `TrustRoot` (policy.sigstore.dev/v1alpha1): what
 * ./trust-root reads a document into. ./trust-root-set turns it into trust.
 */
import type { TrustKeys } from '../index';
import type { PolicyLocation } from './crd-document';

export const TRUST_ROOT_API_VERSION = 'policy.sigstore.dev/v1alpha1';

export type TrustRootSpec =
  | { readonly kind: 'sigstoreKeys'; readonly keys: TrustKeys }
  | { readonly kind: 'remote'; readonly mirror: string; readonly root: Buffer; readonly targets?: string }
  | { readonly kind: 'repository'; readonly root: Buffer; readonly mirrorFS: Buffer; readonly targets?: string };

export interface TrustRootDocument {
  readonly kind: 'TrustRoot';
  /** metadata.name: what `trustRootRef` names. */
  readonly name: string;
  readonly spec: TrustRootSpec;
  readonly source: PolicyLocation;
}

export function isTrustRoot(value: unknown): value is TrustRootDocument {
  return typeof value === 'object' && value !== null && (value as { kind?: unknown }).kind === 'TrustRoot';
}
