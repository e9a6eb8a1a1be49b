import { GavelError } from '../lib/errors.js';
import type { JsonObject } from '../lib/json.js';

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

/** The one refusal for an answer that could not be recorded: no entry, no answer. */
export function unrecorded(cause: unknown): GavelError {
  return new GavelError('ledger_unavailable', 'the decision could not be recorded in the ledger; no answer is given', { cause });
}
