/**
 * Compiles a (macro-expanded) condition AST into a predicate closure.
 *
 * Everything that can be decided once is decided here: field names are
 * resolved through the registry, arguments validated and bound, operators
 * checked against the field type and list-ness (libsinsp's
 * `flt_is_comparable`), literals parsed into the field's runtime type, sets
 * and regular expressions built. Evaluating an event afterwards is only
 * extraction and comparison.
 *
 * Semantics that rules depend on:
 * - an absent value (undefined, or an empty list) makes every comparison
 *   false, including `!=` and `in`; so `not f = v` is true when f is absent;
 * - on list fields only `exists`, `in` (every value in the set) and
 *   `intersects` (some value in the set) are allowed.
 */
import { RE2JS } from 're2js';
import type { EngineEvent } from '../event.js';
import {
  FieldError, type Extractor, type FieldDef, type FieldRegistry, type FieldType, type FieldValue,
  type Scalar,
} from '../fields.js';
import {
  type BinaryCheckExpr, type Expr, type Node, type OperandExpr, type Origin, type Pos, isListOperator,
} from './ast.js';
import { compileGlob, compilePathPrefixes } from './glob.js';
import { inNetwork, parseIp, parseNetwork } from './ip.js';
import { TransformerError, applyTransformer, type TypedExtractor } from './transformers.js';

export type Predicate<E extends EngineEvent = EngineEvent> = (evt: E) => boolean;

/** Why compilation failed; `unknownField` errors are the ones `skip-if-unknown-filter` forgives. */
export class CompileError extends Error {
  readonly pos: Pos | undefined;
  readonly origin: Origin | undefined;
  readonly unknownField: boolean;
  constructor(message: string, node?: Node, unknownField = false) {
    super(message);
    this.name = 'CompileError';
    this.pos = node?.pos;
    this.origin = node?.origin;
    this.unknownField = unknownField;
  }
}

export interface CompileOptions {
  readonly registry: FieldRegistry;
  readonly source: string;
  /**
   * True for checks written in rules files that target Falco's pre-plugin
   * engine (required_engine_version below 13), where `=`, `!=`, `contains`
   * and `startswith` were accepted on multi-valued fields. Such checks get
   * that engine's semantics and a warning; everywhere else they are errors.
   */
  readonly isLegacy?: (node: Node) => boolean;
}

/** A non-fatal problem found while compiling. */
export interface CompileWarning {
  readonly message: string;
  readonly node: Node;
}

/** Fields referenced while compiling, for `tiercel rules list` and validation summaries. */
export interface CompileResult<E extends EngineEvent = EngineEvent> {
  readonly predicate: Predicate<E>;
  readonly fields: ReadonlySet<string>;
  readonly warnings: readonly CompileWarning[];
}

const MAX_COMPILE_DEPTH = 20_000;

/** Operators the legacy engine accepted on multi-valued fields. */
const LEGACY_LIST_OPERATORS = new Set(['=', '==', '!=', 'contains', 'startswith']);

function printOperand(node: OperandExpr): string {
  return node.kind === 'field' ? (node.arg === undefined ? node.field : `${node.field}[${node.arg}]`) : node.name;
}

/** Compiles an expression; throws {@link CompileError}. */
export function compileCondition<E extends EngineEvent = EngineEvent>(
  ast: Expr,
  options: CompileOptions,
): CompileResult<E> {
  const compiler = new ConditionCompiler(options);
  const predicate = compiler.expr(ast, 0) as Predicate<E>;
  return { predicate, fields: compiler.fieldsUsed, warnings: compiler.warnings };
}

/** Compiles one operand (a field, possibly transformed), e.g. for output templates. */
export function compileOperand(node: OperandExpr, options: CompileOptions): TypedExtractor {
  return new ConditionCompiler(options).operand(node);
}

/** Resolves and binds one field reference. Throws {@link CompileError}. */
export function bindField(
  registry: FieldRegistry,
  source: string,
  name: string,
  arg: string | undefined,
  node?: Node,
): { def: FieldDef; extract: Extractor } {
  const def = registry.lookup(source, name);
  if (!def) {
    throw new CompileError(`filter_check called with nonexistent field ${name}`, node, true);
  }
  switch (def.arg) {
    case 'none':
      if (arg !== undefined) throw new CompileError(`field '${name}' does not take an argument`, node);
      break;
    case 'index':
    case 'index-required':
      if (arg === undefined) {
        if (def.arg === 'index-required') throw new CompileError(`field '${name}' requires an index argument`, node);
      } else if (!/^(0|[1-9][0-9]*)$/.test(arg)) {
        throw new CompileError(`field '${name}' expects a numeric index argument, got '${arg}'`, node);
      }
      break;
    case 'key':
      if (arg === undefined || arg === '') throw new CompileError(`field '${name}' requires an argument`, node);
      break;
    case 'key-optional':
      break;
  }
  try {
    return { def, extract: def.bind(arg) };
  } catch (e) {
    if (e instanceof FieldError) throw new CompileError(e.message, node);
    throw e;
  }
}

type ScalarTest = (v: Scalar) => boolean;

const NUMERIC: ReadonlySet<FieldType> = new Set(['int', 'uint', 'port']);
const BIGINT: ReadonlySet<FieldType> = new Set(['abstime', 'reltime']);
const STRINGISH: ReadonlySet<FieldType> = new Set(['string', 'path']);

/** Operators accepted per type family (libsinsp filter_compare.cpp). */
function checkOperatorFits(op: string, type: FieldType, isList: boolean): string | undefined {
  if (op === 'exists') return undefined;
  if (isList) {
    if (type === 'bytes' || type === 'port' || type === 'int') {
      return `list filters are not supported for type '${type}'`;
    }
    return op === 'in' || op === 'intersects'
      ? undefined
      : `'${op}' operator not supported for list fields (only 'exists', 'in' and 'intersects' are)`;
  }
  const allowed: Record<string, readonly string[]> = {
    numeric: ['=', '==', '!=', '<', '<=', '>', '>=', 'in', 'intersects'],
    bool: ['=', '==', '!=', 'in', 'intersects'],
    ip: ['=', '==', '!=', 'in', 'intersects'],
    string: ['=', '==', '!=', '<', '<=', '>', '>=', 'contains', 'icontains', 'startswith', 'endswith',
      'glob', 'iglob', 'pmatch', 'in', 'intersects', 'regex'],
    bytes: ['=', '==', '!=', 'contains', 'in', 'intersects', 'startswith', 'endswith', 'bcontains',
      'bstartswith'],
  };
  const family = NUMERIC.has(type) || BIGINT.has(type) ? 'numeric'
    : type === 'bool' ? 'bool'
      : type === 'ipaddr' || type === 'ipnet' ? 'ip'
        : type === 'bytes' ? 'bytes' : 'string';
  if (allowed[family]!.includes(op)) return undefined;
  const what = family === 'ip' ? 'ip address and network' : family === 'bytes' ? 'buffer' : family;
  return `'${op}' operator not supported for ${what} filters`;
}

function sameFamily(a: FieldType, b: FieldType): boolean {
  const fam = (t: FieldType): string =>
    STRINGISH.has(t) ? 's' : NUMERIC.has(t) ? 'n' : BIGINT.has(t) ? 'b' : t === 'ipnet' ? 'ipaddr' : t;
  return fam(a) === fam(b);
}

const IP_CACHE = new Map<string, ReturnType<typeof parseIp>>();

/** Event values repeat (the same peers over and over): parse each text once. */
function parseIpCached(text: string): ReturnType<typeof parseIp> {
  let a = IP_CACHE.get(text);
  if (a === undefined && !IP_CACHE.has(text)) {
    a = parseIp(text.split('/')[0]!);
    if (IP_CACHE.size >= 4096) IP_CACHE.clear();
    IP_CACHE.set(text, a);
  }
  return a;
}

function compareStrings(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

function hexToBytes(hex: string): Uint8Array | undefined {
  if (hex.length % 2 !== 0 || !/^[0-9a-fA-F]*$/.test(hex)) return undefined;
  return Uint8Array.from(Buffer.from(hex, 'hex'));
}

function bytesIndexOf(hay: Uint8Array, needle: Uint8Array): number {
  return Buffer.from(hay.buffer, hay.byteOffset, hay.byteLength).indexOf(needle);
}

class ConditionCompiler {
  readonly fieldsUsed = new Set<string>();
  readonly warnings: CompileWarning[] = [];
  private readonly registry: FieldRegistry;
  private readonly source: string;
  private readonly isLegacy: (node: Node) => boolean;

  constructor(options: CompileOptions) {
    this.registry = options.registry;
    this.source = options.source;
    this.isLegacy = options.isLegacy ?? (() => false);
  }

  expr(node: Expr, depth: number): Predicate {
    if (depth > MAX_COMPILE_DEPTH) throw new CompileError('condition is nested too deeply', node);
    switch (node.kind) {
      case 'and': {
        const parts = node.children.map((c) => this.expr(c, depth + 1));
        if (parts.length === 2) {
          const [a, b] = parts as [Predicate, Predicate];
          return (evt) => a(evt) && b(evt);
        }
        return (evt) => {
          for (let i = 0; i < parts.length; i++) if (!parts[i]!(evt)) return false;
          return true;
        };
      }
      case 'or': {
        const parts = node.children.map((c) => this.expr(c, depth + 1));
        if (parts.length === 2) {
          const [a, b] = parts as [Predicate, Predicate];
          return (evt) => a(evt) || b(evt);
        }
        return (evt) => {
          for (let i = 0; i < parts.length; i++) if (parts[i]!(evt)) return true;
          return false;
        };
      }
      case 'not': {
        const inner = this.expr(node.child, depth + 1);
        return (evt) => !inner(evt);
      }
      case 'identifier':
        throw new CompileError(`Undefined macro '${node.name}' used in filter.`, node);
      case 'unary': {
        const left = this.operand(node.left);
        const ex = left.extract;
        return (evt) => {
          const v = ex(evt);
          return v !== undefined && !(Array.isArray(v) && v.length === 0);
        };
      }
      case 'binary':
        return this.binary(node);
    }
  }

  operand(node: OperandExpr): TypedExtractor {
    if (node.kind === 'field') {
      const { def, extract } = bindField(this.registry, this.source, node.field, node.arg, node);
      this.fieldsUsed.add(node.field);
      return {
        extract, type: def.type, isList: def.isList, def, ...(def.anyOf ? { anyOf: def.anyOf } : {}),
      } as TypedExtractor & { def: FieldDef };
    }
    if (node.name === 'val') {
      throw new CompileError("'val' can only be used on the right-hand side of a comparison", node);
    }
    const input = this.operand(node.arg);
    try {
      return applyTransformer(node.name, input);
    } catch (e) {
      if (e instanceof TransformerError) throw new CompileError(e.message, node);
      throw e;
    }
  }

  private binary(node: BinaryCheckExpr): Predicate {
    const left = this.operand(node.left);
    const op = node.op;
    const problem = checkOperatorFits(op, left.type, left.isList);
    if (problem) {
      const legacy = left.isList && LEGACY_LIST_OPERATORS.has(op) && node.right.kind === 'value' && this.isLegacy(node);
      if (!legacy) throw new CompileError(problem, node);
      return this.legacyListCheck(node, left);
    }

    const right = node.right;
    if (right.kind === 'field' || right.kind === 'transformer') {
      return this.fieldToField(node, left, right);
    }

    const def = (left as TypedExtractor & { def?: FieldDef }).def;
    const parse = (text: string): Scalar => this.literal(text, left.type, def, node);

    let test: ScalarTest;
    if (node.modifier) {
      if (right.kind !== 'list') throw new CompileError(`'${node.modifier}' requires a list of values`, right);
      const tests = right.values.map((v) => this.scalarTest(op, left.type, v, parse, node));
      const mod = node.modifier;
      test = mod === 'anyof'
        ? (v) => tests.some((t) => t(v))
        : mod === 'allof'
          ? (v) => tests.every((t) => t(v))
          : (v) => {
            let n = 0;
            for (const t of tests) if (t(v) && ++n > 1) return false;
            return n === 1;
          };
    } else if (isListOperator(op)) {
      if (right.kind !== 'list') {
        throw new CompileError(`'${op}' requires a list of values in parentheses, e.g. (a, b)`, right);
      }
      test = this.listTest(op, left.type, right.values, parse, node);
      const fast = this.fastStringCheck(left, op, right.values, parse);
      if (fast) return fast;
    } else {
      if (right.kind !== 'value') throw new CompileError(`'${op}' requires a single value`, right);
      test = this.scalarTest(op, left.type, right.value, parse, node);
      const fast = this.fastStringCheck(left, op, [right.value], parse);
      if (fast) return fast;
    }
    return this.applyToOperand(left, op, test);
  }

  /**
   * The most common checks of real rules (a scalar string field compared
   * with =, != or a set) as single closures: one call per check instead of
   * an extractor call plus a test call. Same semantics as the general path.
   */
  private fastStringCheck(
    left: TypedExtractor,
    op: string,
    literals: readonly string[],
    parse: (t: string) => Scalar,
  ): Predicate | undefined {
    if (left.isList || left.anyOf || !STRINGISH.has(left.type)) return undefined;
    const ex = left.extract;
    const values = literals.map((l) => parse(l) as string);
    switch (op) {
      case '=':
      case '==': {
        const lit = values[0]!;
        return (evt) => ex(evt) === lit;
      }
      case '!=': {
        const lit = values[0]!;
        return (evt) => {
          const v = ex(evt);
          return v !== undefined && v !== lit;
        };
      }
      case 'in':
      case 'intersects': {
        if (values.length === 1) {
          const lit = values[0]!;
          return (evt) => ex(evt) === lit;
        }
        const set = new Set<unknown>(values);
        return (evt) => set.has(ex(evt));
      }
      case 'startswith': {
        const lit = values[0]!;
        return (evt) => {
          const v = ex(evt);
          return typeof v === 'string' && v.startsWith(lit);
        };
      }
      case 'contains': {
        const lit = values[0]!;
        return (evt) => {
          const v = ex(evt);
          return typeof v === 'string' && v.includes(lit);
        };
      }
      default:
        return undefined;
    }
  }

  /**
   * Falco's pre-plugin JSON engine on multi-valued fields: `=`/`!=` compare
   * the set of values with the single right-hand value; `contains` and
   * `startswith` apply only when there is exactly one value.
   */
  private legacyListCheck(node: BinaryCheckExpr, left: TypedExtractor): Predicate {
    const lit = (node.right as { value: string }).value;
    const op = node.op;
    this.warnings.push({
      node,
      message: `'${op}' on the list field ${printOperand(node.left)} follows the legacy engine's semantics ` +
        "(this file requires an engine version before 13); modern rules must use 'in', 'intersects' or 'exists'",
    });
    const ex = left.extract;
    const values = (evt: EngineEvent): readonly Scalar[] => {
      const v = ex(evt);
      return v === undefined ? [] : Array.isArray(v) ? v : [v as Scalar];
    };
    switch (op) {
      case '=':
      case '==':
        return (evt) => {
          const v = values(evt);
          return v.length > 0 && v.every((x) => String(x) === lit);
        };
      case '!=':
        return (evt) => {
          const v = values(evt);
          return !(v.length > 0 && v.every((x) => String(x) === lit));
        };
      case 'contains':
        return (evt) => {
          const v = values(evt);
          return v.length === 1 && String(v[0]).includes(lit);
        };
      default:
        return (evt) => {
          const v = values(evt);
          return v.length === 1 && String(v[0]).startsWith(lit);
        };
    }
  }

  /** Wraps a per-value test with absence and list semantics. */
  private applyToOperand(left: TypedExtractor, op: string, test: ScalarTest): Predicate {
    const ex = left.extract;
    if (left.anyOf) {
      const every = op === '!=' && left.anyOf.notEqualNeedsAll;
      return (evt) => {
        const v = ex(evt);
        if (v === undefined) return false;
        if (!Array.isArray(v)) return test(v as Scalar);
        if (v.length === 0) return false;
        return every ? v.every(test) : v.some(test);
      };
    }
    if (!left.isList) {
      return (evt) => {
        const v = ex(evt);
        return v !== undefined && test(v as Scalar);
      };
    }
    if (op === 'intersects') {
      return (evt) => {
        const v = ex(evt) as readonly Scalar[] | undefined;
        if (v === undefined) return false;
        for (let i = 0; i < v.length; i++) if (test(v[i]!)) return true;
        return false;
      };
    }
    // `in` on a list field: every extracted value must be in the set.
    return (evt) => {
      const v = ex(evt) as readonly Scalar[] | undefined;
      if (v === undefined || v.length === 0) return false;
      for (let i = 0; i < v.length; i++) if (!test(v[i]!)) return false;
      return true;
    };
  }

  private literal(text: string, type: FieldType, def: FieldDef | undefined, node: Node): Scalar {
    if (def?.parseLiteral) {
      try {
        return def.parseLiteral(text);
      } catch (e) {
        if (e instanceof FieldError) throw new CompileError(e.message, node, true);
        throw e;
      }
    }
    switch (type) {
      case 'string':
      case 'path':
      case 'ipaddr':
      case 'ipnet':
        return text;
      case 'int':
      case 'uint':
      case 'port': {
        const n = /^[+-]?0[xX][0-9a-fA-F]+$/.test(text) ? Number.parseInt(text, 16) : Number(text);
        if (text.trim() === '' || !Number.isFinite(n)) {
          throw new CompileError(`'${text}' is not a valid number`, node);
        }
        return n;
      }
      case 'abstime':
      case 'reltime':
        try {
          return BigInt(text);
        } catch {
          throw new CompileError(`'${text}' is not a valid integer time value`, node);
        }
      case 'bool':
        if (text === 'true' || text === '1') return true;
        if (text === 'false' || text === '0') return false;
        throw new CompileError(`'${text}' is not a valid boolean (true or false)`, node);
      case 'bytes':
        return Uint8Array.from(Buffer.from(text, 'latin1'));
    }
  }

  private scalarTest(
    op: string,
    type: FieldType,
    text: string,
    parse: (t: string) => Scalar,
    node: Node,
  ): ScalarTest {
    if (STRINGISH.has(type)) {
      const lit = parse(text) as string;
      switch (op) {
        case '=': case '==': case 'in': case 'intersects': return (v) => v === lit;
        case '!=': return (v) => v !== lit;
        case '<': return (v) => compareStrings(v as string, lit) < 0;
        case '<=': return (v) => compareStrings(v as string, lit) <= 0;
        case '>': return (v) => compareStrings(v as string, lit) > 0;
        case '>=': return (v) => compareStrings(v as string, lit) >= 0;
        case 'contains': return (v) => (v as string).includes(lit);
        case 'icontains': {
          const lower = lit.toLowerCase();
          return (v) => (v as string).toLowerCase().includes(lower);
        }
        case 'startswith': return (v) => (v as string).startsWith(lit);
        case 'endswith': return (v) => (v as string).endsWith(lit);
        case 'glob':
        case 'iglob': {
          const match = compileGlob(lit, op === 'iglob');
          return (v) => match(v as string);
        }
        case 'regex': {
          let re: RE2JS;
          try {
            re = RE2JS.compile(lit);
          } catch (e) {
            throw new CompileError(`invalid regular expression '${lit}': ${(e as Error).message}`, node);
          }
          return (v) => re.matches(v as string);
        }
        case 'pmatch': {
          const match = compilePathPrefixes([lit]);
          return (v) => match(v as string);
        }
      }
    }
    if (type === 'ipaddr' || type === 'ipnet') {
      const net = parseNetwork(text);
      const addr = net ? undefined : parseIp(text);
      if (!net && !addr) throw new CompileError(`'${text}' is not a valid IP address or network`, node);
      const matches = (v: Scalar): boolean => {
        const a = parseIpCached(String(v));
        if (!a) return false;
        return net ? inNetwork(a, net) : a.family === addr!.family && a.value === addr!.value;
      };
      return op === '!=' ? (v) => !matches(v) : matches;
    }
    if (type === 'bytes') {
      const lit = op === 'bcontains' || op === 'bstartswith' ? hexToBytes(text) : (parse(text) as Uint8Array);
      if (!lit) throw new CompileError(`'${text}' is not a valid hex string for '${op}'`, node);
      const needle = Buffer.from(lit);
      switch (op) {
        case '=': case '==': case 'in': case 'intersects':
          return (v) => Buffer.from(v as Uint8Array).equals(needle);
        case '!=': return (v) => !Buffer.from(v as Uint8Array).equals(needle);
        case 'contains': case 'bcontains': return (v) => bytesIndexOf(v as Uint8Array, needle) >= 0;
        case 'startswith': case 'bstartswith':
          return (v) => Buffer.from(v as Uint8Array).subarray(0, needle.length).equals(needle);
        case 'endswith': {
          return (v) => {
            const b = Buffer.from(v as Uint8Array);
            return b.length >= needle.length && b.subarray(b.length - needle.length).equals(needle);
          };
        }
      }
    }
    // numbers, bigints, booleans
    const lit = parse(text);
    switch (op) {
      case '=': case '==': case 'in': case 'intersects': return (v) => v === lit;
      case '!=': return (v) => v !== lit;
      case '<': return (v) => (v as number) < (lit as number);
      case '<=': return (v) => (v as number) <= (lit as number);
      case '>': return (v) => (v as number) > (lit as number);
      case '>=': return (v) => (v as number) >= (lit as number);
    }
    throw new CompileError(`'${op}' operator not supported for ${type} filters`, node);
  }

  private listTest(
    op: string,
    type: FieldType,
    values: readonly string[],
    parse: (t: string) => Scalar,
    node: Node,
  ): ScalarTest {
    if (op === 'pmatch') {
      if (!STRINGISH.has(type)) throw new CompileError(`'pmatch' operator not supported for ${type} filters`, node);
      const match = compilePathPrefixes(values.map((v) => parse(v) as string));
      return (v) => match(v as string);
    }
    if (type === 'ipaddr' || type === 'ipnet' || type === 'bytes') {
      const tests = values.map((v) => this.scalarTest('=', type, v, parse, node));
      return (v) => tests.some((t) => t(v));
    }
    const set = new Set<Scalar>(values.map(parse));
    return (v) => set.has(v);
  }

  /** `f op val(g)` and `f op transformer(g)`: both sides extracted per event. */
  private fieldToField(node: BinaryCheckExpr, left: TypedExtractor, rightNode: OperandExpr): Predicate {
    const right = rightNode.kind === 'transformer' && rightNode.name === 'val'
      ? this.operand(rightNode.arg)
      : this.operand(rightNode);
    const op = node.op;
    if (!sameFamily(left.type, right.type)) {
      throw new CompileError(
        `cannot compare a ${left.type} field with a ${right.type} field using '${op}'`, node);
    }
    if (right.isList && !isListOperator(op)) {
      throw new CompileError(`'${op}' cannot compare against a list field; use 'in' or 'intersects'`, node);
    }
    const lx = left.extract;
    const rx = right.extract;
    const type = left.type;
    const cmp = (l: Scalar, r: Scalar): boolean => dynamicCompare(op, type, l, r);
    const rightValues = (evt: EngineEvent): readonly Scalar[] | undefined => {
      const r = rx(evt);
      if (r === undefined) return undefined;
      return Array.isArray(r) ? (r.length ? r : undefined) : [r as Scalar];
    };
    const eachLeft = (lv: FieldValue, pred: (l: Scalar) => boolean): boolean => {
      if (!Array.isArray(lv)) return pred(lv as Scalar);
      if (lv.length === 0) return false;
      return op === 'intersects' ? lv.some(pred) : lv.every(pred);
    };
    if (isListOperator(op)) {
      return (evt) => {
        const lv = lx(evt);
        if (lv === undefined) return false;
        const rv = rightValues(evt);
        if (rv === undefined) return false;
        return eachLeft(lv, (l) => rv.some((r) => cmp(l, r)));
      };
    }
    return (evt) => {
      const lv = lx(evt);
      if (lv === undefined) return false;
      const rv = rx(evt);
      if (rv === undefined || Array.isArray(rv)) return false;
      return eachLeft(lv, (l) => cmp(l, rv as Scalar));
    };
  }
}

function dynamicCompare(op: string, type: FieldType, l: Scalar, r: Scalar): boolean {
  if (STRINGISH.has(type)) {
    const a = String(l);
    const b = String(r);
    switch (op) {
      case '=': case '==': case 'in': case 'intersects': return a === b;
      case '!=': return a !== b;
      case '<': return a < b;
      case '<=': return a <= b;
      case '>': return a > b;
      case '>=': return a >= b;
      case 'contains': return a.includes(b);
      case 'icontains': return a.toLowerCase().includes(b.toLowerCase());
      case 'startswith': return a.startsWith(b);
      case 'endswith': return a.endsWith(b);
      case 'glob': return compileGlob(b)(a);
      case 'iglob': return compileGlob(b, true)(a);
      case 'pmatch': return compilePathPrefixes([b])(a);
      case 'regex': try { return RE2JS.compile(b).matches(a); } catch { return false; }
      default: return false;
    }
  }
  switch (op) {
    case '=': case '==': case 'in': case 'intersects': return l === r;
    case '!=': return l !== r;
    case '<': return (l as number) < (r as number);
    case '<=': return (l as number) <= (r as number);
    case '>': return (l as number) > (r as number);
    case '>=': return (l as number) >= (r as number);
    default: return false;
  }
}
