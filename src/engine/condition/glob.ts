/**
 * Glob and path-prefix matching, compiled once per literal.
 *
 * `glob` follows POSIX fnmatch(3) with no flags, as libsinsp calls it: `*`
 * and `?` also match `/`, `[...]` classes (with `!` or `^` negation and
 * ranges), and a backslash quotes the next character. The whole value must
 * match. `iglob` is the same with FNM_CASEFOLD.
 */

type GlobToken =
  | { readonly kind: 'lit'; readonly ch: string }
  | { readonly kind: 'any' }
  | { readonly kind: 'star' }
  | { readonly kind: 'class'; readonly negate: boolean; readonly singles: ReadonlySet<string>; readonly ranges: readonly (readonly [number, number])[] };

const HAS_SURROGATES = /[\uD800-\uDFFF]/;

function chars(s: string): string[] {
  return HAS_SURROGATES.test(s) ? Array.from(s) : s.split('');
}

function tokenize(pattern: string): GlobToken[] {
  const p = chars(pattern);
  const out: GlobToken[] = [];
  for (let i = 0; i < p.length; i++) {
    const c = p[i]!;
    if (c === '*') {
      if (out[out.length - 1]?.kind !== 'star') out.push({ kind: 'star' });
    } else if (c === '?') {
      out.push({ kind: 'any' });
    } else if (c === '\\' && i + 1 < p.length) {
      out.push({ kind: 'lit', ch: p[++i]! });
    } else if (c === '[') {
      const cls = readBracket(p, i);
      if (cls) {
        out.push(cls.token);
        i = cls.end;
      } else {
        out.push({ kind: 'lit', ch: '[' });
      }
    } else {
      out.push({ kind: 'lit', ch: c });
    }
  }
  return out;
}

/**
 * Reads a bracket expression starting at index `start` ('['); undefined when
 * unterminated (the '[' is then literal, as in fnmatch). A reversed range
 * (`z-a`) matches nothing.
 */
function readBracket(p: readonly string[], start: number): { token: GlobToken; end: number } | undefined {
  let i = start + 1;
  let negate = false;
  if (p[i] === '!' || p[i] === '^') {
    negate = true;
    i++;
  }
  const singles = new Set<string>();
  const ranges: [number, number][] = [];
  let first = true;
  for (; i < p.length; i++) {
    let c = p[i]!;
    if (c === ']' && !first) return { token: { kind: 'class', negate, singles, ranges }, end: i };
    first = false;
    if (c === '\\' && i + 1 < p.length) c = p[++i]!;
    if (p[i + 1] === '-' && i + 2 < p.length && p[i + 2] !== ']') {
      let hi = p[i + 2]!;
      i += 2;
      if (hi === '\\' && i + 1 < p.length) hi = p[++i]!;
      ranges.push([c.codePointAt(0)!, hi.codePointAt(0)!]);
      continue;
    }
    singles.add(c);
  }
  return undefined;
}

function matchesToken(t: GlobToken, c: string): boolean {
  switch (t.kind) {
    case 'lit': return t.ch === c;
    case 'any': return true;
    case 'star': return false;
    case 'class': {
      let hit = t.singles.has(c);
      if (!hit) {
        const cp = c.codePointAt(0)!;
        for (const [lo, hi] of t.ranges) if (cp >= lo && cp <= hi) { hit = true; break; }
      }
      return hit !== t.negate;
    }
  }
}

/**
 * Compiles a glob into a matcher. Matching is iterative with a single
 * backtracking point per star, so it costs at most O(text × pattern) whatever
 * the input: event text is attacker-controlled, and a regular expression
 * built from a pattern with several stars can backtrack exponentially.
 */
export function compileGlob(pattern: string, caseInsensitive = false): (text: string) => boolean {
  const tokens = tokenize(caseInsensitive ? pattern.toLowerCase() : pattern);
  const m = tokens.length;
  const plain = tokens.every((t) => t.kind === 'lit');
  if (plain) {
    const lit = tokens.map((t) => (t as { ch: string }).ch).join('');
    return caseInsensitive ? (text) => text.toLowerCase() === lit : (text) => text === lit;
  }
  return (input: string): boolean => {
    const text = chars(caseInsensitive ? input.toLowerCase() : input);
    const n = text.length;
    let t = 0;
    let p = 0;
    let starP = -1;
    let starT = 0;
    while (t < n) {
      const tok = tokens[p];
      if (tok?.kind === 'star') {
        starP = p++;
        starT = t;
        continue;
      }
      if (tok && matchesToken(tok, text[t]!)) {
        p++;
        t++;
        continue;
      }
      if (starP < 0) return false;
      p = starP + 1;
      t = ++starT;
    }
    while (p < m && tokens[p]!.kind === 'star') p++;
    return p === m;
  };
}

/** True when the text has glob metacharacters. */
export function hasGlobMeta(s: string): boolean {
  return /[*?[]/.test(s);
}

type ComponentMatcher = (component: string) => boolean;

/**
 * Compiles `pmatch` patterns. A path matches a pattern when the pattern's
 * components are a prefix of the path's components; a pattern component may
 * hold glob wildcards. `/tmp/hello` matches `/tmp/hello` and `/tmp/hello/x`,
 * not `/tmp/hello_world`.
 */
export function compilePathPrefixes(patterns: readonly string[]): (path: string) => boolean {
  const compiled = patterns.map((p) => splitPath(p).map(componentMatcher));
  return (path: string): boolean => {
    const parts = splitPath(path);
    outer: for (const pattern of compiled) {
      if (pattern.length > parts.length) continue;
      for (let i = 0; i < pattern.length; i++) {
        if (!pattern[i]!(parts[i]!)) continue outer;
      }
      return true;
    }
    return false;
  };
}

function splitPath(p: string): string[] {
  return p.split('/').filter((c, i) => c !== '' || i === 0);
}

function componentMatcher(component: string): ComponentMatcher {
  if (!hasGlobMeta(component)) return (c) => c === component;
  return compileGlob(component);
}
