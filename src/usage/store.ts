import type { SharedApprovalWrite } from '../engine/approvals/store.js';
import type { RecordedRequest } from '../engine/idempotency.js';
import type { Receipt, StagedWrite } from '../engine/ledger.js';
import type { RequestClaim } from '../engine/meter.js';
import type { Attribution } from '../lib/attribution.js';
import type { WindowName } from './windows.js';

/** Totals in one window. tokens and cost count used + reserved (what a budget must not exceed). */
export interface WindowUsage {
  tokens: number;
  cost: number;
  used_tokens: number;
  reserved_tokens: number;
  used_cost: number;
  reserved_cost: number;
}

export type ScopeUsage = Record<WindowName, WindowUsage> & { by_tier: Record<string, Record<WindowName, WindowUsage>> };

export type Scope = 'subject' | 'team' | 'cost_center';

export type { Attribution };

export interface History {
  requests_last_minute: number;
  denials_last_hour: number;
  tool_calls_last_minute: Record<string, number>;
}

export interface Reservation extends Attribution {
  decisionId: string;
  model: string;
  tier: string;
  tokens: number;
  costMicros: number;
  atMs: number;
  expiresMs: number;
  /** The limits a report of this call must respect: max_tokens when the request set it, and the estimated prompt tokens. */
  maxOutputTokens: number | null;
  estimatedInputTokens: number;
  /** Who asked (only they may report it), and the model they asked for (a tier-down reserves another). */
  caller: string;
  askedModel: string;
}

export interface Settlement extends Attribution {
  decisionId: string;
  model: string;
  tier: string;
  inputTokens: number;
  outputTokens: number;
  costMicros: number;
  atMs: number;
}

export type SettleResult =
  | { kind: 'settled' }
  | { kind: 'duplicate'; tokens: number; costMicros: number }
  | { kind: 'conflict'; message: string }
  | { kind: 'unknown' };

export interface ChargeRow extends Attribution {
  decisionId: string;
  model: string;
  tier: string;
  state: 'reserved' | 'settled';
  tokens: number;
  costMicros: number;
  inputTokens: number | null;
  outputTokens: number | null;
  atMs: number;
  maxOutputTokens: number | null;
  estimatedInputTokens: number | null;
  /** Null for rows written before they were kept: the decision's ledger entry says. */
  caller: string | null;
  askedModel: string | null;
}

export interface RequestRow {
  decisionId: string;
  subject: string;
  tool: string;
  decision: string;
  atMs: number;
}

/** Appends the entry recording the settlement of `charge`, with `staged` in its transaction; resolves once it is durable. */
export type SettlementRecorder = (charge: ChargeRow, staged: StagedWrite) => Promise<unknown>;

/** A decision's usage rows, staged to commit with its ledger entry. */
export interface StagedUsage {
  request: RequestRow;
  reservation?: Reservation;
  /** An idempotent call's request id (a shared store claims it in the same transaction). */
  claim?: RequestClaim;
  /** A change of an approval in the shared store, committed in the same transaction (a shared store only). */
  approval?: SharedApprovalWrite;
}

/**
 * The one interface a usage backend implements: SQLite (embedded, the default;
 * usage/sqlite.ts) and PostgreSQL (shared by replicas; usage/postgres/). A
 * decision reads and writes through a `UsageRead` on the keys it touches, so
 * that what its policy saw and what it reserves commit together or not at all.
 */
export interface UsageStore {
  /** Used and reserved totals of one key; `excluding` names one decision whose reservation is left out. */
  usage(scope: Scope, key: string, nowMs: number, excluding?: string): Promise<ScopeUsage>;
  history(subject: string, nowMs: number): Promise<History>;
  /** Opens one decision's read of these usage keys (see usageKey, historyKey); end it or stage through it. */
  read(keys: string[]): Promise<UsageRead>;
  charge(decisionId: string): Promise<ChargeRow | undefined>;
  /** Drops a decision's unsettled reservation (its caller gave up); settled usage is never released. */
  release(decisionId: string): Promise<void>;
  /** The same, with another entry: it stops counting once that entry commits. */
  stagedRelease(decisionId: string): StagedWrite;
  /** A shared store: notes the receipt of a claimed request's committed entry (idempotent Decide across replicas). */
  requestRecorded?(claim: RequestClaim, decisionId: string, receipt: Receipt): void;
  /**
   * A shared store: the answer another replica recorded for a caller's request id since `sinceMs`; throws
   * request_in_progress while that replica has not yet noted its receipt.
   */
  findRequest?(caller: string, requestId: string, sinceMs: number): Promise<RecordedRequest | undefined>;
  /**
   * Settles a reservation to real usage, idempotently. A settlement is a chain entry: `record`
   * appends the entry that records it (usage-entries.ts), with the store's writes staged in its
   * transaction (SQLite), or while the store's own transaction waits to commit (PostgreSQL);
   * nothing is settled unless the entry is.
   */
  settle(s: Settlement, record: SettlementRecorder): Promise<SettleResult>;
  /** Present when the store can become unreachable (a database server): what health reports. */
  readonly health?: UsageHealth;
  close?(): Promise<void>;
}

/**
 * One decision's read-then-write. SQLite reads without locks and checks key
 * versions when it stages (stale: read again); PostgreSQL locks the keys' rows
 * for the read and commits the rows when it stages, so no replica interleaves.
 */
export interface UsageRead {
  usage(scope: Scope, key: string, nowMs: number, excluding?: string): Promise<ScopeUsage>;
  history(subject: string, nowMs: number): Promise<History>;
  /** The decision's rows, to be written with its entry; undefined when what was read has moved (read again). */
  stage(rows: StagedUsage): StagedWrite | undefined | Promise<StagedWrite | undefined>;
  /** Gives the read up without staging; idempotent, and a no-op once staged. */
  end(): void;
}

export interface UsageHealth {
  readonly ok: boolean;
  /** Why not, when not ok (no secrets: the store's address without its password). */
  readonly reason: string;
  onChange(listener: (ok: boolean, reason: string) => void): void;
}

export function usageKey(scope: Scope, key: string): string {
  return `${scope}\u0000${key}`;
}

export function historyKey(subject: string): string {
  return `history\u0000${subject}`;
}

/** The three budget scopes a charge counts against, with their keys. */
export function scopesOf(a: Attribution): Array<[Scope, string]> {
  return [
    ['subject', a.subject],
    ['team', a.team],
    ['cost_center', a.costCenter],
  ];
}

/** The usage keys of the three budget scopes of a charge. */
export function scopeKeys(a: Attribution): string[] {
  return scopesOf(a).map(([scope, key]) => usageKey(scope, key));
}

/** How a report meets its charge, the same in every store: a settled charge reported again is a duplicate if the numbers match. */
export function settlementOf(existing: ChargeRow | undefined, s: Settlement): SettleResult {
  if (!existing) return { kind: 'unknown' };
  if (existing.state === 'settled') {
    const same = existing.inputTokens === s.inputTokens && existing.outputTokens === s.outputTokens && existing.costMicros === s.costMicros;
    if (same) return { kind: 'duplicate', tokens: existing.tokens, costMicros: existing.costMicros };
    return { kind: 'conflict', message: `usage for decision ${s.decisionId} was already reported with different numbers` };
  }
  return { kind: 'settled' };
}
