/**
 * Fuzz targets: every parser of untrusted input, each with its seeds (real data from
 * fixtures/ and the test fixtures, plus a few hand-made shapes the real data lacks).
 *
 * A target takes the fuzzer's bytes, runs one or more parsers (and what the verifier does
 * right after parsing, where it reads the parsed value: extracting images from an SBOM,
 * pinning digests, matching globs) and checks the invariant of fuzz/invariant.ts. Targets
 * that read JSON get bytes that are not JSON most of the time; that is the parser's job too.
 *
 * Adding a parser: put it in the list of an existing target (the certificate target takes a
 * list of certificate readers, the policy target a list of YAML document parsers) or add a
 * target here; `npm run fuzz -- --list` shows them.
 */
import { X509Certificate as NodeX509 } from 'node:crypto';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { X509Certificate } from '@sigstore/core';
import { parseBundle } from '../src/bundle/parse';
import { ANNOTATION_BUNDLE, ANNOTATION_CERTIFICATE, ANNOTATION_CHAIN, ANNOTATION_RFC3161_TIMESTAMP, ANNOTATION_SIGNATURE } from '../src/cosign/annotations';
import { parseDsseEnvelope } from '../src/cosign/dsse';
import { checkRekorBodyNamesSigner, type SignerKeyMaterial } from '../src/cosign/rekor-body';
import { checkStatementBindsDigest, parseStatement } from '../src/cosign/in-toto';
import { parseLegacySignature, parseRekorBundle, rekorKindVersion } from '../src/cosign/legacy-signature';
import { parseImageManifest as parseCosignManifest } from '../src/cosign/oci';
import { checkPayloadBindsDigest, parseSimpleSigning } from '../src/cosign/simple-signing';
import { certificateClaims } from '../src/policy/certificate-claims';
import { certificateIdentity } from '../src/policy/certificate-identity';
import { readCertificate } from '../src/util/certificate';
import { lazy } from '../src/util/lazy';
import { checkCodeSigningUsage } from '../src/verify/code-signing';
import { formatReference, parseReference } from '../src/reference';
import { parseChallenges, findChallenge } from '../src/registry/auth/challenge';
import { parseTokenResponse } from '../src/registry/auth/token';
import { parseImageIndex, parseImageManifest, parseJsonObject } from '../src/registry/content';
import { nextLink, parseLinkHeader } from '../src/registry/link';
import { parseRegistryErrors } from '../src/registry/registry-errors';
import { imagesFromSpdx, parseSpdx } from '../src/sbom';
import { buildImagePatch, changedImages, extractImages, parseAdmissionReview, skipReason } from '../src/webhook/admission';
import { matchPolicies } from '../src/webhook/glob';
import { parseClusterImagePolicies } from '../src/webhook/policy-documents';
import { policyAppliesTo } from '../src/webhook/resource-match';
import { typed } from './invariant';
import { celSeeds, fuzzCel } from './cel-target';

export interface FuzzTarget {
  readonly name: string;
  readonly description: string;
  /** Runs the parsers on one input; throws only for a finding. */
  readonly fuzz: (data: Buffer) => void;
  /** Initial corpus: real data first. */
  readonly seeds: () => Buffer[];
  /** The parser modules the target is about (src/-relative, no extension): its coverage figure. */
  readonly files: readonly string[];
}

// --- Seeds ----------------------------------------------------------------------------------

const ROOT = join(__dirname, ...(__dirname.includes(`${join('build', 'tools')}`) ? ['..', '..', '..'] : ['..']));
const read = (...parts: string[]): Buffer => readFileSync(join(ROOT, ...parts));
const json = (...parts: string[]): unknown => JSON.parse(read(...parts).toString('utf8'));
const text = (s: string): Buffer => Buffer.from(s, 'utf8');
const asJson = (v: unknown): Buffer => text(JSON.stringify(v));

function files(dir: string, pattern: RegExp): Buffer[] {
  return readdirSync(join(ROOT, dir))
    .filter((f) => pattern.test(f))
    .sort()
    .map((f) => read(dir, f));
}

const K8S = ['fixtures', 'cosign-oci', 'k8s-cluster-api-controller-v1.5.0'];
const SERVER_IMAGE = ['fixtures', 'cosign-oci', 'salrashid123-server_image', 'sha256-c05263d2ff65'];
const K8S_DIGEST = 'sha256:f34016d3a494f9544a16137c9bba49d8756c574a0a1baf96257903409ef82f77';

interface Artifact {
  payload: string;
  signature: string;
  certificate: string;
  chain?: string;
  bundle: unknown;
}

function k8sArtifact(): Artifact {
  return json(...K8S, 'artifact.json') as Artifact;
}

function bundleFiles(): Buffer[] {
  return [
    read('fixtures', 'bundles', 'cosign', 'oci-attestation.sigstore.json'),
    read('fixtures', 'bundles', 'sigstore-js', 'bundleV01-intoto-with-proof.sigstore'),
    read('fixtures', 'bundles', 'sigstore-python', 'bundle_v3_github.whl.sigstore'),
    read('fixtures', 'bundles', 'sigstore-python', 'staging-rekor-v2.txt.sigstore.json'),
    read('fixtures', 'bundles', 'sigstore-python', 'a.dsse.staging-rekor-v2.txt.sigstore.json'),
  ];
}

/** DER certificates from the real bundles and the cosign fixture. */
function certificateSeeds(): Buffer[] {
  const out: Buffer[] = [];
  const pem = (p: string) => {
    for (const m of p.matchAll(/-----BEGIN CERTIFICATE-----([\s\S]*?)-----END CERTIFICATE-----/g)) out.push(Buffer.from(m[1]!.replace(/\s+/g, ''), 'base64'));
  };
  const artifact = k8sArtifact();
  pem(artifact.certificate);
  if (artifact.chain) pem(artifact.chain);
  for (const bundle of bundleFiles()) {
    const b = JSON.parse(bundle.toString('utf8')) as {
      verificationMaterial?: { certificate?: { rawBytes?: string }; x509CertificateChain?: { certificates?: Array<{ rawBytes?: string }> } };
    };
    const vm = b.verificationMaterial;
    if (vm?.certificate?.rawBytes) out.push(Buffer.from(vm.certificate.rawBytes, 'base64'));
    for (const c of vm?.x509CertificateChain?.certificates ?? []) if (c.rawBytes) out.push(Buffer.from(c.rawBytes, 'base64'));
  }
  return out;
}

/** The k8s signature's leaf certificate as the signer a Rekor body must name. */
const k8sSigner = lazy((): SignerKeyMaterial => {
  const cert = new NodeX509(k8sArtifact().certificate);
  return { certificate: cert.raw, publicKey: cert.publicKey };
});

/** Rekor entry bodies: the k8s .sig's (hashedrekord 0.0.1) and the real bundles' (dsse, intoto, Rekor v2). */
function rekorBodySeeds(): Buffer[] {
  const bodies = [Buffer.from((k8sArtifact().bundle as { Payload: { body: string } }).Payload.body, 'base64')];
  for (const bundle of bundleFiles()) {
    const b = JSON.parse(bundle.toString('utf8')) as { verificationMaterial?: { tlogEntries?: Array<{ canonicalizedBody?: string }> } };
    for (const e of b.verificationMaterial?.tlogEntries ?? []) if (e.canonicalizedBody) bodies.push(Buffer.from(e.canonicalizedBody, 'base64'));
  }
  return bodies;
}

function dsseSeeds(): Buffer[] {
  const out: Buffer[] = [];
  for (const bundle of bundleFiles()) {
    const b = JSON.parse(bundle.toString('utf8')) as { dsseEnvelope?: unknown };
    if (b.dsseEnvelope) out.push(asJson(b.dsseEnvelope));
  }
  const statement = {
    _type: 'https://in-toto.io/Statement/v1',
    subject: [{ name: 'registry.k8s.io/app', digest: { sha256: K8S_DIGEST.slice(7) } }],
    predicateType: 'https://slsa.dev/provenance/v1',
    predicate: { buildDefinition: {}, runDetails: {} },
  };
  out.push(
    asJson({
      payloadType: 'application/vnd.in-toto+json',
      payload: Buffer.from(JSON.stringify(statement)).toString('base64'),
      signatures: [{ keyid: '', sig: 'MEUCIQ==' }],
    }),
  );
  return out;
}

function admissionSeeds(): Buffer[] {
  const pod = (images: string[]) => ({
    apiVersion: 'v1',
    kind: 'Pod',
    metadata: { name: 'p', namespace: 'ns' },
    spec: { initContainers: [{ name: 'i', image: images[0] }], containers: images.map((image, i) => ({ name: `c${i}`, image })) },
  });
  const review = (
    kind: { group: string; version: string; kind: string },
    resource: string,
    operation: string,
    object: unknown,
    oldObject: unknown = null,
    subResource?: string,
  ) =>
    asJson({
      apiVersion: 'admission.k8s.io/v1',
      kind: 'AdmissionReview',
      request: {
        uid: '705ab4f5-6393-11e8-b7cc-42010a800002',
        kind,
        resource: { group: kind.group, version: kind.version, resource },
        requestKind: kind,
        requestResource: { group: kind.group, version: kind.version, resource },
        ...(subResource ? { subResource } : {}),
        name: 'p',
        namespace: 'ns',
        operation,
        userInfo: { username: 'admin', groups: ['system:masters'] },
        object,
        oldObject,
        dryRun: false,
        options: { apiVersion: 'meta.k8s.io/v1', kind: 'CreateOptions' },
      },
    });
  const deployment = (image: string, replicas = 2) => ({
    apiVersion: 'apps/v1',
    kind: 'Deployment',
    metadata: { name: 'd' },
    spec: { replicas, template: { spec: { containers: [{ name: 'c', image }] } } },
  });
  return [
    review(
      { group: '', version: 'v1', kind: 'Pod' },
      'pods',
      'CREATE',
      pod(['registry.k8s.io/pause:3.10', `registry.k8s.io/kube-apiserver:v1.32.0@${K8S_DIGEST}`]),
    ),
    review({ group: 'apps', version: 'v1', kind: 'Deployment' }, 'deployments', 'UPDATE', deployment('ghcr.io/org/app:2'), deployment('ghcr.io/org/app:1')),
    review(
      { group: 'apps', version: 'v1', kind: 'Deployment' },
      'deployments',
      'UPDATE',
      deployment('ghcr.io/org/app:1', 1),
      deployment('ghcr.io/org/app:1', 3),
    ),
    review({ group: 'batch', version: 'v1', kind: 'CronJob' }, 'cronjobs', 'CREATE', {
      apiVersion: 'batch/v1',
      kind: 'CronJob',
      spec: { jobTemplate: { spec: { template: { spec: { containers: [{ name: 'c', image: 'busybox' }] } } } } },
    }),
    review(
      { group: '', version: 'v1', kind: 'Pod' },
      'pods',
      'UPDATE',
      { ...pod(['nginx']), spec: { containers: [], ephemeralContainers: [{ name: 'dbg', image: 'busybox:1.36' }] } },
      pod(['nginx']),
      'ephemeralcontainers',
    ),
    review({ group: '', version: 'v1', kind: 'Pod' }, 'pods', 'DELETE', null, pod(['nginx'])),
  ];
}

function policySeeds(): Buffer[] {
  const out: Buffer[] = [];
  // The shipped example policies (deploy/): the folder mode's ConfigMap data values, and the
  // cluster mode's example object.
  const configMap = read('deploy', 'folder-mode', 'policies-configmap.yaml').toString('utf8');
  const block = /\|\n((?: {4}.*\n?|\n)+)/g;
  for (const m of configMap.matchAll(block)) out.push(text(m[1]!.replace(/^ {4}/gm, '')));
  out.push(read('deploy', 'examples', 'clusterimagepolicy-registry-k8s-io.yaml'));
  out.push(
    text(`apiVersion: policy.sigstore.dev/v1beta1
kind: ClusterImagePolicy
metadata:
  name: my-images
spec:
  mode: warn
  images:
    - glob: "ghcr.io/my-org/**"
    - glob: "*"
  authorities:
    - name: ci
      keyless:
        url: https://fulcio.sigstore.dev
        identities:
          - issuer: https://token.actions.githubusercontent.com
            subjectRegExp: ^https://github\\.com/my-org/.+/\\.github/workflows/release\\.yml@refs/tags/v.*$
      attestations:
        - name: provenance
          predicateType: slsaprovenance1
      signatureFormat: bundle
    - name: release-key
      key:
        data: |
          -----BEGIN PUBLIC KEY-----
          MFkwEwYHKoZIzj0CAQYIKoZIzj0DAQcDQgAE5Mv2NTB9CTi6Z+Y0vkvm0XDWuGJP
          j9e8SDJp8cvk3ub1PtYiUFOlLl8WBGNLqMxhkT1odCPlbO3Xz0pdBYGPhA==
          -----END PUBLIC KEY-----
        hashAlgorithm: sha256
      ctlog:
        url: https://rekor.sigstore.dev
    - name: allow-sidecar
      static:
        action: pass
---
apiVersion: policy.sigstore.dev/v1alpha1
kind: ClusterImagePolicy
metadata: {name: second}
spec: {images: [{glob: "registry.k8s.io/*"}], authorities: [{static: {action: fail, message: "no"}}]}
`),
  );
  // A TrustRoot from the production trusted root's material, and a policy naming it with
  // claims and a CEL condition (the imgverify extensions).
  const root = JSON.parse(read('fixtures', 'trust', 'prod_trusted_root.sigstore-python.json').toString('utf8')) as {
    certificateAuthorities: Array<{ certChain: { certificates: Array<{ rawBytes: string }> } }>;
    tlogs: Array<{ publicKey: { rawBytes: string } }>;
    ctlogs: Array<{ publicKey: { rawBytes: string } }>;
  };
  const pemOf = (der: string, label: string) => `-----BEGIN ${label}-----\n${der.match(/.{1,64}/g)!.join('\n')}\n-----END ${label}-----\n`;
  const b64 = (t: string) => Buffer.from(t).toString('base64');
  const chain = b64(root.certificateAuthorities[0]!.certChain.certificates.map((c) => pemOf(c.rawBytes, 'CERTIFICATE')).join(''));
  const log = (key: string) => b64(pemOf(key, 'PUBLIC KEY'));
  out.push(
    text(`apiVersion: policy.sigstore.dev/v1alpha1
kind: TrustRoot
metadata: {name: ours}
spec:
  sigstoreKeys:
    certificateAuthorities: [{subject: {organization: sigstore.dev, commonName: sigstore}, uri: "https://fulcio.sigstore.dev", certChain: "${chain}"}]
    tLogs: [{baseURL: "https://rekor.sigstore.dev", hashAlgorithm: sha-256, publicKey: "${log(root.tlogs[0]!.publicKey.rawBytes)}"}]
    ctLogs: [{baseURL: "https://ctfe.sigstore.dev/test", hashAlgorithm: sha-256, publicKey: "${log(root.ctlogs[0]!.publicKey.rawBytes)}"}]
---
apiVersion: policy.sigstore.dev/v1alpha1
kind: TrustRoot
metadata: {name: mirror}
spec: {remote: {mirror: "https://tuf.example.test", root: "e30="}}
---
apiVersion: policy.sigstore.dev/v1beta1
kind: ClusterImagePolicy
metadata: {name: ours}
spec:
  images: [{glob: "ghcr.io/my-org/**"}]
  authorities:
    - keyless:
        trustRootRef: ours
        identities:
          - issuer: https://token.actions.githubusercontent.com
            subjectRegExp: ^https://github\\.com/my-org/
            claims: {sourceRepositoryIdentifier: "495574555", runnerEnvironment: github-hosted}
            claimsRegExp: {sourceRepositoryRef: "^refs/tags/v"}
      ctlog: {trustRootRef: ours}
      attestations:
        - name: provenance
          predicateType: https://slsa.dev/provenance/v1
          policy: {type: cel, data: "predicate.buildDefinition.externalParameters.workflow.repository == 'https://github.com/my-org/app'"}
`),
  );
  // policy-controller's fields: match with selectors, sources, URLs, a key without a log.
  out.push(
    text(`apiVersion: policy.sigstore.dev/v1beta1
kind: ClusterImagePolicy
metadata: {name: fields}
spec:
  images: [{glob: "**demo**"}]
  match:
    - {group: apps, version: v1, resource: deployments, selector: {matchLabels: {team: a}}}
    - resource: pods
      version: "*"
      selector: {matchExpressions: [{key: env, operator: In, values: [prod]}, {key: legacy, operator: DoesNotExist}]}
  authorities:
    - keyless:
        url: http://fulcio.fulcio-system.svc
        insecureIgnoreSCT: true
        identities: [{issuerRegExp: .*kubernetes.default.*, subjectRegExp: .*default}]
      ctlog: {url: http://rekor.rekor-system.svc}
      source: [{oci: registry.example.test/signatures, tagPrefix: sigprefix}]
    - key:
        hashAlgorithm: sha512
        data: |
          -----BEGIN PUBLIC KEY-----
          MFkwEwYHKoZIzj0CAQYIKoZIzj0DAQcDQgAE5Mv2NTB9CTi6Z+Y0vkvm0XDWuGJP
          j9e8SDJp8cvk3ub1PtYiUFOlLl8WBGNLqMxhkT1odCPlbO3Xz0pdBYGPhA==
          -----END PUBLIC KEY-----
`),
  );
  out.push(text('a: &x [*x, *x]\nb: !!binary aGVsbG8=\nc: 0x1f\nd: yes\n'));
  return out;
}

// --- Targets ----------------------------------------------------------------------------------

const utf8 = (data: Buffer): string => data.toString('utf8');

/** Some inputs are JSON; non-JSON is the parser's own concern for those that take bytes. */
function parseJson(data: Buffer): unknown {
  try {
    return JSON.parse(utf8(data));
  } catch {
    return undefined;
  }
}

/**
 * Certificate readers: each takes a parsed certificate and must not throw anything but an
 * ImgverifyError.
 */
export const CERTIFICATE_READERS: ReadonlyArray<{ readonly name: string; readonly read: (cert: X509Certificate) => unknown }> = [
  { name: 'certificateIdentity', read: (cert) => certificateIdentity(cert) },
  { name: 'checkCodeSigningUsage', read: (cert) => checkCodeSigningUsage(cert) },
  // Every Fulcio extension (OIDs 1.3.6.1.4.1.57264.1.*) read as a claim.
  { name: 'certificateClaims', read: (cert) => certificateClaims(cert) },
  // What @sigstore/verify reads of a leaf, beyond what readCertificate checked.
  { name: 'certificate fields', read: (cert) => [cert.isCA, cert.subjectAltName, cert.extKeyUsage?.digitalSignature, cert.validForDate(new Date())] },
];

/**
 * Policy document parsers (text, file name). parseClusterImagePolicies reads both kinds of
 * document of the policy folder: ClusterImagePolicy (with its CEL conditions compiled) and
 * TrustRoot (its base64 PEM material decoded).
 */
export const POLICY_PARSERS: ReadonlyArray<{ readonly name: string; readonly parse: (text: string, file: string) => unknown }> = [
  {
    name: 'parseClusterImagePolicies',
    parse: (t, file) => {
      const result = parseClusterImagePolicies(t, file);
      // What the webhook does with a loaded set: match images against the globs.
      if (result.errors.length === 0) {
        for (const image of ['nginx', 'ghcr.io/my-org/app:1', 'registry.k8s.io/pause:3.10']) matchPolicies(result.policies, parseReference(image));
        // ... and their spec.match against an admitted object.
        for (const policy of result.policies)
          policyAppliesTo(policy, { resource: { group: 'apps', version: 'v1', resource: 'deployments' }, labels: { team: 'a' } });
      }
      return result;
    },
  },
];

export const TARGETS: readonly FuzzTarget[] = [
  {
    name: 'reference',
    files: ['reference'],
    description: 'image references (parseReference, formatReference round trip)',
    fuzz: (data) => {
      const ref = typed('parseReference', () => parseReference(utf8(data)));
      if (ref) typed('parseReference(formatReference)', () => parseReference(formatReference(ref)));
    },
    seeds: () =>
      [
        'nginx',
        'registry.k8s.io/kube-apiserver:v1.32.0',
        `registry.k8s.io/cluster-api/cluster-api-controller:v1.5.0@${K8S_DIGEST}`,
        'localhost:5000/a/b_c.d-e:tag',
        '[::1]:5000/app@sha512:' + 'a'.repeat(128),
        'ghcr.io/Org/app:1',
      ].map(text),
  },
  {
    name: 'spdx-tagvalue',
    files: ['sbom/spdx-tagvalue', 'sbom/tagvalue-tags', 'sbom/images', 'sbom/purl'],
    description: 'SPDX tag-value SBOMs and the images they list',
    fuzz: (data) => {
      const doc = typed('parseSpdx(tag-value)', () => parseSpdx(data, { format: 'tag-value' }));
      if (doc) typed('imagesFromSpdx', () => imagesFromSpdx(doc));
    },
    seeds: () => files(join('test', 'unit', 'sbom', 'fixtures'), /\.spdx$/),
  },
  {
    name: 'spdx-json',
    files: ['sbom/spdx-json', 'sbom/json-position', 'sbom/images', 'sbom/purl'],
    description: 'SPDX JSON SBOMs and the images they list',
    fuzz: (data) => {
      const doc = typed('parseSpdx(json)', () => parseSpdx(data, { format: 'json' }));
      if (doc) typed('imagesFromSpdx', () => imagesFromSpdx(doc));
    },
    seeds: () => [read('fixtures', 'sbom', 'bom-images.spdx.json')],
  },
  {
    name: 'oci-manifest',
    files: ['registry/content', 'cosign/oci'],
    description: 'OCI/Docker manifests and indexes, as the registry client and cosign read them',
    fuzz: (data) => {
      const obj = typed('parseJsonObject', () => parseJsonObject(data, 'manifest'));
      if (!obj) return;
      typed('parseImageManifest', () => parseImageManifest(obj, 'manifest'));
      typed('parseImageIndex', () => parseImageIndex(obj, 'index'));
      typed('cosign parseImageManifest', () => parseCosignManifest(obj, 'sig manifest'));
    },
    seeds: () => [
      read(...SERVER_IMAGE, 'image-index.json'),
      read(...SERVER_IMAGE, 'sig-manifest.json'),
      read(...K8S, 'sig-manifest.reconstructed.json'),
      read(...SERVER_IMAGE, 'config.json'),
    ],
  },
  {
    name: 'cosign-payload',
    files: ['cosign/simple-signing'],
    description: 'simple-signing payloads and their digest binding',
    fuzz: (data) => {
      const payload = typed('parseSimpleSigning', () => parseSimpleSigning(data));
      if (payload) typed('checkPayloadBindsDigest', () => checkPayloadBindsDigest(payload, K8S_DIGEST));
    },
    seeds: () => [read(...K8S, 'payload.json'), read(...SERVER_IMAGE, 'payload-0.json')],
  },
  {
    name: 'cosign-annotations',
    files: ['cosign/legacy-signature'],
    description: '.sig layer annotations: signature, certificate, chain, Rekor bundle, RFC 3161 timestamp',
    fuzz: (data) => {
      const value = parseJson(data);
      if (typeof value !== 'object' || value === null || Array.isArray(value)) return;
      const annotations = Object.fromEntries(Object.entries(value).filter((e): e is [string, string] => typeof e[1] === 'string'));
      const sig = typed('parseLegacySignature', () => parseLegacySignature(annotations));
      if (sig?.rekorBundle) typed('rekorKindVersion', () => rekorKindVersion(sig.rekorBundle!.body));
      const bundle = annotations[ANNOTATION_BUNDLE];
      if (bundle !== undefined) typed('parseRekorBundle', () => parseRekorBundle(bundle));
    },
    seeds: () => {
      const a = k8sArtifact();
      const annotations = {
        [ANNOTATION_SIGNATURE]: a.signature,
        [ANNOTATION_CERTIFICATE]: a.certificate,
        ...(a.chain ? { [ANNOTATION_CHAIN]: a.chain } : {}),
        [ANNOTATION_BUNDLE]: JSON.stringify(a.bundle),
      };
      const server = json(...SERVER_IMAGE, 'sig-manifest.json') as { layers: Array<{ annotations: Record<string, string> }> };
      return [
        asJson(annotations),
        ...server.layers.map((l) => asJson(l.annotations)),
        asJson({ [ANNOTATION_SIGNATURE]: a.signature, [ANNOTATION_RFC3161_TIMESTAMP]: '{"SignedRFC3161Timestamp":"MAA="}' }),
      ];
    },
  },
  {
    name: 'sigstore-bundle',
    files: ['bundle/parse'],
    description: 'Sigstore bundles v0.1-v0.3 (JSON)',
    fuzz: (data) => {
      typed('parseBundle(bytes)', () => parseBundle(data));
    },
    seeds: bundleFiles,
  },
  {
    name: 'rekor-body',
    files: ['cosign/rekor-body'],
    description: 'Rekor entry bodies (every kind) and whether they name the signer',
    fuzz: (data) => {
      typed('checkRekorBodyNamesSigner', () => checkRekorBodyNamesSigner(data, k8sSigner()));
    },
    seeds: rekorBodySeeds,
  },
  {
    name: 'certificate',
    files: ['util/certificate', 'policy/certificate-identity', 'policy/certificate-claims', 'verify/code-signing'],
    description: "X.509 certificates' SAN and Fulcio extensions (certificate readers)",
    fuzz: (data) => {
      let cert: X509Certificate;
      try {
        cert = readCertificate(data);
      } catch {
        return; // not a certificate: the callers wrap this error (SIGNATURE_MALFORMED)
      }
      for (const reader of CERTIFICATE_READERS) typed(reader.name, () => reader.read(cert));
    },
    seeds: certificateSeeds,
  },
  {
    name: 'dsse-intoto',
    files: ['cosign/dsse', 'cosign/in-toto'],
    description: 'DSSE envelopes and the in-toto statements they carry',
    fuzz: (data) => {
      const envelope = typed('parseDsseEnvelope', () => parseDsseEnvelope(data));
      const payload = envelope?.payload ?? data;
      const statement = typed('parseStatement', () => parseStatement(Buffer.from(payload)));
      if (statement) typed('checkStatementBindsDigest', () => checkStatementBindsDigest(statement, K8S_DIGEST));
    },
    seeds: dsseSeeds,
  },
  {
    name: 'admission-review',
    files: ['webhook/admission'],
    description: 'AdmissionReviews and the images, changes and patches taken from them',
    fuzz: (data) => {
      const body = parseJson(data);
      const request = typed('parseAdmissionReview', () => parseAdmissionReview(body));
      if (!request) return;
      typed('skipReason', () => skipReason(request));
      const images = typed('extractImages', () => extractImages(request.object, request.kind));
      typed('changedImages', () => changedImages(request.object, request.oldObject, request.kind));
      if (images) typed('buildImagePatch', () => buildImagePatch(images.map((i) => ({ path: i.path, image: i.image, newImage: `${i.image}@${K8S_DIGEST}` }))));
    },
    seeds: admissionSeeds,
  },
  {
    name: 'cluster-image-policy',
    files: [
      'webhook/crd-document',
      'webhook/policy-documents',
      'webhook/cluster-image-policy',
      'webhook/resource-match',
      'webhook/trust-root',
      'webhook/policy-set',
      'webhook/glob',
      'policy/cel',
    ],
    description: 'ClusterImagePolicy and TrustRoot YAML (policy parsers), CEL conditions, glob matching',
    fuzz: (data) => {
      const t = utf8(data);
      for (const parser of POLICY_PARSERS) typed(parser.name, () => parser.parse(t, 'fuzz.yaml'));
    },
    seeds: policySeeds,
  },
  {
    name: 'www-authenticate',
    files: ['registry/auth/challenge'],
    description: 'WWW-Authenticate challenges',
    fuzz: (data) => {
      const values = utf8(data).split('\n');
      const challenges = typed('parseChallenges', () => parseChallenges(values));
      if (challenges) typed('findChallenge', () => findChallenge(challenges, 'bearer'));
    },
    seeds: () =>
      [
        'Bearer realm="https://auth.docker.io/token",service="registry.docker.io",scope="repository:library/nginx:pull"',
        'Basic realm="Registry Realm"',
        'Bearer realm="https://ghcr.io/token",service="ghcr.io",scope="repository:org/app:pull"\nBasic realm="x", charset="UTF-8"',
        'Bearer realm="https://a.example/t?x=\\"y\\"", error="insufficient_scope"',
      ].map(text),
  },
  {
    name: 'link',
    files: ['registry/link'],
    description: 'Link headers (referrers pagination)',
    fuzz: (data) => {
      const values = utf8(data).split('\n');
      typed('parseLinkHeader', () => parseLinkHeader(values));
      typed('nextLink', () => nextLink(values));
    },
    seeds: () =>
      [
        '</v2/app/referrers/sha256:abc?n=10&last=x>; rel="next"',
        '<https://r.example/v2/a/referrers/sha256:1?page=2>; rel=next, <https://r.example/v2/a/referrers/sha256:1?page=9>; rel="last"; title*=UTF-8\'\'x',
      ].map(text),
  },
  {
    name: 'registry-answers',
    files: ['registry/registry-errors', 'registry/auth/token'],
    description: 'registry error bodies and token service answers',
    fuzz: (data) => {
      typed('parseRegistryErrors', () => parseRegistryErrors(data));
      typed('parseTokenResponse', () => parseTokenResponse(data, 1_700_000_000_000, 'token', {}));
    },
    seeds: () => [
      asJson({ errors: [{ code: 'MANIFEST_UNKNOWN', message: 'manifest unknown', detail: { Tag: 'v1' } }] }),
      asJson({ token: 'eyJhbGciOiJFUzI1NiJ9.e30.sig', access_token: 'eyJ', expires_in: 300, issued_at: '2024-01-01T00:00:00Z' }),
    ],
  },
  {
    name: 'cel',
    files: ['policy/cel', 'policy/cel-meter', 'policy/cel-types'],
    description: 'CEL conditions compiled and evaluated over statements, each evaluation timed (fuzz/cel-target.ts)',
    fuzz: fuzzCel,
    seeds: celSeeds,
  },
];

export function findTarget(name: string): FuzzTarget | undefined {
  return TARGETS.find((t) => t.name === name);
}
