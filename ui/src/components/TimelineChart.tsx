/**
 * Alerts over time, stacked by priority, as SVG. Every bucket the API sends
 * is drawn (an empty one as a thin baseline mark), so the chart is never a
 * blank box; a range without alerts says so in words as well.
 */
import type { Stats } from '../types.js';
import { PRIORITIES } from '../types.js';
import { shortTime } from '../format.js';

const W = 1000;
const H = 220;
const PAD_L = 44;
const PAD_B = 24;
const PAD_T = 8;

export const PRIORITY_COLORS: Readonly<Record<string, string>> = {
  Emergency: '#7f0000', Alert: '#b71c1c', Critical: '#e53935', Error: '#fb8c00',
  Warning: '#fdd835', Notice: '#43a047', Informational: '#1e88e5', Debug: '#9e9e9e',
};

function niceMax(n: number): number {
  if (n <= 5) return 5;
  const p = 10 ** Math.floor(Math.log10(n));
  for (const m of [1, 2, 5, 10]) if (m * p >= n) return m * p;
  return n;
}

export function TimelineChart({ stats }: { stats: Stats }) {
  const series = stats.series;
  const n = Math.max(series.length, 1);
  const totals = series.map((b) => PRIORITIES.reduce((s, p) => s + (b.by_priority[p] ?? 0), 0));
  const max = niceMax(Math.max(0, ...totals));
  const plotW = W - PAD_L;
  const plotH = H - PAD_B - PAD_T;
  const bw = plotW / n;
  const gap = bw > 4 ? 1 : 0;
  const y = (v: number): number => PAD_T + plotH - (v / max) * plotH;
  const ticks = [0, max / 2, max];
  const labelAt = [0, Math.floor((series.length - 1) / 2), series.length - 1].filter((i, k, a) => i >= 0 && a.indexOf(i) === k);

  return (
    <figure class="chart" data-testid="timeline" data-buckets={series.length} data-total={stats.total}>
      <svg viewBox={`0 0 ${W} ${H}`} role="img" aria-label={`Alerts over time by priority, ${stats.total} in total`}>
        {ticks.map((t) => (
          <g key={`t${t}`}>
            <line x1={PAD_L} x2={W} y1={y(t)} y2={y(t)} class="grid" />
            <text x={PAD_L - 6} y={y(t) + 4} class="axis" text-anchor="end">{String(Math.round(t))}</text>
          </g>
        ))}
        {series.map((b, i) => {
          const x = PAD_L + i * bw;
          let acc = 0;
          const total = totals[i] ?? 0;
          return (
            <g key={b.start} class="bucket" data-count={total}>
              <title>{`${shortTime(b.start)} — ${total} alert${total === 1 ? '' : 's'}`}</title>
              <rect x={x} y={PAD_T + plotH - 1} width={Math.max(bw - gap, 0.5)} height={1} class="zero" />
              {[...PRIORITIES].reverse().map((p) => {
                const v = b.by_priority[p] ?? 0;
                if (v === 0) return null;
                const top = y(acc + v);
                const h = y(acc) - top;
                acc += v;
                return <rect key={p} x={x} y={top} width={Math.max(bw - gap, 0.5)} height={Math.max(h, 1)} fill={PRIORITY_COLORS[p]} class="bar" />;
              })}
            </g>
          );
        })}
        {labelAt.map((i) => (
          <text key={`l${i}`} x={PAD_L + i * bw + (i === series.length - 1 ? bw : 0)} y={H - 6} class="axis"
            text-anchor={i === 0 ? 'start' : i === series.length - 1 ? 'end' : 'middle'}>
            {shortTime(series[i]!.start).slice(5, 16)}
          </text>
        ))}
      </svg>
      {stats.total === 0 ? <p class="empty" data-testid="no-alerts">No alerts in this range.</p> : null}
      <figcaption class="legend">
        {PRIORITIES.map((p) => (
          <span key={p}><i class={`swatch prio-${p.toLowerCase()}`} />{`${p} ${stats.by_priority[p] ?? 0}`}</span>
        ))}
        <span class="muted">{`bucket ${stats.bucket}, UTC`}</span>
      </figcaption>
    </figure>
  );
}
