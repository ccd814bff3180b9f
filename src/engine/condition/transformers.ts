/**
 * Field transformers: `tolower`, `toupper`, `b64`, `basename`, `len`.
 *
 * Each one is checked against its input type at compile time and wraps the
 * input extractor in a closure. String transformers apply element-wise to
 * list fields; `len` turns anything into one number.
 */
import type { Extractor, FieldType, FieldValue, Scalar } from '../fields.js';

export interface TypedExtractor {
  readonly extract: Extractor;
  readonly type: FieldType;
  readonly isList: boolean;
  /** Arrays from this operand are alternatives, not a list (see FieldDef.anyOf). */
  readonly anyOf?: { readonly notEqualNeedsAll: boolean };
}

export class TransformerError extends Error {}

const STRINGISH: ReadonlySet<FieldType> = new Set(['string', 'path']);

function mapValue(v: FieldValue, fn: (s: string) => string | undefined): FieldValue {
  if (v === undefined) return undefined;
  if (Array.isArray(v)) {
    const out: string[] = [];
    for (const item of v as readonly Scalar[]) {
      const r = fn(String(item));
      if (r !== undefined) out.push(r);
    }
    return out;
  }
  return fn(String(v));
}

function decodeBase64(s: string): string | undefined {
  // Buffer.from is lenient; reject what is not canonical base64 so that a
  // decode "failure" means "not available", as in libsinsp.
  const trimmed = s.trim();
  if (trimmed.length % 4 !== 0 || !/^[A-Za-z0-9+/]*={0,2}$/.test(trimmed)) return undefined;
  return Buffer.from(trimmed, 'base64').toString('utf8');
}

function basename(s: string): string {
  const slash = s.lastIndexOf('/');
  return slash < 0 ? s : s.slice(slash + 1);
}

/** Applies a named transformer to an operand; throws {@link TransformerError} on a type mismatch. */
export function applyTransformer(name: string, input: TypedExtractor): TypedExtractor {
  const ex = input.extract;
  switch (name) {
    case 'tolower':
    case 'toupper':
    case 'b64':
    case 'basename': {
      if (!STRINGISH.has(input.type)) {
        throw new TransformerError(`transformer '${name}' is not supported on ${input.type} values`);
      }
      const fn: (s: string) => string | undefined =
        name === 'tolower' ? (s) => s.toLowerCase()
          : name === 'toupper' ? (s) => s.toUpperCase()
            : name === 'b64' ? decodeBase64
              : basename;
      return {
        extract: (evt) => mapValue(ex(evt), fn),
        type: 'string',
        isList: input.isList,
        ...(input.anyOf ? { anyOf: input.anyOf } : {}),
      };
    }
    case 'len': {
      const extract: Extractor = (evt) => {
        const v = ex(evt);
        if (v === undefined) return undefined;
        if (Array.isArray(v)) return v.length;
        if (typeof v === 'string') return v.length;
        if (v instanceof Uint8Array) return v.byteLength;
        return String(v).length;
      };
      return { extract, type: 'uint', isList: false };
    }
    default:
      throw new TransformerError(`unknown transformer '${name}'`);
  }
}
