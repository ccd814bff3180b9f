/**
 * YAML access for rules files, keeping node positions.
 *
 * Documents are parsed with the failsafe schema, so every scalar stays text,
 * as yaml-cpp (Falco's YAML library) sees it; the reader converts values
 * when it knows what a key means. Positions are 1-based lines and columns.
 */
import {
  LineCounter, type Node as YamlNode, type Pair, Scalar, YAMLMap, YAMLSeq, isMap, isScalar, isSeq,
  parseAllDocuments,
} from 'yaml';

export type { YamlNode };
export { Scalar, YAMLMap, YAMLSeq, isMap, isScalar, isSeq };

export interface LineCol {
  readonly line: number;
  readonly col: number;
}

/** One parsed file: its documents, or the first syntax error. */
export interface ParsedYaml {
  readonly documents: (YamlNode | null)[];
  readonly error?: { message: string; at: LineCol };
  /** Maps an offset in the file to a line and column. */
  readonly locate: (offset: number) => LineCol;
  readonly text: string;
}

export function parseYaml(text: string): ParsedYaml {
  const lines = new LineCounter();
  const locate = (offset: number): LineCol => {
    const p = lines.linePos(offset);
    return { line: p.line, col: p.col };
  };
  const docs = parseAllDocuments(text, {
    lineCounter: lines,
    schema: 'failsafe',
    uniqueKeys: false,
    prettyErrors: false,
    strict: false,
  });
  const list = Array.isArray(docs) ? docs : [];
  for (const doc of list) {
    const err = doc.errors[0];
    if (err) {
      const firstLine = err.message.split('\n')[0] ?? err.message;
      return { documents: [], error: { message: firstLine, at: locate(err.pos[0]) }, locate, text };
    }
  }
  return { documents: list.map((d) => (d.contents as YamlNode | null) ?? null), locate, text };
}

/** Start offset of a node, or 0 when it has none. */
export function nodeOffset(node: YamlNode | null | undefined): number {
  return node?.range?.[0] ?? 0;
}

/** True for YAML null: a missing value, `~`, `null`, or an empty plain scalar. */
export function isNull(node: YamlNode | null | undefined): boolean {
  if (node === null || node === undefined) return true;
  if (!isScalar(node)) return false;
  if (node.type !== 'PLAIN') return false;
  const v = node.value;
  return v === null || v === '' || v === '~' || v === 'null' || v === 'Null' || v === 'NULL';
}

/** The pair for a key in a mapping (first one wins for duplicate keys, as in yaml-cpp). */
export function getPair(map: YAMLMap, key: string): Pair | undefined {
  for (const item of map.items) {
    const k = item.key;
    const name = isScalar(k) ? String(k.value) : k;
    if (name === key) return item as Pair;
  }
  return undefined;
}

export function hasKey(map: YAMLMap, key: string): boolean {
  return getPair(map, key) !== undefined;
}

/** Keys of a mapping, in order. */
export function keysOf(map: YAMLMap): string[] {
  return map.items.map((p) => (isScalar(p.key) ? String(p.key.value) : String(p.key)));
}

/** Text of a scalar node. */
export function scalarText(node: YamlNode): string {
  return String((node as Scalar).value ?? '');
}

/**
 * Maps offsets within a scalar's value back to the file, for conditions.
 *
 * The value of a YAML scalar differs from its source text (quotes, escapes,
 * folded lines, block indentation). Non-blank characters are matched in
 * order against the source text, which is exact for every form real rules
 * files use; where matching fails the scalar's start is returned.
 */
export class ScalarLocator {
  private map: Int32Array | undefined;

  constructor(
    private readonly file: ParsedYaml,
    private readonly node: YamlNode,
    private readonly value: string,
  ) {}

  /** File position of the character at `idx` in the scalar's value. */
  locate(idx: number): LineCol {
    const start = nodeOffset(this.node);
    if (!this.map) this.map = this.build(start);
    const clamped = Math.max(0, Math.min(idx, this.value.length - 1));
    const offset = this.value.length === 0 ? start : this.map[clamped]!;
    return this.file.locate(offset >= 0 ? offset : start);
  }

  private build(start: number): Int32Array {
    const src = this.file.text;
    const end = this.node.range?.[1] ?? src.length;
    const out = new Int32Array(Math.max(1, this.value.length)).fill(-1);
    let j = start;
    const type = isScalar(this.node) ? this.node.type : undefined;
    if (type === 'BLOCK_LITERAL' || type === 'BLOCK_FOLDED') {
      const nl = src.indexOf('\n', j);
      j = nl < 0 ? end : nl + 1;
    } else if (type === 'QUOTE_DOUBLE' || type === 'QUOTE_SINGLE') {
      j++;
    }
    let lastGood = start;
    for (let i = 0; i < this.value.length; i++) {
      const c = this.value[i]!;
      if (/\s/.test(c)) {
        out[i] = lastGood;
        continue;
      }
      let k = j;
      const limit = Math.min(end, j + 64);
      while (k < limit && src[k] !== c) k++;
      if (k < limit) {
        out[i] = k;
        lastGood = k;
        j = k + 1;
      } else {
        out[i] = lastGood;
      }
    }
    return out;
  }
}
