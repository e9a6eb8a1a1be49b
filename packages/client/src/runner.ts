import type * as grpc from '@grpc/grpc-js';
import type { CircuitBreaker } from './breaker.js';
import { whenReady } from './channel.js';
import { cancelled, type GavelError, isConnectionFailure, isRefusal, toGavelError } from './errors.js';
import type { RetryOptions } from './options.js';
import { backoffMs, sleep } from './retry.js';

/** One wait for a connection is bounded even when the call is not (gRPC's own minimum connect timeout). */
const CONNECT_TIMEOUT_MS = 20_000;

export interface CallSpec<T> {
  /**
   * The method may run twice without harm (Report is idempotent by decision id; reads are reads):
   * an attempt that reached the server and failed transiently is retried. Decide is not (yet), so
   * its attempts are retried only when they were never sent.
   */
  idempotent: boolean;
  /** Epoch ms; Infinity for none. Bounds every attempt, every wait for a connection and every backoff. */
  deadline: number;
  signal: AbortSignal | undefined;
  /** Sends one attempt; rejects with what failed. */
  send(): Promise<T>;
  /** false: health itself, which the breaker uses as its probe. */
  breaker?: boolean;
}

/**
 * Runs calls with gavel's retry rule: before each attempt, wait until the channel is READY; a
 * failure to get there (refused, reset, server down) is a transient failure of a call that was
 * never sent, so it is retried after a jittered backoff, within the deadline and maxAttempts. Once
 * an attempt was sent, its failure is returned as it is, unless the method is idempotent and the
 * failure retryable.
 */
export class CallRunner {
  constructor(
    private readonly channel: grpc.Channel,
    private readonly retry: Required<RetryOptions>,
    readonly breaker: CircuitBreaker | undefined,
  ) {}

  async run<T>(spec: CallSpec<T>): Promise<T> {
    const breaker = spec.breaker === false ? undefined : this.breaker;
    for (let attempt = 1; ; attempt++) {
      if (spec.signal?.aborted) throw cancelled();
      await breaker?.admit(spec.deadline);
      let error: GavelError;
      try {
        await this.connect(spec.deadline, spec.signal);
      } catch (err) {
        error = toGavelError(err);
        if (isConnectionFailure(error)) breaker?.failure();
        if (await this.retryAfter(error, attempt, spec)) continue;
        throw error;
      }
      try {
        const value = await spec.send();
        breaker?.success();
        return value;
      } catch (err) {
        error = toGavelError(err);
        if (isRefusal(error)) breaker?.success();
        else if (isConnectionFailure(error)) breaker?.failure();
        if (spec.idempotent && (await this.retryAfter(error, attempt, spec))) continue;
        throw error;
      }
    }
  }

  /** Waits for a connection (READY), bounded by the deadline and the connect timeout; `throughFailure`: see whenReady. */
  connect(deadline: number, signal: AbortSignal | undefined, throughFailure = false): Promise<void> {
    return whenReady(this.channel, Math.min(deadline, Date.now() + CONNECT_TIMEOUT_MS), deadline, signal, throughFailure);
  }

  /** Pauses and says true when another attempt may be made: a retryable failure, attempts left, and time for the pause. */
  private async retryAfter(error: GavelError, attempt: number, spec: CallSpec<unknown>): Promise<boolean> {
    if (!error.retryable || attempt >= this.retry.maxAttempts) return false;
    const pause = backoffMs(this.retry, attempt);
    if (Date.now() + pause >= spec.deadline) return false;
    await sleep(pause, spec.signal);
    return true;
  }
}
