import { writeFileSync } from 'node:fs';
import type { LatencySummary } from './stats.js';
import type { LoadResult } from './load.js';

/**
 * The tables of bench/README.md. Each measurement names the table it belongs
 * to, so a part script need not know how run.ts lays the report out.
 */
export type TableName = 'path' | 'toggles' | 'ledger' | 'verify';

export interface Measurement {
  table: TableName;
  scenario: string;
  /** What one op is: "decisions/s", "evals/s", "appends/s", "entries/s". */
  unit: string;
  throughput: number;
  /** Percentiles of one op (for ledger batches: of one batch commit). */
  latencyMs?: LatencySummary;
  concurrency?: number;
  seconds: number;
  ops: number;
  errors: number;
  unexpected: number;
  /** Cores used during the window, e.g. "server 1.00, client 0.85". */
  cpu?: string;
  /** Cores the process answering the calls used (the server, or this process for in-process rows); gives throughput per core. */
  serverCores?: number;
  note?: string;
}

/** What a part script writes to --out for run.ts. */
export interface PartResult {
  part: string;
  measurements: Measurement[];
  /** Free text for the report: skipped parts, how a peer was run, anomalies. */
  notes: string[];
  /** Tables of the part's own shape, placed after the shared ones. */
  markdown?: string[];
}

export function fromLoad(table: TableName, scenario: string, unit: string, r: LoadResult, extra: Partial<Measurement> = {}): Measurement {
  const notes = [
    ...(r.errors > 0 ? [`${r.errors} errors (first: ${r.firstError ?? '?'})`] : []),
    ...(r.unexpected > 0 ? [`${r.unexpected} answers were not the expected decision`] : []),
    ...(extra.note ? [extra.note] : []),
  ];
  return {
    table,
    scenario,
    unit,
    throughput: r.throughput,
    latencyMs: r.latencyMs,
    seconds: r.seconds,
    ops: r.ops,
    errors: r.errors,
    unexpected: r.unexpected,
    ...extra,
    ...(notes.length > 0 ? { note: notes.join('; ') } : {}),
  };
}

/** CPU fields of a measurement: the answering process first, then e.g. the load generator. */
export function cpuFields(server: [string, number | undefined], ...others: Array<[string, number | undefined]>): Pick<Measurement, 'cpu' | 'serverCores'> {
  const known = [server, ...others].filter((p): p is [string, number] => p[1] !== undefined);
  return {
    ...(known.length > 0 ? { cpu: known.map(([who, cores]) => `${who} ${cores.toFixed(2)}`).join(', ') } : {}),
    ...(server[1] !== undefined ? { serverCores: server[1] } : {}),
  };
}

/** Prints a short human summary and, under run.ts, writes the JSON it collects. */
export function report(result: PartResult, out: string | undefined): void {
  for (const m of result.measurements) {
    const lat = m.latencyMs ? `  p50 ${fmt(m.latencyMs.p50)} ms  p90 ${fmt(m.latencyMs.p90)} ms  p99 ${fmt(m.latencyMs.p99)} ms` : '';
    const cpu = m.cpu ? `  [cores: ${m.cpu}]` : '';
    const note = m.note ? `  (${m.note})` : '';
    process.stdout.write(`  ${m.scenario}: ${Math.round(m.throughput).toLocaleString('en-US')} ${m.unit}${lat}${cpu}${note}\n`);
  }
  for (const n of result.notes) process.stdout.write(`  note: ${n}\n`);
  if (out) writeFileSync(out, JSON.stringify(result, null, 2));
}

/** A whole number as the tables write it (1,234), or – when there is none. */
export function int(n: number | undefined): string {
  return n !== undefined && Number.isFinite(n) ? Math.round(n).toLocaleString('en-US') : '–';
}

/** A number with `digits` decimals, or – when there is none. */
export function fixed(n: number | undefined, digits = 2): string {
  return n !== undefined && Number.isFinite(n) ? n.toFixed(digits) : '–';
}

export function fmt(ms: number): string {
  if (!Number.isFinite(ms)) return '–';
  if (ms >= 100) return ms.toFixed(0);
  if (ms >= 10) return ms.toFixed(1);
  if (ms >= 1) return ms.toFixed(2);
  return ms.toFixed(3);
}
