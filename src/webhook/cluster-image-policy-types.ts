/**
 * The model of policy-controller's `ClusterImagePolicy` (policy.sigstore.dev/v1beta1, and
 * v1alpha1, whose shape is the same) as the webhook uses it: what ./cluster-image-policy reads a
 * document into, validated and with policy-controller's defaults applied. (policy-controller's
 * `clusterimagepolicy_types.go`; the validation and defaults are in ./cluster-image-policy.)
 */
import type { AttestationCondition, ClaimMatchers } from '../index';
import type { PolicyLocation } from './crd-document';

export type PolicyMode = 'enforce' | 'warn';
export type StaticAction = 'pass' | 'fail';
export type HashAlgorithm = 'sha224' | 'sha256' | 'sha384' | 'sha512';
export type SignatureFormat = 'legacy' | 'bundle';

/**
 * One acceptable keyless signer: exactly one of issuer/issuerRegExp and of subject/subjectRegExp.
 * `claims` and `claimsRegExp` are an imgverify extension (policy-controller does not have them):
 * Fulcio certificate claims the signer must carry, by name (docs/webhook.md).
 */
export interface KeylessIdentity {
  readonly issuer?: string;
  readonly subject?: string;
  /** RE2 expression, matched as a search (unanchored), as policy-controller and cosign do. */
  readonly issuerRegExp?: string;
  readonly subjectRegExp?: string;
  /** imgverify extension: exact values of certificate claims, e.g. `sourceRepositoryIdentifier: "495574555"`. */
  readonly claims?: Readonly<ClaimMatchers>;
  /** imgverify extension: RE2 regexps on certificate claims, e.g. `sourceRepositoryRef: ^refs/tags/v`. */
  readonly claimsRegExp?: Readonly<ClaimMatchers>;
}

export interface KeylessAuthority {
  /**
   * The Fulcio URL as written. Without a `trustRootRef`, it selects the trust roots that list it
   * as a certificate authority (`uri`), and the authority verifies under those (docs/webhook.md);
   * absent (policy-controller's default, https://fulcio.sigstore.dev, which it uses for nothing),
   * the webhook's trust as a whole.
   */
  readonly url?: string;
  /** Non-empty; any one identity suffices. */
  readonly identities: readonly KeylessIdentity[];
  /** `ca-cert.data`: the Fulcio CA chain (PEM) certificates must chain to, instead of the trust root's CAs. */
  readonly caCert?: string;
  /** `insecureIgnoreSCT: true`: certificates need no verified embedded SCT (a Fulcio without a CT log). */
  readonly insecureIgnoreSCT?: true;
}

/** The TrustRoot documents an authority names, per part of the trust (see docs/webhook.md). */
export interface TrustRootRefs {
  /** `keyless.trustRootRef`: certificate authorities and CT logs. */
  readonly keyless?: string;
  /** `ctlog.trustRootRef`: transparency logs. */
  readonly ctlog?: string;
  /** `rfc3161timestamp.trustRootRef`: timestamp authorities. */
  readonly rfc3161timestamp?: string;
}

export interface KeyAuthority {
  /** PEM public key (checked to parse at load time). */
  readonly data: string;
  /** The hash the key signs with (ECDSA, RSA); default sha256. Signatures are verified with exactly it. */
  readonly hashAlgorithm: HashAlgorithm;
}

/**
 * `source[]`: where an authority's signatures and attestations are stored, when not beside the
 * image (cosign's COSIGN_REPOSITORY).
 */
export interface AuthoritySource {
  /** The repository (`registry/path`) holding the `.sig`/`.att` tags; absent: the image's own repository. */
  readonly oci?: string;
  /** Names of Secrets in the admitted object's namespace with the credentials for that repository. */
  readonly signaturePullSecrets: readonly string[];
  /** A prefix of the `.sig`/`.att` tags (cosign's `--attachment-tag-prefix`): `<prefix>sha256-<hex>.sig`. */
  readonly tagPrefix?: string;
}

/** A label selector (Kubernetes' `metav1.LabelSelector`): every requirement must hold. */
export interface LabelSelector {
  /** Labels the object must carry with exactly these values. */
  readonly matchLabels: Readonly<Record<string, string>>;
  /** Requirements on the object's labels, all of which must hold. */
  readonly matchExpressions: readonly LabelSelectorRequirement[];
}

/** One `matchExpressions` requirement. */
export interface LabelSelectorRequirement {
  /** The label key (`[prefix/]name`). */
  readonly key: string;
  /** In: the label has one of `values`; NotIn: it is absent or has none of them; Exists; DoesNotExist. */
  readonly operator: 'In' | 'NotIn' | 'Exists' | 'DoesNotExist';
  /** Non-empty for In and NotIn, empty for Exists and DoesNotExist. */
  readonly values: readonly string[];
}

/**
 * `spec.match[]`: a kind of admitted object the policy applies to. Group and resource are
 * compared exactly (the core group is ""), version exactly or `*` for any; with a selector, the
 * object's own `metadata.labels` must satisfy it.
 */
export interface MatchResource {
  /** The API group, compared exactly ("" is the core group: pods). */
  readonly group: string;
  /** The version, compared exactly, or `*` for any. */
  readonly version: string;
  /** The resource (plural, lower case: `deployments`), compared exactly. */
  readonly resource: string;
  /** When present, the object's own `metadata.labels` must satisfy it. */
  readonly selector?: LabelSelector;
}

export interface StaticAuthority {
  readonly action: StaticAction;
  /** Shown in the denial for `fail`. */
  readonly message?: string;
}

export interface AttestationRequirement {
  /** Unique within the authority. */
  readonly name: string;
  /** As written: a cosign short name (`slsaprovenance1`, `custom`, ...) or a URI. */
  readonly predicateType: string;
  /** The in-toto predicateType an attestation must have (short names resolved with cosign's table). */
  readonly predicateTypeURI: string;
  /** `policy: {type: cel, data}`: a CEL condition the attestation must satisfy, compiled at load. */
  readonly policy?: { readonly type: 'cel'; readonly data: string; readonly condition: AttestationCondition };
}

/** An authority: exactly one of `keyless`, `key`, `static` is set. */
export interface Authority {
  /** As written, or `authority-<index>` (policy-controller's default). Unique within the policy. */
  readonly name: string;
  readonly keyless?: KeylessAuthority;
  readonly key?: KeyAuthority;
  readonly static?: StaticAuthority;
  /** When non-empty, the authority is satisfied by verified attestations of every listed type, not by signatures. */
  readonly attestations: readonly AttestationRequirement[];
  /**
   * `ctlog`: a transparency-log entry is required. `url` as written: without `ctlog.trustRootRef`,
   * it selects the trust roots that list it as a transparency log (`baseUrl`).
   */
  readonly ctlog?: { readonly url?: string };
  /**
   * Whether a signature needs a transparency-log entry: always for keyless; for a key, only with
   * `ctlog` (or a TrustRoot's timestamp authorities) — `cosign sign --key --tlog-upload=false`.
   */
  readonly requiresTlog: boolean;
  /** `source`: where the signatures are, tried in order (absent: beside the image). */
  readonly sources?: readonly AuthoritySource[];
  /** TrustRoot documents this authority's verification uses instead of the webhook's default trust. */
  readonly trustRootRefs?: TrustRootRefs;
  /** policy-controller's `signatureFormat`; absent means legacy (cosign's default). */
  readonly signatureFormat?: SignatureFormat;
}

/**
 * A ClusterImagePolicy, or an imgverify `ImagePolicy` (policy.imgverify.dev/v1alpha1: the same
 * `spec`, namespaced): one applies to every object, the other only to objects in its namespace,
 * in addition to the cluster's (an image must satisfy both: AND).
 */
export interface ClusterImagePolicy {
  /** metadata.name, unique across the loaded set (an ImagePolicy's within its namespace). */
  readonly name: string;
  readonly apiVersion: 'policy.sigstore.dev/v1beta1' | 'policy.sigstore.dev/v1alpha1' | typeof IMAGE_POLICY_API_VERSION;
  /** An ImagePolicy's namespace (`metadata.namespace`); absent for a ClusterImagePolicy. */
  readonly namespace?: string;
  /** Non-empty. An image is subject to the policy when any glob matches it. */
  readonly images: readonly { readonly glob: string }[];
  /** Non-empty; any one authority suffices (policies that match the same image are ANDed). */
  readonly authorities: readonly Authority[];
  /** `enforce` (default) denies on failure; `warn` admits with a warning. */
  readonly mode: PolicyMode;
  /** `spec.match`: the admitted objects the policy applies to (any entry); absent or empty: every object. */
  readonly match?: readonly MatchResource[];
  readonly source: PolicyLocation;
}

export const API_VERSIONS = Object.freeze(['policy.sigstore.dev/v1beta1', 'policy.sigstore.dev/v1alpha1'] as const);
/** The namespaced `ImagePolicy` kind: imgverify's own group (policy-controller has no namespaced kind). */
export const IMAGE_POLICY_API_VERSION = 'policy.imgverify.dev/v1alpha1';

/**
 * How a policy is named in outcomes, messages, reports and the verdict cache: a ClusterImagePolicy
 * by its name, an ImagePolicy as `namespace/name` (a name has no `/`, so the two never collide).
 */
export function policyKey(policy: Pick<ClusterImagePolicy, 'name' | 'namespace'>): string {
  return policy.namespace === undefined ? policy.name : `${policy.namespace}/${policy.name}`;
}
