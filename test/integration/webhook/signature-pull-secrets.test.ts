/**
 * Issue 18.2, `authorities[].source[].signaturePullSecrets`, end to end: real AdmissionReviews
 * over TLS, real registries. The image lives on registry A (a token service that requires
 * credentials: the Pod's pull secret `puller`); its signatures live in another repository,
 * readable only with the credentials of the Secret the policy's source names (`sig-reader`):
 *   - on registry B (htpasswd), or
 *   - on registry A itself, where the token service lets `sig-reader` pull only `sigs/...` and
 *     `puller` only `team/...`.
 * A's token service records who asked for what, which shows where each credential went. The
 * Secrets come from the in-memory ObjectCredentialSource (the cluster's reads are shown in
 * cluster-pull-secrets.test.ts).
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startWebhookServer, type Logger, type RunningWebhookServer } from '../../../src/webhook/server';
import { dockerConfigSecret, MemoryObjectSource } from '../../support/pull-secrets';
import { closePushers, createCa, issueServerCert, startRegistry, type RunningRegistry } from '../../support/registry';
import { pushSignatures, pushTestImage } from '../../support/signed-images';
import { createTestSigstore } from '../../support/sigstore';
import { admissionReview, policyYaml, startPullSecretWebhook, WebhookClient, workload, writeConfigMap } from './helpers';

const ISSUER = 'https://accounts.example.test';
const SIGNER = 'release@example.test';
const pusher = { username: 'pusher', password: 'pusher-pw' };
const puller = { username: 'puller', password: 'puller-pw' };
const sigReader = { username: 'sig-reader', password: 'sig-reader-pw' };

let a: RunningRegistry;
let b: RunningRegistry;
let work: string;
let server: RunningWebhookServer;
let client: WebhookClient;
let source: MemoryObjectSource;
const logs: string[] = [];
const log: Logger = (level, message, fields) => void logs.push(JSON.stringify({ level, message, fields }));

/** A's token requests by `sig-reader` / `puller`, as `username scope...` lines. */
const tokenRequests = (username: string): string[] =>
  a.tokenServer!.requests.filter((r) => r.username === username).map((r) => `${r.status} ${r.scopes.join(' ')}`);

beforeAll(async () => {
  work = mkdtempSync(join(tmpdir(), 'imgverify-sig-secrets-'));
  const ca = await createCa('imgverify signature pull secrets test CA');
  [a, b] = await Promise.all([
    startRegistry({
      auth: 'token',
      users: [pusher, puller, sigReader],
      token: {
        anonymousPull: false,
        // sig-reader reads only the signature repositories; puller only the images.
        userPull: (user, repository) =>
          user === 'pusher' || (user === 'puller' && repository.startsWith('team/')) || (user === 'sig-reader' && repository.startsWith('sigs/')),
      },
    }),
    startRegistry({ auth: 'htpasswd', users: [pusher, sigReader] }),
  ]);
  const sigstore = createTestSigstore();
  const sign = (digest: string) => [sigstore.signImage({ digest, identity: { email: SIGNER }, issuer: ISSUER })];
  // Signatures on B; signatures on A in another repository; signatures beside the image.
  const [remote, local, beside] = await Promise.all([
    pushTestImage(a, 'team/remote', 'v1'),
    pushTestImage(a, 'team/local', 'v1'),
    pushTestImage(a, 'team/beside', 'v1'),
  ]);
  await Promise.all([
    pushSignatures(b, 'sigs/remote', remote.digest, sign(remote.digest)),
    pushSignatures(a, 'sigs/local', local.digest, sign(local.digest)),
    pushSignatures(a, 'team/beside', beside.digest, sign(beside.digest)),
  ]);

  const cert = await issueServerCert(ca);
  writeFileSync(join(work, 'tls.crt'), cert.certPem);
  writeFileSync(join(work, 'tls.key'), cert.keyPem, { mode: 0o600 });
  writeFileSync(join(work, 'trusted_root.json'), JSON.stringify(sigstore.trustedRoot));
  const keyless = { identities: [{ issuer: ISSUER, subject: SIGNER }] };
  const secrets = [{ name: 'sig-creds' }];
  writeConfigMap(join(work, 'policies'), {
    'remote.yaml': policyYaml(
      'remote',
      [`${a.host}/team/remote*`],
      [{ name: 'ci', keyless, source: [{ oci: `${b.host}/sigs/remote`, signaturePullSecrets: secrets }] }],
    ),
    'local.yaml': policyYaml(
      'local',
      [`${a.host}/team/local*`],
      [{ name: 'ci', keyless, source: [{ oci: `${a.host}/sigs/local`, signaturePullSecrets: secrets }] }],
    ),
    'beside.yaml': policyYaml('beside', [`${a.host}/team/beside*`], [{ name: 'ci', keyless, source: [{ signaturePullSecrets: secrets }] }]),
  });

  source = new MemoryObjectSource();
  // A pass is shared between namespaces (it says the digest's signatures verified, whoever
  // read them: evaluate-signature-secrets.test.ts); here every admission reads the registries.
  server = await startPullSecretWebhook(work, source, { cacheTtlMs: 0, log });
  client = new WebhookClient(server.url, ca.certPem);
});

afterAll(async () => {
  await client?.close();
  await server?.close();
  await closePushers();
  await Promise.all([a?.stop(), b?.stop()]);
  if (work) rmSync(work, { recursive: true, force: true });
});

// A namespace per test: the webhook keeps reads and failures per namespace.
let ns = '';
let namespaces = 0;
beforeEach(() => {
  ns = `team-${++namespaces}`;
  a.tokenServer!.requests.splice(0);
  // Every test's Pod can pull its image: its own pull secret for A.
  source.setSecret(ns, 'regcred', dockerConfigSecret({ [a.host]: puller }));
});

function review(image: string, imagePullSecrets: string[] = ['regcred']) {
  const object = workload('Pod', { containers: [image] });
  Object.assign(object.spec as Record<string, unknown>, { imagePullSecrets: imagePullSecrets.map((name) => ({ name })) });
  (object.metadata as Record<string, unknown>).namespace = ns;
  const r = admissionReview('Pod', 'CREATE', object);
  r.request.namespace = ns;
  return r;
}

/** The Secret a policy's source names, with credentials for B and for A (the latter must only ever reach A's signature repository). */
const sigCreds = () => dockerConfigSecret({ [b.host]: sigReader, [a.host]: sigReader });

describe('signaturePullSecrets: signatures in a repository only the Secret can read', () => {
  it("on another registry: admitted with the Secret; its credential for the image's registry never sent there", async () => {
    source.setSecret(ns, 'sig-creds', sigCreds());
    const answer = await client.review('/validate', review(`${a.host}/team/remote:v1`));
    expect(answer.status?.message).toBeUndefined();
    expect(answer.allowed).toBe(true);
    // A (the image's registry) saw only the Pod's own pull secret, though the Secret has an entry for A.
    expect(tokenRequests('sig-reader')).toEqual([]);
    expect(tokenRequests('puller').length).toBeGreaterThan(0);
    expect(source.reads).toContain(`Secret ${ns}/sig-creds`);
    expect(JSON.stringify(answer) + logs.join('\n')).not.toContain(sigReader.password);
  });

  it('without the Secret: denied naming it, never cached (the Secret counts once created)', async () => {
    const first = await client.review('/validate', review(`${a.host}/team/remote:v1`));
    expect(first.allowed).toBe(false);
    expect(first.status?.message).toContain('REGISTRY_AUTH_FAILED');
    expect(first.status?.message).toContain(`secrets in ${ns}: Secret ${ns}/sig-creds does not exist`);
    source.setSecret(ns, 'sig-creds', sigCreds());
    await new Promise((r) => setTimeout(r, 250));
    expect((await client.review('/validate', review(`${a.host}/team/remote:v1`))).allowed).toBe(true);
  });

  it("in place of the Pod's pull secrets: a Pod whose own pull secret could read the signatures still needs the Secret", async () => {
    source.setSecret(ns, 'regcred', dockerConfigSecret({ [a.host]: puller, [b.host]: sigReader }));
    const answer = await client.review('/validate', review(`${a.host}/team/remote:v1`));
    expect(answer.allowed).toBe(false);
    expect(answer.status?.message).toContain(`Secret ${ns}/sig-creds does not exist`);
  });

  it("only the object's namespace: the Secret in another namespace does not count", async () => {
    source.setSecret(`${ns}-other`, 'sig-creds', sigCreds());
    const answer = await client.review('/validate', review(`${a.host}/team/remote:v1`));
    expect(answer.allowed).toBe(false);
    expect(answer.status?.message).toContain(`Secret ${ns}/sig-creds does not exist`);
  });

  it("on the image's own registry: the Secret reads the signature repository only, the Pod's pull secret the image", async () => {
    source.setSecret(ns, 'sig-creds', sigCreds());
    const answer = await client.review('/validate', review(`${a.host}/team/local:v1`));
    expect(answer.status?.message).toBeUndefined();
    expect(answer.allowed).toBe(true);
    // Every scope sig-reader asked for is the signature repository's; the Pod's credential never asked for it.
    expect(tokenRequests('sig-reader')).toEqual([expect.stringMatching(/^200 repository:sigs\/local:pull$/)]);
    expect(tokenRequests('puller').every((r) => /^200 repository:team\/local:pull$/.test(r))).toBe(true);
    expect(tokenRequests('puller').length).toBeGreaterThan(0);
  });

  it("beside the image: the signatures are read with the Secret, the tag still resolved with the Pod's pull secret", async () => {
    // sig-reader may not pull team/...: reading the .sig tag with the Secret is refused.
    source.setSecret(ns, 'sig-creds', sigCreds());
    const refused = await client.review('/validate', review(`${a.host}/team/beside:v1`));
    expect(refused.allowed).toBe(false);
    expect(refused.status?.message).toContain(`Secret ${ns}/sig-creds`);
    expect(tokenRequests('puller').length).toBeGreaterThan(0);
    // With a Secret holding the Pod's own credential, admitted; without the Pod's pull secret the tag does not resolve.
    source.setSecret(ns, 'sig-creds', dockerConfigSecret({ [a.host]: puller }));
    await new Promise((r) => setTimeout(r, 450));
    expect((await client.review('/validate', review(`${a.host}/team/beside:v1`))).allowed).toBe(true);
    const unresolved = await client.review('/validate', review(`${a.host}/team/beside:v1`, []));
    expect(unresolved.allowed).toBe(false);
    expect(unresolved.status?.message).toContain('cannot resolve the image digest');
  });
});

describe('a policy folder without a Secret source', () => {
  it('does not load a policy with signaturePullSecrets, naming the field', async () => {
    const dir = join(work, 'no-secrets');
    writeConfigMap(dir, {
      'remote.yaml': policyYaml(
        'remote',
        [`${a.host}/team/remote*`],
        [{ name: 'ci', keyless: { identities: [{ issuer: ISSUER, subject: SIGNER }] }, source: [{ signaturePullSecrets: [{ name: 'sig-creds' }] }] }],
      ),
    });
    const rejected: string[] = [];
    const bare = await startWebhookServer({
      policiesDir: dir,
      tlsCertFile: join(work, 'tls.crt'),
      tlsKeyFile: join(work, 'tls.key'),
      port: 0,
      host: '127.0.0.1',
      trustedRoot: join(work, 'trusted_root.json'),
      registry: { dockerConfigPath: false },
      tlsPollIntervalMs: 0,
      log: (level, message, fields) => void (level === 'error' && rejected.push(JSON.stringify({ message, fields }))),
    });
    try {
      expect(bare.ready()).toBe(false);
      expect(rejected.join('\n')).toContain(
        "spec.authorities[0].source[0].signaturePullSecrets: a policy folder cannot read Secrets of the admitted object's namespace",
      );
    } finally {
      await bare.close();
    }
  });
});
