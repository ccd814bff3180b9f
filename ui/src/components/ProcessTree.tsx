/** The exec session's processes as a nested list (built by ../proctree.ts). */
import { buildProcessTree, type ProcNode } from '../proctree.js';
import type { Alert } from '../types.js';

function Node({ n }: { n: ProcNode }) {
  const rules = [...new Set(n.alerts.map((a) => a.rule))];
  return (
    <li data-testid="proc" data-pid={n.pid}>
      <span class="pid">{String(n.pid)}</span>
      <code class="cmd">{n.cmdline || '(unknown command)'}</code>
      {rules.map((r) => <span key={r} class="badge rule">{r}</span>)}
      {n.children.length ? <ul>{n.children.map((c) => <Node key={c.pid} n={c} />)}</ul> : null}
    </li>
  );
}

export function ProcessTree({ alerts }: { alerts: readonly Alert[] }) {
  const roots = buildProcessTree(alerts);
  return (
    <section class="card" data-testid="process-tree">
      <h3>Processes</h3>
      {roots.length === 0 ? <p class="muted">No syscall alert of this incident names its process.</p> : <ul class="tree">{roots.map((n) => <Node key={n.pid} n={n} />)}</ul>}
    </section>
  );
}
