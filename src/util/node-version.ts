/**
 * The Node.js versions imgverify runs on. It refuses only what cannot work: below undici's own
 * floor (its `engines`, `>=22.19.0`; package.json's `engines` too) the HTTP client is not
 * supported (on Node 20 it fails at load), so the library refuses at load with a message saying
 * what is needed. Above it, versions outside
 * what CI tests and the `@sigstore/*` packages declare (`^22.22.2 || ^24.15.0 || >=26.0.0`:
 * 22.19–22.22.1, 23, 24.0–24.14, 25) verify the same, and get a warning, once.
 *
 * Bun and Deno report the Node.js API version they emulate in `process.versions.node`; it says
 * nothing about what they lack, so neither check applies there: the runtime self-test does
 * (../verify/runtime-check.ts).
 */

/** The oldest Node.js imgverify can run on: undici's own floor. */
export const MINIMUM_NODE = '22.19.0';
/** What CI tests and the `@sigstore/*` dependencies declare. */
export const TESTED_NODE = 'Node.js 22.22+, 24.15+ or 26+';

type Version = readonly [major: number, minor: number, patch: number];

function parse(version: string): Version {
  const [major = 0, minor = 0, patch = 0] = version.split('.').map((n) => Number.parseInt(n, 10) || 0);
  return [major, minor, patch];
}

function atLeast([major, minor, patch]: Version, [m, n, p]: Version): boolean {
  return major !== m ? major > m : minor !== n ? minor > n : patch >= p;
}

/** Whether this is Node.js itself, not Bun or Deno (which report the Node.js API they emulate). */
export function isNode(versions: NodeJS.ProcessVersions & { bun?: string; deno?: string } = process.versions): boolean {
  return versions.bun === undefined && versions.deno === undefined;
}

/** Why this Node.js version cannot run imgverify, or undefined when it can. */
export function unsupportedNode(version: string = process.versions.node): string | undefined {
  if (atLeast(parse(version), parse(MINIMUM_NODE))) return undefined;
  return `imgverify needs Node.js ${MINIMUM_NODE} or later (found v${version}): the oldest version undici, its HTTP client, supports`;
}

/** Why this Node.js version, which imgverify runs on, is not one it is tested on (a warning), or undefined. */
export function untestedNode(version: string = process.versions.node): string | undefined {
  const v = parse(version);
  const [major] = v;
  const tested = (major === 22 && atLeast(v, [22, 22, 2])) || (major === 24 && atLeast(v, [24, 15, 0])) || major >= 26;
  if (tested || unsupportedNode(version) !== undefined) return undefined;
  return `imgverify is tested on ${TESTED_NODE} (found v${version}): it runs, but this version is not tested and its @sigstore dependencies do not declare it`;
}
