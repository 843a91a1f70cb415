/**
 * Soak: the webhook process under a steady stream of AdmissionReviews for minutes, with the
 * registry behind it faulted and its policy folder and TLS files rewritten under it.
 *
 *   npm run bench:soak -- --minutes 10 [--rate 20] [--fault-rate 0.05] [--seed 1]
 *
 * The built CLI (`dist/cli/main.js webhook`) runs as its own process with a small verdict
 * cache (`--cache-size 100`), so the cache is full and evicting for most of the run. A real
 * docker-registry on 127.0.0.1 holds signed, unsigned and tampered images; the webhook reaches
 * it through the chaos layer (test/support/registry/chaos.ts). Requests are sent open-loop at
 * `--rate` per second (at most 32 in flight) over HTTPS, a new connection pool every 20 s so
 * new TLS handshakes see reloaded certificates. Kinds of request:
 *   cached     a Pod of 3 signed images pinned by digest, from a hot set of 10 (cache hits)
 *   new        a Pod of 1 signed image by tag from a pool larger than the cache (misses: a
 *              tag resolution and a full verification)
 *   unsigned   a Pod with an unsigned or tampered image (must be denied: a wrong allow otherwise)
 *   malformed  not an AdmissionReview (must be HTTP 400)
 *   huge       a Deployment of 40 containers with 2 MiB of annotations (signed, cached images)
 * Every 15 s the policy folder is rewritten the way the kubelet swaps a ConfigMap (every
 * fourth time with a broken policy that must be rejected, then repaired); every 25 s the
 * serving certificate is re-issued (sometimes the certificate lands before its key).
 * Sampled every 5 s from /proc: the webhook's RSS and open file descriptors.
 * At the end the webhook gets SIGTERM with requests in flight and must exit 0.
 * Prints the tables (markdown) and a JSON line. Numbers go in docs/reliability.md.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { cpus } from 'node:os';
import { join, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { Agent, request } from 'undici';
import { policyYaml, writeConfigMap } from '../test/integration/webhook/helpers';
import { createChaos } from '../test/support/registry/chaos';
import { closePushers, createCa, issueServerCert, startProxy, startRegistry, type TestCa } from '../test/support/registry';
import { pushSignatures, pushTestImage } from '../test/support/signed-images';
import { createTestSigstore } from '../test/support/sigstore';

const ISSUER = 'https://accounts.example.test';
const SIGNER = 'release@example.test';
const CLI = resolve(__dirname, '..', '..', '..', 'dist', 'cli', 'main.js');
const KINDS = ['cached', 'new', 'unsigned', 'malformed', 'huge'] as const;
type Kind = (typeof KINDS)[number];
/** Share of each kind in the stream. */
const MIX: Record<Kind, number> = { cached: 0.45, new: 0.25, unsigned: 0.15, malformed: 0.1, huge: 0.05 };

function percentile(values: number[], p: number): number {
  if (values.length === 0) return NaN;
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)]!;
}

function review(kind: 'Pod' | 'Deployment', images: string[], annotationBytes = 0): string {
  const spec = { containers: images.map((image, i) => ({ name: `c${i}`, image })) };
  const metadata = {
    name: `soak-${randomUUID().slice(0, 8)}`,
    namespace: 'soak',
    ...(annotationBytes > 0 ? { annotations: { blob: 'x'.repeat(annotationBytes) } } : {}),
  };
  const object =
    kind === 'Pod' ? { apiVersion: 'v1', kind, metadata, spec } : { apiVersion: 'apps/v1', kind, metadata, spec: { replicas: 2, template: { spec } } };
  return JSON.stringify({
    apiVersion: 'admission.k8s.io/v1',
    kind: 'AdmissionReview',
    request: {
      uid: randomUUID(),
      kind: { group: kind === 'Pod' ? '' : 'apps', version: 'v1', kind },
      resource: { group: kind === 'Pod' ? '' : 'apps', version: 'v1', resource: kind === 'Pod' ? 'pods' : 'deployments' },
      name: metadata.name,
      namespace: 'soak',
      operation: 'CREATE',
      userInfo: { username: 'soak' },
      object,
      oldObject: null,
      dryRun: false,
    },
  });
}

function procSample(pid: number): { rssMb: number; fds: number } {
  const status = readFileSync(`/proc/${pid}/status`, 'utf8');
  const rssKb = Number(/^VmRSS:\s+(\d+) kB/m.exec(status)?.[1] ?? 0);
  return { rssMb: rssKb / 1024, fds: readdirSync(`/proc/${pid}/fd`).length };
}

/** A deterministic stream of choices (mulberry32). */
function prng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      minutes: { type: 'string', default: '10' },
      rate: { type: 'string', default: '20' },
      'fault-rate': { type: 'string', default: '0.05' },
      seed: { type: 'string', default: '1' },
      pool: { type: 'string', default: '200' },
    },
  });
  const minutes = Number(values.minutes);
  const rate = Number(values.rate);
  const faultRate = Number(values['fault-rate']);
  const seed = Number(values.seed);
  const poolSize = Number(values.pool);
  const random = prng(seed);

  const dir = mkdtempSync(join(process.env.TMPDIR ?? '/tmp', 'imgverify-soak-'));
  const [registry, ca] = await Promise.all([startRegistry(), createCa('imgverify soak CA')]);
  let webhook: ChildProcess | undefined;
  let proxy: Awaited<ReturnType<typeof startProxy>> | undefined;
  const timers: NodeJS.Timeout[] = [];
  try {
    const sigstore = createTestSigstore();
    writeFileSync(join(dir, 'trusted_root.json'), JSON.stringify(sigstore.trustedRoot));
    const tlsDir = join(dir, 'tls');
    const writeTls = async (ca: TestCa, mode: 'atomic' | 'cert-first'): Promise<void> => {
      const cert = await issueServerCert(ca);
      if (mode === 'cert-first') {
        // The certificate lands before its key: that pair does not load and must be rejected.
        writeFileSync(join(tlsDir, 'tls.crt.tmp'), cert.certPem);
        renameSync(join(tlsDir, 'tls.crt.tmp'), join(tlsDir, 'tls.crt'));
        await new Promise((r) => setTimeout(r, 400));
      }
      writeFileSync(join(tlsDir, 'tls.key.tmp'), cert.keyPem);
      writeFileSync(join(tlsDir, 'tls.crt.tmp'), cert.certPem);
      renameSync(join(tlsDir, 'tls.key.tmp'), join(tlsDir, 'tls.key'));
      renameSync(join(tlsDir, 'tls.crt.tmp'), join(tlsDir, 'tls.crt'));
    };
    mkdirSync(tlsDir);
    await writeTls(ca, 'atomic');

    console.error(`pushing ${poolSize} + 10 signed, 10 unsigned and 10 tampered images ...`);
    const pushStart = performance.now();
    const signed = async (repo: string) => {
      const image = await pushTestImage(registry, repo, 'v1');
      await pushSignatures(registry, repo, image.digest, [sigstore.signImage({ digest: image.digest, identity: { email: SIGNER }, issuer: ISSUER })]);
      return image.digest;
    };
    const hot: Array<{ repo: string; digest: string }> = [];
    for (let i = 0; i < 10; i++) hot.push({ repo: `soak/hot-${i}`, digest: await signed(`soak/hot-${i}`) });
    const pool: string[] = [];
    for (let i = 0; i < poolSize; i++) {
      await signed(`soak/new-${i}`);
      pool.push(`soak/new-${i}`);
    }
    const bad: string[] = [];
    for (let i = 0; i < 10; i++) {
      await pushTestImage(registry, `soak/unsigned-${i}`, 'v1');
      bad.push(`soak/unsigned-${i}`);
      const t = await pushTestImage(registry, `soak/tampered-${i}`, 'v1');
      await pushSignatures(registry, `soak/tampered-${i}`, t.digest, [
        sigstore.signImage({ digest: t.digest, identity: { email: 'intruder@example.test' }, issuer: ISSUER }),
      ]);
      bad.push(`soak/tampered-${i}`);
    }
    const pushSeconds = (performance.now() - pushStart) / 1000;

    const chaos = createChaos({ seed, rate: faultRate, stallMs: 4000 });
    proxy = await startProxy(registry, { onRequest: chaos.hook });
    const host = proxy.host;

    const policies = join(dir, 'policies');
    let policyVersion = 0;
    const writePolicies = (broken: boolean): void => {
      policyVersion++;
      const files: Record<string, string> = {
        'soak.yaml': policyYaml('soak', [`${host}/soak/**`], [{ name: 'ci', keyless: { identities: [{ issuer: ISSUER, subject: SIGNER }] } }]),
        // Changes every time: a new policy-set version, so the verdict cache starts over.
        'other.yaml': policyYaml(`other-${policyVersion}`, ['example.test/**'], [{ name: 'never', static: { action: 'fail' } }]),
      };
      if (broken)
        files['broken.yaml'] = 'apiVersion: policy.sigstore.dev/v1beta1\nkind: ClusterImagePolicy\nmetadata: {name: broken}\nspec: {images: [{glob: "[x"}]}\n';
      writeConfigMap(policies, files);
    };
    writePolicies(false);

    webhook = spawn(
      process.execPath,
      [
        CLI,
        'webhook',
        '--policies',
        policies,
        '--tls-cert',
        join(tlsDir, 'tls.crt'),
        '--tls-key',
        join(tlsDir, 'tls.key'),
        '--trusted-root',
        join(dir, 'trusted_root.json'),
        '--docker-config',
        join(dir, 'no-config.json'),
        '--port',
        '0',
        '--host',
        '127.0.0.1',
        '--timeout',
        '3s',
        '--cache-size',
        '100',
        '--shutdown-delay',
        '1s',
        '--log-level',
        'info',
      ],
      { stdio: ['ignore', 'ignore', 'pipe'], env: { PATH: process.env.PATH } },
    );
    let stderr = '';
    const port = await new Promise<number>((resolvePort, reject) => {
      webhook!.stderr!.on('data', (d: Buffer) => {
        stderr += d.toString();
        if (stderr.length > 1_000_000) stderr = stderr.slice(-500_000);
        const m = /"msg":"listening","port":(\d+)/.exec(stderr);
        if (m) resolvePort(Number(m[1]));
      });
      webhook!.on('close', () => reject(new Error(`webhook exited: ${stderr}`)));
    });
    const pid = webhook.pid!;
    const url = `https://127.0.0.1:${port}`;

    // --- the background changes --------------------------------------------------------------
    let policyRewrites = 0;
    let tlsRewrites = 0;
    let policyTick = 0;
    timers.push(
      setInterval(() => {
        policyTick++;
        const broken = policyTick % 4 === 0;
        writePolicies(broken);
        policyRewrites++;
        if (broken) {
          setTimeout(() => {
            writePolicies(false);
            policyRewrites++;
          }, 3000).unref();
        }
      }, 15_000),
    );
    let tlsTick = 0;
    timers.push(
      setInterval(() => {
        tlsTick++;
        void writeTls(ca, tlsTick % 3 === 0 ? 'cert-first' : 'atomic').then(() => tlsRewrites++);
      }, 25_000),
    );

    const samples: Array<{ t: number; rssMb: number; fds: number }> = [];
    const t0 = performance.now();
    const sample = () => samples.push({ t: (performance.now() - t0) / 1000, ...procSample(pid) });
    sample();
    timers.push(setInterval(sample, 5000));

    // --- the stream ----------------------------------------------------------------------------
    let agent = new Agent({ connect: { ca: ca.certPem }, connections: 32, pipelining: 1 });
    const oldAgents: Agent[] = [];
    timers.push(
      setInterval(() => {
        const old = agent;
        oldAgents.push(old);
        agent = new Agent({ connect: { ca: ca.certPem }, connections: 32, pipelining: 1 });
        // Its requests have long finished by then (15 s client timeouts at most).
        setTimeout(() => void old.close().catch(() => undefined), 16_000).unref();
      }, 20_000),
    );
    const latencies: Record<Kind, number[]> = { cached: [], new: [], unsigned: [], malformed: [], huge: [] };
    const counts = {
      requests: 0,
      status: {} as Record<string, number>,
      wrongAllows: 0,
      wrongAnswers: 0,
      signedDenied: 0,
      transportErrors: 0,
      allowed: 0,
      denied: 0,
    };
    const denialReasons: Record<string, number> = {};
    let poolNext = 0;
    let inFlight = 0;
    const hugeAnnotation = 2 * 1024 * 1024;

    const pick = (): Kind => {
      let x = random();
      for (const k of KINDS) {
        if (x < MIX[k]) return k;
        x -= MIX[k];
      }
      return 'cached';
    };
    const send = async (kind: Kind): Promise<void> => {
      let body: string;
      let expect: 'allow' | 'deny' | 'invalid' | 'allow-or-operational';
      switch (kind) {
        case 'cached': {
          const images = Array.from({ length: 3 }, () => hot[Math.floor(random() * hot.length)]!).map((h) => `${host}/${h.repo}:v1@${h.digest}`);
          body = review('Pod', images);
          expect = 'allow-or-operational';
          break;
        }
        case 'new':
          body = review('Pod', [`${host}/${pool[poolNext++ % pool.length]!}:v1`]);
          expect = 'allow-or-operational';
          break;
        case 'unsigned':
          body = review('Pod', [`${host}/${bad[Math.floor(random() * bad.length)]!}:v1`]);
          expect = 'deny';
          break;
        case 'malformed': {
          const variants = [
            '{"apiVersion":"admission.k8s.io/v1","kind":"AdmissionReview"}',
            '{not json',
            JSON.stringify({ apiVersion: 'v1', kind: 'Pod' }),
            '[]',
          ];
          body = variants[Math.floor(random() * variants.length)]!;
          expect = 'invalid';
          break;
        }
        case 'huge':
          body = review(
            'Deployment',
            Array.from({ length: 40 }, (_, i) => `${host}/${hot[i % hot.length]!.repo}:v1@${hot[i % hot.length]!.digest}`),
            hugeAnnotation,
          );
          expect = 'allow-or-operational';
          break;
      }
      counts.requests++;
      const started = performance.now();
      try {
        const res = await request(`${url}/validate`, {
          method: 'POST',
          headers: { 'content-type': 'application/json' },
          body,
          dispatcher: agent,
          headersTimeout: 15_000,
          bodyTimeout: 15_000,
        });
        const text = await res.body.text();
        latencies[kind].push(performance.now() - started);
        counts.status[res.statusCode] = (counts.status[res.statusCode] ?? 0) + 1;
        if (expect === 'invalid') {
          if (res.statusCode !== 400) counts.wrongAnswers++;
          return;
        }
        if (res.statusCode !== 200) {
          counts.wrongAnswers++;
          return;
        }
        const answer = (JSON.parse(text) as { response: { allowed: boolean; status?: { message?: string } } }).response;
        if (answer.allowed) counts.allowed++;
        else counts.denied++;
        if (expect === 'deny' && answer.allowed) counts.wrongAllows++;
        if (expect === 'allow-or-operational' && !answer.allowed) {
          counts.signedDenied++;
          const code = /\[([A-Z_]+)\]/.exec(answer.status?.message ?? '')?.[1] ?? 'other';
          denialReasons[code] = (denialReasons[code] ?? 0) + 1;
        }
      } catch {
        counts.transportErrors++;
      }
    };

    const durationMs = minutes * 60_000;
    const pending = new Set<Promise<void>>();
    console.error(`soaking for ${minutes} min at ${rate} requests/s, fault rate ${faultRate}, webhook pid ${pid} ...`);
    for (let i = 0; ; i++) {
      const due = t0 + (i * 1000) / rate;
      const now = performance.now();
      if (now - t0 >= durationMs) break;
      if (due > now) await new Promise((r) => setTimeout(r, due - now));
      if (inFlight >= 32) continue; // the webhook is behind: skip this slot (counted below)
      inFlight++;
      const p = send(pick()).finally(() => {
        inFlight--;
        pending.delete(p);
      });
      pending.add(p);
      if (i % Math.max(1, Math.round(rate * 60)) === 0 && i > 0) {
        const s = samples[samples.length - 1]!;
        console.error(
          `  ${((performance.now() - t0) / 60_000).toFixed(1)} min: ${counts.requests} requests, RSS ${s.rssMb.toFixed(0)} MiB, fds ${s.fds}, wrong allows ${counts.wrongAllows}`,
        );
      }
    }
    for (const t of timers) clearInterval(t);
    sample();

    const metricsText = await (await request(`${url}/metrics`, { dispatcher: agent })).body.text();
    const metric = (re: RegExp) => Number(re.exec(metricsText)?.[1] ?? 0);

    // --- SIGTERM with requests in flight ------------------------------------------------------
    const lastWave = Array.from({ length: 8 }, (_, i) => send(i % 2 === 0 ? 'new' : 'cached'));
    const exit = new Promise<number | null>((r) => webhook!.on('close', (code) => r(code)));
    const termAt = performance.now();
    webhook.kill('SIGTERM');
    await Promise.allSettled([...pending, ...lastWave]);
    const exitCode = await exit;
    const shutdownSeconds = (performance.now() - termAt) / 1000;
    await agent.close();
    for (const a of oldAgents) await a.close().catch(() => undefined);

    const policyLoaded = metric(/^imgverify_policy_reloads_total\{result="loaded"\} (\d+)/m);
    const policyRejected = metric(/^imgverify_policy_reloads_total\{result="rejected"\} (\d+)/m);
    const tlsLoaded = metric(/^imgverify_tls_reloads_total\{result="loaded"\} (\d+)/m);
    const tlsRejected = metric(/^imgverify_tls_reloads_total\{result="rejected"\} (\d+)/m);
    const cacheHits = metric(/^imgverify_cache_hits_total (\d+)/m);
    const cacheMisses = metric(/^imgverify_cache_misses_total (\d+)/m);
    const quarter = (f: number) => samples[Math.min(samples.length - 1, Math.round((samples.length - 1) * f))]!;
    const peak = samples.reduce((m, s) => (s.rssMb > m.rssMb ? s : m));

    console.log(
      `\nimgverify webhook soak: ${minutes} min at ${rate} requests/s (open loop), registry fault rate ${faultRate} (seed ${seed}), cache 100 entries, pool of ${poolSize} new images`,
    );
    console.log(`machine: ${cpus().length} x ${cpus()[0]?.model ?? 'cpu'}, node ${process.version}; pushing took ${pushSeconds.toFixed(0)} s\n`);
    console.log('| kind | requests | p50 ms | p99 ms | max ms |');
    console.log('| --- | ---: | ---: | ---: | ---: |');
    for (const k of KINDS) {
      const l = latencies[k];
      console.log(`| ${k} | ${l.length} | ${percentile(l, 50).toFixed(1)} | ${percentile(l, 99).toFixed(1)} | ${Math.max(...l).toFixed(1)} |`);
    }
    const fiveXX = Object.entries(counts.status)
      .filter(([s]) => s.startsWith('5'))
      .reduce((n, [, c]) => n + c, 0);
    console.log('\n| measure | value |');
    console.log('| --- | ---: |');
    console.log(`| requests | ${counts.requests} |`);
    console.log(
      `| HTTP statuses | ${Object.entries(counts.status)
        .map(([s, c]) => `${s}: ${c}`)
        .join(', ')} |`,
    );
    console.log(`| wrong allows (unsigned or tampered admitted) | ${counts.wrongAllows} |`);
    console.log(`| wrong answers (malformed not 400, or a review not answered 200) | ${counts.wrongAnswers} |`);
    console.log(`| 5xx answers | ${fiveXX} |`);
    console.log(`| transport errors (no answer) | ${counts.transportErrors} |`);
    console.log(
      `| signed images denied (registry faults) | ${counts.signedDenied} (${Object.entries(denialReasons)
        .map(([c, n]) => `${c} ${n}`)
        .join(', ')}) |`,
    );
    console.log(`| registry requests / faults injected | ${chaos.requests()} / ${chaos.faults.length} |`);
    console.log(`| policy folder rewrites: reloads loaded / rejected (broken folder) | ${policyRewrites}: ${policyLoaded} / ${policyRejected} |`);
    console.log(`| certificate rewrites: reloads loaded / rejected (certificate before key) | ${tlsRewrites}: ${tlsLoaded} / ${tlsRejected} |`);
    console.log(`| verdict cache hits / misses | ${cacheHits} / ${cacheMisses} |`);
    console.log(`| RSS at start / 25% / 50% / 75% / end, MiB | ${[0, 0.25, 0.5, 0.75, 1].map((f) => quarter(f).rssMb.toFixed(0)).join(' / ')} |`);
    console.log(`| peak RSS, MiB | ${peak.rssMb.toFixed(0)} (at ${(peak.t / 60).toFixed(1)} min) |`);
    console.log(
      `| open file descriptors at start / 50% / end (max) | ${quarter(0).fds} / ${quarter(0.5).fds} / ${quarter(1).fds} (${Math.max(...samples.map((s) => s.fds))}) |`,
    );
    console.log(`| SIGTERM with requests in flight: exit code, time to exit | ${exitCode}, ${shutdownSeconds.toFixed(1)} s |`);
    console.log(
      JSON.stringify({
        minutes,
        rate,
        faultRate,
        seed,
        counts,
        denialReasons,
        latencies: Object.fromEntries(KINDS.map((k) => [k, { n: latencies[k].length, p50: percentile(latencies[k], 50), p99: percentile(latencies[k], 99) }])),
        samples,
        exitCode,
        shutdownSeconds,
      }),
    );
    if (counts.wrongAllows > 0 || fiveXX > 0 || exitCode !== 0) process.exitCode = 1;
  } finally {
    for (const t of timers) clearInterval(t);
    if (webhook && webhook.exitCode === null) webhook.kill('SIGKILL');
    await proxy?.stop();
    await closePushers();
    await registry.stop();
    rmSync(dir, { recursive: true, force: true });
  }
}

main().catch((err: unknown) => {
  console.error(err);
  process.exitCode = 1;
});
