import { GavelError } from '../errors.js';
import type { JsonObject } from '../engine/json.js';
import type { EntryDetail, EntrySummary, QueryFilter } from './query.js';
import type { VerifyReport } from './verify.js';

/** What the engine hands the ledger for one decision. Payload content is already redacted. */
export interface DecisionRecord {
  decisionId: string;
  /** RFC 3339 time of the decision (the input.context.now the policy saw). */
  time: string;
  subjectId: string;
  subjectType: string;
  team: string;
  costCenter: string;
  actionType: string;
  /** The model or tool the action targets. */
  resource: string;
  decision: string;
  reasonCodes: string[];
  bundle: string;
  revision: string;
  digest: string;
  entrypoint: string;
  requestId: string;
  caller: string;
  /** { input: stored input, result: decision, reasons, redactions, obligations }. */
  payload: JsonObject;
  /** Per-entry random salt for payload_hash (the engine also salts sensitive-path hashes with it). */
  salt: Uint8Array;
}

export interface Receipt {
  seq: number;
  entryHash: string;
}

/** The one interface a ledger backend must implement: durable append, then close. */
export interface Ledger {
  /** Resolves once the entry is durable in the configured mode; rejects with ledger_unavailable otherwise. */
  append(record: DecisionRecord): Promise<Receipt>;
  close(): Promise<void>;
}

/** Extra powers of a ledger that auditors can query and verify (the SQLite ledger has them). */
export interface QueryableLedger extends Ledger {
  query(filter: QueryFilter): Iterable<EntrySummary>;
  get(decisionId: string): EntryDetail | undefined;
  /** Recomputes the chain against the ledger's own key, without stalling appends. */
  verify(externalCheckpoint?: string): Promise<VerifyReport>;
  latestCheckpoint(): string | undefined;
  /** The verifier key for this ledger's checkpoints: <name>+<hex id>+<base64 key>. */
  verifierKey(): string;
}

/** The one refusal for an answer that could not be recorded: no entry, no answer. */
export function unrecorded(cause: unknown): GavelError {
  return new GavelError('ledger_unavailable', 'the decision could not be recorded in the ledger; no answer is given', { cause });
}
