/**
 * Notices changes to a set of files and directories by polling their status.
 *
 * Polling rather than inotify: Kubernetes updates a mounted ConfigMap by
 * swapping a symlink, which file watches on the old target miss, and a stat
 * every second on a handful of files costs nothing. `stat` follows symlinks,
 * so the swap shows up as a new inode. A change is acted on once the files
 * have been stable for one interval.
 */
import { readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';

function signature(path: string): string {
  try {
    const st = statSync(path);
    if (!st.isDirectory()) return `${path}:${st.dev}:${st.ino}:${st.size}:${st.mtimeMs}`;
    const parts = [`${path}:dir:${st.ino}`];
    for (const name of readdirSync(path).sort()) {
      if (!/\.ya?ml$/i.test(name)) continue;
      parts.push(signature(join(path, name)));
    }
    return parts.join('|');
  } catch {
    return `${path}:missing`;
  }
}

export class PollingWatcher {
  private timer: NodeJS.Timeout | undefined;
  private last: string;
  private pending: string | undefined;
  private busy = false;

  /**
   * @param paths the paths to watch, asked again at every poll (the set may change on reload)
   * @param onChange called once per detected change; the next poll waits for it to settle
   */
  constructor(
    private readonly paths: () => readonly string[],
    private readonly intervalMs: number,
    private readonly onChange: () => Promise<void> | void,
  ) {
    this.last = this.current();
  }

  private current(): string {
    return this.paths().map(signature).join('\n');
  }

  start(): void {
    this.timer = setInterval(() => void this.poll(), this.intervalMs);
    this.timer.unref();
  }

  /** Forgets pending changes: the current state becomes the baseline. */
  rebase(): void {
    this.last = this.current();
  }

  private async poll(): Promise<void> {
    if (this.busy) return;
    const now = this.current();
    if (now === this.last) {
      this.pending = undefined;
      return;
    }
    // Act once the files have stopped changing for one interval, so a file
    // caught half-written (an editor truncates, then writes) is not loaded.
    if (now !== this.pending) {
      this.pending = now;
      return;
    }
    this.pending = undefined;
    this.last = now;
    this.busy = true;
    try {
      await this.onChange();
    } finally {
      // Not re-baselined here: a write during the handler is still seen at
      // the next poll (at worst one extra reload of the same content).
      this.busy = false;
    }
  }

  stop(): void {
    if (this.timer) clearInterval(this.timer);
    this.timer = undefined;
  }
}
