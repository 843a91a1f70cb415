/**
 * A real kubelet credential provider plugin for tests: an executable in a plugin folder
 * (`--image-credential-provider-bin-dir`), speaking the exec protocol
 * (`credentialprovider.kubelet.k8s.io`): a CredentialProviderRequest on stdin, a
 * CredentialProviderResponse on stdout. It is a shell wrapper running a Node.js script, which
 * reads its behaviour from a JSON file on every run (so a test can change it between runs)
 * and logs every request (stdin, arguments, chosen environment variables).
 */
import { chmodSync, existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

export interface PluginBehaviour {
  /**
   * `answer` (default): a response built from the fields below; `raw`: `raw` as is; `exit`:
   * exit with `exitCode` after writing `raw`; `hang`: start a child (`sleep`) in its process
   * group, record its pid, never answer; `flood`: 2 MB of output.
   */
  readonly mode?: 'answer' | 'raw' | 'exit' | 'hang' | 'flood';
  /** Default: the apiVersion of the request. */
  readonly apiVersion?: string;
  readonly kind?: string;
  /** Default `Image`. */
  readonly cacheKeyType?: string;
  readonly cacheDuration?: string;
  readonly auth?: Readonly<Record<string, { readonly username?: string; readonly password?: string }>>;
  readonly extra?: Readonly<Record<string, unknown>>;
  readonly raw?: string;
  readonly exitCode?: number;
}

interface PluginCall {
  readonly request: Record<string, unknown>;
  /** The request exactly as received. */
  readonly stdin: string;
  readonly argv: readonly string[];
  /** Environment variables whose name starts with PLUGIN_ or is HOME. */
  readonly env: Readonly<Record<string, string>>;
}

export interface InstalledPlugin {
  readonly name: string;
  readonly path: string;
  /** Replaces the behaviour of the next runs. */
  behave(behaviour: PluginBehaviour): void;
  calls(): PluginCall[];
  /** The pid of the child a `hang` run started (to check it was killed with the group). */
  hungChildPid(): number | undefined;
}

const SCRIPT = String.raw`
const fs = require('node:fs');
const { spawn } = require('node:child_process');
const [behaviourFile, logFile, pidFile] = process.argv.slice(2, 5);
const argv = process.argv.slice(5);
let input = '';
process.stdin.setEncoding('utf8');
process.stdin.on('data', (d) => (input += d));
process.stdin.on('end', () => {
  let request = {};
  try { request = JSON.parse(input); } catch {}
  const env = {};
  for (const [k, v] of Object.entries(process.env)) if (k.startsWith('PLUGIN_') || k === 'HOME') env[k] = v;
  fs.appendFileSync(logFile, JSON.stringify({ request, stdin: input, argv, env }) + '\n');
  const b = JSON.parse(fs.readFileSync(behaviourFile, 'utf8'));
  const mode = b.mode || 'answer';
  if (mode === 'hang') {
    const child = spawn('sleep', ['600'], { stdio: 'ignore' });
    fs.writeFileSync(pidFile, String(child.pid));
    setInterval(() => {}, 1000);
    return;
  }
  if (mode === 'flood') {
    const chunk = 'x'.repeat(65536);
    let n = 0;
    const more = () => { while (n++ < 32) { if (!process.stdout.write(chunk)) return process.stdout.once('drain', more); } };
    more();
    return;
  }
  if (mode === 'raw' || mode === 'exit') {
    process.stdout.write(b.raw || '', () => process.exit(mode === 'exit' ? (b.exitCode ?? 1) : 0));
    return;
  }
  const response = {
    apiVersion: b.apiVersion || request.apiVersion,
    kind: b.kind || 'CredentialProviderResponse',
    cacheKeyType: b.cacheKeyType || 'Image',
    ...(b.cacheDuration !== undefined ? { cacheDuration: b.cacheDuration } : {}),
    ...(b.auth !== undefined ? { auth: b.auth } : {}),
    ...(b.extra || {}),
  };
  process.stdout.write(JSON.stringify(response));
});
`;

const quote = (s: string) => `'${s.replaceAll("'", "'\\''")}'`;

/** Installs plugin `name` in `binDir` (created when missing), answering `behaviour`. */
export function installCredentialProviderPlugin(binDir: string, name: string, behaviour: PluginBehaviour = {}): InstalledPlugin {
  mkdirSync(binDir, { recursive: true });
  const state = join(binDir, `.${name}.state`);
  mkdirSync(state, { recursive: true });
  const behaviourFile = join(state, 'behaviour.json');
  const logFile = join(state, 'calls.log');
  const pidFile = join(state, 'child.pid');
  const scriptFile = join(state, 'plugin.js');
  writeFileSync(scriptFile, SCRIPT);
  writeFileSync(behaviourFile, JSON.stringify(behaviour));
  const path = join(binDir, name);
  writeFileSync(
    path,
    ['#!/bin/sh', `exec ${quote(process.execPath)} ${quote(scriptFile)} ${quote(behaviourFile)} ${quote(logFile)} ${quote(pidFile)} "$@"`, ''].join('\n'),
  );
  chmodSync(path, 0o755);
  return {
    name,
    path,
    behave: (next) => writeFileSync(behaviourFile, JSON.stringify(next)),
    calls: () =>
      existsSync(logFile)
        ? readFileSync(logFile, 'utf8')
            .split('\n')
            .filter(Boolean)
            .map((line) => JSON.parse(line) as PluginCall)
        : [],
    hungChildPid: () => (existsSync(pidFile) ? Number(readFileSync(pidFile, 'utf8')) : undefined),
  };
}

/** A CredentialProviderConfig (kubelet.config.k8s.io/v1 unless said) as YAML text. */
export function credentialProviderConfigYaml(
  providers: ReadonlyArray<{
    readonly name: string;
    readonly matchImages: readonly string[];
    readonly defaultCacheDuration?: string;
    readonly apiVersion?: string;
    readonly args?: readonly string[];
    readonly env?: ReadonlyArray<{ readonly name: string; readonly value: string }>;
  }>,
  apiVersion = 'kubelet.config.k8s.io/v1',
): string {
  const lines = [`apiVersion: ${apiVersion}`, 'kind: CredentialProviderConfig', 'providers:'];
  for (const p of providers) {
    lines.push(`  - name: ${JSON.stringify(p.name)}`, '    matchImages:');
    for (const m of p.matchImages) lines.push(`      - ${JSON.stringify(m)}`);
    lines.push(`    defaultCacheDuration: ${JSON.stringify(p.defaultCacheDuration ?? '10m')}`);
    lines.push(`    apiVersion: ${p.apiVersion ?? 'credentialprovider.kubelet.k8s.io/v1'}`);
    if (p.args) lines.push(`    args: ${JSON.stringify(p.args)}`);
    if (p.env) {
      lines.push('    env:');
      for (const e of p.env) lines.push(`      - name: ${JSON.stringify(e.name)}`, `        value: ${JSON.stringify(e.value)}`);
    }
  }
  return `${lines.join('\n')}\n`;
}
