// trusted_root.json (application/vnd.dev.sigstore.trustedroot+json;version=0.1) for a test
// Sigstore, in the JSON form production roots are distributed in: bytes as base64, key IDs
// as base64, times as RFC 3339.
import type { KeyObject } from 'node:crypto';
import { keyDetailsOf, logIdOf, spkiDer } from './keys';

export const TRUSTED_ROOT_MEDIA_TYPE = 'application/vnd.dev.sigstore.trustedroot+json;version=0.1';

interface ValidForJson {
  start?: string;
  end?: string;
}

export interface TransparencyLogJson {
  baseUrl: string;
  hashAlgorithm: 'SHA2_256';
  publicKey: { rawBytes: string; keyDetails: string; validFor: ValidForJson };
  logId: { keyId: string };
}

export interface CertificateAuthorityJson {
  subject: { organization: string; commonName: string };
  uri: string;
  certChain: { certificates: Array<{ rawBytes: string }> };
  validFor: ValidForJson;
}

export interface TrustedRootJson {
  mediaType: string;
  tlogs: TransparencyLogJson[];
  certificateAuthorities: CertificateAuthorityJson[];
  ctlogs: TransparencyLogJson[];
  timestampAuthorities: CertificateAuthorityJson[];
}

export interface ValidityWindow {
  start?: Date;
  end?: Date;
}

/** RFC 3339 without milliseconds when there are none, like the production files. */
function rfc3339(date: Date): string {
  return date.toISOString().replace('.000Z', 'Z');
}

function validForJson(window: ValidityWindow): ValidForJson {
  return {
    ...(window.start ? { start: rfc3339(window.start) } : {}),
    ...(window.end ? { end: rfc3339(window.end) } : {}),
  };
}

export function transparencyLogJson(baseUrl: string, publicKey: KeyObject, validFor: ValidityWindow): TransparencyLogJson {
  return {
    baseUrl,
    hashAlgorithm: 'SHA2_256',
    publicKey: {
      rawBytes: spkiDer(publicKey).toString('base64'),
      keyDetails: keyDetailsOf(publicKey),
      validFor: validForJson(validFor),
    },
    logId: { keyId: logIdOf(publicKey).toString('base64') },
  };
}

export function certificateAuthorityJson(opts: {
  organization: string;
  commonName: string;
  uri: string;
  chain: NonSharedBuffer[];
  validFor: ValidityWindow;
}): CertificateAuthorityJson {
  return {
    subject: { organization: opts.organization, commonName: opts.commonName },
    uri: opts.uri,
    certChain: { certificates: opts.chain.map((der) => ({ rawBytes: der.toString('base64') })) },
    validFor: validForJson(opts.validFor),
  };
}
