/**
 * Structured mutation of every fuzz seed that is JSON (or, for the policy target, YAML): each value
 * of the document, at every depth, is replaced in turn by values a hostile document can hold but
 * random mutation rarely builds, and the result goes through the target's parsers, which must give
 * a value or a typed ImgverifyError (fuzz/invariant.ts), never a TypeError or an INTERNAL_ERROR.
 *
 * The first of them is why this test exists: `{"toString": null}` parses to an object whose
 * String() and template-literal conversions throw. A property test met it once by chance in CI
 * (the Rekor body's unsupported-kind message); this test meets it at every position every run.
 * Strings that carry a document of their own (JSON text, or base64 of JSON: a Rekor body inside
 * a bundle, a DSSE payload, the bundle annotation of a .sig layer) are mutated inside as well.
 */
import { parseAllDocuments } from 'yaml';
import { TARGETS, type FuzzTarget } from '../../../../fuzz/targets';
import { isRecord } from '../../../../src/util/shape';
import { errorMessage } from '../../../../src/util/describe';

/** Fresh each time (a parser could otherwise change a shared value). */
const HOSTILE_JSON = [
  '{"toString":null,"valueOf":null}',
  '{"toString":1,"valueOf":{},"toJSON":null,"then":null}',
  '[{"toString":null}]',
  '{"__proto__":{"polluted":true},"constructor":{"prototype":{"polluted":true}}}',
  '"__proto__"',
  '"constructor"',
  '"toString"',
  'null',
  'true',
  '-1',
  '1e308',
  '9007199254740993',
  '""',
  '"\\u0000\\ud800"',
  '[]',
  '{}',
];
const hostile = (): unknown[] => HOSTILE_JSON.map((t) => JSON.parse(t) as unknown);

/** A document carried inside a string, and how to put a changed one back. */
function embedded(value: string): { doc: unknown; encode: (doc: unknown) => string } | undefined {
  const asJson = (text: string): unknown => {
    try {
      const doc = JSON.parse(text) as unknown;
      return typeof doc === 'object' && doc !== null ? doc : undefined;
    } catch {
      return undefined;
    }
  };
  const direct = asJson(value);
  if (direct !== undefined) return { doc: direct, encode: (doc) => JSON.stringify(doc) };
  if (value.length >= 8 && /^[A-Za-z0-9+/]+={0,2}$/.test(value)) {
    const inner = asJson(Buffer.from(value, 'base64').toString('utf8'));
    if (inner !== undefined) return { doc: inner, encode: (doc) => Buffer.from(JSON.stringify(doc), 'utf8').toString('base64') };
  }
  return undefined;
}

/** Every document that differs from `value` at exactly one node (at any depth) by a hostile value. */
function* variants(value: unknown): Generator<unknown> {
  yield* hostile();
  if (Array.isArray(value)) {
    for (let i = 0; i < value.length; i++) for (const v of variants(value[i])) yield value.map((x, j) => (j === i ? v : x));
  } else if (isRecord(value)) {
    for (const key of Object.keys(value)) for (const v of variants(value[key])) yield { ...value, [key]: v };
  } else if (typeof value === 'string') {
    const inner = embedded(value);
    if (inner) for (const v of variants(inner.doc)) yield inner.encode(v);
  }
}

/** The seed's documents and how to serialise changed ones, or undefined if it is not structured. */
function structured(target: FuzzTarget, seed: Buffer): { docs: unknown[]; encode: (docs: unknown[]) => Buffer } | undefined {
  const text = seed.toString('utf8');
  try {
    const doc = JSON.parse(text) as unknown;
    return { docs: [doc], encode: (docs) => Buffer.from(JSON.stringify(docs[0]), 'utf8') };
  } catch {
    if (target.name !== 'cluster-image-policy') return undefined;
  }
  // YAML: JSON is YAML, so each changed document is written back as JSON.
  // A seed whose aliases make a cycle cannot be written as JSON; the fuzzer covers it as it is.
  const docs = parseAllDocuments(text).map((d) => d.toJS() as unknown);
  try {
    JSON.stringify(docs);
  } catch {
    return undefined;
  }
  return { docs, encode: (ds) => Buffer.from(ds.map((d) => JSON.stringify(d)).join('\n---\n'), 'utf8') };
}

const cases = TARGETS.flatMap((target) =>
  target
    .seeds()
    .map((seed, i) => ({ target, seed, i, parsed: structured(target, seed) }))
    .filter((c) => c.parsed !== undefined)
    .map((c) => [`${c.target.name} seed ${c.i}`, c] as const),
);

describe('hostile values at every position of every structured fuzz seed', () => {
  it('covers the targets that read JSON or YAML', () => {
    const names = new Set(cases.map(([, c]) => c.target.name));
    for (const name of [
      'spdx-json',
      'oci-manifest',
      'cosign-payload',
      'cosign-annotations',
      'sigstore-bundle',
      'rekor-body',
      'dsse-intoto',
      'admission-review',
      'cluster-image-policy',
      'registry-answers',
    ]) {
      expect(names).toContain(name);
    }
  });

  it.each(cases)('%s', (_name, { target, parsed }) => {
    const { docs, encode } = parsed!;
    let tried = 0;
    for (let d = 0; d < docs.length; d++) {
      for (const changed of variants(docs[d])) {
        const input = encode(docs.map((doc, j) => (j === d ? changed : doc)));
        tried++;
        try {
          target.fuzz(input);
        } catch (err) {
          throw new Error(`${target.name}: input ${tried} broke the invariant: ${errorMessage(err)}\n${input.toString('utf8').slice(0, 2000)}`, { cause: err });
        }
      }
    }
    expect(tried).toBeGreaterThan(HOSTILE_JSON.length);
  });
});
