/** Incidents, newest first: severity, status, actor, target and title, filtered by status, severity and text. */
import { useEffect, useState } from 'preact/hooks';
import { query } from '../api.js';
import { Link } from '../components/Link.js';
import { priorityClass, shortTime } from '../format.js';
import { useApi, useDebounced } from '../hooks.js';
import { navigate } from '../router.js';
import type { Incident, Page } from '../types.js';
import { PRIORITIES } from '../types.js';

export function targetText(t: Incident['target']): string {
  const where = t.namespace || t.pod ? `${t.namespace ?? '?'}/${t.pod ?? '?'}` : '';
  return [where, t.container ? `container=${t.container}` : '', t.node ? `node=${t.node}` : ''].filter(Boolean).join(' ');
}

export function Incidents({ params }: { params: URLSearchParams }) {
  const status = params.get('status') ?? '';
  const severity = params.get('severity') ?? '';
  const [q, setQ] = useState(params.get('q') ?? '');
  const dq = useDebounced(q, 150);
  const go = (over: Record<string, string>): void => navigate(`/ui/incidents${query({ status, severity, q: dq, ...over })}`, { replace: true });
  useEffect(() => {
    if (dq !== (params.get('q') ?? '')) go({ q: dq });
  }, [dq]);
  const [cursors, setCursors] = useState<string[]>([]);
  const key = query({ status, severity, q: params.get('q') ?? '' });
  useEffect(() => setCursors([]), [key]);
  const page = useApi<Page<Incident>>(`/incidents${query({ status, severity, q: params.get('q') ?? '', limit: 50, cursor: cursors[cursors.length - 1] })}`);
  const items = page.data?.items ?? [];
  return (
    <main class="incidents">
      <header class="toolbar"><h2>Incidents</h2></header>
      <form class="filters card" onSubmit={(e) => e.preventDefault()}>
        <label>
          Status
          <select value={status} onChange={(e) => go({ status: (e.currentTarget as HTMLSelectElement).value })} data-testid="incident-status-filter">
            <option value="">any</option>
            <option value="open">open</option>
            <option value="acknowledged">acknowledged</option>
            <option value="resolved">resolved</option>
          </select>
        </label>
        <label>
          Severity (at least)
          <select value={severity} onChange={(e) => go({ severity: (e.currentTarget as HTMLSelectElement).value })}>
            <option value="">any</option>
            {PRIORITIES.map((p) => <option key={p} value={p}>{p}</option>)}
          </select>
        </label>
        <label>
          Search (title, actor, target)
          <input type="search" value={q} onInput={(e) => setQ((e.currentTarget as HTMLInputElement).value)} spellcheck={false} />
        </label>
      </form>
      {page.error ? <p class="error" role="alert">{page.error}</p> : null}
      <table class="data" data-testid="incidents-table" data-loading={page.loading ? 'true' : 'false'}>
        <thead>
          <tr><th>Last seen (UTC)</th><th>Severity</th><th>Status</th><th>Alerts</th><th>Actor</th><th>Target</th><th>Title</th></tr>
        </thead>
        <tbody>
          {items.map((i) => (
            <tr key={i.id} data-testid="incident-row" data-id={i.id}>
              <td class="nowrap">{shortTime(i.last_seen)}</td>
              <td><span class={priorityClass(i.severity)}>{i.severity}</span></td>
              <td><span class={`badge status-${i.status}`}>{i.status}</span></td>
              <td>{String(i.alert_count)}</td>
              <td>{i.actor ? `${i.actor.name} (${i.actor.confidence})` : '—'}</td>
              <td>{targetText(i.target)}</td>
              <td><Link href={`/ui/incidents/${encodeURIComponent(i.id)}`} testid="incident-link">{i.title}</Link></td>
            </tr>
          ))}
        </tbody>
      </table>
      {!page.loading && items.length === 0 && !page.error ? <p class="empty">No incidents match this filter.</p> : null}
      <nav class="pager">
        <button type="button" disabled={cursors.length === 0} onClick={() => setCursors((c) => c.slice(0, -1))}>Newer</button>
        <span class="muted">{`page ${cursors.length + 1}`}</span>
        <button type="button" disabled={!page.data?.next} onClick={() => setCursors((c) => (page.data?.next ? [...c, page.data.next] : c))}>Older</button>
      </nav>
    </main>
  );
}
