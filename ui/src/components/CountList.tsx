/** A ranked list with proportional bars; each entry can link to the alerts it counts. */
import type { Count } from '../types.js';
import { Link } from './Link.js';

export function CountList(props: { title: string; items: readonly Count[]; href?: (key: string) => string; testid?: string }) {
  const max = Math.max(1, ...props.items.map((i) => i.count));
  return (
    <section class="card counts" data-testid={props.testid}>
      <h3>{props.title}</h3>
      {props.items.length === 0 ? <p class="muted">none</p> : (
        <ol>
          {props.items.map((i) => (
            <li key={i.key}>
              <span class="count-label" title={i.key}>
                {props.href ? <Link href={props.href(i.key)}>{i.key || '(none)'}</Link> : (i.key || '(none)')}
              </span>
              <span class="count-bar"><meter min={0} max={max} value={i.count} /></span>
              <span class="count-n">{String(i.count)}</span>
            </li>
          ))}
        </ol>
      )}
    </section>
  );
}

/** `{k: n}` as a list, largest first. */
export function entries(map: Readonly<Record<string, number>>): Count[] {
  return Object.entries(map).map(([key, count]) => ({ key, count })).sort((a, b) => b.count - a.count);
}
