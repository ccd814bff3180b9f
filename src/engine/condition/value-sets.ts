/**
 * Which values of one field can a condition match?
 *
 * The analysis behind rule indexing (Falco's event-type index, generalized):
 * for a chosen field (`evt.type` for syscalls, `ka.target.resource` for audit
 * events), compute the set of values the field must have for the condition to
 * be true. Checks of the field with `=`, `==`, `in` or `intersects` give
 * finite sets, `!=` their complement; `and` intersects, `or` unites; `not` is
 * pushed down to the leaves (De Morgan). Checks of other fields constrain
 * nothing.
 *
 * The result also says whether the condition could be true when the field is
 * absent: an absent value makes every comparison false, so `x = a` excludes
 * absence while `not x = a` and `not x != a` include it.
 */
import type { Expr } from './ast.js';

/** A set of field values: finite (`values`) or everything except `values`. */
export interface ValueSet {
  readonly finite: boolean;
  readonly values: ReadonlySet<string>;
  /** The condition may also hold when the field has no value. */
  readonly absent: boolean;
}

const ANYTHING: ValueSet = { finite: false, values: new Set(), absent: true };

function intersect(a: ValueSet, b: ValueSet): ValueSet {
  const absent = a.absent && b.absent;
  if (a.finite && b.finite) return { finite: true, values: new Set([...a.values].filter((v) => b.values.has(v))), absent };
  if (a.finite) return { finite: true, values: new Set([...a.values].filter((v) => !b.values.has(v))), absent };
  if (b.finite) return { finite: true, values: new Set([...b.values].filter((v) => !a.values.has(v))), absent };
  return { finite: false, values: new Set([...a.values, ...b.values]), absent };
}

function unite(a: ValueSet, b: ValueSet): ValueSet {
  const absent = a.absent || b.absent;
  if (a.finite && b.finite) return { finite: true, values: new Set([...a.values, ...b.values]), absent };
  if (a.finite) return { finite: false, values: new Set([...b.values].filter((v) => !a.values.has(v))), absent };
  if (b.finite) return { finite: false, values: new Set([...a.values].filter((v) => !b.values.has(v))), absent };
  return { finite: false, values: new Set([...a.values].filter((v) => b.values.has(v))), absent };
}

/** The values of `field` under which `expr` can be true. */
export function valuesOf(expr: Expr, field: string): ValueSet {
  const visit = (node: Expr, negated: boolean): ValueSet => {
    switch (node.kind) {
      case 'and':
      case 'or': {
        const sets = node.children.map((c) => visit(c, negated));
        const useIntersection = (node.kind === 'and') !== negated;
        return sets.reduce((acc, s) => (useIntersection ? intersect(acc, s) : unite(acc, s)));
      }
      case 'not':
        return visit(node.child, !negated);
      case 'binary': {
        if (node.left.kind !== 'field' || node.left.field !== field || node.left.arg !== undefined || node.modifier) {
          return ANYTHING;
        }
        let values: readonly string[] | undefined;
        let equal = true;
        if ((node.op === '=' || node.op === '==') && node.right.kind === 'value') values = [node.right.value];
        else if (node.op === '!=' && node.right.kind === 'value') {
          values = [node.right.value];
          equal = false;
        } else if ((node.op === 'in' || node.op === 'intersects') && node.right.kind === 'list') {
          values = node.right.values;
        }
        if (!values) return ANYTHING;
        // Positive checks are false when the field is absent; negated ones true.
        const positive = equal !== negated;
        return { finite: positive, values: new Set(values), absent: negated };
      }
      default:
        return ANYTHING;
    }
  };
  return visit(expr, false);
}

/** The concrete set within a known universe of values (e.g. every event type). */
export function restrictTo(set: ValueSet, universe: readonly string[]): Set<string> {
  return new Set(universe.filter((v) => set.values.has(v) === set.finite));
}
