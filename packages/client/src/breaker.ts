import { status } from '@grpc/grpc-js';
import { GavelError } from './errors.js';
import type { BreakerOptions } from './options.js';

export type CircuitState = 'closed' | 'open' | 'half-open';

/**
 * Opens after `failures` consecutive connection failures (no connection could be made, or it broke
 * under a call); while open, calls fail fast with `circuit_open`. After `halfOpenAfterMs` the next
 * call probes the server's health (one probe at a time; concurrent calls wait for its verdict):
 * SERVING closes the circuit and the call goes on, anything else opens it again for another
 * `halfOpenAfterMs`. Any answer from the server (a decision, or a refusal with a stable code) resets
 * the count.
 */
export class CircuitBreaker {
  private consecutive = 0;
  private openedAt: number | undefined;
  private probing: Promise<boolean> | undefined;
  /** Called when a probe closes the circuit (the client delivers its outbox then). */
  onClose: (() => void) | undefined;

  constructor(
    private readonly config: Required<BreakerOptions>,
    /** True when the server answered health with SERVING by `until` (epoch ms). */
    private readonly probe: (until: number) => Promise<boolean>,
    private readonly now: () => number = Date.now,
  ) {}

  get state(): CircuitState {
    if (this.probing) return 'half-open';
    return this.openedAt === undefined ? 'closed' : 'open';
  }

  /** Lets a call through, probing first when the open period is over; throws `circuit_open` otherwise. */
  async admit(deadline: number): Promise<void> {
    if (this.openedAt === undefined) return;
    const waited = this.now() - this.openedAt;
    if (waited < this.config.halfOpenAfterMs && !this.probing) throw this.openError(this.config.halfOpenAfterMs - waited);
    this.probing ??= this.runProbe(Math.min(deadline, this.now() + this.config.probeTimeoutMs)).finally(() => {
      this.probing = undefined;
    });
    if (!(await this.probing)) throw this.openError(this.config.halfOpenAfterMs);
  }

  success(): void {
    this.consecutive = 0;
    this.openedAt = undefined;
  }

  failure(): void {
    this.consecutive += 1;
    if (this.consecutive >= this.config.failures && this.openedAt === undefined) this.openedAt = this.now();
  }

  private async runProbe(until: number): Promise<boolean> {
    const serving = await this.probe(until).catch(() => false);
    if (serving) {
      this.success();
      this.onClose?.();
    } else this.openedAt = this.now();
    return serving;
  }

  private openError(retryInMs: number): GavelError {
    return new GavelError(
      'circuit_open',
      `the circuit is open after ${this.consecutive} consecutive connection failures: calls fail fast; health is probed again in ${Math.ceil(retryInMs)} ms`,
      { grpcCode: status.UNAVAILABLE, retryable: true },
    );
  }
}
