/**
 * Abstract syntax of Falco conditions.
 *
 * The AST knows nothing about fields or events: names are just text here. The
 * compiler (`compile.ts`) resolves them through the field registry.
 */

/** A position in the text that was parsed (0-based index, 1-based line and column). */
export interface Pos {
  readonly idx: number;
  readonly line: number;
  readonly col: number;
}

/**
 * Where a piece of condition text came from, so that errors found after macro
 * expansion still point at the right file, line and column.
 */
export interface Origin {
  /** `rule`, `macro` or `list`, and the item's name. */
  readonly itemType: string;
  readonly itemName: string;
  /** Maps an index in the parsed text back to a location in the rules file. */
  locate(idx: number): SourceLocation | undefined;
}

export interface SourceLocation {
  readonly file: string;
  readonly line: number;
  readonly col: number;
}

interface NodeBase {
  readonly pos: Pos;
  /** Set by the parser when the caller supplies an origin. */
  origin?: Origin;
}

export interface AndExpr extends NodeBase {
  readonly kind: 'and';
  readonly children: Expr[];
}

export interface OrExpr extends NodeBase {
  readonly kind: 'or';
  readonly children: Expr[];
}

export interface NotExpr extends NodeBase {
  readonly kind: 'not';
  readonly child: Expr;
}

/** A bare identifier used as a whole check: a macro reference. */
export interface IdentifierExpr extends NodeBase {
  readonly kind: 'identifier';
  readonly name: string;
}

/** `field exists` */
export interface UnaryCheckExpr extends NodeBase {
  readonly kind: 'unary';
  readonly left: OperandExpr;
  readonly op: UnaryOperator;
}

/** `field <op> value`, `field in (a, b)`, `field = val(other.field)` ... */
export interface BinaryCheckExpr extends NodeBase {
  readonly kind: 'binary';
  readonly left: OperandExpr;
  readonly op: BinaryOperator;
  /** `oneof`/`anyof`/`allof` after a string operator, with a list right-hand side. */
  readonly modifier?: ListModifier;
  readonly right: ValueExpr | ListExpr | OperandExpr;
}

/** A field reference, with an optional bracket argument. */
export interface FieldExpr extends NodeBase {
  readonly kind: 'field';
  readonly field: string;
  readonly arg?: string;
}

/** `tolower(f)`, `b64(f)`, ... and `val(f)` on the right-hand side. */
export interface TransformerExpr extends NodeBase {
  readonly kind: 'transformer';
  readonly name: TransformerName;
  readonly arg: OperandExpr;
}

/** A literal value (already unescaped when it was quoted). */
export interface ValueExpr extends NodeBase {
  readonly kind: 'value';
  readonly value: string;
  /** True when written as a quoted string (affects printing only). */
  readonly quoted?: boolean;
}

/** A parenthesized list of literal values. */
export interface ListExpr extends NodeBase {
  readonly kind: 'list';
  readonly values: string[];
}

export type OperandExpr = FieldExpr | TransformerExpr;
export type Expr = AndExpr | OrExpr | NotExpr | IdentifierExpr | UnaryCheckExpr | BinaryCheckExpr;
export type Node = Expr | OperandExpr | ValueExpr | ListExpr;

export type UnaryOperator = 'exists';
export const NUM_OPERATORS = ['<=', '<', '>=', '>'] as const;
/** Order matters: operators are matched by prefix, longest alternatives first. */
export const STR_OPERATORS = [
  '==', '=', '!=', 'glob', 'iglob', 'contains', 'icontains', 'bcontains',
  'startswith', 'bstartswith', 'endswith', 'regex',
] as const;
export const LIST_OPERATORS = ['intersects', 'in', 'pmatch'] as const;
export type NumOperator = (typeof NUM_OPERATORS)[number];
export type StrOperator = (typeof STR_OPERATORS)[number];
export type ListOperator = (typeof LIST_OPERATORS)[number];
export type BinaryOperator = NumOperator | StrOperator | ListOperator;
export const LIST_MODIFIERS = ['oneof', 'anyof', 'allof'] as const;
export type ListModifier = (typeof LIST_MODIFIERS)[number];

export const FIELD_TRANSFORMERS = ['tolower', 'toupper', 'b64', 'basename', 'len'] as const;
export type TransformerName = (typeof FIELD_TRANSFORMERS)[number] | 'val';

/** Every operator the language knows, in the order error messages list them. */
export const ALL_OPERATORS: readonly string[] = [
  'exists', ...NUM_OPERATORS, ...STR_OPERATORS, ...LIST_OPERATORS,
];

/** True for the operators whose right-hand side is a list. */
export function isListOperator(op: string): op is ListOperator {
  return (LIST_OPERATORS as readonly string[]).includes(op);
}

/** Visits every node depth-first, parents before children. */
export function walk(node: Node, visit: (n: Node) => void): void {
  visit(node);
  switch (node.kind) {
    case 'and':
    case 'or':
      for (const c of node.children) walk(c, visit);
      break;
    case 'not':
      walk(node.child, visit);
      break;
    case 'unary':
      walk(node.left, visit);
      break;
    case 'binary':
      walk(node.left, visit);
      walk(node.right, visit);
      break;
    case 'transformer':
      walk(node.arg, visit);
      break;
    default:
      break;
  }
}

const BARE_SAFE = /^[^()"'\s=,]+$/;

/** Quotes a literal for printing when it could not be read back as a bare string. */
export function printValue(value: string): string {
  if (value !== '' && BARE_SAFE.test(value)) return value;
  return '"' + value.replace(/\\/g, '\\\\').replace(/"/g, '\\"') + '"';
}

/**
 * Prints a node back as condition text, in the canonical form Falco's
 * engine tests compare against: n-ary and/or in parentheses, single spaces.
 */
export function print(node: Node): string {
  switch (node.kind) {
    case 'and':
      return '(' + node.children.map(print).join(' and ') + ')';
    case 'or':
      return '(' + node.children.map(print).join(' or ') + ')';
    case 'not':
      return 'not ' + print(node.child);
    case 'identifier':
      return node.name;
    case 'unary':
      return print(node.left) + ' ' + node.op;
    case 'binary': {
      const op = node.modifier ? `${node.op} ${node.modifier}` : node.op;
      return print(node.left) + ' ' + op + ' ' + print(node.right);
    }
    case 'field':
      return node.arg === undefined ? node.field : `${node.field}[${node.arg}]`;
    case 'transformer':
      return `${node.name}(${print(node.arg)})`;
    case 'value':
      return printValue(node.value);
    case 'list':
      return '(' + node.values.map(printValue).join(', ') + ')';
  }
}

/** Deep copy, so expanded macros can be tagged and changed without sharing. */
export function clone<T extends Node>(node: T): T {
  return structuredCloneNode(node) as T;
}

function structuredCloneNode(node: Node): Node {
  const origin = node.origin;
  let copy: Node;
  switch (node.kind) {
    case 'and':
    case 'or':
      copy = { ...node, children: node.children.map((c) => structuredCloneNode(c) as Expr) };
      break;
    case 'not':
      copy = { ...node, child: structuredCloneNode(node.child) as Expr };
      break;
    case 'unary':
      copy = { ...node, left: structuredCloneNode(node.left) as OperandExpr };
      break;
    case 'binary':
      copy = {
        ...node,
        left: structuredCloneNode(node.left) as OperandExpr,
        right: structuredCloneNode(node.right) as BinaryCheckExpr['right'],
      };
      break;
    case 'transformer':
      copy = { ...node, arg: structuredCloneNode(node.arg) as OperandExpr };
      break;
    case 'list':
      copy = { ...node, values: [...node.values] };
      break;
    default:
      copy = { ...node };
  }
  if (origin) copy.origin = origin;
  return copy;
}
