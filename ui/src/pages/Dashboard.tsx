/**
 * Counts over a range (5 minutes to 30 days): the timeline by priority, top
 * rules, and breakdowns by source, namespace, node and tag, with the live
 * stream beside them. Refreshed every 30 s and shortly after new alerts.
 */
import { useEffect, useRef, useState } from 'preact/hooks';
import { query } from '../api.js';
import { CountList, entries } from '../components/CountList.js';
import { Link } from '../components/Link.js';
import { LiveStream } from '../components/LiveStream.js';
import { TimelineChart } from '../components/TimelineChart.js';
import { useApi } from '../hooks.js';
import { navigate } from '../router.js';
import type { Stats } from '../types.js';
import { PRIORITIES } from '../types.js';

export const RANGES = ['5m', '15m', '1h', '6h', '24h', '7d', '30d'] as const;

const alertsHref = (since: string, key: string, value: string): string => `/ui/alerts${query({ since, [key]: value })}`;

export function Dashboard({ params }: { params: URLSearchParams }) {
  const since = RANGES.includes(params.get('since') as (typeof RANGES)[number]) ? params.get('since')! : '24h';
  const [nonce, setNonce] = useState(0);
  const stats = useApi<Stats>(`/stats${query({ since, top: 10 })}`, nonce);
  const pending = useRef<ReturnType<typeof setTimeout> | undefined>(undefined);

  useEffect(() => {
    const t = setInterval(() => setNonce((n) => n + 1), 30_000);
    return () => {
      clearInterval(t);
      clearTimeout(pending.current);
    };
  }, []);
  // New alerts refresh the counts, at most every 2 s however many arrive.
  const onAlert = (): void => {
    if (pending.current !== undefined) return;
    pending.current = setTimeout(() => {
      pending.current = undefined;
      setNonce((n) => n + 1);
    }, 2000);
  };

  const s = stats.data;
  return (
    <main class="dashboard">
      <header class="toolbar">
        <h2>Dashboard</h2>
        <label>
          Range
          <select value={since} data-testid="range" onChange={(e) => navigate(`/ui/${query({ since: (e.currentTarget as HTMLSelectElement).value })}`, { replace: true })}>
            {RANGES.map((r) => <option key={r} value={r}>{`last ${r}`}</option>)}
          </select>
        </label>
        {stats.loading ? <span class="muted">loading…</span> : null}
      </header>
      {stats.error ? <p class="error" role="alert">{stats.error}</p> : null}
      {s ? (
        <div data-testid="dashboard-ready">
          <section class="tiles">
            <div class="tile" data-testid="total"><b>{String(s.total)}</b><span>alerts</span></div>
            {PRIORITIES.slice(0, 6).map((p) => (
              <Link key={p} href={alertsHref(since, 'severity', p)} class={`tile prio-tile-${p.toLowerCase()}`}>
                <b>{String(s.by_priority[p] ?? 0)}</b><span>{p}</span>
              </Link>
            ))}
            <Link href="/ui/incidents?status=open" class="tile"><b>{String(s.incidents['open'] ?? 0)}</b><span>open incidents</span></Link>
            <Link href="/ui/incidents?status=acknowledged" class="tile"><b>{String(s.incidents['acknowledged'] ?? 0)}</b><span>acknowledged</span></Link>
          </section>
          <div class="row">
            <section class="card grow">
              <h3>Alerts over time</h3>
              <TimelineChart stats={s} />
            </section>
            <LiveStream onAlert={onAlert} />
          </div>
          <div class="grid">
            <CountList title="Top rules" items={s.by_rule} href={(k) => alertsHref(since, 'rule', k)} testid="by-rule" />
            <CountList title="Sources" items={entries(s.by_source)} href={(k) => alertsHref(since, 'source', k)} testid="by-source" />
            <CountList title="Namespaces" items={s.by_namespace} href={(k) => alertsHref(since, 'namespace', k)} testid="by-namespace" />
            <CountList title="Nodes" items={s.by_hostname} href={(k) => alertsHref(since, 'hostname', k)} testid="by-hostname" />
            <CountList title="Tags" items={s.by_tag} testid="by-tag" />
            <CountList title="Priorities" items={entries(s.by_priority).filter((e) => e.count > 0)} href={(k) => alertsHref(since, 'severity', k)} testid="by-priority" />
          </div>
        </div>
      ) : null}
    </main>
  );
}
