/**
 * Quoted-string escapes of the condition language.
 *
 * Follows libsinsp's rules: `\b \f \n \r \t \\ \/`, `\"` only inside
 * double-quoted strings and `\'` only inside single-quoted ones, and the
 * legacy `\ ` (backslash-space) that yields a backslash, kept because real
 * rules files still contain it. Unlike libsinsp, `\xHH` is accepted.
 */

export class EscapeError extends Error {
  /** Offset of the offending backslash within the quoted token. */
  readonly offset: number;
  constructor(message: string, offset: number) {
    super(message);
    this.name = 'EscapeError';
    this.offset = offset;
  }
}

/**
 * Removes the quotes and resolves escapes of a quoted token (`"..."` or
 * `'...'`, quotes included in the input).
 */
export function unescapeQuoted(token: string): string {
  const quote = token[0];
  let out = '';
  const end = token.length - 1;
  for (let i = 1; i < end; i++) {
    const c = token[i];
    if (c !== '\\') {
      out += c;
      continue;
    }
    const e = token[++i];
    switch (e) {
      case 'b': out += '\b'; break;
      case 'f': out += '\f'; break;
      case 'n': out += '\n'; break;
      case 'r': out += '\r'; break;
      case 't': out += '\t'; break;
      case ' ':
        // Legacy: upstream rules once wrote "\ " meaning a backslash. libsinsp
        // keeps accepting it, so do we.
        out += '\\';
        break;
      case '\\': out += '\\'; break;
      case '/': out += '/'; break;
      case '"':
        if (quote !== '"') throw new EscapeError(`invalid \\" escape in '-quoted string`, i - 1);
        out += '"';
        break;
      case "'":
        if (quote !== "'") throw new EscapeError(`invalid \\' escape in "-quoted string`, i - 1);
        out += "'";
        break;
      case 'x': {
        const hex = token.slice(i + 1, i + 3);
        if (i + 2 >= end + 1 || !/^[0-9a-fA-F]{2}$/.test(hex)) {
          throw new EscapeError('invalid \\x escape: expected two hexadecimal digits', i - 1);
        }
        out += String.fromCharCode(parseInt(hex, 16));
        i += 2;
        break;
      }
      default:
        throw new EscapeError(`unsupported string escape sequence: \\${e ?? ''}`, i - 1);
    }
  }
  return out;
}
