/**
 * A parsed bundle as the `SignedEntity` that `@sigstore/verify` checks: timestamps, tlog
 * entries and the signer's key come from `toSignedEntity`; the signature content and the
 * public-key hint may be replaced by the caller (digest-only verification, our own
 * key lookup).
 */
import type { Bundle } from '@sigstore/bundle';
import { toSignedEntity, type SignedEntity } from '@sigstore/verify';
import { ImgverifyError } from '../errors';
import { errorMessage } from '../util/describe';

type SignatureContent = SignedEntity['signature'];

export interface EntityOverrides {
  /** Replaces the signature content `toSignedEntity` would build. */
  readonly signature?: SignatureContent;
  /** Key-based bundles: the hint our trust material answers to (the bundle's own hint is ignored). */
  readonly publicKeyHint: string;
}

export function bundleToSignedEntity(bundle: Bundle, overrides: EntityOverrides): SignedEntity {
  let entity: SignedEntity;
  try {
    entity = toSignedEntity(bundle);
  } catch (err) {
    // Certificates were parsed by parseBundle; what remains is an RFC 3161 token.
    throw new ImgverifyError('SIGNATURE_MALFORMED', `bundle is malformed: ${errorMessage(err)}`, { cause: err });
  }
  return {
    ...entity,
    key: entity.key.$case === 'public-key' ? { $case: 'public-key', hint: overrides.publicKeyHint } : entity.key,
    ...(overrides.signature ? { signature: overrides.signature } : {}),
  };
}
