/**
 * A compact way to write the syscall field tables: name, type, description
 * and an extractor (or, for fields with arguments, a binder).
 */
import { type ArgKind, type Extractor, FieldError, type FieldDef, type FieldType, type FieldValue } from '../../engine/fields.js';
import type { SyscallEvent } from '../event.js';

export type SysField = FieldDef<SyscallEvent>;
export type SysExtractor = Extractor<SyscallEvent>;

export interface FieldOptions {
  readonly list?: boolean;
  readonly deprecated?: boolean;
  readonly anyOf?: { readonly notEqualNeedsAll: boolean };
  readonly parseLiteral?: FieldDef['parseLiteral'];
}

/** A field without argument. */
export function f(name: string, type: FieldType, desc: string, extract: (e: SyscallEvent) => FieldValue, opts: FieldOptions = {}): SysField {
  return {
    name,
    type,
    isList: opts.list ?? false,
    arg: 'none',
    desc,
    bind: () => extract,
    ...(opts.deprecated ? { deprecated: true } : {}),
    ...(opts.anyOf ? { anyOf: opts.anyOf } : {}),
    ...(opts.parseLiteral ? { parseLiteral: opts.parseLiteral } : {}),
  };
}

/** A field taking a bracket argument; `bind` receives it once, at compile time. */
export function fa(name: string, type: FieldType, arg: ArgKind, desc: string,
  bind: (arg: string | undefined) => SysExtractor, opts: FieldOptions = {}): SysField {
  return {
    name,
    type,
    isList: opts.list ?? false,
    arg,
    desc,
    bind,
    ...(opts.deprecated ? { deprecated: true } : {}),
    ...(opts.anyOf ? { anyOf: opts.anyOf } : {}),
    ...(opts.parseLiteral ? { parseLiteral: opts.parseLiteral } : {}),
  };
}

export function intArg(name: string, arg: string | undefined, fallback = 0): number {
  if (arg === undefined) return fallback;
  if (!/^[0-9]+$/.test(arg)) throw new FieldError(`field '${name}' expects a numeric argument, got '${arg}'`);
  return Number(arg);
}
