import type { Logger } from 'pino';
import type { ServedLedger } from '../ledger/types.js';
import type { UsageHealth } from '../usage/store.js';
import type { HealthFace, WitnessStatus } from './faces.js';
import type { WitnessSubmitter } from './witnesses.js';

/**
 * One readiness signal: ready while a bundle is active, the ledger can record answers and usage can
 * be read. Listeners hear every change; the ledger's and the usage store's own changes are logged.
 */
export class RuntimeHealth implements HealthFace {
  private readonly listeners = new Set<(ok: boolean) => void>();
  private stopped = false;

  constructor(
    private readonly policiesReady: () => boolean,
    private readonly ledger: ServedLedger,
    private readonly usage: UsageHealth | undefined,
    log: Logger,
    private readonly submitter?: WitnessSubmitter,
  ) {
    submitter?.onChange(() => this.refresh());
    ledger.onHealthChange((h) => {
      if (h.ok) log.info('ledger appends succeed again; serving');
      else log.error({ reason: h.reason }, 'ledger cannot record decisions; Decide answers UNAVAILABLE');
      this.refresh();
    });
    usage?.onChange((ok, reason) => {
      if (ok) log.info('usage store answers again; serving');
      else log.error({ reason }, 'usage store unavailable; Decide answers UNAVAILABLE (usage_unavailable)');
      this.refresh();
    });
  }

  get ok(): boolean {
    return !this.stopped && this.policiesReady() && this.ledger.health.ok && (this.usage?.ok ?? true);
  }

  get witnesses(): readonly WitnessStatus[] {
    return this.submitter?.status ?? [];
  }

  onChange(listener: (ok: boolean) => void): void {
    this.listeners.add(listener);
  }

  /** Re-reads readiness and tells listeners (every time: a listener may fold in its own state, such as draining). */
  refresh(): void {
    const ok = this.ok;
    for (const l of this.listeners) l(ok);
  }

  /** Not ready from now on (stopping). */
  stop(): void {
    this.stopped = true;
    this.refresh();
    this.listeners.clear();
  }
}
