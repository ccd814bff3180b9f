/**
 * Condition text that remembers where each character came from.
 *
 * Falco builds the condition it parses textually: appended conditions are
 * joined with a space, exceptions are turned into `and not (...)` clauses and
 * list names are substituted by their items. Tiercel does the same
 * transformations, and keeps a map from every character of the result back
 * to a file, line and column, so errors point into the rules file.
 */
import type { SourceLocation } from '../condition/ast.js';

export type Locate = (idx: number) => SourceLocation;

export class MappedText {
  constructor(
    readonly text: string,
    private readonly mapFn: Locate,
  ) {}

  /** Text whose characters all point at one location (generated text). */
  static at(text: string, where: SourceLocation): MappedText {
    return new MappedText(text, () => where);
  }

  locate(idx: number): SourceLocation {
    return this.mapFn(Math.max(0, Math.min(idx, Math.max(0, this.text.length - 1))));
  }

  /** Concatenates pieces; each keeps its own mapping. */
  static concat(parts: readonly MappedText[]): MappedText {
    const starts: number[] = [];
    let text = '';
    for (const p of parts) {
      starts.push(text.length);
      text += p.text;
    }
    const map: Locate = (idx) => {
      let k = parts.length - 1;
      while (k > 0 && starts[k]! > idx) k--;
      // Skip empty pieces so an index lands in the piece that holds it.
      while (k > 0 && parts[k]!.text.length === 0) k--;
      return parts[k]!.locate(idx - starts[k]!);
    };
    return new MappedText(text, map);
  }

  /**
   * Builds new text from this one through a list of edits, each replacing
   * the range [start, end) of the current text with `insert`. Inserted
   * characters map to the start of the range they replaced.
   */
  rewrite(text: string, origin: Int32Array): MappedText {
    const base = this;
    return new MappedText(text, (idx) => base.locate(origin[Math.min(idx, origin.length - 1)] ?? 0));
  }
}
