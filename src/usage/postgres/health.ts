import pg from 'pg';
import type { UsageHealth } from '../store.js';

/**
 * A refusal no decision can get past until an operator acts, so it takes the store down like an
 * outage (health NOT_SERVING, probed until fixed): the replica's role lost a privilege (42501), or
 * a table or column it uses is gone (42P01, 42703). What it says, with the way out; undefined for
 * any other failure. PostgreSQL's message names the table or column, never a secret.
 */
export function schemaFailure(err: unknown): string | undefined {
  if (!(err instanceof pg.DatabaseError)) return undefined;
  switch (err.code) {
    case '42501':
      return `gavel's role was refused (${err.message}): grant it back its privileges on the gavel_usage_* tables`;
    case '42P01':
      return `a table of the usage store is missing (${err.message}): \`gavel usage migrate\` recreates it (its rows are lost)`;
    case '42703':
      return `a column of the usage store is missing (${err.message}): restore it`;
    default:
      return undefined;
  }
}

/**
 * Health of a store behind a network: ok until a step fails for want of the
 * database, then probed every `probeMs` until it answers again. While it is
 * down, decisions fail closed at once instead of each waiting out a deadline.
 */
export class ProbedHealth implements UsageHealth {
  private state = { ok: true, reason: '' };
  /** The failure that took it down (the reason adds the last probe's answer to it). */
  private cause = '';
  private readonly listeners = new Set<(ok: boolean, reason: string) => void>();
  private timer: NodeJS.Timeout | undefined;
  private stopped = false;

  constructor(
    private readonly probe: () => Promise<void>,
    private readonly probeMs: number,
    private readonly onRecovered: () => void = () => undefined,
  ) {}

  get ok(): boolean {
    return this.state.ok;
  }

  get reason(): string {
    return this.state.reason;
  }

  onChange(listener: (ok: boolean, reason: string) => void): void {
    this.listeners.add(listener);
  }

  /** A step failed for want of the database: down until a probe answers. */
  failed(reason: string): void {
    if (this.stopped || !this.state.ok) return;
    this.cause = reason;
    this.set(false, reason);
    this.schedule();
  }

  stop(): void {
    this.stopped = true;
    if (this.timer) clearTimeout(this.timer);
  }

  private schedule(): void {
    this.timer = setTimeout(() => {
      this.probe().then(
        () => {
          if (this.stopped) return;
          this.set(true, '');
          this.onRecovered();
        },
        (err: unknown) => {
          if (this.stopped) return;
          this.state = { ok: false, reason: `${this.cause} (last probe: ${(err as Error).message})` };
          this.schedule();
        },
      );
    }, this.probeMs);
    this.timer.unref();
  }

  private set(ok: boolean, reason: string): void {
    this.state = { ok, reason };
    for (const l of this.listeners) l(ok, reason);
  }
}
