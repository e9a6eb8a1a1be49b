import type { JsonObject } from '../../lib/json.js';

/**
 * One recorded decision as replay reads it: what the ledger stored when it was
 * decided. The ledger adapter (ledger/recorded-decisions.ts) produces these;
 * the engine only reads them.
 */
export interface RecordedDecision {
  seq: number;
  decisionId: string;
  time: string;
  entrypoint: string;
  /** The bundle that decided: name, revision, digest. */
  bundle: string;
  revision: string;
  digest: string;
  decision: string;
  reasonCodes: string[];
  /** The stored payload ({input, result}), as canonical JSON text; null when a retention job erased it. */
  payload: string | null;
}

/** Which recorded decisions to read, oldest first. */
export interface RecordedFilter {
  /** RFC 3339 time, or a duration back from now such as 7d. */
  since?: string;
  until?: string;
  subject?: string;
  team?: string;
  /** At most this many (the oldest first); absent = all. */
  limit?: number;
}

/** The port replay reads through: recorded decisions, oldest first, and how many match. */
export interface RecordedDecisions {
  count(filter: RecordedFilter): number;
  read(filter: RecordedFilter): Iterable<RecordedDecision>;
}

/** The payload as the engine wrote it (record.ts): the stored input and the result. */
export interface StoredPayload {
  input: JsonObject;
  result: { redactions?: unknown[]; hashed_paths?: unknown[]; input_altered?: unknown };
}
