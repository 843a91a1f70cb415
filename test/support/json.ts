/**
 * Parsed JSON or YAML that a test takes apart, checks field by field or tampers with
 * (bundles, CLI reports, Rekor bodies, Kubernetes manifests). `any` on purpose: a wrong
 * path fails the test at once, and typing every fixture would only restate the formats
 * under test. Code under src/ never sees this type.
 */
// eslint-disable-next-line @typescript-eslint/no-explicit-any -- the one deliberate `any` of the tests, see above
export type Json = any;

/** A parsed JSON object. */
export type JsonObject = Record<string, Json>;
