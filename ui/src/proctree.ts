/**
 * The process tree of an exec session, from the syscall alerts of an
 * incident: each alert names its process (`proc.pid`, or the sensor's
 * `correlation.pid`), its parent (`proc.ppid`) and their command lines
 * (`proc.cmdline`, `proc.pcmdline`). Processes no alert fired for but that
 * are a parent of one appear with the parent's command line when known.
 * Pure (no DOM): unit tested under Node.
 */
import type { Alert, FieldValue } from './types.js';

export interface ProcNode {
  readonly pid: number;
  cmdline: string;
  /** Alerts raised by this process, oldest first. */
  readonly alerts: Alert[];
  readonly children: ProcNode[];
  ppid: number | undefined;
}

function intOf(v: FieldValue | string | undefined): number | undefined {
  if (typeof v === 'number' && Number.isInteger(v) && v > 0) return v;
  if (typeof v === 'string' && /^[1-9][0-9]{0,9}$/.test(v)) return Number(v);
  return undefined;
}

function textOf(v: FieldValue | undefined): string | undefined {
  if (typeof v === 'string' && v !== '' && v !== '<NA>') return v;
  return undefined;
}

/** Roots of the forest (a process whose parent no alert names), children ordered by pid. */
export function buildProcessTree(alerts: readonly Alert[]): ProcNode[] {
  const nodes = new Map<number, ProcNode>();
  const node = (pid: number): ProcNode => {
    let n = nodes.get(pid);
    if (!n) {
      n = { pid, cmdline: '', alerts: [], children: [], ppid: undefined };
      nodes.set(pid, n);
    }
    return n;
  };
  for (const a of alerts) {
    if (a.source !== 'syscall') continue;
    const f = a.output_fields;
    const pid = intOf(f['proc.pid']) ?? intOf(a.correlation['pid']);
    if (pid === undefined) continue;
    const n = node(pid);
    n.alerts.push(a);
    n.cmdline ||= textOf(f['proc.cmdline']) ?? textOf(f['proc.name']) ?? textOf(f['proc.exepath']) ?? '';
    const ppid = intOf(f['proc.ppid']);
    if (ppid !== undefined && ppid !== pid) {
      n.ppid ??= ppid;
      const parent = node(ppid);
      parent.cmdline ||= textOf(f['proc.pcmdline']) ?? textOf(f['proc.pname']) ?? '';
    }
  }
  // Link children to parents, refusing cycles (pids are attacker-influenced data).
  const roots: ProcNode[] = [];
  for (const n of nodes.values()) {
    let cyclic = false;
    const seen = new Set<number>([n.pid]);
    for (let p = n.ppid; p !== undefined; p = nodes.get(p)?.ppid) {
      if (seen.has(p)) {
        cyclic = true;
        break;
      }
      seen.add(p);
    }
    const parent = n.ppid !== undefined && !cyclic ? nodes.get(n.ppid) : undefined;
    if (parent) parent.children.push(n);
    else roots.push(n);
  }
  const sort = (list: ProcNode[]): void => {
    list.sort((a, b) => a.pid - b.pid);
    for (const c of list) sort(c.children);
  };
  sort(roots);
  return roots;
}
