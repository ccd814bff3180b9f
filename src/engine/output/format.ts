/**
 * Output templates (`output:` of a rule), compiled once per rule.
 *
 * A `%` starts a token: an optional width (`%20proc.name`), then a field
 * with an optional bracket argument (`%ka.uri.param[command]`) or a
 * transformer (`%toupper(user.name)`). As in libsinsp, the token is the
 * longest prefix of the text after `%` that names a known field, so
 * `%ka.user.name)` is the field `ka.user.name` followed by `)`. Absent
 * values render as `<NA>` (Falco always formats rule outputs with `*`).
 */
import type { EngineEvent } from '../event.js';
import type { FieldRegistry, FieldType, FieldValue, Scalar } from '../fields.js';
import { CompileError, compileOperand } from '../condition/compile.js';
import { ParseError, parseCondition } from '../condition/parser.js';
import type { OperandExpr } from '../condition/ast.js';

export class FormatError extends Error {
  /** Offset of the offending token in the template. */
  readonly offset: number;
  /** True when the token is a field the source does not know (skip-if-unknown-filter applies). */
  readonly unknownField: boolean;
  constructor(message: string, offset: number, unknownField: boolean) {
    super(message);
    this.name = 'FormatError';
    this.offset = offset;
    this.unknownField = unknownField;
  }
}

/** A JSON-ready field value: text, number, list, or null when absent. */
export type OutputValue = string | number | bigint | boolean | null | (string | number | bigint | boolean)[];

interface FieldToken {
  /** Position in the template's token list. */
  readonly index: number;
  readonly key: string;
  readonly width: number | undefined;
  readonly type: FieldType;
  readonly extract: (evt: EngineEvent) => FieldValue;
}

export interface CompiledFormat {
  /** The fields the template uses, keyed as written (`ka.uri.param[command]`). */
  values(evt: EngineEvent): Record<string, OutputValue>;
  /** The rendered text and the field values, extracting each field once. */
  renderWithValues(evt: EngineEvent): { text: string; values: Record<string, OutputValue> };
  readonly fieldKeys: readonly string[];
}

const FIELD_START = /[a-zA-Z]/;

/** Renders a value the way Falco's text output does. */
export function renderValue(v: FieldValue): string {
  if (v === undefined) return '<NA>';
  if (Array.isArray(v)) {
    return v.length === 0 ? '<NA>' : '(' + (v as readonly Scalar[]).map(renderScalar).join(',') + ')';
  }
  return renderScalar(v as Scalar);
}

function renderScalar(v: Scalar): string {
  if (v instanceof Uint8Array) return Buffer.from(v).toString('latin1').replace(/[^\x20-\x7e]/g, '.');
  return String(v);
}

function jsonValue(v: FieldValue): OutputValue {
  if (v === undefined) return null;
  if (Array.isArray(v)) {
    if (v.length === 0) return null;
    return (v as readonly Scalar[]).map((x) => (x instanceof Uint8Array ? renderScalar(x) : x));
  }
  if (v instanceof Uint8Array) return renderScalar(v);
  return v as string | number | bigint | boolean;
}

/**
 * Compiles a template for a source. Throws {@link FormatError} with Falco's
 * message ("invalid formatting token X") when a token names no known field.
 */
export function compileFormat(template: string, registry: FieldRegistry, source: string): CompiledFormat {
  let text = template;
  // A leading '*' only says "print even when fields are missing", which is always the case.
  if (text.startsWith('*')) text = text.slice(1);
  const pieces: (string | FieldToken)[] = [];
  const tokens: FieldToken[] = [];
  let literal = '';
  let i = 0;
  while (i < text.length) {
    const c = text[i]!;
    if (c !== '%') {
      literal += c;
      i++;
      continue;
    }
    if (i + 1 >= text.length) throw new FormatError('formatting cannot end with a %', i, false);
    let j = i + 1;
    let width: number | undefined;
    const widthMatch = /^[0-9]+/.exec(text.slice(j, j + 12));
    if (widthMatch) {
      width = Number(widthMatch[0]);
      j += widthMatch[0].length;
    }
    if (!FIELD_START.test(text[j] ?? '')) {
      // Not a token: keep the '%' as text (e.g. "100%" or "% of").
      literal += '%';
      i++;
      continue;
    }
    const token = longestFieldToken(text, j, i, registry, source);
    if (literal) pieces.push(literal);
    literal = '';
    const t: FieldToken = { index: tokens.length, key: token.key, width, type: token.type, extract: token.extract };
    pieces.push(t);
    tokens.push(t);
    i = j + token.length;
  }
  if (literal) pieces.push(literal);

  const keys = [...new Set(tokens.map((t) => t.key))];
  return {
    fieldKeys: keys,
    values(evt) {
      const out: Record<string, OutputValue> = {};
      for (const t of tokens) out[t.key] = jsonValue(t.extract(evt));
      return out;
    },
    renderWithValues(evt) {
      const raw: FieldValue[] = new Array(tokens.length);
      const values: Record<string, OutputValue> = {};
      for (let k = 0; k < tokens.length; k++) {
        const t = tokens[k]!;
        const v = t.extract(evt);
        raw[k] = v;
        values[t.key] = jsonValue(v);
      }
      let text = '';
      for (const p of pieces) {
        if (typeof p === 'string') {
          text += p;
          continue;
        }
        let s = renderValue(raw[p.index]);
        if (p.width !== undefined) s = s.length > p.width ? s.slice(0, p.width) : s.padEnd(p.width, ' ');
        text += s;
      }
      return { text, values };
    },
  };
}

/**
 * Reads the token at `start`: the longest prefix that parses as a field (or
 * transformer) and compiles against the source.
 */
function longestFieldToken(text: string, start: number, percentAt: number, registry: FieldRegistry, source: string):
  { key: string; length: number; type: FieldType; extract: (evt: EngineEvent) => FieldValue } {
  const candidate = greedyToken(text, start);
  let firstError: Error | undefined;
  for (let len = candidate.length; len > 0; len--) {
    const piece = candidate.slice(0, len);
    let ast;
    try {
      ast = parseOperand(piece);
    } catch (e) {
      if (e instanceof ParseError) continue;
      throw e;
    }
    if (!ast) continue;
    try {
      const op = compileOperand(ast, { registry, source });
      return { key: piece, length: len, type: op.type, extract: op.extract };
    } catch (e) {
      if (e instanceof CompileError) {
        firstError ??= e;
        continue;
      }
      throw e;
    }
  }
  const name = /^[a-zA-Z0-9_.]+/.exec(candidate)?.[0] ?? candidate;
  const unknown = !(firstError instanceof CompileError) || firstError.unknownField;
  throw new FormatError(
    unknown ? `invalid formatting token ${name}` : `invalid formatting token ${name}: ${firstError!.message}`,
    percentAt, unknown);
}

/** The longest run that could be a token: a field name with dots, an optional [arg], or a transformer call. */
function greedyToken(text: string, start: number): string {
  let j = start;
  while (j < text.length && /[a-zA-Z0-9_.]/.test(text[j]!)) j++;
  if (text[j] === '[') {
    const close = text.indexOf(']', j);
    if (close > 0) j = close + 1;
  } else if (text[j] === '(') {
    // Transformer: take up to the matching parenthesis.
    let depth = 0;
    for (; j < text.length; j++) {
      if (text[j] === '(') depth++;
      else if (text[j] === ')' && --depth === 0) { j++; break; }
    }
  }
  return text.slice(start, j);
}

/** Parses one operand by parsing a synthetic `X exists` check. */
function parseOperand(piece: string): OperandExpr | undefined {
  if (!/^[a-zA-Z]/.test(piece) || /\s/.test(piece)) return undefined;
  const expr = parseCondition(`${piece} exists`);
  if (expr.kind !== 'unary') return undefined;
  return expr.left;
}
