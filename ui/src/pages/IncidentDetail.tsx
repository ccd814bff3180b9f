/**
 * One incident: its summary, acknowledge / resolve / reopen (write scope),
 * the timeline across audit and syscall evidence (storms as one row with a
 * count), the exec session's process tree, and every link with its key and
 * confidence.
 */
import { useState } from 'preact/hooks';
import { ApiError, api, query } from '../api.js';
import { Link } from '../components/Link.js';
import { ProcessTree } from '../components/ProcessTree.js';
import { clip, priorityClass, shortTime } from '../format.js';
import { useApi } from '../hooks.js';
import type { Alert, IncidentDetail as Detail, Page, Principal } from '../types.js';
import { targetText } from './Incidents.js';

export function IncidentDetail({ id, principal }: { id: string; principal: Principal }) {
  const [nonce, setNonce] = useState(0);
  const detail = useApi<Detail>(`/incidents/${encodeURIComponent(id)}`, nonce);
  // Every alert (storms uncollapsed) for the process tree: a storm's processes are distinct.
  const all = useApi<Page<Alert>>(`/alerts${query({ incident: id, kind: 'any', limit: 1000 })}`, nonce);
  const [note, setNote] = useState('');
  const [busy, setBusy] = useState(false);
  const [actionError, setActionError] = useState<string | undefined>();
  const canWrite = principal.scopes.includes('write');

  const change = async (action: 'acknowledge' | 'resolve' | 'reopen'): Promise<void> => {
    setBusy(true);
    setActionError(undefined);
    try {
      const n = note.trim();
      if (action === 'reopen') await api(`/incidents/${encodeURIComponent(id)}/status`, { method: 'POST', body: { status: 'open', ...(n ? { note: n } : {}) } });
      else await api(`/incidents/${encodeURIComponent(id)}/${action}`, { method: 'POST', body: n ? { note: n } : {} });
      setNote('');
      setNonce((x) => x + 1);
    } catch (e) {
      setActionError(e instanceof ApiError ? e.message : String(e));
    } finally {
      setBusy(false);
    }
  };

  if (detail.error) return <main><p class="error" role="alert">{detail.error}</p></main>;
  const d = detail.data;
  if (!d) return <main><p class="muted">loading…</p></main>;
  const inc = d.incident;
  return (
    <main class="incident" data-testid="incident-detail" data-status={inc.status}>
      <header class="toolbar">
        <h2 data-testid="incident-title">{inc.title}</h2>
      </header>
      <section class="card summary">
        <dl>
          <dt>Severity</dt><dd><span class={priorityClass(inc.severity)}>{inc.severity}</span></dd>
          <dt>Status</dt><dd><span class={`badge status-${inc.status}`} data-testid="incident-status">{inc.status}</span>{inc.status_note ? <span class="muted">{` ${inc.status_note}`}</span> : null}</dd>
          <dt>Actor</dt><dd>{inc.actor ? `${inc.actor.name} (${inc.actor.kind}, ${inc.actor.confidence})` : '—'}</dd>
          <dt>Target</dt><dd>{targetText(inc.target) || '—'}</dd>
          <dt>Seen</dt><dd>{`${shortTime(inc.first_seen)} → ${shortTime(inc.last_seen)} UTC`}</dd>
          <dt>Alerts</dt><dd>{String(inc.alert_count)}</dd>
          <dt>Rules</dt><dd>{inc.rules.join(' → ')}</dd>
          <dt>Tactics</dt><dd>{inc.tactics.join(', ') || '—'}</dd>
          <dt>Keys</dt>
          <dd>
            {/* The correlator's bookkeeping keys are long; folded so the summary stays readable. */}
            <details><summary>{`${inc.keys.length} correlation keys`}</summary>
              <ul class="keys">{inc.keys.map((k) => <li key={`${k.kind}=${k.value}`}><b>{k.kind}</b>{` ${k.value}`}</li>)}</ul>
            </details>
          </dd>
        </dl>
        {canWrite ? (
          <div class="actions">
            <input type="text" placeholder="note (optional)" value={note} maxLength={2000}
              onInput={(e) => setNote((e.currentTarget as HTMLInputElement).value)} data-testid="status-note" />
            {inc.status !== 'acknowledged' && inc.status !== 'resolved'
              ? <button type="button" disabled={busy} onClick={() => void change('acknowledge')} data-testid="acknowledge">Acknowledge</button> : null}
            {inc.status !== 'resolved'
              ? <button type="button" disabled={busy} onClick={() => void change('resolve')} data-testid="resolve">Resolve</button>
              : <button type="button" disabled={busy} onClick={() => void change('reopen')} data-testid="reopen">Reopen</button>}
            {actionError ? <span class="error" role="alert">{actionError}</span> : null}
          </div>
        ) : <p class="muted small">Your token has no write scope: acknowledging and resolving are disabled.</p>}
      </section>

      <section class="card">
        <h3>Timeline</h3>
        {d.timeline_truncated ? <p class="muted">The timeline is cut at its limit; every alert is in the <Link href={`/ui/alerts?incident=${encodeURIComponent(id)}`}>alerts list</Link>.</p> : null}
        <ol class="timeline" data-testid="timeline-entries">
          {d.timeline.map((e) => (
            <li key={`${e.first.id}`} class={`entry src-${e.first.source}`} data-testid="timeline-entry" data-source={e.first.source}>
              <span class="time">{shortTime(e.first.time)}</span>
              <span class={`badge source`}>{e.first.source === 'k8s_audit' ? 'audit' : e.first.source}</span>
              <span class={priorityClass(e.first.priority)}>{e.first.priority}</span>
              <Link href={`/ui/alerts/${encodeURIComponent(e.first.id)}`}>{e.first.rule}</Link>
              {e.count > 1 ? <span class="badge storm" data-testid="storm">{`×${e.count} until ${shortTime(e.last_time).slice(11)}`}</span> : null}
              {e.first.kind === 'context' ? <span class="badge">context</span> : null}
              {e.link ? <span class={`badge link conf-${e.link.confidence}`}>{`${e.link.key} · ${e.link.confidence}`}</span> : null}
              <div class="muted output">{clip(e.first.output, 300)}</div>
            </li>
          ))}
        </ol>
      </section>

      <ProcessTree alerts={all.data?.items ?? d.timeline.map((e) => e.first)} />

      <section class="card">
        <h3>{`Links (${d.links.length})`}</h3>
        <table class="data" data-testid="links">
          <thead><tr><th>Alert</th><th>Key</th><th>Confidence</th><th>Linked to</th><th>Detail</th></tr></thead>
          <tbody>
            {d.links.map((l) => (
              <tr key={l.alert_id}>
                <td><Link href={`/ui/alerts/${encodeURIComponent(l.alert_id)}`}>{l.alert_id}</Link></td>
                <td>{l.key}</td>
                <td><span class={`badge conf-${l.confidence}`}>{l.confidence}</span></td>
                <td>{l.linked_to ?? '—'}</td>
                <td>{l.detail ?? ''}</td>
              </tr>
            ))}
          </tbody>
        </table>
      </section>
    </main>
  );
}
