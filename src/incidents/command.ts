/**
 * Does an exec request's `command=` argv match a session root's command
 * line? The audit event has the argv as the client sent it (`/bin/sh -c
 * id`); the node has Falco's `proc.cmdline`: the process name (the kernel's
 * comm, at most 15 characters) followed by the arguments (`sh -c id`).
 */

const COMM_MAX = 15;

function basename(path: string): string {
  const slash = path.lastIndexOf('/');
  return slash < 0 ? path : path.slice(slash + 1);
}

function splitFirst(text: string): [string, string] {
  const t = text.trim();
  const sp = t.indexOf(' ');
  return sp < 0 ? [t, ''] : [t.slice(0, sp), t.slice(sp + 1).trim()];
}

/**
 * `argv` is the request's arguments joined by spaces; with `firstOnly` only
 * the program is known (Falco's `ka.uri.param[command]` is the first value).
 */
export function commandMatches(argv: string, cmdline: string, firstOnly = false): boolean {
  const [program, args] = splitFirst(argv);
  const [comm, cmdArgs] = splitFirst(cmdline);
  if (program === '' || comm === '') return false;
  const name = basename(program);
  const sameProgram = name === comm || name === basename(comm) || (comm.length >= COMM_MAX && name.startsWith(comm));
  if (!sameProgram) return false;
  if (firstOnly) return true;
  if (args === cmdArgs) return true;
  // Either side may have been cut (the sensor's argument limit, the URI length limit).
  const [short, long] = args.length < cmdArgs.length ? [args, cmdArgs] : [cmdArgs, args];
  return short.length >= 64 && long.startsWith(short);
}
