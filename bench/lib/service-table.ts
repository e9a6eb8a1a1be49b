import { goalsTable, mainThreadMs } from './goals.js';
import { fixed, fmt, int } from './result.js';

/** One measured window of bench/service.ts. */
export interface ServiceRow {
  server: string;
  rep: number;
  inFlight: number;
  throughput: number;
  p50: number;
  p90: number;
  p99: number;
  cores?: number;
  cpuPerDecisionMs?: number;
  rssMb?: number;
  /** The server's main thread alone (gavel's I/O thread), cores used over the window. */
  mainThreadCores?: number;
  /** gavel only: the I/O thread's longest event-loop delay and its p99 during the window. */
  loopMaxMs?: number;
  loopP99Ms?: number;
  /** Open loop only: the same for an idle Node process beside the server (bench/lib/loop-probe.ts), the machine's own delay. */
  probeLoopMaxMs?: number;
  probeLoopP99Ms?: number;
  /** Failed calls plus answers that were not the expected decision. */
  errors: number;
  firstError?: string;
  note?: string;
}

export interface ServiceTables {
  rows: ServiceRow[];
  fixed: ServiceRow[];
  beside: ServiceRow[];
  reps: number;
  seconds: number;
  warmup: number;
  /** The peer every row is compared with, at the same in-flight count. */
  reference: string;
}

/** The median of the finite values (NaN when there are none). */
export function median(xs: Array<number | undefined>): number {
  const s = xs.filter((x): x is number => x !== undefined && Number.isFinite(x)).sort((a, b) => a - b);
  if (s.length === 0) return Number.NaN;
  return s.length % 2 ? s[(s.length - 1) / 2]! : (s[s.length / 2 - 1]! + s[s.length / 2]!) / 2;
}

/** The median row of each (server, in flight) group, in first-seen order. */
export function medians(rows: ServiceRow[]): ServiceRow[] {
  const groups = new Map<string, ServiceRow[]>();
  for (const r of rows) {
    const key = `${r.server}\u0000${r.inFlight}`;
    groups.set(key, [...(groups.get(key) ?? []), r]);
  }
  return [...groups.values()].map((g) => ({
    server: g[0]!.server,
    rep: g.length,
    inFlight: g[0]!.inFlight,
    throughput: median(g.map((r) => r.throughput)),
    p50: median(g.map((r) => r.p50)),
    p90: median(g.map((r) => r.p90)),
    p99: median(g.map((r) => r.p99)),
    cores: median(g.map((r) => r.cores)),
    cpuPerDecisionMs: median(g.map((r) => r.cpuPerDecisionMs)),
    mainThreadCores: median(g.map((r) => r.mainThreadCores)),
    rssMb: Math.max(...g.map((r) => r.rssMb ?? Number.NaN)),
    loopMaxMs: Math.max(...g.map((r) => r.loopMaxMs ?? Number.NaN)),
    loopP99Ms: median(g.map((r) => r.loopP99Ms)),
    ...(g.some((r) => r.probeLoopMaxMs !== undefined)
      ? { probeLoopMaxMs: Math.max(...g.map((r) => r.probeLoopMaxMs ?? Number.NaN)), probeLoopP99Ms: median(g.map((r) => r.probeLoopP99Ms)) }
      : {}),
    errors: g.reduce((n, r) => n + r.errors, 0),
    ...(g.find((r) => r.firstError) ? { firstError: g.find((r) => r.firstError)!.firstError! } : {}),
    ...(g.find((r) => r.note) ? { note: g.find((r) => r.note)!.note! } : {}),
  }));
}

const HEAD =
  '| Server | In flight | Decisions/s | vs OPA | p50 ms | p90 ms | p99 ms | Cores used | CPU ms/decision | Main thread CPU ms/decision | RSS MB | Event loop max / p99 ms | Errors |';
const RULE = '|---|--:|--:|--:|--:|--:|--:|--:|--:|--:|--:|--:|---|';

const FIXED_HEAD = `${HEAD} Main thread: cores | Idle process beside: loop max / p99 ms |`;
const FIXED_RULE = `${RULE}--:|--:|`;

function loopDelay(max: number | undefined, p99: number | undefined): string {
  return max !== undefined && Number.isFinite(max) ? `${fixed(max, 1)} / ${fixed(p99, 1)}` : '–';
}

function line(r: ServiceRow, reference: ServiceRow | undefined): string {
  const ratio = reference && reference !== r && Number.isFinite(reference.throughput) ? `${(r.throughput / reference.throughput).toFixed(2)}x` : '–';
  const loop = loopDelay(r.loopMaxMs, r.loopP99Ms);
  const errors = r.errors > 0 ? `${r.errors}${r.firstError ? ` (${r.firstError.slice(0, 80).replace(/\|/g, '/')})` : ''}` : '0';
  const note = r.note ? `; ${r.note}` : '';
  // OPA's main OS thread is not a serial part of its work (Go schedules goroutines on every thread): no figure.
  const mainMs = r.server.startsWith('opa') ? Number.NaN : (mainThreadMs(r) ?? Number.NaN);
  return `| ${r.server} | ${Number.isFinite(r.inFlight) ? r.inFlight : 'open loop'} | **${int(r.throughput)}** | ${ratio} | ${fmt(r.p50)} | ${fmt(r.p90)} | ${fmt(r.p99)} | ${fixed(r.cores)} | ${fixed(r.cpuPerDecisionMs)} | ${fixed(mainMs, 3)} | ${int(r.rssMb)} | ${loop} | ${errors}${note} |`;
}

/** The service tables of bench/README.md: medians side by side, then the open-loop and large-input runs. */
export function serviceTables(t: ServiceTables): string[] {
  const med = medians(t.rows);
  const ref = (c: number) => med.find((r) => r.server === t.reference && r.inFlight === c);
  const byInFlight = [...med].sort((a, b) => a.inFlight - b.inFlight);
  return [
    `#### Service: gavel serve beside OPA (median of ${t.reps} interleaved runs of ${t.seconds} s after ${t.warmup} s of warmup)`,
    '',
    "\"vs OPA\" divides by `opa run --server` without decision log at the same in-flight count. CPU ms/decision = server CPU seconds (all threads) ÷ decisions answered; main thread CPU ms/decision, the same for gavel's I/O thread alone (the serial part). Event loop: the I/O thread's longest delay in the window and its p99 (gavel's `gavel_event_loop_delay_seconds`). Errors count failed calls and answers that were not the expected ALLOW.",
    '',
    HEAD,
    RULE,
    ...byInFlight.map((r) => line(r, ref(r.inFlight))),
    '',
    '#### Latency at moderate load (open loop, fixed rate)',
    '',
    'The floor row is a server doing no work at the same rate. "Main thread": the cores used by the server\'s main thread alone (gavel\'s I/O thread, the serial part; workers not counted). The last column, an idle Node process run beside each server in the same window (`bench/lib/loop-probe.ts`): the delay the machine itself imposes on a thread. Event loop max is the longest of the repetitions.',
    '',
    FIXED_HEAD,
    FIXED_RULE,
    ...medians(t.fixed).map((r) => `${line(r, undefined)} ${fixed(r.mainThreadCores)} | ${loopDelay(r.probeLoopMaxMs, r.probeLoopP99Ms)} |`),
    '',
    '#### Small requests beside large ones',
    '',
    HEAD,
    RULE,
    ...t.beside.map((r) => line(r, undefined)),
    '',
    ...goalsTable(med, medians(t.fixed)),
  ];
}
