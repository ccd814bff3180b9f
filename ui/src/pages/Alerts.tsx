/**
 * The alerts table: filters (kept in the URL, so a view can be shared),
 * newest first, cursor pagination, and export of everything the filter
 * matches as JSON or CSV. Text search is the API's literal search: `-`, `.`,
 * `%`, `_` and quotes are ordinary characters.
 */
import { useEffect, useRef, useState } from 'preact/hooks';
import { ApiError, api, query } from '../api.js';
import { Link } from '../components/Link.js';
import { download } from '../download.js';
import { alertsToCsv, alertsToJson } from '../export.js';
import { clip, priorityClass, shortTime } from '../format.js';
import { useApi, useDebounced } from '../hooks.js';
import { navigate } from '../router.js';
import type { Alert, Page } from '../types.js';
import { PRIORITIES } from '../types.js';
import { RANGES } from './Dashboard.js';

const FILTERS = ['since', 'severity', 'source', 'rule', 'namespace', 'pod', 'user', 'hostname', 'incident', 'q'] as const;
type Filter = Record<(typeof FILTERS)[number], string>;
const PAGE = 50;
/** Most alerts one export fetches (a page of 1000 at a time). */
const EXPORT_MAX = 50_000;

function filterOf(params: URLSearchParams): Filter {
  return Object.fromEntries(FILTERS.map((k) => [k, params.get(k) ?? ''])) as Filter;
}

export function Alerts({ params }: { params: URLSearchParams }) {
  const filter = filterOf(params);
  const key = query(filter);
  const [draft, setDraft] = useState<Filter>(filter);
  const pushed = useRef(key);
  // A filter changed from elsewhere (a dashboard link, back/forward) replaces the form's values.
  useEffect(() => {
    if (key !== pushed.current) {
      pushed.current = key;
      setDraft(filter);
    }
  }, [key]);
  const debounced = useDebounced(draft, 100);
  useEffect(() => {
    const next = query(debounced);
    if (next !== pushed.current) {
      pushed.current = next;
      navigate(`/ui/alerts${next}`, { replace: true });
    }
  }, [debounced]);

  const [cursors, setCursors] = useState<string[]>([]);
  useEffect(() => setCursors([]), [key]);
  const cursor = cursors[cursors.length - 1];
  const page = useApi<Page<Alert>>(`/alerts${query({ ...filter, limit: PAGE, cursor })}`);

  const [exporting, setExporting] = useState<string | undefined>();
  const exportAs = async (format: 'json' | 'csv'): Promise<void> => {
    setExporting('exporting…');
    try {
      const all: Alert[] = [];
      let next: string | null | undefined;
      do {
        const p = await api<Page<Alert>>(`/alerts${query({ ...filter, limit: 1000, cursor: next })}`);
        all.push(...p.items);
        next = p.next;
        setExporting(`exporting… ${all.length}`);
      } while (next && all.length < EXPORT_MAX);
      const stamp = new Date().toISOString().replace(/[:.]/g, '-');
      const active = Object.fromEntries(Object.entries(filter).filter(([, v]) => v !== ''));
      if (format === 'json') download(`tiercel-alerts-${stamp}.json`, 'application/json', alertsToJson(all, active));
      else download(`tiercel-alerts-${stamp}.csv`, 'text/csv', alertsToCsv(all));
      setExporting(next ? `exported the first ${all.length} alerts (narrow the filter for the rest)` : `exported ${all.length} alerts`);
    } catch (e) {
      setExporting(`export failed: ${e instanceof ApiError ? e.message : String(e)}`);
    }
  };

  const set = (k: keyof Filter) => (e: Event): void => {
    const v = (e.currentTarget as HTMLInputElement | HTMLSelectElement).value;
    setDraft((d) => ({ ...d, [k]: v }));
  };
  const text = (k: keyof Filter, label: string) => (
    <label>
      {label}
      <input type="search" value={draft[k]} onInput={set(k)} data-testid={`filter-${k}`} spellcheck={false} />
    </label>
  );

  const items = page.data?.items ?? [];
  return (
    <main class="alerts">
      <header class="toolbar">
        <h2>Alerts</h2>
        <button type="button" onClick={() => void exportAs('json')} data-testid="export-json">Export JSON</button>
        <button type="button" onClick={() => void exportAs('csv')} data-testid="export-csv">Export CSV</button>
        {exporting ? <span class="muted" data-testid="export-status">{exporting}</span> : null}
      </header>
      <form class="filters card" onSubmit={(e) => e.preventDefault()}>
        <label>
          Range
          <select value={draft.since} onChange={set('since')} data-testid="filter-since">
            <option value="">all</option>
            {RANGES.map((r) => <option key={r} value={r}>{`last ${r}`}</option>)}
          </select>
        </label>
        <label>
          Priority (at least)
          <select value={draft.severity} onChange={set('severity')} data-testid="filter-severity">
            <option value="">any</option>
            {PRIORITIES.map((p) => <option key={p} value={p}>{p}</option>)}
          </select>
        </label>
        <label>
          Source
          <select value={draft.source} onChange={set('source')} data-testid="filter-source">
            <option value="">any</option>
            <option value="k8s_audit">k8s_audit</option>
            <option value="syscall">syscall</option>
          </select>
        </label>
        {text('rule', 'Rule')}
        {text('namespace', 'Namespace')}
        {text('pod', 'Pod')}
        {text('user', 'User')}
        {text('hostname', 'Node')}
        {text('q', 'Search text')}
        {Object.values(draft).some((v) => v !== '') ? (
          <button type="button" onClick={() => setDraft(filterOf(new URLSearchParams()))}>Clear</button>
        ) : null}
      </form>
      {page.error ? <p class="error" role="alert" data-testid="alerts-error">{page.error}</p> : null}
      <table class="data" data-testid="alerts-table" data-query={key} data-loading={page.loading ? 'true' : 'false'} data-rows={items.length}>
        <thead>
          <tr><th>Time (UTC)</th><th>Priority</th><th>Rule</th><th>Source</th><th>Namespace / pod</th><th>Node</th><th>Output</th></tr>
        </thead>
        <tbody>
          {items.map((a) => (
            <tr key={a.id} data-testid="alert-row">
              <td class="nowrap"><Link href={`/ui/alerts/${encodeURIComponent(a.id)}`}>{shortTime(a.time)}</Link></td>
              <td><span class={priorityClass(a.priority)}>{a.priority}</span></td>
              <td>{a.rule}</td>
              <td>{a.source}</td>
              <td>{a.namespace ? `${a.namespace}/${a.pod ?? ''}` : ''}</td>
              <td>{a.hostname}</td>
              <td class="output">{clip(a.output)}</td>
            </tr>
          ))}
        </tbody>
      </table>
      {!page.loading && items.length === 0 && !page.error ? <p class="empty" data-testid="alerts-empty">No alerts match this filter.</p> : null}
      <nav class="pager">
        <button type="button" disabled={cursors.length === 0} onClick={() => setCursors((c) => c.slice(0, -1))}>Newer</button>
        <span class="muted">{`page ${cursors.length + 1}`}</span>
        <button type="button" disabled={!page.data?.next} data-testid="next-page"
          onClick={() => setCursors((c) => (page.data?.next ? [...c, page.data.next] : c))}>Older</button>
      </nav>
    </main>
  );
}
