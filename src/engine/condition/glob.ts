/**
 * Glob and path-prefix matching, compiled once per literal.
 *
 * `glob` follows POSIX fnmatch(3) with no flags, as libsinsp calls it: `*`
 * and `?` also match `/`, `[...]` classes (with `!` or `^` negation and
 * ranges), and a backslash quotes the next character. The whole value must
 * match. `iglob` is the same with FNM_CASEFOLD.
 */

/** Translates a glob pattern into an anchored regular expression. */
export function globToRegExp(pattern: string, caseInsensitive = false): RegExp {
  let re = '';
  for (let i = 0; i < pattern.length; i++) {
    const c = pattern[i]!;
    if (c === '*') {
      re += '[\\s\\S]*';
    } else if (c === '?') {
      re += '[\\s\\S]';
    } else if (c === '\\' && i + 1 < pattern.length) {
      re += escapeRegExp(pattern[++i]!);
    } else if (c === '[') {
      const cls = readBracket(pattern, i);
      if (cls) {
        re += cls.regex;
        i = cls.end;
      } else {
        re += '\\[';
      }
    } else {
      re += escapeRegExp(c);
    }
  }
  return new RegExp('^(?:' + re + ')$', caseInsensitive ? 'iu' : 'u');
}

/**
 * Parses a bracket expression starting at `start` ('['); undefined when
 * unterminated (the '[' is then literal, as in fnmatch). Every character is
 * written as a code-point escape so no pattern text can break the RegExp; a
 * reversed range (`z-a`) matches nothing.
 */
function readBracket(pattern: string, start: number): { regex: string; end: number } | undefined {
  const chars = Array.from(pattern.slice(start + 1));
  let i = 0;
  let negate = false;
  if (chars[i] === '!' || chars[i] === '^') {
    negate = true;
    i++;
  }
  const items: string[] = [];
  let consumed = pattern.length - (start + 1) - chars.slice(i).join('').length;
  const esc = (c: string): string => `\\u{${c.codePointAt(0)!.toString(16)}}`;
  let first = true;
  while (i < chars.length) {
    let c = chars[i]!;
    if (c === ']' && !first) {
      consumed += c.length;
      const body = items.join('');
      const regex = negate ? (body ? `[^${body}]` : '[\\s\\S]') : (body ? `[${body}]` : '(?!)');
      return { regex, end: start + consumed };
    }
    first = false;
    i++;
    consumed += c.length;
    if (c === '\\' && i < chars.length) {
      c = chars[i++]!;
      consumed += c.length;
    }
    if (chars[i] === '-' && i + 1 < chars.length && chars[i + 1] !== ']') {
      let hi = chars[i + 1]!;
      consumed += 1 + hi.length;
      i += 2;
      if (hi === '\\' && i < chars.length) {
        hi = chars[i++]!;
        consumed += hi.length;
      }
      if (c.codePointAt(0)! <= hi.codePointAt(0)!) items.push(`${esc(c)}-${esc(hi)}`);
      continue;
    }
    items.push(esc(c));
  }
  return undefined;
}

/** Escapes a character outside a class; only syntax characters may be escaped in unicode mode. */
function escapeRegExp(c: string): string {
  return /[\\^$.*+?()[\]{}|/]/.test(c) ? '\\' + c : c;
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
  const re = globToRegExp(component);
  return (c) => re.test(c);
}
