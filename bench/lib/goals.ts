import { fmt, int } from './result.js';
import type { ServiceRow } from './service-table.js';

/**
 * Issue 30's goals, read off one service run's medians (bench/service.ts), so the verdict is the
 * run's own and not a sum done by hand: each goal's target, what gavel serve measured with the
 * ledger on its I/O thread (the default) and on its writer thread (`--ledger-thread`), and which
 * of the two meets it. A goal whose rows the run lacks (OPA not installed, `--shadow-only`) says
 * so. Goal 4's moonshot needs the wasm part's floor and goal 7 the test suite: not here.
 */
export interface GoalLabels {
  gavel: string;
  thread: string;
  opa: string;
  floor: string;
  /** DecideStream rows start with this. */
  stream: string;
}

export const GOAL_LABELS: GoalLabels = {
  gavel: 'gavel serve',
  thread: 'gavel serve --ledger-thread (the ledger on its writer thread)',
  opa: 'opa run --server, no decision log',
  floor: 'floor: grpc-js Decide answering a fixed ALLOW, no engine (bench/lib/grpc-floor.ts)',
  stream: 'gavel serve, DecideStream',
};

/** One goal for one way of serving: the figure shown, and whether it meets the target (undefined: not measured). */
interface Verdict {
  shown: string;
  met: boolean | undefined;
}

const NOT_MEASURED: Verdict = { shown: 'not measured', met: undefined };

const finite = (...xs: Array<number | undefined>): boolean => xs.every((x) => x !== undefined && Number.isFinite(x));

/** Main-thread CPU ms per decision (the serial I/O thread's). */
export function mainThreadMs(r: ServiceRow | undefined): number | undefined {
  return r?.mainThreadCores !== undefined && r.throughput > 0 ? (r.mainThreadCores / r.throughput) * 1000 : undefined;
}

function verdict(value: number | undefined, limit: number | undefined, show: (v: number) => string, atMost = true): Verdict {
  if (!finite(value, limit)) return NOT_MEASURED;
  return { shown: show(value!), met: atMost ? value! <= limit! : value! >= limit! };
}

function metBy(a: Verdict, b: Verdict): string {
  if (a.met === undefined && b.met === undefined) return 'not measured';
  if (a.met) return b.met === false ? 'yes (default only)' : 'yes';
  return b.met ? 'with `--ledger-thread` only' : 'no';
}

/** The goals table, from the medians of the closed-loop rows and of the open-loop rows. */
export function goalsTable(rows: readonly ServiceRow[], fixed: readonly ServiceRow[], labels: GoalLabels = GOAL_LABELS): string[] {
  const at = (server: string, inFlight: number) => rows.find((r) => r.server === server && r.inFlight === inFlight);
  const open = (server: string, half: 'OPA' | 'gavel') =>
    fixed.find((r) => r.server.startsWith(`${server}, open loop at `) && r.server.includes(`(half ${half}'s peak`));
  const rateOf = (r: ServiceRow | undefined) => (r ? r.server.match(/open loop at (\d+)\/s/)?.[1] : undefined);
  const ms = (v: number) => `${fmt(v)} ms`;
  const x = (v: number) => `${v.toFixed(2)}x`;

  const opa1 = at(labels.opa, 1);
  const opa32 = at(labels.opa, 32);
  const floor1 = at(labels.floor, 1);
  const floor32 = at(labels.floor, 32);
  const streams = rows.filter((r) => r.server.startsWith(labels.stream));
  const streamPeak = streams.length > 0 ? Math.max(...streams.map((r) => r.throughput)) : undefined;
  // OPA's peak: its best in-flight count, wherever that was (service.ts's open loop uses the same).
  const opaRows = rows.filter((r) => r.server === labels.opa && Number.isFinite(r.throughput));
  const opaPeak = opaRows.length > 0 ? Math.max(...opaRows.map((r) => r.throughput)) : undefined;
  const opaHalfOpa = open(labels.opa, 'OPA');
  const floorHalfGavel = open(labels.floor, 'gavel');

  const lines: Array<[string, string, (server: string) => Verdict]> = [
    [
      '1. Main-thread CPU per decision at 32 in flight',
      `≤ 0.2 ms (the gRPC floor's own: ${fmtMs(mainThreadMs(floor32), 3)})`,
      (s) => verdict(mainThreadMs(at(s, 32)), 0.2, (v) => `${v.toFixed(3)} ms`),
    ],
    [
      `2. p99, open loop at half OPA's peak (${rateOf(opaHalfOpa) ?? '–'}/s)`,
      `≤ OPA's p99 (${fmtMs(opaHalfOpa?.p99)})`,
      (s) => {
        const r = open(s, 'OPA');
        return verdict(r?.p99, opaHalfOpa?.p99, (v) => `${ms(v)}: ${x(v / opaHalfOpa!.p99)}`);
      },
    ],
    [
      `2. p99, open loop at half gavel's peak (${rateOf(floorHalfGavel) ?? '–'}/s)`,
      `≤ 4x the floor's p99 (${fmtMs(floorHalfGavel?.p99)})`,
      (s) => {
        const r = open(s, 'gavel');
        const limit = floorHalfGavel ? 4 * floorHalfGavel.p99 : undefined;
        return verdict(r?.p99, limit, (v) => `${ms(v)}: ${x(v / floorHalfGavel!.p99)} the floor's`);
      },
    ],
    [
      '3. p50 at 1 in flight against OPA',
      `≤ 0.75x OPA's (${fmtMs(opa1?.p50)})`,
      (s) => {
        const r = at(s, 1);
        return verdict(r?.p50, opa1 ? 0.75 * opa1.p50 : undefined, (v) => `${ms(v)}: ${x(v / opa1!.p50)}`);
      },
    ],
    [
      '3. p50 at 1 in flight against the floor',
      `≤ the floor's + 0.6 ms (${fmtMs(floor1 ? floor1.p50 + 0.6 : undefined)})`,
      (s) => verdict(at(s, 1)?.p50, floor1 ? floor1.p50 + 0.6 : undefined, ms),
    ],
    [
      '4. Throughput at 32 in flight, unary Decide',
      `≥ 2.5x OPA's (${fmtRate(opa32?.throughput)})`,
      (s) => {
        const r = at(s, 32);
        return verdict(r?.throughput, opa32 ? 2.5 * opa32.throughput : undefined, (v) => `${fmtRate(v)}: ${x(v / opa32!.throughput)}`, false);
      },
    ],
    [
      '4. The same over DecideStream (its best row)',
      `≥ 3x OPA's peak (${fmtRate(opaPeak)})`,
      (s) =>
        s === labels.gavel
          ? verdict(streamPeak, opaPeak !== undefined ? 3 * opaPeak : undefined, (v) => `${fmtRate(v)}: ${x(v / opaPeak!)}`, false)
          : NOT_MEASURED,
    ],
    [
      '4. CPU per decision at 32 in flight (all threads)',
      `≤ 0.65 ms (OPA's: ${fmtMs(opa32?.cpuPerDecisionMs)})`,
      (s) => verdict(at(s, 32)?.cpuPerDecisionMs, 0.65, ms),
    ],
    [
      '5. RSS at 32 in flight, default workers',
      `≤ 200 MB (OPA's: ${fmtMb(opa32?.rssMb)}; the floor's: ${fmtMb(floor32?.rssMb)})`,
      (s) => verdict(at(s, 32)?.rssMb, 200, (v) => fmtMb(v)),
    ],
    ...(['OPA', 'gavel'] as const).map((half): [string, string, (server: string) => Verdict] => [
      `6. Event-loop delay p99, open loop at half ${half}'s peak`,
      "≤ the idle probe's p99 + 2 ms, same window",
      (s) => {
        const r = open(s, half);
        return verdict(r?.loopP99Ms, r?.probeLoopP99Ms !== undefined ? r.probeLoopP99Ms + 2 : undefined, (v) => `${ms(v)} against ${ms(r!.probeLoopP99Ms!)}`);
      },
    ]),
  ];

  return [
    "#### Issue 30's goals in this run",
    '',
    "Read off this run's medians by `bench/lib/goals.ts`. Goal 4's moonshot (≥ 25% of the wasm floor × cores) needs the wasm part's floor, and goal 7 (every answer recorded; crash, tamper and replica tests) the test suite: neither is here.",
    '',
    '| Goal | Target | gavel serve | `--ledger-thread` | Met |',
    '|---|---|---|---|---|',
    ...lines.map(([goal, target, of]) => {
      const a = of(labels.gavel);
      const b = of(labels.thread);
      return `| ${goal} | ${target} | ${a.shown} | ${b.shown} | ${metBy(a, b)} |`;
    }),
  ];
}

function fmtMs(v: number | undefined, digits?: number): string {
  if (v === undefined || !Number.isFinite(v)) return '–';
  return digits === undefined ? `${fmt(v)} ms` : `${v.toFixed(digits)} ms`;
}

/** `text` with its unit, unless there is no figure. */
const withUnit = (text: string, unit: string) => (text === '–' ? text : `${text}${unit}`);
const fmtRate = (v: number | undefined) => withUnit(int(v), '/s');
const fmtMb = (v: number | undefined) => withUnit(int(v), ' MB');
