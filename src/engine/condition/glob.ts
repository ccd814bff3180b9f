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

/** Parses a bracket expression starting at `start` ('['); undefined when unterminated. */
function readBracket(pattern: string, start: number): { regex: string; end: number } | undefined {
  let i = start + 1;
  let negate = false;
  if (pattern[i] === '!' || pattern[i] === '^') {
    negate = true;
    i++;
  }
  let body = '';
  let first = true;
  for (; i < pattern.length; i++) {
    const c = pattern[i]!;
    if (c === ']' && !first) {
      return { regex: '[' + (negate ? '^' : '') + body + ']', end: i };
    }
    first = false;
    if (c === '\\' && i + 1 < pattern.length) {
      body += escapeClassChar(pattern[++i]!);
    } else if (c === '-' && body !== '' && pattern[i + 1] !== ']' && i + 1 < pattern.length) {
      body += '-';
    } else {
      body += escapeClassChar(c);
    }
  }
  return undefined;
}

function escapeRegExp(c: string): string {
  return /[\\^$.*+?()[\]{}|/-]/.test(c) ? '\\' + c : c;
}

function escapeClassChar(c: string): string {
  return /[\\\]^[-]/.test(c) ? '\\' + c : c;
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
