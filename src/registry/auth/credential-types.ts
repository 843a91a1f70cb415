/**
 * What a credential is, and what a lookup of one answers: the types the credential sources
 * (./credentials.ts, ./credential-provider.ts, ./keyring.ts, ./docker-config.ts) and the
 * authenticator share, below the client's options (../types.ts) that name those sources.
 */

/**
 * Credentials for one registry: a user name and password (or personal access token), or an
 * OAuth2 refresh token (docker's `identitytoken`) exchanged at the token service.
 */
export type RegistryCredentials = { readonly username: string; readonly password: string } | { readonly identityToken: string };

/** A credential to try for a registry, and where it comes from (for messages; never the secret). */
export interface CredentialCandidate {
  /** Sent only to the registry they were looked up for (and its token service). */
  readonly credentials: RegistryCredentials;
  /** `Secret default/regcred`, `credential provider ecr-credential-provider`. */
  readonly source: string;
}

/** What a `CallCredentials` (../types.ts) has for one repository. */
export interface CredentialLookupResult {
  /** The credentials to try, in order; each goes only to this registry (and its token realm). */
  readonly candidates: readonly CredentialCandidate[];
  /** Where they were looked for (and what could not be read), for messages; never a secret. */
  readonly searched: string;
}
