/**
 * What can be known of a CEL expression's types before it is evaluated, so that mistakes that
 * would fail every evaluation are reported when the policy loads: a function applied to
 * arguments of types none of its overloads takes (`size(1)`, `"a" + 1`,
 * `x.startsWith(1)`), a logical operator over a non-boolean, a constant regular expression
 * that does not compile, a whole expression whose result is not a boolean (`size(subject)`).
 *
 * Hand-written: `@bufbuild/cel` exports no type checker. This one knows the types of literals,
 * of `predicateType` (string) and `subject` (list), and what follows from the overloads of
 * the environment's functions; the predicate and what is selected from it are `dyn` (JSON),
 * about which nothing is claimed. It never refuses an expression a full checker would accept.
 */
import type { CelEnv, CelFunc, CelType } from '@bufbuild/cel';

/** A known type (its kind and name as the library names them), or undefined for dyn. */
interface Known {
  readonly kind: string;
  readonly name: string;
}
type Maybe = Known | undefined;

const scalar = (name: string): Known => ({ kind: 'scalar', name });
const BOOL = scalar('bool');
const LIST: Known = { kind: 'list', name: 'list' };
const MAP: Known = { kind: 'map', name: 'map' };

const CONSTANT_TYPES: Readonly<Record<string, Known>> = {
  stringValue: scalar('string'),
  int64Value: scalar('int'),
  uint64Value: scalar('uint'),
  doubleValue: scalar('double'),
  boolValue: BOOL,
  bytesValue: scalar('bytes'),
  nullValue: scalar('null_type'),
};

// A structural view of @bufbuild/cel-spec's Expr, only what is read here.
export interface ExprNode {
  readonly id: bigint | number | string;
  readonly exprKind: { readonly case?: string; readonly value?: unknown };
}

export interface TypeProblem {
  readonly id: ExprNode['id'];
  readonly why: string;
}

class Problem extends Error {
  constructor(
    readonly id: ExprNode['id'],
    why: string,
  ) {
    super(why);
  }
}

function typeName(t: Maybe): string {
  return t ? t.name : 'dyn';
}

function fromCelType(t: CelType): Maybe {
  if (t.kind === 'scalar' && t.name === 'dyn') return undefined;
  if (t.kind === 'list') return LIST;
  if (t.kind === 'map') return MAP;
  return { kind: t.kind, name: t.name };
}

function accepts(param: CelType, arg: Maybe): boolean {
  if (arg === undefined || (param.kind === 'scalar' && param.name === 'dyn')) return true;
  if (param.kind === 'list' || param.kind === 'map') return arg.kind === param.kind;
  return arg.kind === param.kind && arg.name === param.name;
}

/** The call's function name when written qualified (`strings.quote(x)`): the target is then part of the name. */
export function qualifiedName(target: ExprNode | undefined, fn: string, scope: { has(name: string): boolean }, env: CelEnv): string | undefined {
  if (target?.exprKind.case !== 'identExpr') return undefined;
  const prefix = (target.exprKind.value as { name: string }).name;
  if (scope.has(prefix)) return undefined;
  const name = `${prefix}.${fn}`;
  return env.funcs.find(name) ? name : undefined;
}

interface Checker {
  readonly env: CelEnv;
}

function constantString(node: ExprNode | undefined): string | undefined {
  if (node?.exprKind.case !== 'constExpr') return undefined;
  const kind = (node.exprKind.value as { constantKind: { case?: string; value?: unknown } }).constantKind;
  return kind.case === 'stringValue' ? (kind.value as string) : undefined;
}

function typeOf(expr: ExprNode | undefined, scope: ReadonlyMap<string, Maybe>, c: Checker): Maybe {
  if (!expr) return undefined;
  const { case: kind, value } = expr.exprKind;
  const v = value as Record<string, unknown>;
  switch (kind) {
    case 'constExpr':
      return CONSTANT_TYPES[(v.constantKind as { case?: string }).case ?? ''];
    case 'identExpr':
      return scope.get(v.name as string);
    case 'selectExpr':
      typeOf(v.operand as ExprNode, scope, c);
      return v.testOnly ? BOOL : undefined;
    case 'listExpr':
      for (const e of (v.elements as ExprNode[]) ?? []) typeOf(e, scope, c);
      return LIST;
    case 'structExpr':
      for (const e of (v.entries as Array<{ keyKind: { value?: unknown }; value: ExprNode }>) ?? []) {
        const key = e.keyKind.value;
        if (key && typeof key === 'object' && 'exprKind' in key) typeOf(key as ExprNode, scope, c);
        typeOf(e.value, scope, c);
      }
      return MAP;
    case 'comprehensionExpr': {
      typeOf(v.iterRange as ExprNode, scope, c);
      const accu = typeOf(v.accuInit as ExprNode, scope, c);
      const inner = new Map(scope);
      for (const name of [v.iterVar, v.iterVar2, v.accuVar]) if (typeof name === 'string' && name !== '') inner.set(name, undefined);
      typeOf(v.loopCondition as ExprNode, inner, c);
      typeOf(v.loopStep as ExprNode, inner, c);
      const after = new Map(scope);
      if (typeof v.accuVar === 'string') after.set(v.accuVar, accu);
      return typeOf(v.result as ExprNode, after, c);
    }
    case 'callExpr':
      return typeOfCall(expr, v, scope, c);
    default:
      return undefined;
  }
}

function typeOfCall(expr: ExprNode, v: Record<string, unknown>, scope: ReadonlyMap<string, Maybe>, c: Checker): Maybe {
  const fn = v.function as string;
  const argNodes = (v.args as ExprNode[]) ?? [];
  const targetNode = v.target as ExprNode | undefined;
  const qualified = qualifiedName(targetNode, fn, scope, c.env);
  const target = targetNode && !qualified ? typeOf(targetNode, scope, c) : undefined;
  const args = argNodes.map((a) => typeOf(a, scope, c));
  switch (fn) {
    case '_&&_':
    case '_||_':
      args.forEach((t, i) => {
        if (t !== undefined && t.name !== 'bool') throw new Problem(argNodes[i]!.id, `${fn === '_&&_' ? '&&' : '||'} takes booleans, not ${typeName(t)}`);
      });
      return BOOL;
    case '_?_:_':
      if (args[0] !== undefined && args[0].name !== 'bool') throw new Problem(argNodes[0]!.id, `the condition of ?: is ${typeName(args[0])}, not bool`);
      return args[1] && args[2] && args[1].kind === args[2].kind && args[1].name === args[2].name ? args[1] : undefined;
    case '@not_strictly_false':
    case '__not_strictly_false__':
      return BOOL;
    case '_[_]':
    case '_[?_]':
    case '_?._':
      return undefined;
  }
  const group = c.env.funcs.find(qualified ?? fn);
  if (!group) return undefined; // reported by the identifier and function walk
  const member = targetNode !== undefined && !qualified;
  const overloads = [...group].filter((o: CelFunc) => (o.target !== undefined) === member && o.arguments.length === args.length);
  const matching = overloads.filter((o) => (!member || accepts(o.target!, target)) && o.arguments.every((p, i) => accepts(p, args[i])));
  if (matching.length === 0) {
    // Worded as the library's own error at evaluation.
    throw new Problem(
      expr.id,
      `found no matching overload for '${qualified ?? fn}' applied to '${member ? `${typeName(target)}.` : ''}(${args.map(typeName).join(', ')})'`,
    );
  }
  if (fn === 'matches' && member) {
    const pattern = constantString(argNodes[0]);
    if (pattern !== undefined) {
      const out = group.call(0, '', [pattern]);
      if (out !== undefined && typeof out === 'object' && out !== null && out instanceof Error) {
        throw new Problem(argNodes[0]!.id, `the regular expression does not compile (RE2): ${out.message}`);
      }
    }
  }
  const results = matching.map((o) => fromCelType(o.result));
  const first = results[0];
  return first !== undefined && results.every((r) => r !== undefined && r.kind === first.kind && r.name === first.name) ? first : undefined;
}

/**
 * The first type problem of an expression, or its problem as a whole (its result is known and
 * is not a boolean). `variables` maps the statement's fields to what is known of their types.
 */
export function typeProblem(expr: ExprNode, env: CelEnv, variables: ReadonlyMap<string, Maybe>): TypeProblem | undefined {
  const checker: Checker = { env };
  try {
    const result = typeOf(expr, variables, checker);
    if (result !== undefined && result.name !== 'bool') return { id: expr.id, why: `the expression's result is ${typeName(result)}, not bool` };
    return undefined;
  } catch (err) {
    if (err instanceof Problem) return { id: err.id, why: err.message };
    throw err;
  }
}

export const STATEMENT_TYPES: ReadonlyMap<string, Maybe> = new Map<string, Maybe>([
  ['predicateType', scalar('string')],
  ['subject', LIST],
  ['predicate', undefined],
]);
