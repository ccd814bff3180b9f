/**
 * Parser for Falco conditions.
 *
 * The grammar, after libsinsp's `filter/parser.h` (method names below follow
 * the productions):
 *
 *   Expr                ::= OrExpr
 *   OrExpr              ::= AndExpr ('or' OrExprTail)*
 *   OrExprTail          ::= Blank AndExpr | '(' Expr ')'
 *   AndExpr             ::= NotExpr ('and' AndExprTail)*
 *   AndExprTail         ::= Blank NotExpr | '(' Expr ')'
 *   NotExpr             ::= ('not' Blank)* NotExprTail
 *   NotExprTail         ::= 'not(' Expr ')' | Check
 *   Check               ::= Field Condition | Transformer Condition | Identifier | '(' Expr ')'
 *   Transformer         ::= TransformerName '(' (Transformer | Field) ')'
 *   Condition           ::= 'exists'
 *                         | NumOperator (NumValue | TransformerOrVal)
 *                         | StrOperator (StrValue | TransformerOrVal)
 *                         | StrOperator ListModifier ListValue
 *                         | ListOperator (ListValue | TransformerOrVal)
 *   TransformerOrVal    ::= Transformer | 'val(' Field ')'
 *   ListValue           ::= '(' (StrValue (',' StrValue)*)? ')' | Identifier
 *   Field               ::= FieldName ('[' FieldArg ']')?
 *   FieldArg            ::= QuotedStr | FieldArgBareStr
 *   NumValue            ::= HexNumber | Number
 *   StrValue            ::= QuotedStr | BareStr
 *
 *   NumOperator         ::= '<=' | '<' | '>=' | '>'
 *   StrOperator         ::= '==' | '=' | '!=' | 'glob' | 'iglob' | 'contains' | 'icontains'
 *                         | 'bcontains' | 'startswith' | 'bstartswith' | 'endswith' | 'regex'
 *   ListOperator        ::= 'intersects' | 'in' | 'pmatch'
 *   ListModifier        ::= 'oneof' | 'anyof' | 'allof'
 *   TransformerName     ::= 'tolower' | 'toupper' | 'b64' | 'basename' | 'len'
 *
 *   Identifier          ::= [a-zA-Z]+[a-zA-Z0-9_]*
 *   FieldName           ::= Identifier ('.' Identifier)+
 *   FieldArgBareStr     ::= [^][\"'[:space:]]+
 *   HexNumber           ::= 0[xX][0-9a-zA-Z]+
 *   Number              ::= [+\-]?[0-9]+[\.]?[0-9]*([eE][+\-][0-9]+)?
 *   QuotedStr           ::= "(?:\\"|.)*?" | '(?:\\'|.)*?'
 *   BareStr             ::= [^()"'[:space:]=,]+
 *   Blank               ::= [ \t\b\r\n]+
 *
 * Keywords are lowercase. Word operators must be followed by a blank (libsinsp
 * requires a space; any blank is accepted here). Symbol operators and the
 * list operators need no blank (`evt.type=open`, `x in(a)`).
 *
 * This layer knows nothing about fields: it only builds the AST.
 */
import {
  type AndExpr, type BinaryCheckExpr, type Expr, type FieldExpr, type ListExpr, type ListModifier,
  type OperandExpr, type Origin, type Pos, type TransformerExpr, type TransformerName, type ValueExpr,
  ALL_OPERATORS, FIELD_TRANSFORMERS, LIST_MODIFIERS, LIST_OPERATORS, NUM_OPERATORS, STR_OPERATORS,
} from './ast.js';
import { EscapeError, unescapeQuoted } from './escaping.js';

/** Falco parses rule conditions with this nesting limit (libsinsp's default is 100). */
export const DEFAULT_MAX_DEPTH = 1000;

/** A syntax error with the position where it was found. */
export class ParseError extends Error {
  readonly pos: Pos;
  constructor(message: string, pos: Pos) {
    super(message);
    this.name = 'ParseError';
    this.pos = pos;
  }
}

export interface ParseOptions {
  maxDepth?: number;
  /** Attached to every node, for error locations after macro expansion. */
  origin?: Origin;
}

/** Parses a whole condition. Throws {@link ParseError}. */
export function parseCondition(input: string, options: ParseOptions = {}): Expr {
  return new Parser(input, options).parse();
}

const WORD_STR_OPERATORS = new Set<string>(STR_OPERATORS.filter((op) => /^[a-z]/.test(op)));
const TRANSFORMER_NAMES: readonly string[] = FIELD_TRANSFORMERS;

function isBlank(c: number): boolean {
  // space, \t, \b, \r, \n
  return c === 32 || c === 9 || c === 8 || c === 13 || c === 10;
}
function isAlpha(c: number): boolean {
  return (c >= 65 && c <= 90) || (c >= 97 && c <= 122);
}
function isDigit(c: number): boolean {
  return c >= 48 && c <= 57;
}
function isIdentTail(c: number): boolean {
  return isAlpha(c) || isDigit(c) || c === 95;
}
/** BareStr: anything but ( ) " ' blanks = , */
function isBareChar(c: number): boolean {
  return !(c === 40 || c === 41 || c === 34 || c === 39 || c === 61 || c === 44 || isBlank(c) ||
    c === 12 || c === 11 || Number.isNaN(c));
}
/** FieldArgBareStr: anything but ] [ " ' and whitespace */
function isFieldArgChar(c: number): boolean {
  return !(c === 91 || c === 93 || c === 34 || c === 39 || isBlank(c) || c === 12 || c === 11 ||
    Number.isNaN(c));
}

const HEX_NUMBER = /0[xX][0-9a-zA-Z]+/y;
const DEC_NUMBER = /[+-]?[0-9]+\.?[0-9]*(?:[eE][+-][0-9]+)?/y;

function quoteList(items: readonly string[]): string {
  return items.map((s) => `'${s}'`).join(', ');
}

class Parser {
  private readonly input: string;
  private readonly maxDepth: number;
  private readonly origin: Origin | undefined;
  private idx = 0;
  private line = 1;
  private col = 1;
  private depth = 0;
  private lastToken = '';

  constructor(input: string, options: ParseOptions) {
    this.input = input;
    this.maxDepth = options.maxDepth ?? DEFAULT_MAX_DEPTH;
    this.origin = options.origin;
  }

  parse(): Expr {
    if (this.input.length === 0) throw this.error('filter input string is empty');
    const expr = this.parseOr();
    if (this.idx !== this.input.length) {
      throw this.error(`unexpected token after '${this.lastToken}', expecting 'or', 'and'`);
    }
    return expr;
  }

  // ---- productions -------------------------------------------------------

  private parseOr(): Expr {
    return this.guarded(() => {
      const pos = this.pos();
      this.lexBlank();
      const children: Expr[] = [this.parseAnd()];
      this.lexBlank();
      while (this.lexKeyword('or')) {
        children.push(this.parseTail('or', () => this.parseAnd()));
        this.lexBlank();
      }
      return children.length > 1 ? this.node<Expr>({ kind: 'or', children, pos }) : children[0]!;
    });
  }

  private parseAnd(): Expr {
    return this.guarded(() => {
      const pos = this.pos();
      this.lexBlank();
      const children: Expr[] = [this.parseNot()];
      this.lexBlank();
      while (this.lexKeyword('and')) {
        children.push(this.parseTail('and', () => this.parseNot()));
        this.lexBlank();
      }
      return children.length > 1 ? this.node<AndExpr>({ kind: 'and', children, pos }) : children[0]!;
    });
  }

  /** After 'and'/'or': a blank then the next operand, or directly '(' Expr ')'. */
  private parseTail(keyword: string, next: () => Expr): Expr {
    if (this.lexBlank()) return next();
    if (this.lexString('(')) return this.parseEmbeddedRemainder();
    throw this.error(`expected blank or '(' after '${keyword}'`);
  }

  private parseNot(): Expr {
    return this.guarded(() => {
      const pos = this.pos();
      this.lexBlank();
      let negate = false;
      while (this.lexNotBlank()) negate = !negate;
      let child: Expr;
      if (this.lexString('not(')) {
        negate = !negate;
        child = this.parseEmbeddedRemainder();
      } else {
        child = this.parseCheck();
      }
      return negate ? this.node<Expr>({ kind: 'not', child, pos }) : child;
    });
  }

  /** The rest of a parenthesized expression, after its '('. */
  private parseEmbeddedRemainder(): Expr {
    return this.guarded(() => {
      this.lexBlank();
      const child = this.parseOr();
      this.lexBlank();
      if (!this.lexString(')')) throw this.error("expected a ')' token");
      this.lastToken = ')';
      return child;
    });
  }

  private parseCheck(): Expr {
    return this.guarded(() => {
      this.lexBlank();
      const pos = this.pos();
      if (this.lexString('(')) return this.parseEmbeddedRemainder();

      const fieldName = this.lexFieldName();
      if (fieldName !== undefined) {
        const left = this.parseFieldRemainder(fieldName, pos);
        return this.parseCondition(left, pos);
      }
      const transformer = this.lexTransformerName();
      if (transformer !== undefined) {
        const left = this.parseTransformerRemainder(transformer, pos);
        return this.parseCondition(left, pos);
      }
      const ident = this.lexIdentifier();
      if (ident !== undefined) {
        return this.node<Expr>({ kind: 'identifier', name: ident, pos });
      }
      throw this.error("expected a '(' token, a field check, or an identifier");
    });
  }

  private parseFieldRemainder(field: string, pos: Pos): FieldExpr {
    if (!this.lexString('[')) return this.node<FieldExpr>({ kind: 'field', field, pos });
    const arg = this.lexQuotedString() ?? this.lexWhile(isFieldArgChar);
    if (arg === undefined) {
      throw this.error('expected a valid field argument: a quoted string or a bare string');
    }
    if (!this.lexString(']')) throw this.error("expected a ']' token");
    this.lastToken = ']';
    return this.node<FieldExpr>({ kind: 'field', field, arg, pos });
  }

  /** After `name(`: a nested transformer or a field, then ')'. */
  private parseTransformerRemainder(name: TransformerName, pos: Pos): TransformerExpr {
    return this.guarded(() => {
      this.lexBlank();
      const argPos = this.pos();
      let arg: OperandExpr | undefined;
      const nested = this.lexTransformerName();
      if (nested !== undefined) {
        arg = this.parseTransformerRemainder(nested, argPos);
      } else {
        const fieldName = this.lexFieldName();
        if (fieldName !== undefined) arg = this.parseFieldRemainder(fieldName, argPos);
      }
      if (!arg) {
        throw this.error('expected a field or a nested valid transformer: ' +
          quoteList(['val', ...TRANSFORMER_NAMES]));
      }
      this.lexBlank();
      if (!this.lexString(')')) throw this.error("expected a ')' token closing the transformer");
      this.lastToken = ')';
      return this.node<TransformerExpr>({ kind: 'transformer', name, arg, pos });
    });
  }

  private parseCondition(left: OperandExpr, pos: Pos): Expr {
    return this.guarded(() => {
      this.lexBlank();
      if (this.lexWord('exists')) {
        return this.node<Expr>({ kind: 'unary', left, op: 'exists', pos });
      }
      const numOp = this.lexOneOf(NUM_OPERATORS);
      if (numOp !== undefined) {
        const right = this.parseNumValueOrTransformer();
        return this.node<BinaryCheckExpr>({ kind: 'binary', left, op: numOp, right, pos });
      }
      const strOp = this.lexStrOperator();
      if (strOp !== undefined) {
        const modifier = this.lexListModifier();
        if (modifier !== undefined) {
          const right = this.parseListValue();
          return this.node<BinaryCheckExpr>({ kind: 'binary', left, op: strOp, modifier, right, pos });
        }
        const right = this.parseStrValueOrTransformer();
        return this.node<BinaryCheckExpr>({ kind: 'binary', left, op: strOp, right, pos });
      }
      const listOp = this.lexOneOf(LIST_OPERATORS);
      if (listOp !== undefined) {
        const right = this.parseListValue();
        return this.node<BinaryCheckExpr>({ kind: 'binary', left, op: listOp, right, pos });
      }
      throw this.error('expected a valid check operator: one of ' + quoteList(ALL_OPERATORS));
    });
  }

  private parseNumValueOrTransformer(): BinaryCheckExpr['right'] {
    this.lexBlank();
    const pos = this.pos();
    const t = this.tryParseTransformerOrVal();
    if (t) return t;
    const num = this.lexNumber();
    if (num !== undefined) return this.node<ValueExpr>({ kind: 'value', value: num, pos });
    throw this.error('expected a number value or a field with a valid transformer: ' +
      quoteList(['val', ...TRANSFORMER_NAMES]));
  }

  private parseStrValueOrTransformer(): BinaryCheckExpr['right'] {
    this.lexBlank();
    const t = this.tryParseTransformerOrVal();
    if (t) return t;
    const v = this.parseStrValue();
    if (v) return v;
    throw this.error('expected a string value or a field with a valid transformer: ' +
      quoteList(['val', ...TRANSFORMER_NAMES]));
  }

  private parseStrValue(): ValueExpr | undefined {
    const pos = this.pos();
    const quoted = this.lexQuotedString();
    if (quoted !== undefined) return this.node<ValueExpr>({ kind: 'value', value: quoted, quoted: true, pos });
    const bare = this.lexWhile(isBareChar);
    if (bare !== undefined) return this.node<ValueExpr>({ kind: 'value', value: bare, pos });
    return undefined;
  }

  private parseListValue(): BinaryCheckExpr['right'] {
    return this.guarded(() => {
      this.lexBlank();
      const pos = this.pos();
      if (this.lexString('(')) {
        const values: string[] = [];
        this.lexBlank();
        const first = this.parseStrValue();
        if (first) {
          values.push(first.value);
          this.lexBlank();
          while (this.lexString(',')) {
            this.lexBlank();
            const next = this.parseStrValue();
            if (!next) throw this.error('expected a string value');
            values.push(next.value);
            this.lexBlank();
          }
        }
        if (!this.lexString(')')) throw this.error("expected a ')' token");
        this.lastToken = ')';
        return this.node<ListExpr>({ kind: 'list', values, pos });
      }
      const t = this.tryParseTransformerOrVal();
      if (t) return t;
      const ident = this.lexIdentifier();
      if (ident !== undefined) return this.node<ValueExpr>({ kind: 'value', value: ident, pos });
      throw this.error('expected a list, an identifier, or a field with a valid transformer: ' +
        quoteList(['val', ...TRANSFORMER_NAMES]));
    });
  }

  private tryParseTransformerOrVal(): OperandExpr | undefined {
    return this.guarded(() => {
      this.lexBlank();
      const pos = this.pos();
      if (this.lexString('val(')) {
        this.lexBlank();
        const fieldPos = this.pos();
        const name = this.lexFieldName();
        if (name === undefined) throw this.error("expected a field within 'val' transformer");
        const arg = this.parseFieldRemainder(name, fieldPos);
        this.lexBlank();
        if (!this.lexString(')')) throw this.error("expected a ')' token closing the transformer");
        this.lastToken = ')';
        return this.node<TransformerExpr>({ kind: 'transformer', name: 'val', arg, pos });
      }
      const name = this.lexTransformerName();
      if (name !== undefined) return this.parseTransformerRemainder(name, pos);
      return undefined;
    });
  }

  // ---- lexing helpers ----------------------------------------------------

  private code(offset = 0): number {
    return this.input.charCodeAt(this.idx + offset);
  }

  private advance(n: number): void {
    for (let i = 0; i < n; i++) {
      const c = this.input.charCodeAt(this.idx);
      this.idx++;
      if (c === 10 || (c === 13 && this.input.charCodeAt(this.idx) !== 10)) {
        this.line++;
        this.col = 1;
      } else if (c !== 13) {
        this.col++;
      }
    }
  }

  private pos(): Pos {
    return { idx: this.idx, line: this.line, col: this.col };
  }

  /** Skips blanks; returns whether there were any. Does not touch lastToken. */
  private lexBlank(): boolean {
    const start = this.idx;
    while (this.idx < this.input.length && isBlank(this.code())) this.advance(1);
    return this.idx > start;
  }

  private lexString(s: string): boolean {
    if (!this.input.startsWith(s, this.idx)) return false;
    this.advance(s.length);
    this.lastToken = s;
    return true;
  }

  /** A keyword such as 'and'/'or': the text only; the caller checks what follows. */
  private lexKeyword(word: string): boolean {
    return this.lexString(word);
  }

  /** A word operator: must be followed by a blank (or, for `exists`, anything that ends a check). */
  private lexWord(word: string): boolean {
    if (!this.input.startsWith(word, this.idx)) return false;
    const next = this.input.charCodeAt(this.idx + word.length);
    if (word === 'exists') {
      if (!(Number.isNaN(next) || isBlank(next) || next === 41 /* ) */)) return false;
    } else if (!isBlank(next)) {
      return false;
    }
    this.advance(word.length);
    this.lastToken = word;
    return true;
  }

  /** 'not' followed by at least one blank. */
  private lexNotBlank(): boolean {
    if (!this.input.startsWith('not', this.idx) || !isBlank(this.code(3))) return false;
    this.advance(3);
    this.lexBlank();
    this.lastToken = 'not';
    return true;
  }

  private lexOneOf<T extends string>(options: readonly T[]): T | undefined {
    for (const op of options) {
      if (this.lexString(op)) return op;
    }
    return undefined;
  }

  private lexStrOperator(): (typeof STR_OPERATORS)[number] | undefined {
    for (const op of STR_OPERATORS) {
      if (WORD_STR_OPERATORS.has(op) ? this.lexWord(op) : this.lexString(op)) return op;
    }
    return undefined;
  }

  /** `oneof`/`anyof`/`allof`, only when a list follows, so that they stay usable as plain values. */
  private lexListModifier(): ListModifier | undefined {
    const save = this.save();
    this.lexBlank();
    for (const m of LIST_MODIFIERS) {
      if (!this.input.startsWith(m, this.idx)) continue;
      let j = this.idx + m.length;
      while (j < this.input.length && isBlank(this.input.charCodeAt(j))) j++;
      if (this.input.charCodeAt(j) === 40 /* ( */) {
        this.advance(m.length);
        this.lastToken = m;
        return m;
      }
    }
    this.restore(save);
    return undefined;
  }

  private lexTransformerName(): TransformerName | undefined {
    for (const name of TRANSFORMER_NAMES) {
      if (this.input.startsWith(name + '(', this.idx)) {
        this.advance(name.length + 1);
        this.lastToken = name + '(';
        return name as TransformerName;
      }
    }
    return undefined;
  }

  private scanIdentifier(from: number): number {
    let j = from;
    if (!isAlpha(this.input.charCodeAt(j))) return from;
    while (j < this.input.length && isIdentTail(this.input.charCodeAt(j))) j++;
    return j;
  }

  private lexIdentifier(): string | undefined {
    const end = this.scanIdentifier(this.idx);
    if (end === this.idx) return undefined;
    const token = this.input.slice(this.idx, end);
    this.advance(end - this.idx);
    this.lastToken = token;
    return token;
  }

  /** Identifier ('.' Identifier)+ — at least one dot. */
  private lexFieldName(): string | undefined {
    let end = this.scanIdentifier(this.idx);
    if (end === this.idx) return undefined;
    let segments = 0;
    while (this.input.charCodeAt(end) === 46 /* . */) {
      const next = this.scanIdentifier(end + 1);
      if (next === end + 1) break;
      end = next;
      segments++;
    }
    if (segments === 0) return undefined;
    const token = this.input.slice(this.idx, end);
    this.advance(end - this.idx);
    this.lastToken = token;
    return token;
  }

  private lexWhile(pred: (c: number) => boolean): string | undefined {
    let j = this.idx;
    while (j < this.input.length && pred(this.input.charCodeAt(j))) j++;
    if (j === this.idx) return undefined;
    const token = this.input.slice(this.idx, j);
    this.advance(j - this.idx);
    this.lastToken = token;
    return token;
  }

  private lexNumber(): string | undefined {
    HEX_NUMBER.lastIndex = this.idx;
    DEC_NUMBER.lastIndex = this.idx;
    const m = HEX_NUMBER.exec(this.input) ?? DEC_NUMBER.exec(this.input);
    if (!m) return undefined;
    this.advance(m[0].length);
    this.lastToken = m[0];
    return m[0];
  }

  /** A quoted string; returns its unescaped value. Unterminated quotes do not match. */
  private lexQuotedString(): string | undefined {
    const quote = this.code();
    if (quote !== 34 && quote !== 39) return undefined;
    let j = this.idx + 1;
    while (j < this.input.length) {
      const c = this.input.charCodeAt(j);
      if (c === 92 /* \ */) {
        j += 2;
        continue;
      }
      if (c === quote) {
        const raw = this.input.slice(this.idx, j + 1);
        let value: string;
        try {
          value = unescapeQuoted(raw);
        } catch (e) {
          if (e instanceof EscapeError) {
            const save = this.save();
            this.advance(e.offset);
            const err = this.error(e.message);
            this.restore(save);
            throw err;
          }
          throw e;
        }
        this.advance(j + 1 - this.idx);
        this.lastToken = value;
        return value;
      }
      j++;
    }
    return undefined;
  }

  private save(): { idx: number; line: number; col: number; lastToken: string } {
    return { idx: this.idx, line: this.line, col: this.col, lastToken: this.lastToken };
  }

  private restore(s: { idx: number; line: number; col: number; lastToken: string }): void {
    this.idx = s.idx;
    this.line = s.line;
    this.col = s.col;
    this.lastToken = s.lastToken;
  }

  private guarded<T>(fn: () => T): T {
    this.depth++;
    if (this.depth >= this.maxDepth) {
      const err = this.error(`exceeded max depth limit of ${this.maxDepth}`);
      this.depth--;
      throw err;
    }
    try {
      return fn();
    } finally {
      this.depth--;
    }
  }

  private node<T extends Expr | OperandExpr | ValueExpr | ListExpr>(n: T): T {
    if (this.origin) n.origin = this.origin;
    return n;
  }

  private error(message: string): ParseError {
    return new ParseError(message, this.pos());
  }
}
