// Runs the CEL conformance tests (cel-spec v0.25.1, via @bufbuild/cel-spec) that need no
// protobuf message types against both libraries, with the same inputs and the same comparison.
import { createRequire } from 'node:module';
const require = createRequire(import.meta.url);
const { tests } = require('@bufbuild/cel-spec/testdata/conformance.js');
const buf = require('@bufbuild/cel');
const marc = await import('@marcbachmann/cel-js');

// --- expected values (cel.expr.Value JSON) to a canonical string -------------------------------
function canonExpected(v) {
  const [k] = Object.keys(v);
  const x = v[k];
  switch (k) {
    case 'int64Value':
      return `int:${BigInt(x)}`;
    case 'uint64Value':
      return `uint:${BigInt(x)}`;
    case 'doubleValue':
      return `double:${dbl(typeof x === 'string' ? Number(x === 'NaN' ? NaN : x === 'Infinity' ? Infinity : x === '-Infinity' ? -Infinity : x) : x)}`;
    case 'stringValue':
      return `string:${JSON.stringify(x)}`;
    case 'bytesValue':
      return `bytes:${Buffer.from(x, 'base64').toString('hex')}`;
    case 'boolValue':
      return `bool:${x}`;
    case 'nullValue':
      return 'null';
    case 'listValue':
      return `list[${(x.values ?? []).map(canonExpected).join(',')}]`;
    case 'mapValue':
      return `map{${(x.entries ?? [])
        .map((e) => `${canonExpected(e.key)}=>${canonExpected(e.value)}`)
        .sort()
        .join(',')}}`;
    case 'typeValue':
      return `type:${x}`;
    default:
      throw new Error(`unsupported expected ${k}`);
  }
}
function dbl(n) {
  return Number.isNaN(n) ? 'NaN' : Object.is(n, -0) ? '-0' : String(n);
}

// --- inputs: cel.expr.Value JSON to each library's JS value ------------------------------------
function input(v, lib) {
  const [k] = Object.keys(v);
  const x = v[k];
  switch (k) {
    case 'int64Value':
      return BigInt(x);
    case 'uint64Value':
      if (lib === 'buf') return buf.celUint(BigInt(x));
      throw new Error('skip uint binding');
    case 'doubleValue':
      return typeof x === 'string' ? Number(x) : x;
    case 'stringValue':
      return x;
    case 'bytesValue':
      return new Uint8Array(Buffer.from(x, 'base64'));
    case 'boolValue':
      return x;
    case 'nullValue':
      return null;
    case 'listValue':
      return (x.values ?? []).map((e) => input(e, lib));
    case 'mapValue':
      return new Map((x.entries ?? []).map((e) => [input(e.key, lib), input(e.value, lib)]));
    default:
      throw new Error(`skip binding ${k}`);
  }
}

// --- library outputs to the canonical string -------------------------------------------------
function canonBuf(v) {
  if (v === null) return 'null';
  if (typeof v === 'bigint') return `int:${v}`;
  if (typeof v === 'number') return `double:${dbl(v)}`;
  if (typeof v === 'string') return `string:${JSON.stringify(v)}`;
  if (typeof v === 'boolean') return `bool:${v}`;
  if (v instanceof Uint8Array) return `bytes:${Buffer.from(v).toString('hex')}`;
  if (buf.isCelUint(v)) return `uint:${v.value}`;
  if (buf.isCelList(v)) return `list[${[...v].map(canonBuf).join(',')}]`;
  if (buf.isCelMap(v))
    return `map{${[...v.entries()]
      .map(([a, b]) => `${canonBuf(a)}=>${canonBuf(b)}`)
      .sort()
      .join(',')}}`;
  if (buf.isCelType(v)) return `type:${v.name}`;
  return `other:${String(v?.$typeName ?? v)}`;
}
function canonMarc(v) {
  if (v === null) return 'null';
  if (typeof v === 'bigint') return `int:${v}`;
  if (typeof v === 'number') return `double:${dbl(v)}`;
  if (typeof v === 'string') return `string:${JSON.stringify(v)}`;
  if (typeof v === 'boolean') return `bool:${v}`;
  if (v instanceof Uint8Array) return `bytes:${Buffer.from(v).toString('hex')}`;
  if (v?.constructor?.name === 'UnsignedInt' || v?.constructor?.name === 'UnsignedInteger') return `uint:${v.valueOf()}`;
  if (Array.isArray(v)) return `list[${v.map(canonMarc).join(',')}]`;
  if (v instanceof Map)
    return `map{${[...v.entries()]
      .map(([a, b]) => `${canonMarc(a)}=>${canonMarc(b)}`)
      .sort()
      .join(',')}}`;
  if (v?.constructor?.name === 'Type') return `type:${v.name ?? String(v)}`;
  if (typeof v === 'object' && Object.getPrototypeOf(v) === Object.prototype) {
    return `map{${Object.entries(v)
      .map(([a, b]) => `string:${JSON.stringify(a)}=>${canonMarc(b)}`)
      .sort()
      .join(',')}}`;
  }
  return `other:${v?.constructor?.name}:${String(v)}`;
}

const runners = {
  buf(expr, bindings) {
    const r = buf.run(expr, bindings);
    if (buf.isCelError(r)) return { error: r.message };
    return { value: canonBuf(r) };
  },
  marc(expr, bindings) {
    try {
      const env = new marc.Environment({ unlistedVariablesAreDyn: true, homogeneousAggregateLiterals: false });
      return { value: canonMarc(env.evaluate(expr, bindings)) };
    } catch (e) {
      return { error: e.message };
    }
  },
};

const SKIP_SUITES = new Set(['proto2', 'proto3', 'proto2_ext', 'enums', 'wrappers', 'unknowns']);
const results = { buf: { pass: 0, fail: 0, bySuite: {} }, marc: { pass: 0, fail: 0, bySuite: {} } };
let considered = 0,
  skipped = 0;
const failures = { buf: [], marc: [] };
function walk(suite, top) {
  for (const t of suite.tests ?? []) {
    const o = t.original;
    if (
      SKIP_SUITES.has(top) ||
      o.container ||
      o.checkOnly ||
      o.typedResult ||
      (o.typeEnv && !o.bindings) ||
      (o.value && (o.value.objectValue || o.value.enumValue)) ||
      (!o.value && !o.evalError)
    ) {
      skipped++;
      continue;
    }
    let expected;
    try {
      expected = o.value ? canonExpected(o.value) : null;
    } catch {
      skipped++;
      continue;
    }
    const ins = {};
    try {
      for (const lib of ['buf', 'marc']) ins[lib] = Object.fromEntries(Object.entries(o.bindings ?? {}).map(([k, v]) => [k, input(v.value, lib)]));
    } catch {
      skipped++;
      continue;
    }
    considered++;
    for (const lib of ['buf', 'marc']) {
      const r = runners[lib](o.expr, ins[lib]);
      const ok = expected === null ? r.error !== undefined : r.value === expected;
      const s = (results[lib].bySuite[top] ??= { pass: 0, fail: 0 });
      if (ok) {
        results[lib].pass++;
        s.pass++;
      } else {
        results[lib].fail++;
        s.fail++;
        failures[lib].push(`${top}/${o.name}: ${o.expr} → ${r.value ?? 'error ' + r.error} (want ${expected ?? 'error'})`);
      }
    }
  }
  for (const c of suite.suites ?? []) walk(c, top ?? c.name);
}
for (const s of tests.suites) walk(s, s.name);
console.log(
  JSON.stringify({ considered, skipped, buf: { pass: results.buf.pass, fail: results.buf.fail }, marc: { pass: results.marc.pass, fail: results.marc.fail } }),
);
for (const lib of ['buf', 'marc']) console.log(lib, JSON.stringify(results[lib].bySuite));
import { writeFileSync } from 'node:fs'; // failures.json: every failing case, per library
writeFileSync('failures.json', JSON.stringify(failures, null, 1));
