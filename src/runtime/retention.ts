import type { Logger } from 'pino';
import type { ServedLedger } from '../ledger/types.js';
import { GavelError } from '../lib/errors.js';

export interface RetentionConfig {
  /** Payloads of entries older than this are erased (`--retain-payloads`). */
  payloadsSeconds: number;
  /** Seconds between sweeps (default 3600); the first runs at start. */
  sweepSeconds?: number;
}

/** Payloads one erasure entry of a sweep names at most; a sweep writes entries until none is left. */
const PER_ENTRY = 10_000;
const MAX_PERIOD_SECONDS = 100 * 365 * 86_400;

/**
 * Retention: on a schedule, erases the payloads (and the shadow results) older than the period,
 * each step recorded as an erasure entry with basis `retention` (ledger/erasure.ts). The headers
 * stay: who asked what, what was decided and why stay auditable past the period.
 */
export class RetentionSweeper {
  private timer: NodeJS.Timeout | undefined;
  private running: Promise<number> | undefined;
  private stopped = false;
  /** The cutoff of the last sweep that finished: the next one looks back from a day before it, not over all history. */
  private swept: number | undefined;

  constructor(
    private readonly ledger: ServedLedger,
    private readonly config: RetentionConfig,
    private readonly now: () => Date,
    private readonly log: Logger,
  ) {
    // A period past a century would put the cutoff before the dates JavaScript can write; a sweep interval past a day, past what a timer keeps.
    const { payloadsSeconds, sweepSeconds = 3600 } = config;
    if (!Number.isSafeInteger(payloadsSeconds) || payloadsSeconds < 1 || payloadsSeconds > MAX_PERIOD_SECONDS) {
      throw new GavelError('config_invalid', `the retention period (--retain-payloads) must be between 1 second and 100 years, not ${payloadsSeconds} seconds`);
    }
    if (!Number.isSafeInteger(sweepSeconds) || sweepSeconds < 1 || sweepSeconds > 86_400) {
      throw new GavelError('config_invalid', `retention sweeps must come between every second and every day, not every ${sweepSeconds} seconds`);
    }
  }

  start(): void {
    setImmediate(() => void this.sweep());
    this.timer = setInterval(() => void this.sweep(), (this.config.sweepSeconds ?? 3600) * 1000);
    this.timer.unref();
  }

  /** One sweep (a sweep already running is joined); resolves with the payloads it erased. */
  sweep(): Promise<number> {
    if (this.stopped) return Promise.resolve(0);
    this.running ??= this.run().finally(() => (this.running = undefined));
    return this.running;
  }

  async stop(): Promise<void> {
    this.stopped = true;
    clearInterval(this.timer);
    await this.running;
  }

  private async run(): Promise<number> {
    const cutoff = this.now().getTime() - this.config.payloadsSeconds * 1000;
    const before = new Date(cutoff).toISOString();
    // A day of overlap: an entry recorded late (an offline decision) with a time just before the last cutoff is still found.
    const since = this.swept === undefined ? undefined : new Date(this.swept - 86_400_000).toISOString();
    const reason = `retention: payloads older than ${this.config.payloadsSeconds / 86_400} days (before ${before})`;
    let total = 0;
    try {
      for (;;) {
        const criteria = since === undefined ? { before } : { before, since };
        const r = await this.ledger.erase({ criteria, reason, basis: 'retention', by: 'gavel' }, { limit: PER_ENTRY, now: this.now() });
        total += r.erased;
        if (r.erased > 0) this.log.info({ erasure_id: r.entry?.decisionId, seq: r.entry?.seq, erased: r.erased, before }, 'retention erased payloads');
        if (this.stopped) return total;
        if (r.erased < PER_ENTRY) {
          this.swept = cutoff;
          return total;
        }
      }
    } catch (err) {
      // Tried again at the next sweep; nothing was erased without its entry (one transaction).
      this.log.error({ err }, 'retention sweep failed');
      return total;
    }
  }
}
