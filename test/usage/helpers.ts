import type Database from 'better-sqlite3';
import type { EntryRecord, Ledger, Receipt, RowResult, StagedWrite } from '../../src/engine/ledger.js';
import { RowWriter } from '../../src/ledger/row-writes.js';
import type { UsageReportInput } from '../../src/usage/report.js';
import { historyKey, scopeKeys, type Reservation, type SettlementRecorder, type StagedUsage, type UsageStore } from '../../src/usage/store.js';
import { unary } from '../helpers/client.js';
import type { Clients } from '../helpers/client.js';

export interface Caller {
  subject: string;
  team: string;
  costCenter: string;
}

/** A gateway's usage report of one standard-m call by `who`: one input token and `outputTokens`, no cost given. */
export function usageReport(decisionId: string, who: Caller, outputTokens: number, reporter = 'gw'): UsageReportInput {
  return {
    decisionId,
    subject: who.subject,
    team: who.team,
    costCenter: who.costCenter,
    model: 'standard-m',
    inputTokens: 1,
    outputTokens,
    cost: '',
    reporter,
  };
}

export function modelCall(who: Caller, model = 'standard-m', maxTokens = 100, prompt = 'hi'): Record<string, unknown> {
  return {
    subject: { id: who.subject, type: 'user', roles: ['employee'], team: who.team, cost_center: who.costCenter },
    action: { type: 'model.invoke', model, params: { max_tokens: maxTokens } },
    content: { prompt },
    context: { environment: 'prod' },
  };
}

export async function decide(c: Clients, input: unknown): Promise<Record<string, any>> {
  return unary(c.decision, 'Decide', { input_json: Buffer.from(JSON.stringify(input)) });
}

export async function report(
  c: Clients,
  decisionId: string,
  who: Caller,
  model: string,
  inputTokens: number,
  outputTokens: number,
  cost = '',
): Promise<Record<string, any>> {
  return unary(c.usage, 'Report', {
    decision_id: decisionId,
    subject: who.subject,
    team: who.team,
    cost_center: who.costCenter,
    model,
    input_tokens: inputTokens,
    output_tokens: outputTokens,
    cost,
  });
}

export async function usageOf(c: Clients, scope: string, key: string): Promise<Record<string, any>> {
  const res = await unary(c.usage, 'GetUsage', { scope, key });
  return JSON.parse(res.usage_json.toString()) as Record<string, any>;
}

/** A clock the test moves by hand. */
export class TestClock {
  constructor(private t: number) {}
  now = (): Date => new Date(this.t);
  set(iso: string): void {
    this.t = Date.parse(iso);
  }
  advance(ms: number): void {
    this.t += ms;
  }
}

/** A store-level reservation of 300 standard-m tokens (4,500 micros) at atMs, for ten minutes, asked by 'gateway'. */
export function storeReservation(id: string, atMs: number, who: Caller, over: Partial<Reservation> = {}): Reservation {
  return {
    ...who,
    decisionId: id,
    model: 'standard-m',
    tier: 'standard',
    tokens: 300,
    costMicros: 4_500,
    atMs,
    expiresMs: atMs + 600_000,
    maxOutputTokens: 256,
    estimatedInputTokens: 44,
    caller: 'gateway',
    askedModel: 'standard-m',
    ...over,
  };
}

/** Writes a staged write's rows straight to `db` and finishes it as committed: a store-level test's stand-in for the ledger's transaction. */
export function commitStaged(db: Database.Database, staged: StagedWrite): void {
  let results: RowResult[];
  try {
    results = new RowWriter(db).run(staged.writes);
  } catch (err) {
    staged.finish(false, []);
    throw err;
  }
  staged.finish(true, results);
}

/**
 * For store-level tests only: a settlement written straight through to `db`, with no ledger entry (a
 * served report is always recorded: usage/report.ts). A shared store's rows are in PostgreSQL already: no db.
 */
export function withoutEntry(db?: Database.Database): SettlementRecorder {
  return async (_charge, staged) => {
    if (staged.writes.length > 0 && !db) throw new Error('withoutEntry: rows to write and no database to write them to');
    if (db) commitStaged(db, staged);
    else staged.finish(true, []);
  };
}

/** A ledger for store- and meter-level tests: writes each staged write's rows to `db` at once and keeps the records it was given. */
export function recordingLedger(db?: Database.Database): Ledger & { records: EntryRecord[] } {
  const records: EntryRecord[] = [];
  return {
    records,
    async append(record: EntryRecord, staged?: StagedWrite): Promise<Receipt> {
      if (staged && staged.writes.length > 0 && !db) throw new Error('recordingLedger: rows to write and no database to write them to');
      const results = staged && db ? new RowWriter(db).run(staged.writes) : [];
      records.push(record, ...(staged?.records ?? []));
      staged?.finish(true, results);
      return { seq: records.length, entryHash: '' };
    },
    async close() {},
  };
}

/** Requests in the last minute, as a decision's read of `who`'s keys sees them (the shared store: from its log in memory). */
export async function requestsSeen(store: UsageStore, who: Caller, nowMs: number): Promise<number> {
  const read = await store.read([...scopeKeys(who), historyKey(who.subject)]);
  try {
    return (await read.history(who.subject, nowMs)).requests_last_minute;
  } finally {
    read.end();
  }
}

/** Stages `rows` through a read of `who`'s keys, after reading its history as the meter does, and finishes them as committed. */
export async function stageAfterRead(store: UsageStore, who: Caller, rows: StagedUsage): Promise<void> {
  const read = await store.read([...scopeKeys(who), historyKey(who.subject)]);
  try {
    await read.history(who.subject, rows.request.atMs);
    const staged = await read.stage(rows);
    if (!staged) throw new Error('stale');
    staged.finish(true, []);
  } finally {
    read.end();
  }
}
