import type { KeyObject } from 'node:crypto';
import type { Ledger, RowWrite } from '../engine/ledger.js';
import type { PolicyStatus } from './policy-status.js';
import type { EntryDetail, EntrySummary, QueryFilter } from './query.js';
import type { Database } from 'better-sqlite3';
import type { ErasureRequest, ErasureResult } from './erasure.js';
import type { VerifyOptions, VerifyReport } from './verify.js';

/** Extra powers of a ledger that auditors can query and verify (the SQLite ledger has them). */
export interface QueryableLedger extends Ledger {
  query(filter: QueryFilter): Iterable<EntrySummary>;
  get(decisionId: string): EntryDetail | undefined;
  /** Recomputes the chain against the ledger's own key, without stalling appends. */
  verify(externalCheckpoint?: string): Promise<VerifyReport>;
  latestCheckpoint(): string | undefined;
  /** Live bundles and refusals as the ledger's policy events tell them. */
  policyStatus(): PolicyStatus;
  /** The verifier key for this ledger's checkpoints: <name>+<hex id>+<base64 key>. */
  verifierKey(): string;
}

/** Healthy while appends commit and the path still names the open file; otherwise why not. */
export interface LedgerHealth {
  ok: boolean;
  reason?: string;
}

/**
 * The ledger a running server serves from, written on its own connection (SqliteLedger) or by
 * its writer thread (ThreadedLedger): `db` reads what was committed (queries, proofs, the stores'
 * reads), and everything that writes the file goes through the ledger.
 */
export interface ServedLedger extends QueryableLedger {
  readonly db: Database;
  /** The checkpoints' origin line, and the key they are verified with. */
  readonly origin: string;
  readonly key: { readonly name: string; readonly publicKey: KeyObject };
  readonly size: number;
  readonly headHash: string;
  readonly health: LedgerHealth;
  onHealthChange(listener: (health: LedgerHealth) => void): void;
  /** Each checkpoint signed (its note and size): what witnesses are sent. */
  onCheckpoint(listener: (note: string, size: number) => void): void;
  findRequest(caller: string, requestId: string, sinceMs: number): EntryDetail | undefined;
  verify(externalCheckpoint?: string, onProgress?: (done: number, total: number) => void, witnesses?: VerifyOptions['witnesses']): Promise<VerifyReport>;
  erase(request: ErasureRequest, options?: { limit?: number; now?: Date }): Promise<ErasureResult>;
  /** Rows outside the chain (shadow results, witness cosignatures), written by the ledger's writer in a transaction of their own. */
  writeRows(writes: readonly RowWrite[]): Promise<void>;
  /** Signs a checkpoint of the head now; its note (none from an empty ledger). */
  checkpoint(): string | undefined | Promise<string | undefined>;
  close(): Promise<void>;
}
