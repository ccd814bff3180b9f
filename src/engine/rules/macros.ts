/**
 * Macro expansion on ASTs (Falco's filter_macro_resolver).
 *
 * Each identifier check is replaced by a copy of the macro's AST; the copy is
 * expanded too, with the same set of visible macros. A macro reached again
 * while it is being expanded is a reference loop.
 */
import { type Expr, type Node, type Pos, clone } from '../condition/ast.js';

export interface MacroResolution {
  /** Names of the macros the expansion used. */
  readonly used: Set<string>;
  /** First problem, if any: an undefined macro or a loop. */
  readonly error?: { readonly message: string; readonly node: Node };
}

/** Resolves macros in place; returns the new root and what happened. */
export function resolveMacros(
  root: Expr,
  visible: (name: string) => Expr | undefined,
): { expr: Expr; resolution: MacroResolution } {
  const used = new Set<string>();
  const stack: string[] = [];
  let error: MacroResolution['error'];

  const expand = (node: Expr): Expr => {
    if (error) return node;
    switch (node.kind) {
      case 'and':
      case 'or':
        for (let i = 0; i < node.children.length; i++) node.children[i] = expand(node.children[i]!);
        return node;
      case 'not':
        (node as { child: Expr }).child = expand(node.child);
        return node;
      case 'identifier': {
        const body = visible(node.name);
        if (!body) {
          error = { message: `Undefined macro '${node.name}' used in filter.`, node };
          return node;
        }
        if (stack.includes(node.name)) {
          error = { message: `reference loop in macro '${node.name}'`, node };
          return node;
        }
        used.add(node.name);
        stack.push(node.name);
        const expanded = expand(clone(body));
        stack.pop();
        return expanded;
      }
      default:
        return node;
    }
  };

  const expr = expand(root);
  return { expr, resolution: error ? { used, error } : { used } };
}

/** The position of a node, for error contexts. */
export function nodePos(node: Node): Pos {
  return node.pos;
}
