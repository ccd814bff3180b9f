/**
 * The query parameters of a request URI, parsed the way the upstream plugin
 * does for `ka.uri.param`: Go's `url.Parse(requestURI)` followed by
 * `url.ParseQuery(u.RawQuery)`. Upstream gives up on the whole field when
 * either call returns an error, so this returns `undefined` in the same cases.
 */

/**
 * Returns the first value of every query parameter, or `undefined` when Go
 * would fail to parse the URI or its query (control characters, a malformed
 * `%` escape, a `;` separator, a colon in the first path segment of a
 * scheme-less URI).
 */
export function parseUriQuery(uri: string): Map<string, string> | undefined {
  for (let i = 0; i < uri.length; i++) {
    const c = uri.charCodeAt(i);
    if (c < 0x20 || c === 0x7f) return undefined;
  }
  let rest = uri;
  const hash = rest.indexOf('#');
  if (hash >= 0) {
    if (!validEscapes(rest, hash + 1, rest.length)) return undefined;
    rest = rest.slice(0, hash);
  }
  if (rest === '') return new Map();

  const scheme = schemeLength(rest);
  if (scheme < 0) return undefined;
  if (scheme > 0) rest = rest.slice(scheme + 1);

  let rawQuery = '';
  const q = rest.indexOf('?');
  if (q >= 0) {
    rawQuery = rest.slice(q + 1);
    rest = rest.slice(0, q);
  }

  if (!rest.startsWith('/')) {
    // With a scheme this is an opaque URI (`mailto:x?y`), which Go does not validate further.
    if (scheme === 0) {
      const slash = rest.indexOf('/');
      const firstSegment = slash < 0 ? rest : rest.slice(0, slash);
      if (firstSegment.includes(':')) return undefined;
      if (!validEscapes(rest, 0, rest.length)) return undefined;
    }
  } else if (!validEscapes(rest, 0, rest.length)) {
    // Simplification: an authority (`//host:port/...`) is only checked for bad escapes.
    return undefined;
  }
  return parseQuery(rawQuery);
}

/** Go `getScheme`: the length of a leading `scheme:`, 0 when there is none, -1 for Go's error. */
function schemeLength(s: string): number {
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    const letter = (c >= 0x61 && c <= 0x7a) || (c >= 0x41 && c <= 0x5a);
    if (letter) continue;
    if ((c >= 0x30 && c <= 0x39) || c === 0x2b || c === 0x2d || c === 0x2e) {
      if (i === 0) return 0;
      continue;
    }
    if (c === 0x3a) return i === 0 ? -1 : i;
    return 0;
  }
  return 0;
}

function isHex(c: number): boolean {
  return (c >= 0x30 && c <= 0x39) || (c >= 0x61 && c <= 0x66) || (c >= 0x41 && c <= 0x46);
}

function validEscapes(s: string, from: number, to: number): boolean {
  for (let i = s.indexOf('%', from); i >= 0 && i < to; i = s.indexOf('%', i + 1)) {
    if (i + 2 >= to || !isHex(s.charCodeAt(i + 1)) || !isHex(s.charCodeAt(i + 2))) return false;
  }
  return true;
}

/** Go `url.ParseQuery`, keeping the first value per key; `undefined` if Go reports any error. */
function parseQuery(query: string): Map<string, string> | undefined {
  const out = new Map<string, string>();
  if (query === '') return out;
  let failed = false;
  for (const pair of query.split('&')) {
    if (pair.includes(';')) {
      failed = true;
    } else if (pair !== '') {
      const eq = pair.indexOf('=');
      const key = queryUnescape(eq < 0 ? pair : pair.slice(0, eq));
      const value = queryUnescape(eq < 0 ? '' : pair.slice(eq + 1));
      if (key === undefined || value === undefined) failed = true;
      else if (!out.has(key)) out.set(key, value);
    }
  }
  return failed ? undefined : out;
}

/**
 * Go `url.QueryUnescape`: `+` is a space, `%XX` a byte. The bytes are read as
 * UTF-8 (invalid sequences become U+FFFD, where Go would keep the raw bytes).
 */
function queryUnescape(s: string): string | undefined {
  if (!s.includes('%')) return s.includes('+') ? s.replaceAll('+', ' ') : s;
  const src = Buffer.from(s, 'utf8');
  const dst = Buffer.allocUnsafe(src.length);
  let n = 0;
  for (let i = 0; i < src.length; i++) {
    const c = src[i]!;
    if (c === 0x25) {
      if (i + 2 >= src.length || !isHex(src[i + 1]!) || !isHex(src[i + 2]!)) return undefined;
      dst[n++] = parseInt(String.fromCharCode(src[i + 1]!, src[i + 2]!), 16);
      i += 2;
    } else {
      dst[n++] = c === 0x2b ? 0x20 : c;
    }
  }
  return dst.toString('utf8', 0, n);
}
