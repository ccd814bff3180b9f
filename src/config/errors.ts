/**
 * The error every configuration problem becomes: it names the key (as a
 * dotted path, `webhook.tls.cert_file`) and what is wrong with it, so an
 * operator can fix the file without reading code.
 */
export class ConfigError extends Error {
  /** Dotted key path, `''` for the document itself. */
  readonly key: string;
  readonly problem: string;
  /** The config file, when the problem is in one. */
  readonly file: string | undefined;

  constructor(key: string, problem: string, file?: string) {
    const where = [file, key].filter((s) => s !== undefined && s !== '').join(': ');
    super(where ? `${where}: ${problem}` : problem);
    this.name = 'ConfigError';
    this.key = key;
    this.problem = problem;
    this.file = file;
  }
}

/** Several problems at once: the first names the error's key, the message lists them all. */
export function configErrors(problems: readonly { key: string; message: string }[], file?: string): ConfigError {
  const first = problems[0]!;
  if (problems.length === 1) return new ConfigError(first.key, first.message, file);
  const rest = problems.slice(1).map((p) => `\n  ${p.key}: ${p.message}`).join('');
  return new ConfigError(first.key, `${first.message} (and ${problems.length - 1} more:${rest})`, file);
}

/** `a.b` + `c` → `a.b.c`; `a` + `[2]` → `a[2]`. */
export function joinKey(parent: string, child: string | number): string {
  if (typeof child === 'number') return `${parent}[${child}]`;
  return parent === '' ? child : `${parent}.${child}`;
}
