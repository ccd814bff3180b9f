/**
 * Logs a recurring problem once per burst: the first occurrence in full, the
 * rest of the burst as one count when it is over. A flood of bad requests
 * then costs a few log lines, not one per request.
 */
import type { Logger } from 'pino';

export class BurstLog {
  private suppressed = 0;
  private timer: NodeJS.Timeout | undefined;

  constructor(
    private readonly logger: Logger,
    private readonly message: string,
    private readonly windowMs = 10_000,
    private readonly level: 'warn' | 'error' = 'warn',
  ) {}

  report(details: Record<string, unknown>): void {
    if (this.timer) {
      this.suppressed++;
      return;
    }
    this.logger[this.level](details, this.message);
    this.timer = setTimeout(() => this.endBurst(), this.windowMs);
    this.timer.unref();
  }

  private endBurst(): void {
    this.timer = undefined;
    if (this.suppressed > 0) {
      this.logger[this.level]({ count: this.suppressed }, `${this.message} (${this.suppressed} more times in the last ${Math.round(this.windowMs / 1000)} s)`);
      this.suppressed = 0;
    }
  }
}
