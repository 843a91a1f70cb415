/**
 * The Node.js versions imgverify runs on: those its `@sigstore/*` dependencies declare
 * (`^22.22.2 || ^24.15.0 || >=26.0.0`, as package.json's `engines`). On older versions the
 * library does not fail cleanly later (undici crashes at load on Node 20), so it refuses at
 * load with a message saying what is needed. CI tests 22 and 24.
 */
export const SUPPORTED_NODE = 'Node.js 22.22+ or 24.15+ (or 26+)';

/** Why this Node.js version cannot run imgverify, or undefined when it can. */
export function unsupportedNode(version: string = process.versions.node): string | undefined {
  const [major = 0, minor = 0, patch = 0] = version.split('.').map((n) => Number.parseInt(n, 10));
  const atLeast = (m: number, p: number): boolean => minor > m || (minor === m && patch >= p);
  const ok = (major === 22 && atLeast(22, 2)) || (major === 24 && atLeast(15, 0)) || major >= 26;
  return ok ? undefined : `imgverify needs ${SUPPORTED_NODE} (found v${version})`;
}
