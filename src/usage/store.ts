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
}

/**
 * The one interface a usage backend implements. SQLite (embedded, the default)
 * is usage/sqlite.ts; a shared store for several replicas (PostgreSQL, Redis)
 * implements the same methods with its async client: `atomically` becomes a
 * SERIALIZABLE transaction (or row locks on the budgets touched), or one Lua
 * script, so the check and the reservation stay one atomic step.
 */
export interface UsageStore {
  /** Runs `body` so that no other decision's read-check-reserve interleaves with it. */
  atomically<T>(body: () => Promise<T>): Promise<T>;
  usage(scope: Scope, key: string, nowMs: number): Promise<ScopeUsage>;
  history(subject: string, nowMs: number): Promise<History>;
  recordRequest(r: { decisionId: string; subject: string; tool: string; decision: string; atMs: number }): Promise<void>;
  reserve(r: Reservation): Promise<void>;
  /** Removes a reservation and request record whose decision never reached the ledger. */
  cancel(decisionId: string): Promise<void>;
  charge(decisionId: string): Promise<ChargeRow | undefined>;
  /** Settles a reservation to real usage, idempotently. */
  settle(s: Settlement): Promise<SettleResult>;
}
