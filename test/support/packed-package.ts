/**
 * The package as a consumer gets it: `npm pack` of this checkout (needs `npm run build`
 * first; npm test does it), installed into a fresh project folder with its dependencies from
 * the npm cache. Used by the package-consumer and runtime tests.
 */
import { execFileSync } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';

export const PROJECT_ROOT = resolve(__dirname, '..', '..');

/** npm in `cwd` (the npm that runs the tests, or the one on PATH), quiet. */
export function npm(args: string[], cwd: string): string {
  return execFileSync('npm', args, {
    cwd,
    encoding: 'utf8',
    env: { ...process.env, npm_config_audit: 'false', npm_config_fund: 'false', npm_config_update_notifier: 'false' },
  });
}

export interface PackedInstall {
  /** The project folder, with node_modules/imgverify. */
  readonly app: string;
  /** The files the tarball holds. */
  readonly files: readonly string[];
}

/** Packs imgverify into `dir` and installs the tarball (and `extra` packages) into `dir/app`. */
export function installPacked(dir: string, extra: readonly string[] = []): PackedInstall {
  const packed = JSON.parse(npm(['pack', '--json', '--ignore-scripts', '--pack-destination', dir], PROJECT_ROOT)) as Array<{
    filename: string;
    files: Array<{ path: string }>;
  }>;
  const app = join(dir, 'app');
  mkdirSync(app, { recursive: true });
  writeFileSync(join(app, 'package.json'), JSON.stringify({ name: 'consumer', version: '1.0.0', private: true }));
  npm(['install', '--prefer-offline', '--no-package-lock', join(dir, packed[0]!.filename), ...extra], app);
  return { app, files: packed[0]!.files.map((f) => f.path) };
}
