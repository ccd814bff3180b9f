/**
 * Load results are data: every problem found while loading rules files is a
 * finding with Falco's code, a message, the file/line/column and the item it
 * belongs to. Loading continues past warnings; a file stops at its first
 * read/collect error, as in Falco.
 */

/** Error codes, as Falco names them (`falco_load_result.h`). */
export const ERROR_CODES = {
  LOAD_ERR_FILE_READ: 'The rules file could not be read',
  LOAD_ERR_YAML_PARSE: 'The rules file is not valid YAML',
  LOAD_ERR_YAML_VALIDATE: 'The YAML structure of an item is invalid (missing key, wrong type)',
  LOAD_ERR_COMPILE_CONDITION: 'A condition could not be parsed or compiled',
  LOAD_ERR_COMPILE_OUTPUT: 'An output format could not be compiled',
  LOAD_ERR_VALIDATE: 'An item is inconsistent with the rest of the ruleset',
} as const;

/** Warning codes, as Falco names them. */
export const WARNING_CODES = {
  LOAD_UNKNOWN_SOURCE: 'A rule uses an event source that is not available; the rule is skipped',
  LOAD_UNSAFE_NA_CHECK: 'A condition compares a field with <NA>',
  LOAD_NO_EVTTYPE: 'A syscall rule does not restrict evt.type and runs on every event',
  LOAD_UNKNOWN_FILTER: 'A rule with skip-if-unknown-filter uses an unknown field; the rule is skipped',
  LOAD_UNUSED_MACRO: 'A macro is not used by any rule or macro',
  LOAD_UNUSED_LIST: 'A list is not used by any rule, macro or list',
  LOAD_UNKNOWN_ITEM: 'A top-level item is not a rule, macro, list or version requirement',
  LOAD_DEPRECATED_ITEM: 'An item uses deprecated syntax (append: true, enabled-only rules)',
  LOAD_APPEND_NO_VALUES: 'An appended exception has no values',
  LOAD_EXCEPTION_NAME_NOT_UNIQUE: 'Two exceptions of one rule share a name',
  LOAD_INVALID_MACRO_NAME: 'A macro name is not an identifier and cannot be referenced',
  LOAD_INVALID_LIST_NAME: 'A list name contains characters that prevent substitution',
  LOAD_COMPILE_CONDITION: 'A condition compiles but has a problem worth knowing',
  LOAD_UNKNOWN_KEY: 'An item has a key that Falco and Tiercel do not know; it is ignored',
} as const;

export type ErrorCode = keyof typeof ERROR_CODES;
export type WarningCode = keyof typeof WARNING_CODES;

export interface Finding {
  readonly severity: 'error' | 'warning';
  readonly code: ErrorCode | WarningCode;
  readonly message: string;
  /** Rules file name as given by the caller. */
  readonly file: string;
  /** 1-based; 0 when the finding is about the whole file. */
  readonly line: number;
  readonly col: number;
  /** e.g. `rule`, `macro`, `list`, `exception`, `rules content`, `required_engine_version`. */
  readonly itemType: string;
  readonly itemName: string;
}

/** Where a finding points. */
export interface Context {
  readonly file: string;
  readonly line: number;
  readonly col: number;
  readonly itemType: string;
  readonly itemName: string;
}

/** Thrown inside the loader stages; turned into a finding by the stage driver. */
export class LoadError extends Error {
  readonly code: ErrorCode;
  readonly ctx: Context;
  constructor(code: ErrorCode, message: string, ctx: Context) {
    super(message);
    this.name = 'LoadError';
    this.code = code;
    this.ctx = ctx;
  }
}

/** Collects findings in the order they were found. */
export class LoadResult {
  readonly findings: Finding[] = [];

  error(code: ErrorCode, message: string, ctx: Context): void {
    this.findings.push({ severity: 'error', code, message, ...ctx });
  }

  warning(code: WarningCode, message: string, ctx: Context): void {
    this.findings.push({ severity: 'warning', code, message, ...ctx });
  }

  get errors(): Finding[] {
    return this.findings.filter((f) => f.severity === 'error');
  }

  get warnings(): Finding[] {
    return this.findings.filter((f) => f.severity === 'warning');
  }

  get ok(): boolean {
    return this.findings.every((f) => f.severity !== 'error');
  }
}

/** `file:line:col: CODE: message (item type 'name')`, the form `tiercel rules validate` prints. */
export function formatFinding(f: Finding): string {
  const where = f.line > 0 ? `${f.file}:${f.line}:${f.col}` : f.file;
  const item = f.itemName ? ` (${f.itemType} '${f.itemName}')` : f.itemType && f.itemType !== 'rules content' ? ` (${f.itemType})` : '';
  return `${where}: ${f.code}: ${f.message}${item}`;
}
