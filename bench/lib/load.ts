import { nowNs, Samples, type LatencySummary } from './stats.js';

export interface LoadOptions {
  /** Calls kept in flight at once (closed loop: a worker issues its next call when the last one answers). */
  concurrency: number;
  /** Length of the measured window. */
  seconds: number;
  /** Calls run but are not counted for this long first (JIT, wasm tier-up, SQLite page cache, HTTP/2 window). */
  warmupSeconds: number;
  /** Called when the measured window opens and closes, e.g. to sample CPU time. */
  onWindow?: (edge: 'start' | 'end') => void;
}

export interface LoadResult {
  /** Calls that completed inside the measured window. */
  ops: number;
  /** Calls that failed (rejected or threw) inside the window. */
  errors: number;
  /** Calls that answered, but not with the expected decision. */
  unexpected: number;
  firstError?: string;
  seconds: number;
  /** ops per second over the measured window. */
  throughput: number;
  latencyMs: LatencySummary;
}

/** One call of the measured operation; resolves true when the answer is the expected one. */
export type AsyncCall = (i: number) => Promise<boolean>;
export type SyncCall = (i: number) => boolean;

class Window {
  readonly from: number;
  readonly until: number;
  private opened = false;
  private closed = false;
  private readonly onWindow: LoadOptions['onWindow'];
  readonly samples = new Samples();
  errors = 0;
  unexpected = 0;
  firstError: string | undefined;

  constructor(o: LoadOptions) {
    this.from = nowNs() + o.warmupSeconds * 1e9;
    this.until = this.from + o.seconds * 1e9;
    this.onWindow = o.onWindow;
  }

  /** Tracks the edges from the workers' own clock reads, so no timer has to fire on a busy loop. */
  tick(t: number): void {
    if (!this.opened && t >= this.from) {
      this.opened = true;
      this.onWindow?.('start');
    }
    if (!this.closed && t >= this.until) {
      this.closed = true;
      this.onWindow?.('end');
    }
  }

  /** A call counts when it completes inside the window, wherever it started. */
  record(started: number, ended: number, outcome: boolean | Error): void {
    if (ended < this.from || ended > this.until) return;
    if (outcome instanceof Error) {
      this.errors++;
      this.firstError ??= outcome.message;
    } else {
      if (!outcome) this.unexpected++;
      this.samples.add(ended - started);
    }
  }

  result(seconds: number): LoadResult {
    const ops = this.samples.count;
    return {
      ops,
      errors: this.errors,
      unexpected: this.unexpected,
      ...(this.firstError !== undefined ? { firstError: this.firstError } : {}),
      seconds,
      throughput: ops / seconds,
      latencyMs: this.samples.summary(),
    };
  }
}

/**
 * Closed-loop load: `concurrency` workers, each with one call in flight, for
 * warmup + seconds; then no new calls are issued and the in-flight ones are
 * awaited, so the run always ends by itself.
 */
export async function closedLoop(call: AsyncCall, o: LoadOptions): Promise<LoadResult> {
  const w = new Window(o);
  let next = 0;
  const worker = async () => {
    for (;;) {
      const started = nowNs();
      w.tick(started);
      if (started >= w.until) return;
      let outcome: boolean | Error;
      try {
        outcome = await call(next++);
      } catch (err) {
        outcome = err instanceof Error ? err : new Error(String(err));
      }
      w.record(started, nowNs(), outcome);
    }
  };
  await Promise.all(Array.from({ length: o.concurrency }, worker));
  return w.result(o.seconds);
}

/**
 * A synchronous tight loop for the in-process floor: no promises, no event
 * loop, one call after another, each timed. The clock read per call costs
 * tens of nanoseconds, far below one policy evaluation.
 */
export function tightLoop(call: SyncCall, o: Omit<LoadOptions, 'concurrency'>): LoadResult {
  const w = new Window({ ...o, concurrency: 1 });
  for (let i = 0; ; i++) {
    const started = nowNs();
    w.tick(started);
    if (started >= w.until) break;
    let outcome: boolean | Error;
    try {
      outcome = call(i);
    } catch (err) {
      outcome = err instanceof Error ? err : new Error(String(err));
    }
    w.record(started, nowNs(), outcome);
  }
  return w.result(o.seconds);
}
