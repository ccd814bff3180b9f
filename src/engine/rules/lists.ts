/**
 * Lists: flattening and textual substitution into conditions.
 *
 * Falco substitutes list names into condition text before parsing, and
 * Tiercel does the same so that every rules file behaves identically: each
 * occurrence of a list name delimited by start/end of text or one of
 * ` \t\n\r(),=` becomes the list's items joined by ", " (items with spaces
 * are quoted). An empty list also removes one neighbouring comma. Because
 * the substitution is textual, an unknown name inside parentheses simply
 * stays a literal value.
 */
import type { ListInfo } from './collector.js';
import { MappedText } from './mapped-text.js';

export interface CompiledList {
  readonly name: string;
  readonly items: readonly string[];
  used: boolean;
}

const BLANKS = ' \t\n\r';
const DELIMS = BLANKS + '(),=';

/** Falco's quote_item: quote items with a space unless already quoted. */
export function quoteItem(item: string): string {
  if (item.includes(' ') && item[0] !== '"' && item[0] !== "'") return `"${item}"`;
  return item;
}

/**
 * Flattens lists in definition order: an item naming a list defined before
 * this list's visibility is replaced by that list's items (one level, as in
 * Falco; deeper references were already flattened when those lists were
 * defined from still-earlier lists).
 */
export function compileLists(infos: readonly ListInfo[]): Map<string, CompiledList> {
  const byName = new Map(infos.map((l) => [l.name, l]));
  const out = new Map<string, CompiledList>();
  const usedByLists = new Set<string>();
  for (const list of infos) {
    const items: string[] = [];
    for (const item of list.items) {
      const ref = byName.get(item);
      if (ref && ref.index < list.visibility) {
        usedByLists.add(ref.name);
        items.push(...ref.items);
      } else {
        items.push(item);
      }
    }
    out.set(list.name, { name: list.name, items, used: false });
  }
  for (const name of usedByLists) out.get(name)!.used = true;
  return out;
}

/** Substitutes every list into the condition, in definition order. */
export function substituteLists(cond: MappedText, lists: Iterable<CompiledList>): MappedText {
  let current = cond;
  for (const list of lists) {
    const next = substituteOne(current, list);
    if (next !== current) {
      list.used = true;
      current = next;
    }
  }
  return current;
}

function substituteOne(cond: MappedText, list: CompiledList): MappedText {
  let text = cond.text;
  // origin[i] = index in the input text that character i of `text` comes from.
  let origin = Int32Array.from({ length: text.length }, (_, i) => i);
  const name = list.name;
  if (name === '' || !text.includes(name)) return cond;
  const sub = list.items.map(quoteItem).join(', ');
  let changed = false;
  let start = text.indexOf(name);
  while (start >= 0) {
    let end = start + name.length;
    const before = start === 0 || DELIMS.includes(text[start - 1]!);
    const after = end >= text.length || DELIMS.includes(text[end]!);
    if (before && after) {
      while (start > 0 && BLANKS.includes(text[start - 1]!)) start--;
      while (end < text.length && BLANKS.includes(text[end]!)) end++;
      if (sub === '') {
        if (start > 0 && text[start - 1] === ',') start--;
        else if (end < text.length && text[end] === ',') end++;
      }
      const prefix = start > 0 ? text.slice(0, start) + ' ' : '';
      const anchor = origin[Math.min(start, origin.length - 1)] ?? 0;
      const inserted = sub + ' ';
      const newText = prefix + inserted + text.slice(end);
      const newOrigin = new Int32Array(newText.length);
      newOrigin.set(origin.subarray(0, start), 0);
      let k = start;
      if (start > 0) newOrigin[k++] = anchor;
      for (let m = 0; m < inserted.length; m++) newOrigin[k++] = anchor;
      newOrigin.set(origin.subarray(end), k);
      text = newText;
      origin = newOrigin;
      changed = true;
      start = prefix.length + sub.length;
    }
    start = text.indexOf(name, start + 1);
  }
  return changed ? cond.rewrite(text, origin) : cond;
}
