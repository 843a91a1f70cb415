/**
 * Conditions on what an attestation says, in CEL (the expression language Kubernetes uses for
 * ValidatingAdmissionPolicy), evaluated over the verified in-toto statement:
 *
 *   predicateType  string   the statement's predicate type URI
 *   subject        list     its subjects: [{name, digest: {sha256: ...}}, ...]
 *   predicate      dyn      its predicate (JSON: objects are maps, numbers doubles)
 *
 * An attestation satisfies a condition when the expression evaluates to `true`; `false`, an
 * error (a missing field, a type mismatch) or any other value does not.
 *
 * The evaluator is `@bufbuild/cel` (docs/cel.md has the comparison with `@marcbachmann/cel-js`
 * on the CEL conformance tests and speed), with its strings extension. Expressions are parsed,
 * checked and planned once, when the policy is loaded; what the library does not check at load
 * (it has no public type checker) is checked here on the syntax tree: every identifier is a
 * statement field or a comprehension variable, every function exists. Errors name the line and
 * column; so are type mistakes that would fail every evaluation (./cel-types.ts). Evaluation
 * cost is bounded: statically (size, comprehension nesting); before each evaluation, by an
 * estimate over the statement at hand (the expression's size times the largest list it can
 * iterate, to the power of its comprehension nesting), refused above MAX_CONDITION_COST steps
 * rather than run; and while it runs, by a meter (./cel-meter.ts) that charges every function
 * call by the size of what it works on and every comprehension iteration, and stops the
 * evaluation at MAX_CONDITION_STEPS, MAX_CONDITION_MS or the caller's deadline.
 */
import type { CelEnv, CelInput, CelResult } from '@bufbuild/cel';
import { ImgverifyError } from '../errors';
import { errorMessage } from '../util/describe';
import { ITERATE_FUNCTION, metered, meteredEnvironment, STEP_FUNCTION } from './cel-meter';
import { qualifiedName, STATEMENT_TYPES, typeProblem, type ExprNode } from './cel-types';
import { asDependencyMissing } from '../util/optional-module';

export { MAX_CONDITION_MS, MAX_CONDITION_OUTPUT, MAX_CONDITION_STEPS } from './cel-meter';

/** Longest expression accepted (characters). */
const MAX_CONDITION_LENGTH = 16 * 1024;
/** Most syntax-tree nodes of one expression (macros expanded). */
const MAX_CONDITION_NODES = 5_000;
/** Deepest nesting of comprehensions (exists, all, map, filter, ...). */
const MAX_COMPREHENSION_NESTING = 3;
/**
 * Most estimated evaluation steps for one statement, checked before it runs: `subject.all(a,
 * subject.exists(b, ...))` over the 461 subjects of a Kubernetes provenance estimates 4.7
 * million. The estimate is a worst case over lists and maps and cannot see what string
 * functions do: the meter (MAX_CONDITION_STEPS, MAX_CONDITION_MS) bounds the evaluation itself.
 */
export const MAX_CONDITION_COST = 5_000_000;
/**
 * Deepest nesting of objects and arrays in a statement evaluated by a condition: JSON nested
 * deeper (thousands of levels fit in a few KB) is refused for that attestation instead of
 * overflowing the stack.
 */
export const MAX_STATEMENT_DEPTH = 100;

/** An attestation condition compiled once: pass it to `verifyAttestations` as often as needed. */
export interface AttestationCondition {
  /** Where it came from (a file name, a policy path), as errors name it. */
  readonly origin: string;
  /** The expression. */
  readonly expression: string;
}

interface Compiled {
  readonly run: (bindings: Record<string, CelInput>) => CelResult;
  readonly nodes: number;
  readonly nesting: number;
  readonly largestLiteral: number;
}

const COMPILED = new WeakMap<AttestationCondition, Compiled>();

const VARIABLES = ['predicateType', 'subject', 'predicate'] as const;

/** Type names usable as identifiers (`type(x) == string`). */
const TYPE_IDENTIFIERS = new Set(['int', 'uint', 'double', 'bool', 'string', 'bytes', 'list', 'map', 'null_type', 'type', 'dyn']);

/** Calls the planner implements itself rather than through functions. */
const SPECIAL_CALLS = new Set(['_&&_', '_||_', '_?_:_', '@not_strictly_false', '_[_]', '_[?_]', '_?._']);

/**
 * @bufbuild/cel, loaded when the first condition is compiled (start-up cost: about a hundred
 * modules). An optional dependency (with @bufbuild/protobuf): without it, a condition fails with
 * DEPENDENCY_MISSING naming the package (../util/optional-module.ts).
 */
function cel(): typeof import('@bufbuild/cel') {
  try {
    // eslint-disable-next-line @typescript-eslint/no-require-imports -- loaded when first needed
    return require('@bufbuild/cel') as typeof import('@bufbuild/cel');
  } catch (err) {
    throw asDependencyMissing(err);
  }
}

let sharedEnv: CelEnv | undefined;

function env(): CelEnv {
  if (sharedEnv) return sharedEnv;
  let ext: typeof import('@bufbuild/cel/ext');
  try {
    // eslint-disable-next-line @typescript-eslint/no-require-imports -- loaded when first needed, with cel()
    ext = require('@bufbuild/cel/ext') as typeof import('@bufbuild/cel/ext');
  } catch (err) {
    throw asDependencyMissing(err);
  }
  sharedEnv = meteredEnvironment(cel(), ext.strings);
  return sharedEnv;
}

interface Position {
  readonly line: number;
  readonly column: number;
}

/** 1-based line and column of a character offset in `text`. */
function positionOf(text: string, offset: number): Position {
  let line = 1;
  let start = 0;
  for (let i = 0; i < offset && i < text.length; i++) {
    if (text[i] === '\n') {
      line++;
      start = i + 1;
    }
  }
  return { line, column: offset - start + 1 };
}

function compileError(origin: string, at: Position, why: string, expression: string): ImgverifyError {
  return new ImgverifyError('INVALID_POLICY', `${origin}:${at.line}:${at.column}: CEL: ${why}`, {
    details: { origin, line: at.line, column: at.column, expression },
  });
}

interface WalkState {
  nodes: number;
  nesting: number;
  largestLiteral: number;
  problem?: { readonly id: ExprNode['id']; readonly why: string };
}

/** Checks identifiers and functions, and measures the tree (nodes, nesting, literal sizes). */
function walk(expr: ExprNode | undefined, scope: ReadonlySet<string>, depth: number, state: WalkState, celEnvironment: CelEnv): void {
  if (!expr || state.problem) return;
  state.nodes++;
  const { case: kind, value } = expr.exprKind;
  const v = value as Record<string, unknown>;
  const fail = (why: string): void => {
    state.problem ??= { id: expr.id, why };
  };
  switch (kind) {
    case 'identExpr': {
      const name = v.name as string;
      if (!scope.has(name) && !TYPE_IDENTIFIERS.has(name)) {
        fail(`undeclared reference to '${name}' (the statement's fields are ${VARIABLES.join(', ')})`);
      }
      return;
    }
    case 'selectExpr':
      walk(v.operand as ExprNode, scope, depth, state, celEnvironment);
      return;
    case 'callExpr': {
      const name = v.function as string;
      // `strings.quote(x)`: the target names the function's namespace, it is no value.
      if (qualifiedName(v.target as ExprNode | undefined, name, scope, celEnvironment) !== undefined) {
        for (const arg of (v.args as ExprNode[]) ?? []) walk(arg, scope, depth, state, celEnvironment);
        return;
      }
      if (!SPECIAL_CALLS.has(name) && !celEnvironment.funcs.find(name)) fail(`undeclared function '${name}'`);
      walk(v.target as ExprNode | undefined, scope, depth, state, celEnvironment);
      for (const arg of (v.args as ExprNode[]) ?? []) walk(arg, scope, depth, state, celEnvironment);
      return;
    }
    case 'listExpr': {
      const elements = (v.elements as ExprNode[]) ?? [];
      state.largestLiteral = Math.max(state.largestLiteral, elements.length);
      for (const e of elements) walk(e, scope, depth, state, celEnvironment);
      return;
    }
    case 'structExpr': {
      if (v.messageName) {
        fail(`message construction (${typeof v.messageName === 'string' ? v.messageName : 'a message'}) is not supported`);
        return;
      }
      const entries = (v.entries as Array<{ keyKind: { value?: unknown }; value: ExprNode }>) ?? [];
      state.largestLiteral = Math.max(state.largestLiteral, entries.length);
      for (const e of entries) {
        const key = e.keyKind.value;
        if (key && typeof key === 'object' && 'exprKind' in key) walk(key as ExprNode, scope, depth, state, celEnvironment);
        walk(e.value, scope, depth, state, celEnvironment);
      }
      return;
    }
    case 'comprehensionExpr': {
      const nesting = depth + 1;
      state.nesting = Math.max(state.nesting, nesting);
      walk(v.iterRange as ExprNode, scope, depth, state, celEnvironment);
      walk(v.accuInit as ExprNode, scope, depth, state, celEnvironment);
      const inner = new Set(scope);
      for (const name of [v.iterVar, v.iterVar2, v.accuVar]) if (typeof name === 'string' && name !== '') inner.add(name);
      walk(v.loopCondition as ExprNode, inner, nesting, state, celEnvironment);
      walk(v.loopStep as ExprNode, inner, nesting, state, celEnvironment);
      // The result is evaluated once, after the loop.
      const after = new Set(scope);
      if (typeof v.accuVar === 'string') after.add(v.accuVar);
      walk(v.result as ExprNode, after, depth, state, celEnvironment);
      return;
    }
    default:
      return; // constants
  }
}

/**
 * Compiles one CEL expression (throws INVALID_POLICY naming `origin`, line and column).
 * `firstLine` is the line of `origin` the expression starts on (for files holding several).
 */
export function compileCondition(expression: string, origin: string, firstLine = 1): AttestationCondition {
  if (typeof expression !== 'string' || expression.trim() === '') {
    throw new ImgverifyError('INVALID_POLICY', `${origin}: CEL: the expression is empty`, { details: { origin } });
  }
  const shift = (p: Position): Position => ({ line: p.line + firstLine - 1, column: p.column });
  if (expression.length > MAX_CONDITION_LENGTH) {
    throw compileError(origin, shift({ line: 1, column: 1 }), `the expression is longer than ${MAX_CONDITION_LENGTH} characters`, expression);
  }
  // Loaded outside the try: a missing @bufbuild/cel is DEPENDENCY_MISSING, not a syntax error.
  const library = cel();
  let parsed: ReturnType<typeof import('@bufbuild/cel').parse>;
  try {
    parsed = library.parse(expression);
  } catch (err) {
    const location = (err as { location?: { start?: { line?: number; column?: number } } }).location?.start;
    const at = location?.line !== undefined && location.column !== undefined ? { line: location.line, column: location.column } : { line: 1, column: 1 };
    const raw = (err as { rawMessage?: unknown }).rawMessage;
    const message = typeof raw === 'string' ? raw : errorMessage(err).replace(/^<input>:\d+:\d+: /, '');
    throw compileError(origin, shift(at), `syntax error: ${message}`, expression);
  }
  const state: WalkState = { nodes: 0, nesting: 0, largestLiteral: 0 };
  const celEnvironment = env();
  walk(parsed.expr as unknown as ExprNode, new Set(VARIABLES), 0, state, celEnvironment);
  const positions = (parsed.sourceInfo?.positions ?? {}) as Record<string, number>;
  const where = (id: ExprNode['id'] | undefined): Position => shift(positionOf(expression, id === undefined ? 0 : (positions[String(id)] ?? 0)));
  if (state.problem) throw compileError(origin, where(state.problem.id), state.problem.why, expression);
  if (state.nodes > MAX_CONDITION_NODES) {
    throw compileError(origin, where(undefined), `the expression has ${state.nodes} nodes, more than ${MAX_CONDITION_NODES}`, expression);
  }
  if (state.nesting > MAX_COMPREHENSION_NESTING) {
    throw compileError(
      origin,
      where(undefined),
      `comprehensions (exists, all, map, filter, ...) are nested ${state.nesting} deep, more than ${MAX_COMPREHENSION_NESTING}`,
      expression,
    );
  }
  const mistake = typeProblem(parsed.expr as unknown as ExprNode, celEnvironment, STATEMENT_TYPES);
  if (mistake) throw compileError(origin, where(mistake.id), mistake.why, expression);
  meterComprehensions(parsed.expr as unknown as ExprNode);
  let run: Compiled['run'];
  try {
    run = library.plan(celEnvironment, parsed);
  } catch (err) {
    throw compileError(origin, where(undefined), errorMessage(err), expression);
  }
  const condition: AttestationCondition = Object.freeze({ origin, expression });
  COMPILED.set(condition, { run, nodes: state.nodes, nesting: state.nesting, largestLiteral: state.largestLiteral });
  return condition;
}

/** A call of a metering function around `node` (same id: errors keep its position). */
function meterCall(fn: string, node: unknown): ExprNode {
  const around = node as ExprNode;
  return { id: around.id, exprKind: { case: 'callExpr', value: { function: fn, args: [around] } } };
}

/**
 * Rewrites every comprehension so that the meter sees it: its range passes through
 * ITERATE_FUNCTION (charged by its size) and its loop condition, evaluated once an iteration,
 * through STEP_FUNCTION. Both return their argument unchanged.
 */
function meterComprehensions(expr: ExprNode | undefined): void {
  if (!expr) return;
  const v = expr.exprKind.value as Record<string, unknown>;
  switch (expr.exprKind.case) {
    case 'selectExpr':
      meterComprehensions(v.operand as ExprNode);
      return;
    case 'callExpr':
      meterComprehensions(v.target as ExprNode | undefined);
      for (const arg of (v.args as ExprNode[]) ?? []) meterComprehensions(arg);
      return;
    case 'listExpr':
      for (const e of (v.elements as ExprNode[]) ?? []) meterComprehensions(e);
      return;
    case 'structExpr':
      for (const e of (v.entries as Array<{ keyKind: { value?: unknown }; value: ExprNode }>) ?? []) {
        const key = e.keyKind.value;
        if (key && typeof key === 'object' && 'exprKind' in key) meterComprehensions(key as ExprNode);
        meterComprehensions(e.value);
      }
      return;
    case 'comprehensionExpr':
      for (const part of ['iterRange', 'accuInit', 'loopCondition', 'loopStep', 'result']) meterComprehensions(v[part] as ExprNode);
      v.iterRange = meterCall(ITERATE_FUNCTION, v.iterRange);
      v.loopCondition = meterCall(STEP_FUNCTION, v.loopCondition);
      return;
    default:
      return;
  }
}

/**
 * Compiles the expressions of a `.cel` file: one expression, or several separated by lines that
 * hold only `---`. Lines starting with `//` are comments (CEL's own).
 */
export function compileConditionFile(text: string, origin: string): AttestationCondition[] {
  const lines = text.split(/\r?\n/);
  const out: AttestationCondition[] = [];
  let start = 0;
  const flush = (end: number): void => {
    const chunk = lines.slice(start, end).join('\n');
    const meaningful = lines.slice(start, end).some((l) => l.trim() !== '' && !l.trim().startsWith('//'));
    if (meaningful) out.push(compileCondition(chunk, origin, start + 1));
  };
  lines.forEach((line, i) => {
    if (line.trim() === '---') {
      flush(i);
      start = i + 1;
    }
  });
  flush(lines.length);
  if (out.length === 0) throw new ImgverifyError('INVALID_POLICY', `${origin}: CEL: no expression in the file`, { details: { origin } });
  return out;
}

/**
 * Compiles a CEL condition on attestations once (throws INVALID_POLICY with line and column),
 * for `verifyAttestations(image, policy, { condition })`. `origin` names it in messages.
 */
export function compileAttestationCondition(expression: string, options: { origin?: string } = {}): AttestationCondition {
  return compileCondition(expression, options.origin ?? 'condition');
}

/** Compiles a `.cel` file's expressions (several separated by `---` lines); `origin` is its name. */
export function compileAttestationConditionFile(text: string, origin: string): AttestationCondition[] {
  return compileConditionFile(text, origin);
}

/** A condition given as text is compiled; a compiled one is checked to be one. */
export function toCondition(condition: string | AttestationCondition, origin = 'condition'): AttestationCondition {
  if (typeof condition === 'string') return compileCondition(condition, origin);
  if (!COMPILED.has(condition)) throw new ImgverifyError('INVALID_POLICY', `${origin}: not a compiled condition (use compileAttestationCondition)`);
  return condition;
}

class TooDeep extends Error {}

/**
 * JSON as CEL input: objects become maps (no prototype lookups), arrays lists; the largest
 * collection is measured. Nesting deeper than MAX_STATEMENT_DEPTH throws TooDeep (the
 * recursion is bounded by it).
 */
function celInput(value: unknown, measure: { largest: number }, depth: number): CelInput {
  if (value !== null && typeof value === 'object' && depth >= MAX_STATEMENT_DEPTH) throw new TooDeep();
  if (Array.isArray(value)) {
    measure.largest = Math.max(measure.largest, value.length);
    return value.map((v) => celInput(v, measure, depth + 1));
  }
  if (value !== null && typeof value === 'object') {
    const entries = Object.entries(value);
    measure.largest = Math.max(measure.largest, entries.length);
    return new Map(entries.map(([k, v]) => [k, celInput(v, measure, depth + 1)]));
  }
  if (typeof value === 'string') {
    measure.largest = Math.max(measure.largest, value.length === 0 ? 0 : 1);
    return value;
  }
  if (typeof value === 'number' || typeof value === 'boolean' || value === null) return value;
  return null;
}

type StatementInput = { readonly bindings: Record<string, CelInput>; readonly largest: number } | { readonly refused: string };

const INPUTS = new WeakMap<object, StatementInput>();

function statementInput(statement: Readonly<Record<string, unknown>>): StatementInput {
  let input = INPUTS.get(statement);
  if (!input) {
    const measure = { largest: 0 };
    try {
      const bindings: Record<string, CelInput> = {
        predicateType: typeof statement.predicateType === 'string' ? statement.predicateType : '',
        // The statement is depth 0, so its fields are at depth 1.
        subject: celInput(Array.isArray(statement.subject) ? statement.subject : [], measure, 1),
        predicate: celInput(statement.predicate ?? null, measure, 1),
      };
      input = { bindings, largest: measure.largest };
    } catch (err) {
      if (!(err instanceof TooDeep)) throw err;
      input = { refused: `the statement nests objects and arrays more than ${MAX_STATEMENT_DEPTH} deep; conditions are not evaluated over it` };
    }
    INPUTS.set(statement, input);
  }
  return input;
}

export interface EvaluationLimits {
  /** A `performance.now()` time the evaluation must not run past (the verification's deadline). */
  readonly deadline?: number;
  /** Wall time allowed (default MAX_CONDITION_MS); tests under a slow runner give more. */
  readonly maxMs?: number;
}

export type ConditionOutcome = { readonly ok: true } | { readonly ok: false; readonly reason: string };

/**
 * Evaluates a compiled condition over a verified statement (the parsed JSON), within the
 * limits (module comment). Never throws.
 */
export function evaluateCondition(
  condition: AttestationCondition,
  statement: Readonly<Record<string, unknown>>,
  limits: EvaluationLimits = {},
): ConditionOutcome {
  const compiled = COMPILED.get(condition);
  if (!compiled) return { ok: false, reason: `${condition.origin}: not a compiled condition` };
  const input = statementInput(statement);
  if ('refused' in input) return { ok: false, reason: `${condition.origin}: ${input.refused}` };
  const range = Math.max(1, input.largest, compiled.largestLiteral);
  const cost = compiled.nodes * range ** compiled.nesting;
  if (cost > MAX_CONDITION_COST) {
    return {
      ok: false,
      reason: `${condition.origin}: the expression could take up to ${cost.toExponential(1)} steps over this statement (a list of ${range} elements, comprehensions nested ${compiled.nesting} deep), more than the limit of ${MAX_CONDITION_COST}`,
    };
  }
  let result: CelResult;
  try {
    const run = metered(() => compiled.run(input.bindings), limits.deadline, limits.maxMs);
    if (run.stopped !== undefined) return { ok: false, reason: `${condition.origin}: the evaluation was stopped after ${run.steps} steps: ${run.stopped}` };
    result = run.value;
  } catch (err) {
    return { ok: false, reason: `${condition.origin}: evaluation failed: ${errorMessage(err)}` };
  }
  if (cel().isCelError(result)) return { ok: false, reason: `${condition.origin}: evaluation error: ${result.message}` };
  if (result === true) return { ok: true };
  if (result === false) return { ok: false, reason: `${condition.origin}: ${oneLine(condition.expression)} is false` };
  return { ok: false, reason: `${condition.origin}: the expression is not a boolean` };
}

function oneLine(text: string, max = 200): string {
  const line = text
    .split('\n')
    .filter((l) => !l.trim().startsWith('//'))
    .join(' ')
    .replace(/\s+/g, ' ')
    .trim();
  return line.length <= max ? line : `${line.slice(0, max - 1)}…`;
}
