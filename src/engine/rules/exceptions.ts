/**
 * Exceptions → condition text, exactly as Falco builds it, so that the
 * printed condition of a rule matches Falco's:
 *
 *   (<cond>) and not (( f1 c1 v1 and f2 c2 v2) or ( ...))      list form
 *   (<cond>) and not (f in (a, b))                              single-field form
 *
 * The result is then list-substituted, parsed and macro-expanded like any
 * condition.
 */
import { LIST_MODIFIERS, LIST_OPERATORS } from '../condition/ast.js';
import type { ExceptionEntry, ExceptionInfo } from './collector.js';
import { LoadError } from './load-result.js';
import { MappedText } from './mapped-text.js';
import { quoteItem } from './lists.js';

function isListComp(op: string): boolean {
  const trimmed = op.trim();
  if ((LIST_OPERATORS as readonly string[]).includes(trimmed)) return true;
  const last = trimmed.split(/\s+/).pop() ?? '';
  return (LIST_MODIFIERS as readonly string[]).includes(last);
}

function paren(item: string): string {
  return item[0] === '(' ? item : `(${item})`;
}

/** Builds the full condition text and collects the fields the exceptions use. */
export function applyExceptions(
  cond: MappedText,
  exceptions: readonly ExceptionInfo[],
  exceptionFields: Set<string>,
): MappedText {
  const at = cond.locate(0);
  const parts: MappedText[] = [MappedText.at('(', at), cond, MappedText.at(')', at)];
  for (const ex of exceptions) {
    const where = { file: ex.ctx.file, line: ex.ctx.line, col: ex.ctx.col };
    const fields = ex.fields!;
    const comps = ex.comps!;
    let icond = '';
    if (!fields.isList) {
      for (const val of ex.values) {
        if (val.isList) throw new LoadError('LOAD_ERR_VALIDATE', 'Expected values array to contain a list of strings', ex.ctx);
        icond += icond === '' ? `(${fields.item} ${comps.item} (` : ', ';
        exceptionFields.add(fields.item);
        icond += quoteItem(val.item);
      }
      icond += icond === '' ? '' : '))';
    } else {
      icond = '(';
      for (const tuple of ex.values) {
        if (!tuple.isList || tuple.items.length !== fields.items.length) {
          throw new LoadError('LOAD_ERR_VALIDATE', 'Fields and values lists must have equal length', ex.ctx);
        }
        icond += icond === '(' ? '' : ' or ';
        icond += '(';
        fields.items.forEach((field, k) => {
          icond += k === 0 ? '' : ' and ';
          const value: ExceptionEntry = tuple.items[k]!;
          const comp = comps.items[k]!.item;
          let rendered: string;
          if (value.isList) {
            rendered = '(' + value.items.map((v) => quoteItem(v.item)).join(', ') + ')';
          } else {
            rendered = isListComp(comp) ? paren(value.item) : quoteItem(value.item);
          }
          icond += ` ${field.item} ${comp} ${rendered}`;
          exceptionFields.add(field.item);
        });
        icond += ')';
      }
      icond += ')';
      if (icond === '()') icond = '';
    }
    if (icond !== '') parts.push(MappedText.at(' and not ' + icond, where));
  }
  return MappedText.concat(parts);
}
