/**
 * A chaos run: images pushed to a real docker-registry (signed, unsigned, tampered), verified
 * by the library through the chaos layer (test/support/registry/chaos.ts), each outcome
 * compared with the truth.
 *
 * The truth comparison:
 *   - unsigned or tampered image verified: a FALSE ACCEPT (must never happen);
 *   - a result that is not verified and carries no ImgverifyError code: NO CODE;
 *   - verify() throwing, an INTERNAL_ERROR, or an unhandled rejection: a CRASH;
 *   - signed image not verified: acceptable with an operational error (the registry did not
 *     answer), or with a verification error when a content fault (bytes, digest header,
 *     existence) was injected into one of its exchanges; any other verification error is an
 *     UNEXPLAINED REJECT (a transport fault the client mistook for bad content, or a bug).
 * Used by the seeded jest test (test/integration/chaos.test.ts) and `npm run chaos`.
 */
import { ImgverifyError, createVerifier, RegistryClient, type ErrorCode, type ImageVerificationResult } from '../../src';
import { mapLimit } from '../../src/util/pool';
import { CONTENT_FAULTS, createChaos, FAULT_KINDS, type FaultKind, type InjectedFault } from './registry/chaos';
import { closePushers, startProxy, startRegistry, type RunningProxy, type RunningRegistry } from './registry';
import { pushSignatures, pushTestImage } from './signed-images';
import { createTestSigstore, type CosignLayer, type TestSigstore } from './sigstore';
import { errorMessage } from '../../src/util/describe';

const CHAOS_ISSUER = 'https://accounts.example.test';
const CHAOS_SIGNER = 'release@example.test';

type ImageClass = 'signed' | 'unsigned' | 'tampered-digest' | 'tampered-identity' | 'tampered-signature';
const CLASSES: readonly ImageClass[] = ['signed', 'unsigned', 'signed', 'tampered-digest', 'signed', 'tampered-identity', 'tampered-signature', 'unsigned'];

export interface ChaosRunOptions {
  readonly images: number;
  readonly rate: number;
  readonly seed: number;
  /** Verifications in flight (default 8). */
  readonly concurrency?: number;
  /** Each image is verified this many times (default 1). */
  readonly rounds?: number;
  /** Per-exchange deadline of the client, ms (default 1500); stalls last 1000 ms longer. */
  readonly timeoutMs?: number;
  readonly retries?: number;
  readonly kinds?: readonly FaultKind[];
  readonly log?: (line: string) => void;
}

interface Outcome {
  readonly image: string;
  readonly class: ImageClass;
  readonly verified: boolean;
  readonly code?: ErrorCode | 'none';
  readonly faults: readonly FaultKind[];
  readonly judgement: 'ok' | 'false-accept' | 'no-code' | 'crash' | 'unexplained-reject';
  readonly message?: string;
  /** Faulted requests of this verification asked again and answered cleanly within it (retries that recovered). */
  readonly recovered?: number;
}

export interface ChaosReport {
  readonly seed: number;
  readonly rate: number;
  readonly verifications: number;
  readonly byClass: Record<string, number>;
  readonly verified: number;
  readonly requests: number;
  readonly faults: Record<FaultKind, number>;
  readonly faultsInjected: number;
  readonly falseAccepts: number;
  readonly crashes: number;
  readonly noCode: number;
  readonly unexplainedRejects: number;
  readonly signedVerified: number;
  readonly signedOperational: number;
  readonly signedContentFault: number;
  /** Faulted requests asked again within the same verification and answered cleanly (a retry recovered). */
  readonly retriesRecovered: number;
  /** Verifications of signed images that met at least one fault and still verified. */
  readonly signedVerifiedDespiteFaults: number;
  readonly codes: Record<string, number>;
  readonly problems: readonly Outcome[];
  readonly seconds: number;
}

interface PreparedImage {
  readonly name: string;
  readonly repo: string;
  readonly class: ImageClass;
}

async function pushImages(registry: RunningRegistry, sigstore: TestSigstore, count: number, seed: number): Promise<PreparedImage[]> {
  const out: PreparedImage[] = [];
  await mapLimit(
    Array.from({ length: count }, (_, i) => i),
    4,
    async (i) => {
      const cls = CLASSES[i % CLASSES.length]!;
      const repo = `chaos-${seed}/img-${i}`;
      const pushed = await pushTestImage(registry, repo, 'v1');
      const sign = (digest: string, email = CHAOS_SIGNER): CosignLayer => sigstore.signImage({ digest, identity: { email }, issuer: CHAOS_ISSUER });
      switch (cls) {
        case 'signed':
          await pushSignatures(registry, repo, pushed.digest, [sign(pushed.digest)]);
          break;
        case 'unsigned':
          break;
        case 'tampered-digest': {
          // A genuine signature by the right signer, of another image, stored as this one's.
          const other = await pushTestImage(registry, repo, 'other');
          await pushSignatures(registry, repo, pushed.digest, [sign(other.digest)]);
          break;
        }
        case 'tampered-identity':
          await pushSignatures(registry, repo, pushed.digest, [sign(pushed.digest, 'intruder@example.test')]);
          break;
        case 'tampered-signature': {
          const layer = sign(pushed.digest);
          const sig = Buffer.from(layer.annotations['dev.cosignproject.cosign/signature']!, 'base64');
          sig[sig.length - 3] = sig[sig.length - 3]! ^ 0x01;
          await pushSignatures(registry, repo, pushed.digest, [
            { ...layer, annotations: { ...layer.annotations, 'dev.cosignproject.cosign/signature': sig.toString('base64') } },
          ]);
          break;
        }
      }
      out[i] = { name: `img-${i}`, repo, class: cls };
    },
  );
  return out;
}

function judge(image: PreparedImage, result: ImageVerificationResult | undefined, thrown: unknown, faults: readonly InjectedFault[]): Outcome {
  const kinds = faults.map((f) => f.kind);
  const base = { image: image.repo, class: image.class, faults: kinds };
  if (thrown !== undefined) {
    const message = thrown instanceof Error ? `${thrown.name}: ${thrown.message}` : JSON.stringify(thrown);
    return { ...base, verified: false, code: thrown instanceof ImgverifyError ? thrown.code : 'none', judgement: 'crash', message };
  }
  const r = result!;
  if (r.verified) return { ...base, verified: true, judgement: image.class === 'signed' ? 'ok' : 'false-accept' };
  const err = r.error;
  if (!(err instanceof ImgverifyError) || typeof err.code !== 'string')
    return { ...base, verified: false, code: 'none', judgement: 'no-code', message: errorMessage(err) };
  const withCode = { ...base, verified: false, code: err.code, message: err.message };
  if (err.code === 'INTERNAL_ERROR') return { ...withCode, judgement: 'crash' };
  if (image.class !== 'signed') return { ...withCode, judgement: 'ok' };
  if (err.category === 'operational') return { ...withCode, judgement: 'ok' };
  if (kinds.some((k) => CONTENT_FAULTS.has(k))) return { ...withCode, judgement: 'ok' };
  return { ...withCode, judgement: 'unexplained-reject' };
}

/** Runs the whole scenario: registry, pushes, proxies, verifications; stops everything it started. */
export async function runChaos(options: ChaosRunOptions): Promise<ChaosReport> {
  const log = options.log ?? (() => undefined);
  const timeoutMs = options.timeoutMs ?? 1500;
  const concurrency = options.concurrency ?? 8;
  const rounds = options.rounds ?? 1;
  const crashes: string[] = [];
  const onUnhandled = (err: unknown) => crashes.push(`unhandled: ${errorMessage(err)}`);
  process.on('unhandledRejection', onUnhandled);

  let registry: RunningRegistry | undefined;
  let proxy: RunningProxy | undefined;
  let elsewhere: RunningProxy | undefined;
  let client: RegistryClient | undefined;
  const release: Array<() => void> = [];
  try {
    registry = await startRegistry();
    const sigstore = createTestSigstore();
    log(`pushing ${options.images} images ...`);
    const images = await pushImages(registry, sigstore, options.images, options.seed);
    elsewhere = await startProxy(registry);
    const chaos = createChaos({
      seed: options.seed,
      rate: options.rate,
      stallMs: timeoutMs + 1000,
      redirectTo: elsewhere.url,
      ...(options.kinds ? { kinds: options.kinds } : {}),
    });
    release.push(() => chaos.release());
    proxy = await startProxy(registry, { onRequest: chaos.hook });
    client = new RegistryClient({ dockerConfigPath: false, timeoutMs, retries: options.retries ?? 3, retryBaseDelayMs: 20, maxRetryDelayMs: 1500 });
    const verifier = createVerifier({ trustedRoot: sigstore.trustedRoot, registryClient: client });
    const policy = verifier.preparePolicy({ subject: CHAOS_SIGNER, issuer: CHAOS_ISSUER });

    log(`verifying ${images.length} images x ${rounds} at fault rate ${options.rate} (seed ${options.seed}) ...`);
    const started = Date.now();
    const work = Array.from({ length: rounds }, () => images).flat();
    const outcomes = await mapLimit(work, concurrency, async (image) => {
      const before = chaos.faults.length;
      const cleanBefore = chaos.clean.length;
      let result: ImageVerificationResult | undefined;
      let thrown: unknown;
      try {
        result = await verifier.verify(`${proxy!.host}/${image.repo}:v1`, policy);
      } catch (err) {
        thrown = err ?? new Error('undefined thrown');
      }
      // Faults on this image's repository while it was verified (paths name the repository;
      // other verifications' faults landing in between are on other paths).
      const faults = chaos.faults.slice(before).filter((f) => f.path.startsWith(`/v2/${image.repo}/`));
      const answered = new Set(
        chaos.clean
          .slice(cleanBefore)
          .filter((c) => c.ok)
          .map((c) => c.key),
      );
      return { ...judge(image, result, thrown, faults), recovered: faults.filter((f) => answered.has(f.key)).length };
    });
    const seconds = (Date.now() - started) / 1000;
    const signed = outcomes.filter((o) => o.class === 'signed');
    const codes: Record<string, number> = {};
    for (const o of outcomes) if (!o.verified) codes[o.code ?? 'none'] = (codes[o.code ?? 'none'] ?? 0) + 1;
    const byClass: Record<string, number> = {};
    for (const o of outcomes) byClass[o.class] = (byClass[o.class] ?? 0) + 1;
    const problems = outcomes.filter((o) => o.judgement !== 'ok');
    return {
      seed: options.seed,
      rate: options.rate,
      verifications: outcomes.length,
      byClass,
      verified: outcomes.filter((o) => o.verified).length,
      requests: chaos.requests(),
      faults: chaos.counts(),
      faultsInjected: chaos.faults.length,
      falseAccepts: outcomes.filter((o) => o.judgement === 'false-accept').length,
      crashes: outcomes.filter((o) => o.judgement === 'crash').length + crashes.length,
      noCode: outcomes.filter((o) => o.judgement === 'no-code').length,
      unexplainedRejects: outcomes.filter((o) => o.judgement === 'unexplained-reject').length,
      signedVerified: signed.filter((o) => o.verified).length,
      signedOperational: signed.filter((o) => !o.verified && o.code !== undefined && o.code !== 'none' && ImgverifyErrorCategory(o.code) === 'operational')
        .length,
      signedContentFault: signed.filter(
        (o) => !o.verified && o.judgement === 'ok' && o.code !== undefined && o.code !== 'none' && ImgverifyErrorCategory(o.code) !== 'operational',
      ).length,
      retriesRecovered: outcomes.reduce((n, o) => n + (o.recovered ?? 0), 0),
      signedVerifiedDespiteFaults: signed.filter((o) => o.verified && o.faults.length > 0).length,
      codes,
      problems: [
        ...problems,
        ...crashes.map((c) => ({ image: '(process)', class: 'signed' as const, verified: false, faults: [], judgement: 'crash' as const, message: c })),
      ],
      seconds,
    };
  } finally {
    process.off('unhandledRejection', onUnhandled);
    for (const r of release) r();
    await client?.close();
    await proxy?.stop();
    await elsewhere?.stop();
    await closePushers();
    await registry?.stop();
  }
}

function ImgverifyErrorCategory(code: ErrorCode): string {
  return new ImgverifyError(code, '').category;
}

/** The table of one or more reports (markdown). */
export function chaosTable(reports: readonly ChaosReport[]): string {
  const lines = [
    `| fault rate | verifications | requests | faults injected | signed verified | signed verified despite faults | signed: operational failure | signed: failure after a content fault | false accepts | crashes | no error code | unexplained rejects | retries that recovered |`,
    '| ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |',
    ...reports.map(
      (r) =>
        `| ${r.rate} | ${r.verifications} | ${r.requests} | ${r.faultsInjected} | ${r.signedVerified}/${r.byClass.signed ?? 0} | ${r.signedVerifiedDespiteFaults} | ${r.signedOperational} | ${r.signedContentFault} | ${r.falseAccepts} | ${r.crashes} | ${r.noCode} | ${r.unexplainedRejects} | ${r.retriesRecovered} |`,
    ),
    '',
    `| fault | ${reports.map((r) => `rate ${r.rate}`).join(' | ')} |`,
    `| --- | ${reports.map(() => '---:').join(' | ')} |`,
    ...FAULT_KINDS.map((k) => `| ${k} | ${reports.map((r) => r.faults[k]).join(' | ')} |`),
  ];
  return lines.join('\n');
}
