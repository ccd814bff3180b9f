/**
 * The json plugin's fields (`json.value`, `json.obj`, `json.rawtime` and their
 * `jevt.*` aliases, json plugin 0.7.4) and Tiercel's own `ka.jsonpath`.
 *
 * The json fields read any event (no `auditID` gate): upstream applies them to
 * every JSON payload.
 */
import { JSONPath } from 'jsonpath-plus';
import { FieldError } from '../engine/fields.js';
import type { AuditEvent } from './event.js';
import { type AuditExtractor, type AuditField, field } from './field-def.js';
import { type KeyStep, keyStep, renderJson, stepKey } from './json-walk.js';

/**
 * Parses a JSON pointer argument as the json plugin does: a leading `/` is
 * optional, tokens are split on `/` and unescaped `~1` → `/` then `~0` → `~`.
 * An empty token is a lookup of the empty key. On arrays a token is an index
 * when Go's `strconv.Atoi` accepts it.
 */
export function parseJsonPointer(pointer: string): readonly KeyStep[] {
  const body = pointer.startsWith('/') ? pointer.slice(1) : pointer;
  return body.split('/').map((t) => keyStep(t.replaceAll('~1', '/').replaceAll('~0', '~')));
}

function bindValue(name: string, arg: string | undefined): AuditExtractor {
  if (arg === undefined || arg === '') {
    throw new FieldError(`${name} requires a JSON pointer argument, e.g. ${name}[/user/username]`);
  }
  const steps = parseJsonPointer(arg);
  const s0 = steps[0]!;
  const s1 = steps[1]!;
  const s2 = steps[2]!;
  switch (steps.length) {
    case 1:
      return (e) => renderJson(stepKey(e.obj, s0));
    case 2:
      return (e) => renderJson(stepKey(stepKey(e.obj, s0), s1));
    case 3:
      return (e) => renderJson(stepKey(stepKey(stepKey(e.obj, s0), s1), s2));
    default:
      return (e) => {
        let v: unknown = e.obj;
        for (let i = 0; i < steps.length && v !== undefined; i++) v = stepKey(v, steps[i]!);
        return renderJson(v);
      };
  }
}

const indented = (): AuditExtractor => (e) => e.indentedJson;
const rawtime = (): AuditExtractor => (e) => e.rawtime;

/** `json.*` and `jevt.*`, in the json plugin's order. */
export const jsonFields: readonly AuditField[] = [
  field({
    name: 'json.value',
    desc: 'Value at a JSON pointer in the event (json.value[/user/username]); non-strings as JSON text',
    arg: 'key',
    bind: (arg) => bindValue('json.value', arg),
  }),
  field({ name: 'json.obj', desc: 'The whole event as JSON indented by two spaces', cache: false, bind: indented }),
  field({ name: 'json.rawtime', desc: 'Event time in nanoseconds since the epoch, as decimal text', cache: false, bind: rawtime }),
  field({
    name: 'jevt.value',
    desc: 'Same as json.value (older name)',
    arg: 'key',
    bind: (arg) => bindValue('jevt.value', arg),
  }),
  field({ name: 'jevt.obj', desc: 'Same as json.obj (older name)', cache: false, bind: indented }),
  field({ name: 'jevt.rawtime', desc: 'Same as json.rawtime (older name)', cache: false, bind: rawtime }),
];

// ---------------------------------------------------------------------------
// ka.jsonpath

/**
 * The names jsonpath-plus substitutes for `@`, `@root`, `@property`, ... in a
 * filter script; the only identifiers a script may use.
 */
const SCRIPT_IDENTIFIERS = new Set([
  '_$_v',
  '_$_root',
  '_$_property',
  '_$_parent',
  '_$_parentProperty',
  '_$_path',
]);

/** Properties a script may never read, even when the value has them as own keys. */
const BLOCKED_PROPERTIES = new Set([
  'constructor',
  '__proto__',
  'prototype',
  '__defineGetter__',
  '__defineSetter__',
  '__lookupGetter__',
  '__lookupSetter__',
]);

/**
 * Methods a script may call: pure, cheap string/array queries. No regular
 * expressions anywhere (event text is attacker controlled: no ReDoS), no
 * `repeat`/`padStart` (memory), no assignment, no compound statements.
 */
const ALLOWED_METHODS = new Set([
  'startsWith',
  'endsWith',
  'includes',
  'indexOf',
  'lastIndexOf',
  'toLowerCase',
  'toUpperCase',
  'trim',
]);

const BINARY_OPERATORS = new Set([
  '||', '&&', '|', '^', '&', '==', '!=', '===', '!==', '<', '>', '<=', '>=',
  '<<', '>>', '>>>', '+', '-', '*', '/', '%',
]);
const UNARY_OPERATORS = new Set(['-', '!', '~', '+', 'typeof']);

interface JsepNode {
  readonly type: string;
  readonly [key: string]: unknown;
}

function checkScriptNode(node: unknown, depth: number): void {
  if (depth > 64) throw new Error('expression nested too deeply');
  const n = node as JsepNode;
  switch (n?.type) {
    case 'Literal': {
      const v = n['value'];
      if (v instanceof RegExp) throw new Error('regular expressions are not allowed');
      return;
    }
    case 'Identifier':
      if (!SCRIPT_IDENTIFIERS.has(String(n['name']))) {
        throw new Error(`unknown name '${String(n['name'])}' (use @, @root, @property, @parent, @parentProperty, @path)`);
      }
      return;
    case 'MemberExpression': {
      checkScriptNode(n['object'], depth + 1);
      const prop = n['property'] as JsepNode;
      let key: unknown;
      if (n['computed'] === true) {
        if (prop?.type !== 'Literal' || (typeof prop['value'] !== 'string' && typeof prop['value'] !== 'number')) {
          throw new Error('computed member access must use a literal key');
        }
        key = prop['value'];
      } else {
        key = prop?.['name'];
      }
      if (BLOCKED_PROPERTIES.has(String(key))) throw new Error(`property '${String(key)}' is not allowed`);
      return;
    }
    case 'CallExpression': {
      const callee = n['callee'] as JsepNode;
      const method = callee?.type === 'MemberExpression' && callee['computed'] !== true
        ? String((callee['property'] as JsepNode)?.['name'])
        : undefined;
      if (method === undefined || !ALLOWED_METHODS.has(method)) {
        throw new Error(`only these methods may be called: ${[...ALLOWED_METHODS].join(', ')}`);
      }
      checkScriptNode(callee['object'], depth + 1);
      const args = n['arguments'] as unknown[];
      if (!Array.isArray(args) || args.length > 2) throw new Error('too many arguments');
      for (const a of args) checkScriptNode(a, depth + 1);
      return;
    }
    case 'BinaryExpression':
    case 'LogicalExpression':
      if (!BINARY_OPERATORS.has(String(n['operator']))) throw new Error(`operator '${String(n['operator'])}' is not allowed`);
      checkScriptNode(n['left'], depth + 1);
      checkScriptNode(n['right'], depth + 1);
      return;
    case 'UnaryExpression':
      if (!UNARY_OPERATORS.has(String(n['operator']))) throw new Error(`operator '${String(n['operator'])}' is not allowed`);
      checkScriptNode(n['argument'], depth + 1);
      return;
    case 'ConditionalExpression':
      checkScriptNode(n['test'], depth + 1);
      checkScriptNode(n['consequent'], depth + 1);
      checkScriptNode(n['alternate'], depth + 1);
      return;
    case 'ArrayExpression':
      for (const el of n['elements'] as unknown[]) checkScriptNode(el, depth + 1);
      return;
    default:
      throw new Error(`${n?.type ?? 'this'} expressions are not allowed`);
  }
}

interface ScriptRunner {
  readonly ast: unknown;
  runInNewContext(context: object): unknown;
}

/**
 * jsonpath-plus's own interpreter for its `eval: 'safe'` mode (no `eval`, no
 * `vm`). It is reached through the prototype because the package does not
 * export it (package.json pins the exact version). Should a future version
 * move it, filter scripts are refused at bind time with a clear error rather
 * than the module failing to load.
 */
const SafeScript = (JSONPath as unknown as { prototype?: { safeVm?: { Script?: new (code: string) => ScriptRunner } } })
  .prototype?.safeVm?.Script;

/**
 * The `eval` class handed to jsonpath-plus: its safe-mode interpreter, after
 * checking the parsed script against the allow-list above. jsonpath-plus
 * compiles every filter and dynamic-index script through it, at bind time (our
 * check) and again at first use (its cache), so a script that is not allowed
 * can never run. Native `eval`/`vm` are never used.
 */
class GuardedScript {
  private readonly runner: ScriptRunner;

  constructor(code: string) {
    if (!SafeScript) {
      throw new Error('JSONPath filter and script expressions are not available with this jsonpath-plus version');
    }
    const runner = new SafeScript(code);
    checkScriptNode(runner.ast, 0);
    this.runner = runner;
  }

  runInNewContext(context: object): unknown {
    return this.runner.runInNewContext(context);
  }
}

/** The script text jsonpath-plus evaluates for a `?(...)` or `(...)` path segment. */
function scriptOf(code: string): string {
  let script = code
    .replaceAll('@parentProperty', '_$_parentProperty')
    .replaceAll('@parent', '_$_parent')
    .replaceAll('@property', '_$_property')
    .replaceAll('@root', '_$_root')
    .replaceAll(/@([.\s)[])/gu, '_$_v$1');
  if (code.includes('@path')) script = script.replaceAll('@path', '_$_path');
  return script;
}

const VALUE_TYPES = new Set([
  '@null()', '@boolean()', '@number()', '@string()', '@integer()', '@undefined()',
  '@nonFinite()', '@scalar()', '@array()', '@object()', '@function()',
]);

/** Brackets, parentheses and quotes must pair up (jsonpath-plus itself silently accepts `$.a[`). */
function checkBalanced(path: string): void {
  const stack: string[] = [];
  let quote = '';
  for (const ch of path) {
    if (quote !== '') {
      if (ch === quote) quote = '';
      continue;
    }
    if (ch === "'" || ch === '"') quote = ch;
    else if (ch === '[' || ch === '(') stack.push(ch);
    else if (ch === ']' || ch === ')') {
      if (stack.pop() !== (ch === ']' ? '[' : '(')) throw new Error(`unbalanced '${ch}'`);
    }
  }
  if (quote !== '') throw new Error('unterminated quote');
  if (stack.length > 0) throw new Error(`unclosed '${stack[stack.length - 1]}'`);
}

/** Compiles every script of a path through {@link GuardedScript}, as jsonpath-plus would find them. */
function checkSegments(segments: readonly string[]): void {
  for (const seg of segments) {
    if (seg === '') throw new Error('empty path segment');
    if (seg.startsWith('?(')) {
      const safeLoc = seg.replace(/^\?\((.*?)\)$/u, '$1');
      // jsonpath-plus runs a nested filter (`[?(@.a[?(@.b)])]`) on its inner part only.
      const nested = /@.?([^?]*)[['](\??\(.*?\))(?!.\)\])[\]']/u.exec(safeLoc);
      const code = nested === null ? safeLoc : nested[2]!.replace(/^\?\((.*?)\)$/u, '$1');
      new GuardedScript(scriptOf(code));
    } else if (seg.startsWith('(')) {
      new GuardedScript(scriptOf(seg));
    } else if (seg.startsWith('@') && seg.endsWith('()') && !VALUE_TYPES.has(seg)) {
      throw new Error(`unsupported type selector ${seg}`);
    }
  }
}

const SLICE = /^(-?\d*):(-?\d*):?(\d*)$/u;

/** A path segment the fast evaluator handles: a plain name or index, `*` or `..`. */
function isFastSegment(seg: string): boolean {
  if (seg === '*' || seg === '..') return true;
  if (seg === '' || seg === '$' || seg === '^' || seg === '~' || seg.includes(',') || SLICE.test(seg)) return false;
  const c = seg[0];
  return c !== '?' && c !== '(' && c !== '@' && c !== '`';
}

/**
 * jsonpath-plus's `_trace` restricted to names, `*` and `..`, with the same
 * results in the same order, but without its per-step array copies and
 * result objects. `literal` is `_trace`'s `literalPriority`: after a `*` or a
 * followed name, a member literally named like the next segment wins.
 */
function fastTrace(segs: readonly string[], i: number, val: unknown, literal: boolean, out: unknown[]): void {
  if (i === segs.length) {
    out.push(val);
    return;
  }
  const loc = segs[i]!;
  if (literal && val && Object.hasOwn(val as object, loc)) {
    fastTrace(segs, i + 1, (val as Record<string, unknown>)[loc], false, out);
  } else if (loc === '*') {
    if (Array.isArray(val)) {
      for (let k = 0; k < val.length; k++) fastTrace(segs, i + 1, val[k], true, out);
    } else if (val && typeof val === 'object') {
      for (const k of Object.keys(val)) fastTrace(segs, i + 1, (val as Record<string, unknown>)[k], true, out);
    }
  } else if (loc === '..') {
    fastTrace(segs, i + 1, val, false, out);
    if (Array.isArray(val)) {
      for (let k = 0; k < val.length; k++) if (typeof val[k] === 'object') fastTrace(segs, i, val[k], false, out);
    } else if (val && typeof val === 'object') {
      for (const k of Object.keys(val)) {
        const child = (val as Record<string, unknown>)[k];
        if (typeof child === 'object') fastTrace(segs, i, child, false, out);
      }
    }
  } else if (!literal && val && Object.hasOwn(val as object, loc)) {
    fastTrace(segs, i + 1, (val as Record<string, unknown>)[loc], true, out);
  }
}

/**
 * Prepares a JSONPath expression once: validates it, compiles its scripts and
 * returns the evaluator for one event (`undefined` when evaluation fails, e.g.
 * on nesting too deep). Throws {@link FieldError}.
 *
 * Paths of names, indices, `*` and `..` only (the common case) run on
 * {@link fastTrace}; anything else runs on jsonpath-plus.
 */
export function compileJsonPath(path: string): (root: object) => unknown[] | undefined {
  if (!path.startsWith('$')) throw new FieldError(`ka.jsonpath[${path}]: a JSONPath must start with '$'`);
  // Called without `new`, with autostart off, JSONPath returns its instance.
  const jp = JSONPath({
    autostart: false,
    path,
    json: null,
    resultType: 'value',
    wrap: true,
    flatten: false,
    eval: GuardedScript,
    ignoreEvalErrors: true,
  });
  let segments: string[];
  try {
    checkBalanced(path);
    segments = JSONPath.toPathArray(path);
    checkSegments(segments);
    // A trial run catches what only evaluation reports (e.g. malformed slices).
    jp.evaluate(path, { _: [] }, undefined, undefined);
  } catch (err) {
    throw new FieldError(`ka.jsonpath[${path}]: invalid JSONPath: ${(err as Error).message}`);
  }
  if (segments[0] === '$' && segments.length > 1) segments.shift();
  if (segments[0] !== '$' && segments.every(isFastSegment)) {
    const segs = segments;
    return (root) => {
      const out: unknown[] = [];
      try {
        fastTrace(segs, 0, root, false, out);
      } catch {
        return undefined;
      }
      return out;
    };
  }
  const self = jp as unknown as { json: unknown };
  return (root) => {
    // jsonpath-plus reads `@root` from the instance, not from evaluate()'s argument.
    self.json = root;
    try {
      const r: unknown = jp.evaluate(path, root, undefined, undefined);
      return Array.isArray(r) ? r : undefined;
    } catch {
      return undefined;
    } finally {
      self.json = null;
    }
  };
}

/**
 * The reference evaluation of a path by jsonpath-plus alone, for tests that
 * check the fast evaluator against it.
 */
export function jsonPathPlusValues(path: string, root: object): unknown[] | undefined {
  const r: unknown = JSONPath({ path, json: root as object, eval: false, wrap: true });
  return Array.isArray(r) ? r : undefined;
}

/** `ka.jsonpath[<JSONPath>]`: Tiercel's own, every match of a JSONPath. */
export const kaJsonPath: AuditField = field({
  name: 'ka.jsonpath',
  desc: 'Every value matched by a JSONPath in the event (ka.jsonpath[$.requestObject.spec.containers[*].image])',
  list: true,
  arg: 'key',
  bind: (arg) => {
    if (arg === undefined || arg.trim() === '') {
      throw new FieldError('ka.jsonpath requires a JSONPath argument, e.g. ka.jsonpath[$.user.groups[*]]');
    }
    const run = compileJsonPath(arg);
    return (e: AuditEvent) => {
      if (!e.hasAuditID) return undefined;
      const found = run(e.obj);
      if (found === undefined || found.length === 0) return undefined;
      let out: string[] | undefined;
      for (let i = 0; i < found.length; i++) {
        const s = renderJson(found[i]);
        if (s !== undefined) (out ??= []).push(s);
      }
      return out;
    };
  },
});
