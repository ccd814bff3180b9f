/** One alert with every field: Falco's keys, Tiercel's keys, every output field and correlation key. */
import { Link } from '../components/Link.js';
import { fieldText, priorityClass } from '../format.js';
import { useApi } from '../hooks.js';
import type { Alert } from '../types.js';

function Rows({ rows }: { rows: readonly (readonly [string, string])[] }) {
  return (
    <table class="kv">
      <tbody>
        {rows.map(([k, v]) => (
          <tr key={k}><th>{k}</th><td>{v}</td></tr>
        ))}
      </tbody>
    </table>
  );
}

export function AlertDetail({ id }: { id: string }) {
  const { data: a, error } = useApi<Alert>(`/alerts/${encodeURIComponent(id)}`);
  if (error) return <main><p class="error" role="alert">{error}</p></main>;
  if (!a) return <main><p class="muted">loading…</p></main>;
  const top: [string, string][] = [
    ['id', a.id], ['kind', a.kind], ['time', a.time], ['time_ns', a.time_ns], ['rule', a.rule], ['priority', a.priority],
    ['source', a.source], ['hostname', a.hostname], ['tags', a.tags.join(', ')], ['namespace', a.namespace ?? ''],
    ['pod', a.pod ?? ''], ['pod_uid', a.pod_uid ?? ''], ['container_id', a.container_id ?? ''], ['user', a.user ?? ''],
    ['dedup_key', a.dedup_key], ['received_at', a.received_at],
  ];
  return (
    <main class="alert-detail" data-testid="alert-detail">
      <header class="toolbar">
        <h2><span class={priorityClass(a.priority)}>{a.priority}</span> {a.rule}</h2>
        {a.incident_id ? <Link href={`/ui/incidents/${encodeURIComponent(a.incident_id)}`}>{`incident ${a.incident_id}`}</Link> : null}
      </header>
      <section class="card"><h3>Output</h3><pre class="output" data-testid="alert-output">{a.output}</pre></section>
      <div class="grid2">
        <section class="card"><h3>Alert</h3><Rows rows={top} /></section>
        <section class="card">
          <h3>Output fields</h3>
          <Rows rows={Object.keys(a.output_fields).sort().map((k) => [k, fieldText(a.output_fields[k])] as const)} />
          <h3>Correlation keys</h3>
          <Rows rows={Object.keys(a.correlation).sort().map((k) => [k, a.correlation[k] ?? ''] as const)} />
        </section>
      </div>
      <details class="card"><summary>JSON</summary><pre>{JSON.stringify(a, null, 2)}</pre></details>
    </main>
  );
}
