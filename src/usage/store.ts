import type { StagedWrite } from '../engine/ledger.js';
import type { UsageSnapshot } from '../engine/meter.js';
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
}

export interface RequestRow {
  decisionId: string;
  subject: string;
  tool: string;
  decision: string;
  atMs: number;
}

/** A decision's usage rows, staged to commit with its ledger entry. */
export interface StagedUsage {
  request: RequestRow;
  reservation?: Reservation;
}

/**
 * The one interface a usage backend implements. SQLite (embedded, the default)
 * is usage/sqlite.ts. Reads are lock-free and versioned: every usage key (a
 * scope's budget totals, a subject's request history) has a version that moves
 * whenever something that key reads changes; a decision's writes are staged
 * (visible to later reads at once) and applied inside the ledger's transaction.
 * A shared store for several replicas (PostgreSQL) keeps the versions in its
 * rows and checks them in the writer's transaction.
 */
export interface UsageStore {
  /** Used and reserved totals of one key; `excluding` names one decision whose reservation is left out. */
  usage(scope: Scope, key: string, nowMs: number, excluding?: string): Promise<ScopeUsage>;
  history(subject: string, nowMs: number): Promise<History>;
  /** The current versions of these usage keys (see usageKey, historyKey). */
  snapshot(keys: string[]): UsageSnapshot;
  /** True when no key of the snapshot has moved since it was taken. */
  isCurrent(snapshot: UsageSnapshot): boolean;
  /** Stages a decision's rows: counted by reads from now on, written by `apply` in the ledger's transaction. */
  stage(rows: StagedUsage): StagedWrite;
  charge(decisionId: string): Promise<ChargeRow | undefined>;
  /** Drops a decision's unsettled reservation (its caller gave up); settled usage is never released. */
  release(decisionId: string): Promise<void>;
  /** The same, written by `apply` inside another entry's transaction; it stops counting once that commits. */
  stagedRelease(decisionId: string): StagedWrite;
  /** Settles a reservation to real usage, idempotently. */
  settle(s: Settlement): Promise<SettleResult>;
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
