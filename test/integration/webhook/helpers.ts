/**
 * Helpers for the webhook's end-to-end tests: a ConfigMap-style policy folder, AdmissionReview
 * requests as the API server sends them, an HTTPS client trusting the test CA, and a
 * JSONPatch applier to check what /mutate returns.
 */
import { spawn, type ChildProcessWithoutNullStreams } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { mkdirSync, readdirSync, renameSync, rmSync, symlinkSync, writeFileSync, lstatSync } from 'node:fs';
import { join } from 'node:path';
import { Agent, request } from 'undici';
import { createCa, issueServerCert, type TestCa } from '../../support/registry';
import { BUILT_CLI } from '../../support/cli';
import type { TestSigstore } from '../../support/sigstore';
import type { ObjectCredentialSource } from '../../../src/webhook/pull-secrets';
import { startWebhookServer, type RunningWebhookServer, type WebhookServerOptions } from '../../../src/webhook/server';

// --- A policy folder as the kubelet mounts a ConfigMap ------------------------------------------

let generation = 0;

/**
 * Writes `files` the way the kubelet updates a mounted ConfigMap: a new timestamped folder,
 * a `..data_tmp` symlink renamed over `..data` (atomic), top-level symlinks into `..data`,
 * then the old folder removed.
 */
export function writeConfigMap(dir: string, files: Record<string, string>): void {
  mkdirSync(dir, { recursive: true });
  const stamp = `..${new Date().toISOString().replace(/[-:]/g, '_').replace('T', '_')}.${++generation}`;
  mkdirSync(join(dir, stamp));
  for (const [name, text] of Object.entries(files)) writeFileSync(join(dir, stamp, name), text);
  const before = readdirSync(dir);
  const oldTarget = before.filter((n) => n.startsWith('..') && n !== '..data' && n !== stamp);
  rmSync(join(dir, '..data_tmp'), { force: true });
  symlinkSync(stamp, join(dir, '..data_tmp'));
  renameSync(join(dir, '..data_tmp'), join(dir, '..data'));
  for (const name of Object.keys(files)) {
    const link = join(dir, name);
    try {
      lstatSync(link);
    } catch {
      symlinkSync(join('..data', name), link);
    }
  }
  for (const name of before) {
    if (!name.startsWith('.') && !(name in files)) rmSync(join(dir, name), { force: true });
  }
  for (const old of oldTarget) rmSync(join(dir, old), { recursive: true, force: true });
}

// --- The serving certificate -------------------------------------------------------------------

/** A test CA and a serving certificate it issued for 127.0.0.1, written as `tls.crt` / `tls.key` in `dir`. */
export async function servingCertificate(dir: string, caName: string): Promise<{ ca: TestCa; certFile: string; keyFile: string }> {
  const ca = await createCa(caName);
  const cert = await issueServerCert(ca);
  const certFile = join(dir, 'tls.crt');
  const keyFile = join(dir, 'tls.key');
  writeFileSync(certFile, cert.certPem);
  writeFileSync(keyFile, cert.keyPem, { mode: 0o600 });
  return { ca, certFile, keyFile };
}

// --- ClusterImagePolicy YAML ------------------------------------------------------------------

export interface AuthoritySpec {
  name: string;
  keyless?: { identities: Array<{ issuer: string; subject: string }>; trustRootRef?: string; 'ca-cert'?: { data: string } };
  rfc3161timestamp?: { trustRootRef: string };
  key?: { data: string };
  static?: { action: 'pass' | 'fail'; message?: string };
  attestations?: Array<{ name: string; predicateType: string }>;
  source?: Array<{ oci?: string; tagPrefix?: string; signaturePullSecrets?: Array<{ name: string }> }>;
}

export function policyYaml(name: string, globs: string[], authorities: AuthoritySpec[], mode: 'enforce' | 'warn' = 'enforce'): string {
  // JSON is YAML: no quoting surprises for globs and PEM data.
  return `${JSON.stringify(
    {
      apiVersion: 'policy.sigstore.dev/v1beta1',
      kind: 'ClusterImagePolicy',
      metadata: { name },
      spec: { mode, images: globs.map((glob) => ({ glob })), authorities },
    },
    null,
    2,
  )}\n`;
}

// --- AdmissionReview requests ------------------------------------------------------------------

export type WorkloadKind = 'Pod' | 'Deployment' | 'CronJob' | 'ConfigMap';

const KINDS: Record<WorkloadKind, { group: string; resource: string; apiVersion: string }> = {
  Pod: { group: '', resource: 'pods', apiVersion: 'v1' },
  Deployment: { group: 'apps', resource: 'deployments', apiVersion: 'apps/v1' },
  CronJob: { group: 'batch', resource: 'cronjobs', apiVersion: 'batch/v1' },
  ConfigMap: { group: '', resource: 'configmaps', apiVersion: 'v1' },
};

export interface Containers {
  initContainers?: string[];
  containers: string[];
  ephemeralContainers?: string[];
}

function podSpec(c: Containers): Record<string, unknown> {
  const list = (images: string[] | undefined, prefix: string) => images?.map((image, i) => ({ name: `${prefix}-${i}`, image }));
  return {
    ...(c.initContainers ? { initContainers: list(c.initContainers, 'init') } : {}),
    containers: list(c.containers, 'app'),
    ...(c.ephemeralContainers ? { ephemeralContainers: list(c.ephemeralContainers, 'debug') } : {}),
    restartPolicy: 'Always',
  };
}

/** The object of a kind with the given containers, as the API server would send it. */
export function workload(kind: WorkloadKind, c: Containers, name = 'demo'): Record<string, unknown> {
  const { apiVersion } = KINDS[kind];
  const metadata = { name, namespace: 'team-a', labels: { app: name } };
  switch (kind) {
    case 'Pod':
      return { apiVersion, kind, metadata, spec: podSpec(c) };
    case 'Deployment':
      return {
        apiVersion,
        kind,
        metadata,
        spec: { replicas: 2, selector: { matchLabels: { app: name } }, template: { metadata: { labels: { app: name } }, spec: podSpec(c) } },
      };
    case 'CronJob':
      return {
        apiVersion,
        kind,
        metadata,
        spec: { schedule: '*/5 * * * *', jobTemplate: { spec: { template: { spec: { ...podSpec(c), restartPolicy: 'OnFailure' } } } } },
      };
    case 'ConfigMap':
      return { apiVersion, kind, metadata, data: { image: c.containers[0] ?? '' } };
  }
}

export function admissionReview(
  kind: WorkloadKind,
  operation: 'CREATE' | 'UPDATE',
  object: Record<string, unknown>,
  oldObject?: Record<string, unknown>,
): { apiVersion: string; kind: string; request: Record<string, unknown> } {
  const { group, resource } = KINDS[kind];
  return {
    apiVersion: 'admission.k8s.io/v1',
    kind: 'AdmissionReview',
    request: {
      uid: randomUUID(),
      kind: { group, version: 'v1', kind },
      resource: { group, version: 'v1', resource },
      requestKind: { group, version: 'v1', kind },
      requestResource: { group, version: 'v1', resource },
      name: (object.metadata as { name: string }).name,
      namespace: 'team-a',
      operation,
      userInfo: { username: 'kubernetes-admin', groups: ['system:masters', 'system:authenticated'] },
      object,
      oldObject: oldObject ?? null,
      dryRun: false,
      options: { apiVersion: 'meta.k8s.io/v1', kind: operation === 'CREATE' ? 'CreateOptions' : 'UpdateOptions' },
    },
  };
}

// --- The client --------------------------------------------------------------------------------

export interface AdmissionAnswer {
  uid: string;
  allowed: boolean;
  status?: { code: number; message: string };
  warnings?: string[];
  patchType?: string;
  patch?: string;
}

export class WebhookClient {
  readonly agent: Agent;
  constructor(
    readonly baseUrl: string,
    ca: string,
  ) {
    this.agent = new Agent({ connect: { ca } });
  }

  async post(
    path: string,
    body: unknown,
    headers: Record<string, string> = { 'content-type': 'application/json' },
  ): Promise<{ status: number; text: string; ms: number }> {
    const started = Date.now();
    const res = await request(`${this.baseUrl}${path}`, {
      method: 'POST',
      headers,
      body: typeof body === 'string' || Buffer.isBuffer(body) ? body : JSON.stringify(body),
      dispatcher: this.agent,
    });
    const text = await res.body.text();
    return { status: res.statusCode, text, ms: Date.now() - started };
  }

  async get(path: string): Promise<{ status: number; text: string }> {
    const res = await request(`${this.baseUrl}${path}`, { dispatcher: this.agent });
    return { status: res.statusCode, text: await res.body.text() };
  }

  /** Sends an AdmissionReview; checks the envelope and the uid; returns the response. */
  async review(path: '/validate' | '/mutate', review: ReturnType<typeof admissionReview>): Promise<AdmissionAnswer & { ms: number }> {
    const res = await this.post(path, review);
    if (res.status !== 200) throw new Error(`${path}: HTTP ${res.status}: ${res.text}`);
    const json = JSON.parse(res.text) as { apiVersion: string; kind: string; response: AdmissionAnswer };
    if (json.apiVersion !== 'admission.k8s.io/v1' || json.kind !== 'AdmissionReview') throw new Error(`not an AdmissionReview: ${res.text}`);
    if (json.response.uid !== review.request.uid) throw new Error('response uid differs from the request uid');
    return { ...json.response, ms: res.ms };
  }

  close(): Promise<void> {
    return this.agent.close();
  }
}

// --- JSONPatch ---------------------------------------------------------------------------------

function unescapeToken(token: string): string {
  return token.replaceAll('~1', '/').replaceAll('~0', '~');
}

/** Applies RFC 6902 `replace` operations (all /mutate emits); throws when a path does not exist. */
export function applyPatch<T>(document: T, patchBase64: string): T {
  const ops = JSON.parse(Buffer.from(patchBase64, 'base64').toString('utf8')) as Array<{ op: string; path: string; value: unknown }>;
  const doc = structuredClone(document) as unknown;
  for (const op of ops) {
    if (op.op !== 'replace') throw new Error(`unexpected op ${op.op}`);
    const tokens = op.path.split('/').slice(1).map(unescapeToken);
    let node = doc as Record<string, unknown>;
    for (const token of tokens.slice(0, -1)) {
      node = node[token] as Record<string, unknown>;
      if (node === undefined) throw new Error(`path ${op.path} does not exist`);
    }
    const last = tokens[tokens.length - 1]!;
    if (!(last in node)) throw new Error(`path ${op.path} does not exist`);
    node[last] = op.value;
  }
  return doc as T;
}

export function patchOps(patchBase64: string | undefined): Array<{ op: string; path: string; value: string }> {
  return patchBase64 ? (JSON.parse(Buffer.from(patchBase64, 'base64').toString('utf8')) as Array<{ op: string; path: string; value: string }>) : [];
}

/** Polls `check` until it returns true (or throws after `timeoutMs`). */
export async function eventually(check: () => boolean | Promise<boolean>, timeoutMs = 10_000, what = 'condition'): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (await check()) return;
    await new Promise((r) => setTimeout(r, 50));
  }
  throw new Error(`timed out waiting for ${what}`);
}

// --- TrustRoot specs -----------------------------------------------------------------------------

export const b64 = (text: string | Buffer): string => Buffer.from(text).toString('base64');
export const pem = (der: Buffer, label = 'CERTIFICATE'): string =>
  `-----BEGIN ${label}-----\n${der
    .toString('base64')
    .match(/.{1,64}/g)!
    .join('\n')}\n-----END ${label}-----\n`;

/** A test Sigstore instance as a TrustRoot `sigstoreKeys` spec (PEM fields base64-encoded, as the CRD's []byte). */
export function sigstoreKeys(sigstore: TestSigstore, withLogs = true): Record<string, unknown> {
  const root = sigstore.trustedRoot;
  const chain = (certs: Array<{ rawBytes: string }>) => b64(certs.map((c) => pem(Buffer.from(c.rawBytes, 'base64'))).join(''));
  const log = (l: (typeof root.tlogs)[number]) => ({
    baseURL: l.baseUrl,
    hashAlgorithm: 'sha256',
    publicKey: b64(pem(Buffer.from(l.publicKey.rawBytes, 'base64'), 'PUBLIC KEY')),
  });
  return {
    certificateAuthorities: root.certificateAuthorities.map((ca) => ({ subject: ca.subject, uri: ca.uri, certChain: chain(ca.certChain.certificates) })),
    ...(withLogs ? { tLogs: root.tlogs.map(log), ctLogs: root.ctlogs.map(log) } : {}),
    timestampAuthorities: root.timestampAuthorities.map((t) => ({ subject: t.subject, uri: t.uri, certChain: chain(t.certChain.certificates) })),
  };
}

// --- The webhook as a process ----------------------------------------------------------------------

export interface WebhookProcess {
  readonly child: ChildProcessWithoutNullStreams;
  readonly port: number;
  /** Everything written to stderr so far (JSON log lines). */
  stderr(): string;
  /** Log entries with this `msg`. */
  logs(message: string): Array<Record<string, unknown>>;
  /** SIGTERM, then the exit code. */
  stop(): Promise<number | null>;
}

/** Runs the built CLI's `webhook` with `args`; resolves once it listens. */
export async function startWebhookProcess(args: readonly string[], env: NodeJS.ProcessEnv = {}): Promise<WebhookProcess> {
  const child = spawn(process.execPath, [BUILT_CLI, 'webhook', '--port', '0', '--host', '127.0.0.1', ...args], {
    env: { PATH: process.env.PATH, HOME: '/nonexistent', ...env },
  });
  let stderr = '';
  child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
  const exited = new Promise<number | null>((resolve) => child.on('close', (code) => resolve(code)));
  const port = await new Promise<number>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`no "listening" line: ${stderr}`)), 30_000);
    const check = (): void => {
      const line = stderr.split('\n').find((l) => l.includes('"msg":"listening"'));
      if (line) {
        clearTimeout(timer);
        resolve((JSON.parse(line) as { port: number }).port);
      }
    };
    child.stderr.on('data', check);
    void exited.then((code) => {
      clearTimeout(timer);
      reject(new Error(`exited early (${code}): ${stderr}`));
    });
  });
  const entries = (): Array<Record<string, unknown>> =>
    stderr
      .split('\n')
      .filter((l) => l.startsWith('{'))
      .map((l) => JSON.parse(l) as Record<string, unknown>);
  return {
    child,
    port,
    stderr: () => stderr,
    logs: (message) => entries().filter((e) => e.msg === message),
    stop: async () => {
      if (child.exitCode === null) child.kill('SIGTERM');
      const timer = setTimeout(() => child.kill('SIGKILL'), 20_000);
      const code = await exited;
      clearTimeout(timer);
      return code;
    },
  };
}

/**
 * An in-process webhook over `work`'s `policies/`, `tls.crt`, `tls.key` and `trusted_root.json`
 * that reads admitted objects' Secrets from `objectCredentials`, keeping them briefly (400 ms,
 * missing ones 200 ms) so that tests see changes soon.
 */
export function startPullSecretWebhook(
  work: string,
  objectCredentials: ObjectCredentialSource,
  options: Partial<WebhookServerOptions> = {},
): Promise<RunningWebhookServer> {
  return startWebhookServer({
    policiesDir: join(work, 'policies'),
    tlsCertFile: join(work, 'tls.crt'),
    tlsKeyFile: join(work, 'tls.key'),
    port: 0,
    host: '127.0.0.1',
    trustedRoot: join(work, 'trusted_root.json'),
    registry: { dockerConfigPath: false, retries: 0 },
    objectCredentials,
    pullSecretCache: { ttlMs: 400, notFoundTtlMs: 200 },
    timeoutMs: 5000,
    tlsPollIntervalMs: 0,
    ...options,
  });
}
