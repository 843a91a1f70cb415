/**
 * The running cost of one CEL evaluation, and the environment that charges it.
 *
 * `@bufbuild/cel` has no cost tracking and no way to stop an evaluation, and its strings
 * extension has quadratic parts (`replace` rebuilds and rescans the whole string at each
 * occurrence: a 195 KB string took 70 s). So this is hand-written, around the library:
 *   - every function of the environment is wrapped: a call costs a step plus the size of its
 *     target and arguments (characters of strings and bytes, elements of lists and maps)
 *     divided by how much of that the function handles per step (a native scan handles
 *     hundreds, RE2 a few), and what it produces is counted against an output bound;
 *   - every comprehension (exists, all, map, filter, ...) is rewritten at compile time so
 *     that its range and each iteration call a metering function (cost 1 + the range's size);
 *   - `replace` and `join` are replaced by linear versions that count their output before
 *     building it (no 2 GB string from a list of large strings);
 *   - the evaluation stops at MAX_CONDITION_STEPS, MAX_CONDITION_OUTPUT, MAX_CONDITION_MS of
 *     wall time, or the caller's deadline, whichever comes first: the meter throws, the
 *     function returns a CEL error, and the condition is reported as stopped (never as
 *     satisfied, whatever the expression made of the error).
 * An evaluation is synchronous, so one meter is active at a time.
 */
import type { CelEnv, CelFunc, CelResult, CelType, CelValue } from '@bufbuild/cel';

/** Most metered steps of one evaluation (a step is about 0.1–0.6 µs of CPU here: bench/cel-conditions.ts). */
export const MAX_CONDITION_STEPS = 2_000_000;
/** Most wall time of one evaluation, ms. */
export const MAX_CONDITION_MS = 1000;
/** Most characters and list or map elements one evaluation may produce (memory bound). */
export const MAX_CONDITION_OUTPUT = 16 * 1024 * 1024;

/** Names of the metering functions the compiler inserts (not writable in CEL: `@` starts no identifier). */
export const ITERATE_FUNCTION = '@imgverify_iterate';
export const STEP_FUNCTION = '@imgverify_step';

/**
 * What one comprehension iteration costs besides the functions it calls: the evaluator binds
 * the variables and evaluates the loop condition and step (measured: 1–2.5 µs an iteration).
 */
const ITERATION_STEPS = 4;

/** Units (characters, elements) a function handles per step, where it is not the default. */
const UNITS_PER_STEP: Readonly<Record<string, number>> = {
  // RE2 in JavaScript: about 120 ns a character for a class-heavy pattern.
  matches: 1,
  // Loops over code points in JavaScript: 10–30 ns a character.
  size: 8,
  lowerAscii: 8,
  upperAscii: 8,
  format: 8,
  'strings.quote': 8,
  // Native scans and copies: well under 1 ns a character.
  _EQUALS_: 256,
  contains: 256,
  startsWith: 256,
  endsWith: 256,
  indexOf: 256,
  lastIndexOf: 256,
  trim: 256,
  substring: 256,
  charAt: 256,
  replace: 64,
  join: 64,
  split: 16,
};
const DEFAULT_UNITS_PER_STEP = 32;
const NATIVE_COMPARISONS = new Set(['_==_', '_!=_', '_<_', '_<=_', '_>_', '_>=_', '_+_', '@in']);

function unitsPerStep(name: string): number {
  return UNITS_PER_STEP[NATIVE_COMPARISONS.has(name) ? '_EQUALS_' : name] ?? DEFAULT_UNITS_PER_STEP;
}

/** Thrown inside a CEL function when the evaluation must stop; the reason is kept on the meter. */
class EvaluationStopped extends Error {}

class Meter {
  steps = 0;
  output = 0;
  stopped: string | undefined;
  private ticks = 0;

  constructor(
    private readonly stopAt: number,
    private readonly late: string,
  ) {}

  charge(steps: number): void {
    if (this.stopped !== undefined) throw new EvaluationStopped(this.stopped);
    this.steps += steps;
    if (this.steps > MAX_CONDITION_STEPS) this.stop(`more than ${MAX_CONDITION_STEPS} steps`);
    // The clock is read every 16 charges, and at once after a large one.
    if ((steps > 1024 || (++this.ticks & 15) === 0) && performance.now() > this.stopAt) this.stop(this.late);
  }

  /** Counts `units` of output (before it is built, where the size is known first). */
  produce(units: number, unitsPerStep: number): void {
    this.output += units;
    if (this.output > MAX_CONDITION_OUTPUT) this.stop(`it would produce more than ${MAX_CONDITION_OUTPUT} characters and list elements`);
    this.charge(Math.ceil(units / unitsPerStep));
  }

  private stop(why: string): never {
    this.stopped = why;
    throw new EvaluationStopped(why);
  }
}

let active: Meter | undefined;

export interface MeteredRun<T> {
  readonly value: T;
  /** Why the evaluation was stopped; its value is then meaningless. */
  readonly stopped?: string;
  readonly steps: number;
}

/**
 * Runs one evaluation under a meter. `deadline` (a `performance.now()` time) ends it earlier
 * than `maxMs` (MAX_CONDITION_MS; tests under a slow runner give more).
 */
export function metered<T>(run: () => T, deadline?: number, maxMs = MAX_CONDITION_MS): MeteredRun<T> {
  const now = performance.now();
  const own = now + maxMs;
  const late = 'the verification deadline passed';
  if (deadline !== undefined && deadline <= now) return { value: undefined as T, steps: 0, stopped: late };
  const meter = deadline !== undefined && deadline < own ? new Meter(deadline, late) : new Meter(own, `it ran longer than ${maxMs} ms`);
  const previous = active;
  active = meter;
  try {
    const value = run();
    return { value, steps: meter.steps, ...(meter.stopped !== undefined ? { stopped: meter.stopped } : {}) };
  } catch (err) {
    if (err instanceof EvaluationStopped) return { value: undefined as T, steps: meter.steps, stopped: err.message };
    throw err;
  } finally {
    active = previous;
  }
}

/** Characters of a string or bytes, elements of a list or map; 0 for scalars. */
function sizeOf(value: CelValue | undefined): number {
  if (typeof value === 'string') return value.length;
  if (value instanceof Uint8Array) return value.length;
  if (typeof value === 'object' && value !== null && typeof (value as { size?: unknown }).size === 'number') return (value as { size: number }).size;
  return 0;
}

function charge(name: string, target: CelValue | undefined, args: readonly CelValue[]): void {
  const meter = active;
  if (!meter) return;
  let units = 0;
  // size() counts the code points of a string; of anything else it reads a field.
  const counted = name === 'size' ? (v: CelValue | undefined) => (typeof v === 'string' ? v.length : 0) : sizeOf;
  units += counted(target);
  for (const arg of args) units += counted(arg);
  meter.charge(1 + Math.ceil(units / unitsPerStep(name)));
  // A split can return one element per character: counted before it is built.
  if (name === 'split') meter.produce(sizeOf(target), unitsPerStep(name));
}

function produce(name: string, units: number): void {
  active?.produce(units, unitsPerStep(name));
}

/**
 * `replace(substr, repl[, n])` in linear time, its output counted before it is built. As
 * cel-go (Go's strings.Replace): n < 0 (or no n) replaces every occurrence, n == 0 none; an
 * empty substr matches before each code point and at the end.
 */
function replaceLinear(text: string, substr: string, repl: string, n?: number): string {
  const limit = n === undefined || n < 0 ? Infinity : n;
  if (limit === 0) return text;
  if (substr === '') {
    const points = Array.from(text);
    const count = Math.min(limit, points.length + 1);
    produce('replace', text.length + count * repl.length);
    const parts: string[] = [];
    for (let i = 0; i < points.length; i++) parts.push(i < count ? repl + points[i]! : points[i]!);
    if (count > points.length) parts.push(repl);
    return parts.join('');
  }
  const at: number[] = [];
  for (let i = text.indexOf(substr); i !== -1 && at.length < limit; i = text.indexOf(substr, i + substr.length)) at.push(i);
  if (at.length === 0) return text;
  active?.charge(at.length);
  produce('replace', text.length + at.length * (repl.length - substr.length));
  const parts: string[] = [];
  let from = 0;
  for (const i of at) {
    parts.push(text.slice(from, i), repl);
    from = i + substr.length;
  }
  parts.push(text.slice(from));
  return parts.join('');
}

/** `list.join([sep])` with its output counted before it is built. */
function joinCounted(list: Iterable<CelValue>, sep: string): string {
  const items: string[] = [];
  let total = 0;
  for (const item of list) {
    if (typeof item !== 'string') throw new Error('invalid argument to function join: list contains non-string value');
    items.push(item);
    total += item.length;
  }
  produce('join', total + Math.max(0, items.length - 1) * sep.length);
  return items.join(sep);
}

/** Functions whose cost grows faster than the size of their output, or whose output outgrows their input: charged before they run. */
const CHARGED_FIRST = new Set(['matches', 'split', 'replace', 'join', 'lowerAscii', 'upperAscii', 'format', 'strings.quote', 'size']);

/**
 * The environment: the standard library and the strings extension, each function wrapped
 * with the meter, plus the metering functions the compiler inserts. A wrapper delegates to the
 * library's function (which checks the argument types and answers undefined when they are not
 * its own: another overload is then tried, and nothing is charged).
 */
export function meteredEnvironment(cel: typeof import('@bufbuild/cel'), strings: readonly CelFunc[]): CelEnv {
  const base = cel.celEnv({ funcs: [...strings], re2: cachedRe2() });
  const wrapped: CelFunc[] = [];
  for (const fn of base.funcs) {
    const arity = fn.arguments.length;
    const first = CHARGED_FIRST.has(fn.name);
    const own = ownImplementation(fn, cel);
    const call = (id: number, target: CelValue | undefined, args: CelValue[]): CelResult | undefined => {
      if (args.length !== arity || (fn.target === undefined) !== (target === undefined)) return undefined;
      if (own) return own(id, target, args); // charges itself
      if (first && matchesTypes(fn, target, args, cel)) charge(fn.name, target, args);
      const out = fn.call(id, target, args);
      if (out === undefined) return undefined;
      if (!first) charge(fn.name, target, args);
      if (!cel.isCelError(out)) produce(fn.name, sizeOf(out));
      return out;
    };
    wrapped.push(delegate(fn, call));
  }
  const { DYN } = cel.CelScalar;
  const iterate = cel.celFunc(ITERATE_FUNCTION, [DYN], DYN, (range) => {
    // The range is copied before the first iteration.
    active?.charge(1 + Math.ceil(sizeOf(range) / DEFAULT_UNITS_PER_STEP));
    return range;
  });
  const step = cel.celFunc(STEP_FUNCTION, [DYN], DYN, (condition) => {
    active?.charge(ITERATION_STEPS);
    return condition;
  });
  return cel.celEnv({ funcs: [...wrapped, iterate, step] });
}

/** Patterns compiled by `matches` and kept (a condition applies the same few to many strings). */
const MAX_CACHED_PATTERNS = 256;

/** re2js (linear time, as the library's own engine) with the last compiled patterns kept. */
function cachedRe2(): { compile(pattern: string): { test(text: string): boolean } } {
  // eslint-disable-next-line @typescript-eslint/no-require-imports -- loaded with the CEL environment
  const { RE2JS } = require('re2js') as typeof import('re2js');
  const cache = new Map<string, InstanceType<typeof RE2JS>>();
  return {
    compile(pattern) {
      let re = cache.get(pattern);
      if (re === undefined) {
        re = RE2JS.compile(pattern);
        if (cache.size >= MAX_CACHED_PATTERNS) cache.delete(cache.keys().next().value!);
        cache.set(pattern, re);
      }
      return re;
    },
  };
}

/** A function with `fn`'s name, types and id whose calls go through `call`. */
function delegate(fn: CelFunc, call: (id: number, target: CelValue | undefined, args: CelValue[]) => CelResult | undefined): CelFunc {
  return {
    name: fn.name,
    id: fn.id,
    target: fn.target,
    arguments: fn.arguments,
    result: fn.result,
    call,
  } as unknown as CelFunc;
}

/** Whether the library's function takes these values (its own test, done first here to charge only the overload that runs). */
function matchesTypes(fn: CelFunc, target: CelValue | undefined, args: readonly CelValue[], cel: typeof import('@bufbuild/cel')): boolean {
  const fits = (value: CelValue, type: CelType): boolean => (type.kind === 'scalar' && type.name === 'dyn') || sameType(cel.celType(value), type);
  return (fn.target === undefined || (target !== undefined && fits(target, fn.target))) && args.every((a, i) => fits(a, fn.arguments[i]!));
}

function sameType(a: CelType, b: CelType): boolean {
  if (a.kind !== b.kind) return false;
  if (a.kind === 'list' || a.kind === 'map') return true; // the functions charged first take lists and maps of any element
  return a.name === b.name;
}

type OwnCall = (id: number, target: CelValue | undefined, args: readonly CelValue[]) => CelResult | undefined;

/** The functions implemented here rather than by the library (see the module comment). */
function ownImplementation(fn: CelFunc, cel: typeof import('@bufbuild/cel')): OwnCall | undefined {
  const guarded = (run: () => CelValue, id: number): CelResult => {
    try {
      return run();
    } catch (err) {
      if (err instanceof EvaluationStopped) throw err;
      return cel.celError(err, id);
    }
  };
  if (fn.name === 'replace') {
    return (id, target, args) => {
      const [substr, repl, n] = args;
      if (typeof target !== 'string' || typeof substr !== 'string' || typeof repl !== 'string' || (n !== undefined && typeof n !== 'bigint')) return undefined;
      charge('replace', target, args);
      return guarded(() => replaceLinear(target, substr, repl, n === undefined ? undefined : Number(n)), id);
    };
  }
  if (fn.name === 'join') {
    return (id, target, args) => {
      const [sep] = args;
      if (!cel.isCelList(target) || (sep !== undefined && typeof sep !== 'string')) return undefined;
      charge('join', target, args);
      return guarded(() => joinCounted(target, sep ?? ''), id);
    };
  }
  return undefined;
}
