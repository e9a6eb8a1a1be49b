/** What one closed-loop window measured: calls answered per second, and latency percentiles (ms). */
export interface LoopResult {
  perSecond: number;
  p50: number;
  p99: number;
}

/**
 * `inFlight` loops in this process, each calling `call` again as soon as its last call settled,
 * for `seconds`; `call` gets a running count (to pick a subject or a request id).
 */
export async function closedLoop(call: (n: number) => Promise<unknown>, inFlight: number, seconds: number): Promise<LoopResult> {
  const latencies: number[] = [];
  const end = performance.now() + seconds * 1000;
  let n = 0;
  await Promise.all(
    Array.from({ length: inFlight }, async () => {
      while (performance.now() < end) {
        const t = performance.now();
        await call(n++);
        latencies.push(performance.now() - t);
      }
    }),
  );
  latencies.sort((a, b) => a - b);
  return { perSecond: latencies.length / seconds, p50: latencies[Math.floor(latencies.length / 2)]!, p99: latencies[Math.floor(latencies.length * 0.99)]! };
}
