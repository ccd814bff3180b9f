/**
 * A streaming splitter for a byte stream of JSON values: JSON Lines, one
 * document spanning many lines, or several of either back to back.
 *
 * It checks JSON structure as it goes (brackets, strings, `:` and `,`
 * placement) without building values, and hands out the text of:
 * - each top-level object (a log line's Event or EventList);
 * - each element of a top-level array, separately (so a multi-GB array of
 *   events needs memory for one element at a time);
 * - each item of a top-level `{"kind":"EventList", ..., "items":[...]}` when
 *   `kind` comes before `items` (as kube-apiserver writes it), separately too;
 * - any other top-level text up to the end of its line (a garbage line).
 *
 * Every text is bounded by `maxBytes`. On a structural error the value is
 * reported and scanning resynchronizes at a line boundary. Once the first
 * top-level value has started and ended on one line the input is taken to be
 * JSON Lines, and a line that ends inside a value is reported as truncated, so
 * a truncated log line costs that line only.
 */

/** What the splitter produces, in input order. */
export type ScanUnit =
  | {
      readonly kind: 'value';
      /** `top`: a top-level value or line; `element`: of a top-level array; `item`: of a streamed EventList. */
      readonly ctx: 'top' | 'element' | 'item';
      /** Position among its siblings for `element` and `item`. */
      readonly index: number;
      readonly text: string;
      /** 1-based line where the value starts. */
      readonly line: number;
    }
  | { readonly kind: 'problem'; readonly line: number; readonly message: string };

const OBJ = 1;
const ARR = 2;

// What the scanner expects next inside the current container.
const VALUE = 1;
const VALUE_OR_END = 2;
const KEY = 3;
const KEY_OR_END = 4;
const COLON = 5;
const COMMA_OR_END = 6;

const NONE = 0;
const IN_VALUE_STRING = 1;
const IN_KEY_STRING = 2;

/** Structures deeper than this are reported as errors instead of tracked. */
const MAX_DEPTH = 10_000;
/** Only short keys and `kind` values matter (`kind`, `items`, `"EventList"`). */
const SMALL_CAPTURE = 64;

function isScalarByte(c: number): boolean {
  // Letters, digits, '+', '-', '.': enough to delimit true/false/null and numbers.
  return (
    (c >= 0x61 && c <= 0x7a) || (c >= 0x41 && c <= 0x5a) || (c >= 0x30 && c <= 0x39) ||
    c === 0x2b || c === 0x2d || c === 0x2e
  );
}

function describeByte(c: number): string {
  if (c === 0x0a) return 'end of line';
  if (c < 0x20 || c >= 0x7f) return `byte 0x${c.toString(16).padStart(2, '0')}`;
  return `'${String.fromCharCode(c)}'`;
}

/** The incremental splitter; feed it chunks, then call {@link finish}. */
export class JsonStreamScanner {
  private readonly maxBytes: number;
  private out: ScanUnit[] = [];

  private line = 1;
  private lineHasContent = false;
  /** 0 until the first top-level value ends, then 1 for JSON Lines, 2 for documents. */
  private jsonLines = 0;
  private skipLine = false;
  private garbage = false;

  private depth = 0;
  private kinds = new Uint8Array(64);
  private expect = VALUE;
  private str = NONE;
  private esc = false;
  private scalar = false;

  private topLine = 1;
  private topIsObject = false;
  private splitDepth = 0;
  private elementIndex = 0;
  private kindIsEventList = false;

  private memberKey = '';
  private keyActive = false;
  private keyStart = 0;
  private keyBuf = '';
  private kindActive = false;
  private kindStart = 0;
  private kindBuf = '';

  private capActive = false;
  private capStart = 0;
  private capParts: Buffer[] = [];
  private capLen = 0;
  private capOverflow = false;
  private capLine = 0;
  private capCtx: 'top' | 'element' | 'item' = 'top';
  private capIndex = 0;

  constructor(maxBytes: number) {
    this.maxBytes = maxBytes;
  }

  /** Returns and forgets the units produced so far. */
  take(): ScanUnit[] {
    const units = this.out;
    this.out = [];
    return units;
  }

  /** Scans one chunk of input. */
  feed(buf: Buffer): void {
    const n = buf.length;
    let i = 0;
    while (i < n) {
      if (this.skipLine || this.garbage) {
        const nl = buf.indexOf(0x0a, i);
        if (nl < 0) {
          i = n;
          break;
        }
        if (this.garbage) {
          this.endCapture(buf, nl);
          this.garbage = false;
        }
        this.skipLine = false;
        this.newline();
        i = nl + 1;
        continue;
      }
      if (this.str !== NONE) {
        i = this.scanString(buf, i);
        continue;
      }
      if (this.scalar) {
        while (i < n && isScalarByte(buf[i]!)) i++;
        if (i === n) break;
        this.scalar = false;
        this.valueEnd(buf, i);
        continue;
      }
      const c = buf[i]!;
      if (c === 0x20 || c === 0x09 || c === 0x0d) {
        i++;
        continue;
      }
      if (c === 0x0a) {
        if (this.depth > 0 && this.jsonLines === 1) {
          i = this.fail(buf, i, 'the line ends inside a JSON value (truncated line?)', false);
          continue;
        }
        this.newline();
        i++;
        continue;
      }
      const first = !this.lineHasContent;
      this.lineHasContent = true;
      if (this.depth === 0) {
        i = this.startTop(i, c);
        continue;
      }
      i = this.structural(buf, i, c, first);
    }
    this.carryOver(buf);
  }

  /** Ends the input: reports a value left open, flushes a pending line. */
  finish(): void {
    const empty = Buffer.alloc(0);
    if (this.garbage) {
      this.garbage = false;
      this.endCapture(empty, 0);
    } else if (this.depth > 0) {
      this.problem(this.topLine, `unexpected end of input: the JSON value starting at line ${this.topLine} is incomplete`);
      this.reset();
    }
  }

  private newline(): void {
    this.line++;
    this.lineHasContent = false;
  }

  private problem(line: number, message: string): void {
    this.out.push({ kind: 'problem', line, message });
  }

  private reset(): void {
    this.depth = 0;
    this.expect = VALUE;
    this.str = NONE;
    this.esc = false;
    this.scalar = false;
    this.topIsObject = false;
    this.splitDepth = 0;
    this.kindIsEventList = false;
    this.memberKey = '';
    this.keyActive = false;
    this.kindActive = false;
    this.dropCapture();
  }

  /** Reports a structural error and picks where to resume; returns the next index. */
  private fail(buf: Buffer, i: number, message: string, firstOnLine: boolean): number {
    const start = this.capActive && this.capCtx !== 'top' ? this.capLine : this.topLine;
    this.problem(
      start,
      `not valid JSON: ${message} at line ${this.line} (value starting at line ${start} skipped)`,
    );
    this.reset();
    const c = buf[i]!;
    if (c === 0x0a) {
      this.newline();
      return i + 1;
    }
    // A line that starts with the unexpected byte is probably the next record
    // after a truncated one: scan it afresh. Otherwise drop the rest of the line.
    if (firstOnLine) {
      this.lineHasContent = false;
      return i;
    }
    this.skipLine = true;
    return i;
  }

  private startTop(i: number, c: number): number {
    this.topLine = this.line;
    if (c === 0x7b /* { */) {
      this.topIsObject = true;
      this.beginCapture(i, 'top', 0);
      this.push(OBJ);
      return i + 1;
    }
    if (c === 0x5b /* [ */) {
      this.topIsObject = false;
      this.splitDepth = 1;
      this.elementIndex = 0;
      this.push(ARR);
      return i + 1;
    }
    // Separators left over after resynchronizing inside a broken array (or
    // between concatenated values) carry no data.
    if (c === 0x2c /* , */ || c === 0x5d /* ] */) return i + 1;
    // Anything else at top level is handled a line at a time, like JSON Lines.
    this.garbage = true;
    this.beginCapture(i, 'top', 0);
    return i;
  }

  private structural(buf: Buffer, i: number, c: number, first: boolean): number {
    const ex = this.expect;
    const kind = this.kinds[this.depth];
    switch (c) {
      case 0x7b: // {
      case 0x5b: // [
        if (ex !== VALUE && ex !== VALUE_OR_END) return this.fail(buf, i, `unexpected ${describeByte(c)}`, first);
        this.valueStart(i, c);
        if (!this.push(c === 0x7b ? OBJ : ARR)) return this.fail(buf, i, `nesting deeper than ${MAX_DEPTH}`, first);
        return i + 1;
      case 0x22: // "
        if (ex === KEY || ex === KEY_OR_END) {
          this.str = IN_KEY_STRING;
          if (this.depth === 1 && this.topIsObject) {
            this.keyActive = true;
            this.keyStart = i + 1;
            this.keyBuf = '';
          }
          return i + 1;
        }
        if (ex !== VALUE && ex !== VALUE_OR_END) return this.fail(buf, i, `unexpected ${describeByte(c)}`, first);
        this.valueStart(i, c);
        this.str = IN_VALUE_STRING;
        return i + 1;
      case 0x7d: // }
        if (kind !== OBJ || (ex !== KEY_OR_END && ex !== COMMA_OR_END)) {
          return this.fail(buf, i, `unexpected ${describeByte(c)}`, first);
        }
        this.depth--;
        this.valueEnd(buf, i + 1);
        return i + 1;
      case 0x5d: // ]
        if (kind !== ARR || (ex !== VALUE_OR_END && ex !== COMMA_OR_END)) {
          return this.fail(buf, i, `unexpected ${describeByte(c)}`, first);
        }
        this.depth--;
        this.valueEnd(buf, i + 1);
        return i + 1;
      case 0x3a: // :
        if (ex !== COLON) return this.fail(buf, i, `unexpected ${describeByte(c)}`, first);
        this.expect = VALUE;
        return i + 1;
      case 0x2c: // ,
        if (ex !== COMMA_OR_END) return this.fail(buf, i, `unexpected ${describeByte(c)}`, first);
        this.expect = kind === OBJ ? KEY : VALUE;
        return i + 1;
      default:
        if (isScalarByte(c) && (ex === VALUE || ex === VALUE_OR_END)) {
          this.valueStart(i, c);
          this.scalar = true;
          return i + 1;
        }
        return this.fail(buf, i, `unexpected ${describeByte(c)}`, first);
    }
  }

  private scanString(buf: Buffer, from: number): number {
    const n = buf.length;
    let i = from;
    for (; i < n; i++) {
      const c = buf[i]!;
      if (c < 0x20) return this.fail(buf, i, `unexpected ${describeByte(c)} inside a string`, false);
      if (this.esc) {
        this.esc = false;
        continue;
      }
      if (c === 0x5c) this.esc = true;
      else if (c === 0x22) break;
    }
    if (i === n) return n;
    if (this.str === IN_KEY_STRING) {
      this.str = NONE;
      if (this.keyActive) {
        this.keyActive = false;
        this.memberKey = this.smallAppend(this.keyBuf, buf, this.keyStart, i);
      }
      this.expect = COLON;
    } else {
      this.str = NONE;
      this.valueEnd(buf, i + 1);
    }
    return i + 1;
  }

  private smallAppend(prefix: string, buf: Buffer, start: number, end: number): string {
    if (prefix.length > SMALL_CAPTURE || end - start > SMALL_CAPTURE) return '\u0000long';
    return prefix + buf.toString('latin1', start, end);
  }

  private push(kind: number): boolean {
    if (this.depth + 1 >= MAX_DEPTH) return false;
    this.depth++;
    if (this.depth >= this.kinds.length) {
      const grown = new Uint8Array(this.kinds.length * 2);
      grown.set(this.kinds);
      this.kinds = grown;
    }
    this.kinds[this.depth] = kind;
    this.expect = kind === OBJ ? KEY_OR_END : VALUE_OR_END;
    return true;
  }

  /** A value begins at `i` inside the container at `this.depth` (before any push). */
  private valueStart(i: number, c: number): void {
    if (this.depth === this.splitDepth) {
      this.beginCapture(i, this.splitDepth === 1 ? 'element' : 'item', this.elementIndex++);
    }
    if (this.depth === 1 && this.topIsObject) {
      if (this.memberKey === 'kind' && c === 0x22) {
        this.kindActive = true;
        this.kindStart = i;
        this.kindBuf = '';
      } else if (this.memberKey === 'items' && c === 0x5b && this.kindIsEventList && this.splitDepth === 0) {
        // Stream the items one by one instead of holding the whole list.
        this.dropCapture();
        this.splitDepth = 2;
        this.elementIndex = 0;
      }
    }
  }

  /** A value inside the container now at `this.depth` (after any pop) ended just before `end`. */
  private valueEnd(buf: Buffer, end: number): void {
    if (this.depth === 0) {
      if (this.jsonLines === 0) this.jsonLines = this.topLine === this.line ? 1 : 2;
      if (this.capActive) this.endCapture(buf, end);
      this.topIsObject = false;
      this.splitDepth = 0;
      this.kindIsEventList = false;
      this.memberKey = '';
      this.expect = VALUE;
      return;
    }
    if (this.depth === this.splitDepth && this.capActive) this.endCapture(buf, end);
    if (this.depth === 1 && this.topIsObject) {
      if (this.kindActive) {
        this.kindActive = false;
        this.kindIsEventList = this.smallAppend(this.kindBuf, buf, this.kindStart, end) === '"EventList"';
      }
      // The streamed items array has closed.
      if (this.splitDepth === 2) this.splitDepth = 0;
    }
    this.expect = COMMA_OR_END;
  }

  private beginCapture(i: number, ctx: 'top' | 'element' | 'item', index: number): void {
    this.capActive = true;
    this.capStart = i;
    this.capParts = [];
    this.capLen = 0;
    this.capOverflow = false;
    this.capLine = this.line;
    this.capCtx = ctx;
    this.capIndex = index;
  }

  private dropCapture(): void {
    this.capActive = false;
    this.capParts = [];
    this.capLen = 0;
  }

  private endCapture(buf: Buffer, end: number): void {
    const total = this.capLen + (end - this.capStart);
    if (this.capOverflow || total > this.maxBytes) {
      const what = this.garbage ? 'line' : 'JSON value';
      this.problem(
        this.capLine,
        `${what} starting at line ${this.capLine} is larger than the limit of ${this.maxBytes} bytes; skipped`,
      );
    } else {
      const text =
        this.capParts.length === 0
          ? buf.toString('utf8', this.capStart, end)
          : Buffer.concat([...this.capParts, buf.subarray(this.capStart, end)]).toString('utf8');
      this.out.push({ kind: 'value', ctx: this.capCtx, index: this.capIndex, text, line: this.capLine });
    }
    this.dropCapture();
  }

  /** Keeps what open captures hold of this chunk before the next one arrives. */
  private carryOver(buf: Buffer): void {
    const n = buf.length;
    if (this.capActive) {
      if (!this.capOverflow) {
        this.capLen += n - this.capStart;
        if (this.capLen > this.maxBytes) {
          this.capOverflow = true;
          this.capParts = [];
        } else if (n > this.capStart) {
          // Copied: the stream may reuse its buffers.
          this.capParts.push(Buffer.from(buf.subarray(this.capStart)));
        }
      }
      this.capStart = 0;
    }
    if (this.keyActive) {
      this.keyBuf = this.smallAppend(this.keyBuf, buf, this.keyStart, n);
      this.keyStart = 0;
    }
    if (this.kindActive) {
      this.kindBuf = this.smallAppend(this.kindBuf, buf, this.kindStart, n);
      this.kindStart = 0;
    }
  }
}
