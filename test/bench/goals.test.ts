import { describe, expect, it } from 'vitest';
import { GOAL_LABELS as L, goalsTable, mainThreadMs } from '../../bench/lib/goals.js';
import { medians, type ServiceRow } from '../../bench/lib/service-table.js';

/** Issue 30's goals as bench/service.ts reads them off its own medians: each figure, target and verdict. */
const row = (server: string, inFlight: number, over: Partial<ServiceRow>): ServiceRow => ({
  server,
  rep: 3,
  inFlight,
  throughput: 100,
  p50: 1,
  p90: 2,
  p99: 3,
  errors: 0,
  ...over,
});

const ROWS: ServiceRow[] = [
  row(L.gavel, 1, { p50: 2.0 }),
  row(L.gavel, 32, { throughput: 1000, mainThreadCores: 0.5, cpuPerDecisionMs: 1.2, rssMb: 300 }),
  row(L.thread, 1, { p50: 1.35 }),
  row(L.thread, 32, { throughput: 1100, mainThreadCores: 0.2, cpuPerDecisionMs: 0.6, rssMb: 200 }),
  row(L.opa, 1, { p50: 2.5 }),
  row(L.opa, 8, { throughput: 420 }),
  row(L.opa, 32, { throughput: 400, cpuPerDecisionMs: 2.7, rssMb: 74 }),
  row(L.floor, 1, { p50: 0.8 }),
  row(L.floor, 32, { throughput: 3000, mainThreadCores: 0.5, rssMb: 149 }),
  row(`${L.stream} (in flight = streams, 1024 requests each)`, 1, { throughput: 1100 }),
  row(`${L.stream} (in flight = streams, 1024 requests each)`, 2, { throughput: 1300 }),
];

const open = (server: string, rate: number, half: string, over: Partial<ServiceRow>) =>
  row(`${server}, open loop at ${rate}/s (half ${half}'s peak of ${rate * 2}/s)`, Number.NaN, over);

const FIXED: ServiceRow[] = [
  open(L.gavel, 200, 'OPA', { p99: 10, loopP99Ms: 5, probeLoopMaxMs: 9, probeLoopP99Ms: 2.5 }),
  open(L.thread, 200, 'OPA', { p99: 14, loopP99Ms: 4, probeLoopMaxMs: 9, probeLoopP99Ms: 2.5 }),
  open(L.opa, 200, 'OPA', { p99: 12 }),
  open(L.floor, 200, 'OPA', { p99: 2 }),
  open(L.gavel, 500, 'gavel', { p99: 30, loopP99Ms: 9, probeLoopMaxMs: 9, probeLoopP99Ms: 3 }),
  open(L.thread, 500, 'gavel', { p99: 19, loopP99Ms: 5.5, probeLoopMaxMs: 9, probeLoopP99Ms: 3 }),
  open(L.floor, 500, 'gavel', { p99: 5 }),
];

/** The table's cells by the goal's first words. */
function cells(lines: string[], goal: string): string[] {
  const line = lines.find((l) => l.startsWith(`| ${goal}`));
  expect(line, goal).toBeDefined();
  return line!.split(' | ').map((c) => c.replace(/^\| /, '').replace(/ \|$/, ''));
}

describe("issue 30's goals table", () => {
  it('reads each goal off the rows, and says which way of serving meets it', () => {
    // As service.ts gives them: the medians of its repetitions (a field never measured is NaN there).
    const t = goalsTable(medians([...ROWS, ...ROWS]), medians([...FIXED, ...FIXED]));
    expect(cells(t, '1. Main-thread')).toEqual([
      '1. Main-thread CPU per decision at 32 in flight',
      "≤ 0.2 ms (the gRPC floor's own: 0.167 ms)",
      '0.500 ms',
      '0.182 ms',
      'with `--ledger-thread` only',
    ]);
    expect(cells(t, "2. p99, open loop at half OPA's")).toEqual([
      "2. p99, open loop at half OPA's peak (200/s)",
      "≤ OPA's p99 (12.0 ms)",
      '10.0 ms: 0.83x',
      '14.0 ms: 1.17x',
      'yes (default only)',
    ]);
    expect(cells(t, "2. p99, open loop at half gavel's").slice(1)).toEqual([
      "≤ 4x the floor's p99 (5.00 ms)",
      "30.0 ms: 6.00x the floor's",
      "19.0 ms: 3.80x the floor's",
      'with `--ledger-thread` only',
    ]);
    expect(cells(t, '3. p50 at 1 in flight against OPA').slice(1)).toEqual([
      "≤ 0.75x OPA's (2.50 ms)",
      '2.00 ms: 0.80x',
      '1.35 ms: 0.54x',
      'with `--ledger-thread` only',
    ]);
    expect(cells(t, '3. p50 at 1 in flight against the floor').slice(1)).toEqual([
      "≤ the floor's + 0.6 ms (1.40 ms)",
      '2.00 ms',
      '1.35 ms',
      'with `--ledger-thread` only',
    ]);
    // At the limit is met: 1,000/s is 2.5x 400/s (and 200 MB below).
    expect(cells(t, '4. Throughput').slice(1)).toEqual(["≥ 2.5x OPA's (400/s)", '1,000/s: 2.50x', '1,100/s: 2.75x', 'yes']);
    // Against OPA's peak (420/s at 8 in flight), not its rate at 32.
    expect(cells(t, '4. The same over DecideStream').slice(1)).toEqual(["≥ 3x OPA's peak (420/s)", '1,300/s: 3.10x', 'not measured', 'yes']);
    expect(cells(t, '4. CPU per decision').slice(1)).toEqual(["≤ 0.65 ms (OPA's: 2.70 ms)", '1.20 ms', '0.600 ms', 'with `--ledger-thread` only']);
    expect(cells(t, '5. RSS').slice(1)).toEqual(["≤ 200 MB (OPA's: 74 MB; the floor's: 149 MB)", '300 MB', '200 MB', 'with `--ledger-thread` only']);
    expect(cells(t, "6. Event-loop delay p99, open loop at half OPA's").slice(2)).toEqual([
      '5.00 ms against 2.50 ms',
      '4.00 ms against 2.50 ms',
      'with `--ledger-thread` only',
    ]);
    expect(cells(t, "6. Event-loop delay p99, open loop at half gavel's").slice(2)).toEqual(['9.00 ms against 3.00 ms', '5.50 ms against 3.00 ms', 'no']);
  });

  it('a goal whose rows the run lacks says not measured, never met', () => {
    const withoutOpa = goalsTable(
      ROWS.filter((r) => r.server !== L.opa && !r.server.startsWith(L.thread)),
      FIXED.filter((r) => !r.server.startsWith(L.opa)),
    );
    expect(cells(withoutOpa, "2. p99, open loop at half OPA's").slice(1)).toEqual(["≤ OPA's p99 (–)", 'not measured', 'not measured', 'not measured']);
    expect(cells(withoutOpa, '4. Throughput').slice(2)).toEqual(['not measured', 'not measured', 'not measured']);
    expect(cells(withoutOpa, '1. Main-thread').slice(2)).toEqual(['0.500 ms', 'not measured', 'no']);
    expect(cells(withoutOpa, '5. RSS').slice(2)).toEqual(['300 MB', 'not measured', 'no']);
  });

  it("main-thread CPU per decision is the main thread's cores over the rate", () => {
    expect(mainThreadMs(row(L.gavel, 32, { throughput: 800, mainThreadCores: 0.4 }))).toBeCloseTo(0.5);
    expect(mainThreadMs(row(L.gavel, 32, { throughput: 0, mainThreadCores: 0.4 }))).toBeUndefined();
    expect(mainThreadMs(row(L.gavel, 32, {}))).toBeUndefined();
    expect(mainThreadMs(undefined)).toBeUndefined();
  });
});
