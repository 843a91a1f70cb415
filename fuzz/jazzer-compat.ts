/**
 * Makes the Jazzer.js native addon load on this machine.
 *
 * `@jazzer.js/fuzzer` 4.0.0 ships only prebuilt addons (no C++ sources in the npm package).
 * The Linux x64 one was linked on a newer distribution than Debian 12: it asks for glibc
 * 2.38 (`__isoc23_strtol`, `__isoc23_strtoul`, the C23 names GCC 13 headers emit) and
 * libstdc++ 3.4.32 (`std::ios_base_library_init`, GCC 13), so `dlopen` fails with
 * "version `GLIBC_2.38' not found". The older 2.1.0 ships sources, but its CMake build
 * downloads LLVM's compiler-rt, which this machine cannot.
 *
 * What this does instead, only when the addon does not load as it is:
 *   1. compiles a three-function shim with the system g++ (`build/fuzz/libjazzer-compat.so`:
 *      the two C23 names forward to strtol/strtoul; the libstdc++ one constructs
 *      std::ios_base::Init, which is what GCC 13's does);
 *   2. marks the addon's two version requirements (GLIBC_2.38, GLIBCXX_3.4.32) weak in its
 *      `.gnu.version_r` section (the VER_FLG_WEAK bit; the original is kept as `.orig`), so
 *      the dynamic loader no longer refuses the file for them;
 *   3. the fuzzer then runs with the shim in LD_PRELOAD, which provides the three symbols.
 * Nothing else in the addon changes. The clean fix is upstream: build the Linux prebuild on
 * an older glibc (a manylinux-style image), or ship the sources again.
 */
import { execFileSync, spawnSync } from 'node:child_process';
import { copyFileSync, existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';

const SHIM_SOURCE = `#include <cstdlib>
#include <ios>
extern "C" long __isoc23_strtol(const char *s, char **end, int base) { return std::strtol(s, end, base); }
extern "C" unsigned long __isoc23_strtoul(const char *s, char **end, int base) { return std::strtoul(s, end, base); }
namespace std { void ios_base_library_init() { static ios_base::Init init; } }
`;
const WEAKENED_VERSIONS = ['GLIBC_2.38', 'GLIBCXX_3.4.32'];
const SHT_GNU_VERNEED = 0x6ffffffe;
const VER_FLG_WEAK = 0x2;

export function addonPath(root: string): string {
  return join(root, 'node_modules', '@jazzer.js', 'fuzzer', 'prebuilds', `fuzzer-${process.platform}-${process.arch}.node`);
}

/**
 * Whether the addon loads in a fresh node (with `preload` in LD_PRELOAD); the error otherwise.
 * LD_BIND_NOW resolves every symbol at load: a weakened addon loads lazily without the shim
 * and would only fail at its first call into a missing symbol.
 */
function loadError(addon: string, preload?: string): string | undefined {
  const res = spawnSync(process.execPath, ['-e', `require(${JSON.stringify(addon)})`], {
    encoding: 'utf8',
    env: { ...process.env, LD_BIND_NOW: '1', ...(preload ? { LD_PRELOAD: preload } : {}) },
  });
  return res.status === 0 ? undefined : (res.stderr.split('\n').find((l) => l.startsWith('Error:')) ?? res.stderr.slice(0, 500));
}

/** Sets VER_FLG_WEAK on the named version requirements of an ELF64 little-endian file. */
export function weakenVersionNeeds(file: string, names: readonly string[]): number {
  const b = readFileSync(file);
  if (b.readUInt32BE(0) !== 0x7f454c46 || b[4] !== 2 || b[5] !== 1) throw new Error(`${file} is not a 64-bit little-endian ELF file`);
  const shoff = Number(b.readBigUInt64LE(0x28));
  const shentsize = b.readUInt16LE(0x3a);
  const shnum = b.readUInt16LE(0x3c);
  const section = (i: number) => {
    const o = shoff + i * shentsize;
    return { type: b.readUInt32LE(o + 4), offset: Number(b.readBigUInt64LE(o + 0x18)), link: b.readUInt32LE(o + 0x28) };
  };
  let changed = 0;
  for (let i = 0; i < shnum; i++) {
    const s = section(i);
    if (s.type !== SHT_GNU_VERNEED) continue;
    const strtab = section(s.link).offset;
    const name = (o: number) => b.toString('latin1', strtab + o, b.indexOf(0, strtab + o));
    for (let vn = s.offset; ;) {
      const count = b.readUInt16LE(vn + 2);
      let aux = vn + b.readUInt32LE(vn + 8);
      for (let k = 0; k < count; k++) {
        if (names.includes(name(b.readUInt32LE(aux + 8)))) {
          b.writeUInt16LE(b.readUInt16LE(aux + 4) | VER_FLG_WEAK, aux + 4);
          changed++;
        }
        const next = b.readUInt32LE(aux + 12);
        if (next === 0) break;
        aux += next;
      }
      const next = b.readUInt32LE(vn + 12);
      if (next === 0) break;
      vn += next;
    }
  }
  writeFileSync(file, b);
  return changed;
}

/**
 * Returns the LD_PRELOAD value the fuzzer needs ('' when the addon loads as shipped); throws
 * with the reason when it cannot be made to load.
 */
export function ensureJazzerLoads(root: string, log: (line: string) => void): string {
  const addon = addonPath(root);
  if (!existsSync(addon)) throw new Error(`${addon} is missing: run npm ci (@jazzer.js/core is a devDependency)`);
  const shim = join(root, 'build', 'fuzz', 'libjazzer-compat.so');
  const first = loadError(addon);
  if (first === undefined) return '';
  if (existsSync(shim) && loadError(addon, shim) === undefined) return shim;
  if (!/GLIBC_2\.38|GLIBCXX_3\.4\.32|__isoc23_|ios_base_library_init/.test(first)) throw new Error(`the Jazzer.js addon does not load: ${first}`);
  log(`jazzer: the prebuilt addon does not load (${first.trim()}); building the compatibility shim (see fuzz/jazzer-compat.ts)`);
  mkdirSync(dirname(shim), { recursive: true });
  const source = join(dirname(shim), 'jazzer-compat.cc');
  writeFileSync(source, SHIM_SOURCE);
  execFileSync('g++', ['-shared', '-fPIC', '-O2', '-o', shim, source], { stdio: 'inherit' });
  if (!existsSync(`${addon}.orig`)) copyFileSync(addon, `${addon}.orig`);
  const changed = weakenVersionNeeds(addon, WEAKENED_VERSIONS);
  log(`jazzer: marked ${changed} version requirement(s) weak in ${addon}`);
  const after = loadError(addon, shim);
  if (after !== undefined) throw new Error(`the Jazzer.js addon still does not load with the shim: ${after}`);
  return shim;
}
