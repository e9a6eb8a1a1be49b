import { isRefusal, toGavelError, type GavelError } from './errors.js';
import type { OfflineRecord, Outbox } from './outbox.js';

/** What one flush of the outbox did. */
export interface FlushResult {
  /** Recorded by this flush. */
  delivered: number;
  /** Already recorded (an earlier delivery whose removal did not happen): dropped all the same. */
  duplicates: number;
  /** Still in the outbox: not reached, or refused by the server (kept for a person to look at). */
  pending: number;
}

/**
 * Delivers the outbox through RecordOffline, one flush at a time (a flush asked for while one runs
 * gets that one). A record the server recorded, or answered duplicate, is removed; a refusal keeps
 * it and the flush goes on; gavel unreachable stops the flush, and `flush` rejects with that error.
 */
export class OutboxDelivery {
  private running: Promise<FlushResult> | undefined;
  /** Records may be waiting: true at start (a previous run may have left some) and after an append. */
  private dirty = true;

  constructor(
    readonly outbox: Outbox,
    private readonly send: (record: OfflineRecord) => Promise<{ duplicate: boolean }>,
  ) {}

  async append(record: OfflineRecord): Promise<void> {
    await this.outbox.append(record);
    this.dirty = true;
  }

  flush(): Promise<FlushResult> {
    this.running ??= this.deliver().finally(() => {
      this.running = undefined;
    });
    return this.running;
  }

  /** A flush in the background when records may be waiting (after a call succeeded); its failure waits for the next. */
  nudge(): void {
    if (this.dirty && !this.running) this.flush().catch(() => undefined);
  }

  private async deliver(): Promise<FlushResult> {
    this.dirty = false;
    const records = await this.outbox.read();
    const done = new Set<string>();
    const result = { delivered: 0, duplicates: 0, pending: 0 };
    let stopped: GavelError | undefined;
    for (const r of records) {
      try {
        const { duplicate } = await this.send(r);
        done.add(r.offline_id);
        result[duplicate ? 'duplicates' : 'delivered'] += 1;
      } catch (err) {
        const e = toGavelError(err);
        if (!isRefusal(e) || e.retryable) {
          stopped = e;
          break;
        }
      }
    }
    await this.outbox.remove(done);
    result.pending = records.length - done.size;
    if (result.pending > 0) this.dirty = true;
    if (stopped) throw stopped;
    return result;
  }
}
