/**
 * Which event types can a condition match?
 *
 * Follows libsinsp's ppm_codes analysis: checks of the event-type field with
 * `=`, `==`, `in` (and `!=`, negated) give explicit sets; `and` intersects,
 * `or` unites; `not` is pushed down to the leaves (De Morgan) and inverts
 * only leaves that constrain the event type. Checks on any other field are
 * neutral (every type). Used to index syscall rules by event type and to
 * tell the sensor which syscalls to capture.
 */
import type { Expr } from './ast.js';

export function eventTypesOf(
  expr: Expr,
  universe: readonly string[],
  typeField = 'evt.type',
): Set<string> {
  const all = new Set(universe);
  const visit = (node: Expr, negated: boolean): Set<string> => {
    switch (node.kind) {
      case 'and':
      case 'or': {
        const sets = node.children.map((c) => visit(c, negated));
        // Under negation, De Morgan swaps the connective.
        const intersect = (node.kind === 'and') !== negated;
        return sets.reduce((acc, s) => (intersect ? intersection(acc, s) : union(acc, s)));
      }
      case 'not':
        return visit(node.child, !negated);
      case 'binary': {
        if (node.left.kind !== 'field' || node.left.field !== typeField) return new Set(all);
        let values: string[] | undefined;
        let positive = true;
        if ((node.op === '=' || node.op === '==') && node.right.kind === 'value') values = [node.right.value];
        else if (node.op === '!=' && node.right.kind === 'value') {
          values = [node.right.value];
          positive = false;
        } else if ((node.op === 'in' || node.op === 'intersects') && node.right.kind === 'list') {
          values = node.right.values;
        }
        if (!values) return new Set(all);
        const set = new Set(values.filter((v) => all.has(v)));
        return positive !== negated ? set : difference(all, set);
      }
      default:
        return new Set(all);
    }
  };
  return visit(expr, false);
}

function intersection(a: Set<string>, b: Set<string>): Set<string> {
  const out = new Set<string>();
  for (const x of a) if (b.has(x)) out.add(x);
  return out;
}

function union(a: Set<string>, b: Set<string>): Set<string> {
  const out = new Set(a);
  for (const x of b) out.add(x);
  return out;
}

function difference(a: Set<string>, b: Set<string>): Set<string> {
  const out = new Set<string>();
  for (const x of a) if (!b.has(x)) out.add(x);
  return out;
}
