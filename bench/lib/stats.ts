/** Latency percentiles in milliseconds. */
export interface LatencySummary {
  p50: number;
  p90: number;
  p99: number;
  max: number;
  mean: number;
}

/**
 * Latency samples in nanoseconds, kept in a growing Float64Array: a ledger or
 * wasm run can record millions of samples, and a typed array costs 8 bytes each
 * with no per-sample garbage to disturb the timing of what is measured.
 */
export class Samples {
  private buf = new Float64Array(1 << 16);
  private n = 0;

  add(ns: number): void {
    if (this.n === this.buf.length) {
      const bigger = new Float64Array(this.buf.length * 2);
      bigger.set(this.buf);
      this.buf = bigger;
    }
    this.buf[this.n++] = ns;
  }

  get count(): number {
    return this.n;
  }

  summary(): LatencySummary {
    if (this.n === 0) return { p50: NaN, p90: NaN, p99: NaN, max: NaN, mean: NaN };
    const sorted = this.buf.slice(0, this.n).sort();
    let total = 0;
    for (const v of sorted) total += v;
    const ms = (ns: number) => ns / 1e6;
    return {
      p50: ms(rank(sorted, 0.5)),
      p90: ms(rank(sorted, 0.9)),
      p99: ms(rank(sorted, 0.99)),
      max: ms(sorted[sorted.length - 1]!),
      mean: ms(total / sorted.length),
    };
  }
}

/** Nearest-rank percentile: the smallest sample with at least p of all samples at or below it. */
function rank(sorted: Float64Array, p: number): number {
  const i = Math.min(sorted.length - 1, Math.max(0, Math.ceil(p * sorted.length) - 1));
  return sorted[i]!;
}

export function nowNs(): number {
  // Number is exact to 2^53 ns (~104 days of uptime), far more than any run.
  return Number(process.hrtime.bigint());
}
