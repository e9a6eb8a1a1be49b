import { cancelled } from './errors.js';
import type { RetryOptions } from './options.js';

/**
 * The pause after failed attempt number `attempt` (1-based): exponential from initialBackoffMs,
 * capped at maxBackoffMs, with "equal jitter" (between half and all of it), so clients that failed
 * together do not come back together, and no pause is ever zero.
 */
export function backoffMs(policy: Required<RetryOptions>, attempt: number, random: () => number = Math.random): number {
  const ceiling = Math.min(policy.maxBackoffMs, policy.initialBackoffMs * 2 ** (attempt - 1));
  return ceiling / 2 + (random() * ceiling) / 2;
}

/** Waits `ms`; rejects with `cancelled` as soon as the signal aborts. */
export function sleep(ms: number, signal: AbortSignal | undefined): Promise<void> {
  return new Promise((resolve, reject) => {
    if (signal?.aborted) return reject(cancelled());
    const onAbort = () => {
      clearTimeout(timer);
      reject(cancelled());
    };
    const timer = setTimeout(() => {
      signal?.removeEventListener('abort', onAbort);
      resolve();
    }, ms);
    signal?.addEventListener('abort', onAbort, { once: true });
  });
}
