/** Public types of the registry client. */
import type { ImageReference } from '../reference';
import type { CredentialProviders } from './auth/credential-provider';
import type { CredentialLookupResult, RegistryCredentials } from './auth/credential-types';
import type { ManifestKind } from './media-types';
import type { ClientCertificate, HttpStack } from './transport/http-stack';
import type { ProxySettings } from './transport/proxy';

/** Which repository to talk to: the registry and repository of a parsed ImageReference. */
export type RepositoryRef = Pick<ImageReference, 'registry' | 'repository'>;

export interface RegistryClientOptions {
  /**
   * Credentials by registry, keyed as in `ImageReference.registry` (`docker.io`, `ghcr.io`,
   * `localhost:5000`); keys are normalised like docker config keys, so
   * `https://index.docker.io/v1/` works too. They take precedence over the docker config.
   */
  credentials?: Readonly<Record<string, RegistryCredentials>> | undefined;
  /**
   * docker `config.json` (`auths`, `credHelpers`, `credsStore`). Default:
   * `$DOCKER_CONFIG/config.json`, else `~/.docker/config.json`, consulted after
   * `$REGISTRY_AUTH_FILE` and before the containers auth files (see `credentialFiles`).
   * `false` (without `credentialFiles`): read no credential file at all.
   */
  dockerConfigPath?: string | false | undefined;
  /**
   * Kubelet credential provider plugins (`loadCredentialProviders()`: the kubelet's
   * `--image-credential-provider-config` and `--image-credential-provider-bin-dir`), asked
   * after the `credentials` option and before the credential files, for the images their
   * `matchImages` match.
   */
  credentialProviders?: CredentialProviders | undefined;
  /**
   * Credential files to consult, in order, instead of the default chain (after
   * `dockerConfigPath` when that is a path): docker `config.json`, containers `auth.json`, or
   * mounted `kubernetes.io/dockerconfigjson` Secrets; the first with an answer for a registry
   * wins. Default: `$REGISTRY_AUTH_FILE`, the docker config, `$XDG_RUNTIME_DIR/containers/auth.json`,
   * `${XDG_CONFIG_HOME:-~/.config}/containers/auth.json`, `~/.dockercfg`. `false`: none.
   * Credential helpers they name are run (`docker-credential-<name> get`, found on `env.PATH`).
   */
  credentialFiles?: readonly string[] | false | undefined;
  /**
   * Plain http for registries that are not loopback: `true` for all, or a list of registry
   * hosts (`host[:port]`). Such registries are tried over https first, as docker does for
   * insecure registries. Loopback registries (localhost, 127.0.0.0/8, [::1]) are always
   * allowed plain http.
   */
  allowHttp?: boolean | readonly string[] | undefined;
  /** Extra trusted CA certificates (PEM) for TLS, added to Node's default roots. */
  ca?: string | Buffer | ReadonlyArray<string | Buffer> | undefined;
  /**
   * TLS client certificates (mTLS) by registry (`registry.corp:5000`, keys normalised like
   * docker config keys). Each is presented only to its registry's host, never to a redirect
   * target or token realm elsewhere.
   */
  clientCertificates?: Readonly<Record<string, ClientCertificate>> | undefined;
  /**
   * HTTP proxies. Default: `HTTPS_PROXY`, `HTTP_PROXY`, `NO_PROXY` (or lower case) from `env`,
   * as Go reads them (loopback is never proxied). `false`: always connect directly.
   */
  proxy?: ProxySettings | false | undefined;
  /**
   * The environment read for proxy variables, credential files (`DOCKER_CONFIG`,
   * `REGISTRY_AUTH_FILE`, `XDG_RUNTIME_DIR`, `XDG_CONFIG_HOME`, `HOME`) and credential helpers
   * (`PATH`). Default `process.env`.
   */
  env?: Readonly<Record<string, string | undefined>>;
  /**
   * An HTTP stack to share (with an SBOM fetch, another client): its connection pools, CAs,
   * proxies and client certificates are used, and `close()` leaves it open. Cannot be combined
   * with `ca`, `clientCertificates`, `proxy` or `maxConnectionsPerHost`.
   */
  httpStack?: HttpStack | undefined;
  /**
   * Deadline of one call (getManifest, getBlob, listReferrers) as a whole: the scheme probe,
   * token requests, redirects, retries and Retry-After waits, every page. Default 30 000 ms.
   */
  timeoutMs?: number | undefined;
  /** Retries on 408/429/5xx and dropped connections. Default 3. */
  retries?: number | undefined;
  /** First backoff delay; doubles each retry, with jitter. Default 250 ms. */
  retryBaseDelayMs?: number | undefined;
  /** Longest wait between retries, including a registry's Retry-After. Default 10 000 ms. */
  maxRetryDelayMs?: number | undefined;
  /** Largest manifest (and referrers page) accepted. Default 4 MiB. */
  maxManifestBytes?: number | undefined;
  /** Largest blob accepted unless a call says otherwise. Default 8 MiB. */
  maxBlobBytes?: number | undefined;
  /** Connections kept per origin (keep-alive). Default 8. */
  maxConnectionsPerHost?: number | undefined;
  /** User-Agent header. Default `imgverify`. */
  userAgent?: string | undefined;
  /** Aborts every request of this client. */
  signal?: AbortSignal | undefined;
}

/**
 * Credentials that travel with calls rather than with the client: an admitted Kubernetes
 * object's pull secrets, looked up per repository when a registry asks for authentication.
 * They are tried before the client's own (the `credentials` option, credential provider
 * plugins, credential files), in turn until the registry accepts one; a token obtained with
 * one credential is only ever used by calls that hold the same credential.
 */
export interface CallCredentials {
  /** The credentials for one repository (`registry/repository`), in the order to try them. */
  lookup(registry: string, repository: string, signal?: AbortSignal): Promise<CredentialLookupResult>;
}

export interface CallOptions {
  /** Aborts this call (in addition to the client's signal). */
  readonly signal?: AbortSignal | undefined;
  /** Credentials for this call only (see {@link CallCredentials}). */
  readonly credentials?: CallCredentials | undefined;
}

export interface ManifestOptions extends CallOptions {
  /** Media types to accept besides the OCI and Docker v2 manifest and index types. */
  readonly accept?: readonly string[] | undefined;
  /** Overrides the client's `maxManifestBytes`. */
  readonly maxBytes?: number | undefined;
}

export interface BlobOptions extends CallOptions {
  /** Overrides the client's `maxBlobBytes`. */
  readonly maxBytes?: number | undefined;
}

export interface ReferrersOptions extends CallOptions {
  /** Only referrers with this artifactType (filtered here even if the registry filters). */
  readonly artifactType?: string | undefined;
}

/** An OCI content descriptor, validated. */
export interface Descriptor {
  readonly mediaType: string;
  /** `algorithm:encoded`; verified only when fetched. */
  readonly digest: string;
  readonly size: number;
  readonly artifactType?: string;
  /** Empty when the descriptor has none. */
  readonly annotations: Readonly<Record<string, string>>;
  readonly urls?: readonly string[];
  /** Embedded content, base64 (not verified here). */
  readonly data?: string;
  readonly platform?: Platform;
}

export interface Platform {
  readonly architecture: string;
  readonly os: string;
  readonly 'os.version'?: string;
  readonly 'os.features'?: readonly string[];
  readonly variant?: string;
  readonly features?: readonly string[];
}

/** An image manifest (OCI or Docker v2): config and layers. */
export interface ImageManifestContent {
  readonly kind: 'image';
  readonly schemaVersion: 2;
  readonly mediaType?: string;
  readonly artifactType?: string;
  readonly config: Descriptor;
  readonly layers: readonly Descriptor[];
  readonly subject?: Descriptor;
  readonly annotations?: Readonly<Record<string, string>>;
}

/** An index (OCI index or Docker manifest list). */
export interface ImageIndexContent {
  readonly kind: 'index';
  readonly schemaVersion: 2;
  readonly mediaType?: string;
  readonly artifactType?: string;
  readonly manifests: readonly Descriptor[];
  readonly subject?: Descriptor;
  readonly annotations?: Readonly<Record<string, string>>;
}

/** A manifest of a media type the caller asked for and this client does not interpret. */
export interface OtherManifestContent {
  readonly kind: 'other';
}

export type ManifestContent = ImageManifestContent | ImageIndexContent | OtherManifestContent;

export interface Manifest {
  /** Digest of `bytes`: the one asked for, or, asked by tag, their sha256 (whatever the registry announces). */
  readonly digest: string;
  /** From the content's `mediaType` field, else the Content-Type header. */
  readonly mediaType: string;
  readonly kind: ManifestKind;
  /** The exact bytes received; the digest is of these. */
  readonly bytes: Buffer;
  /** The parsed JSON object, unvalidated beyond being an object. */
  readonly json: Readonly<Record<string, unknown>>;
  /** The validated, typed view of `json`. */
  readonly content: ManifestContent;
}

export interface Referrers {
  readonly descriptors: readonly Descriptor[];
  /** Where the list came from: the OCI 1.1 referrers API, or the `sha256-<hex>` tag. */
  readonly source: 'referrers-api' | 'tag-schema';
}
