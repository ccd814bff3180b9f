/** The newest alerts as they are committed (GET /api/v1/alerts/stream), newest first, at most 50 kept. */
import { useEffect, useState } from 'preact/hooks';
import { clip, priorityClass, shortTime } from '../format.js';
import { type StreamState, followAlerts } from '../sse.js';
import type { Alert } from '../types.js';
import { Link } from './Link.js';

const KEEP = 50;

export function LiveStream({ onAlert }: { onAlert?: (a: Alert) => void }) {
  const [alerts, setAlerts] = useState<Alert[]>([]);
  const [state, setState] = useState<StreamState>('connecting');
  useEffect(() => {
    let mounted = true;
    const stop = followAlerts(
      (a) => {
        if (!mounted) return;
        setAlerts((list) => [a, ...list].slice(0, KEEP));
        onAlert?.(a);
      },
      (s) => {
        if (mounted) setState(s);
      },
    );
    return () => {
      mounted = false;
      stop();
    };
  }, []);
  return (
    <section class="card live" data-testid="live">
      <h3>Live <span class={`badge stream-${state}`} data-testid="live-state">{state}</span></h3>
      {alerts.length === 0 ? <p class="muted">Waiting for new alerts…</p> : (
        <ul>
          {alerts.map((a) => (
            <li key={a.id} data-testid="live-alert">
              <span class="time">{shortTime(a.time).slice(11)}</span>
              <span class={priorityClass(a.priority)}>{a.priority}</span>
              <Link href={`/ui/alerts/${encodeURIComponent(a.id)}`}>{a.rule}</Link>
              <span class="muted">{clip(a.output, 120)}</span>
            </li>
          ))}
        </ul>
      )}
    </section>
  );
}
