import { canonicalJson } from '../lib/canonical.js';
import { newEntryId } from '../lib/entry-id.js';
import type { DeflatedHead } from '../lib/deflate-head.js';
import type { JsonObject } from '../lib/json.js';
import { newSalt } from '../lib/salt.js';

/**
 * Kinds of ledger entry: decisions, policy events (a bundle activated, deactivated or refused),
 * approval events (requested, approved, rejected, expired, consumed), usage events (a report
 * settled, a reservation released), state events (the state tables rebuilt from the chain,
 * or the usage state an older ledger held when it began recording usage) and offline decisions
 * (made by an enforcement point under its fail mode while gavel was unreachable: offline.ts) and
 * erasures (payloads removed, by whom, why and on what basis: ledger/erasure.ts).
 */
export type EntryKind = 'decision' | 'policy' | 'approval' | 'usage' | 'state' | 'offline' | 'erasure';

export const ENTRY_KINDS: readonly EntryKind[] = ['decision', 'policy', 'approval', 'usage', 'state', 'offline', 'erasure'];

/**
 * What the engine hands the ledger for one entry, a decision or a policy event
 * (for those, `decision` is the event: activated, deactivated, refused). Payload
 * content is already redacted.
 */
export interface EntryRecord {
  /** Default 'decision'. */
  kind?: EntryKind;
  /** The decision's id (for a policy event, the event's). */
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
  /**
   * The payload, { input: stored input, result: decision, reasons, redactions,
   * obligations }, as its RFC 8785 canonical text (the engine canonicalises
   * where it evaluates, off the writer's thread) or as a JSON value; one of the two.
   */
  payloadJcs?: string;
  payload?: JsonObject;
  /**
   * A decision's payload text but its last character, already raw-DEFLATEd up to a sync flush
   * (lib/deflate-head.ts) by the evaluation worker that built it. A ledger that stores payloads
   * deflated appends what the text gained since (its last keys) instead of deflating it whole on its
   * writing thread; it deflates it whole when `payloadJcs` no longer starts with this text.
   */
  payloadHead?: DeflatedHead;
  /** Per-entry random salt for payload_hash (the engine also salts sensitive-path hashes with it). */
  salt: Uint8Array;
}

/** A record whose payload is already its canonical text: every record the engine builds (decisions, system entries). */
export type CanonicalRecord = EntryRecord & { payloadJcs: string };

/**
 * An entry gavel writes about itself (a policy event, a state check, an erasure): no subject, team or
 * request; the header says what it is in action_type, decision and reason codes; the payload says the rest.
 */
export function systemRecord(
  fields: Pick<EntryRecord, 'kind' | 'actionType' | 'decision'> &
    Partial<Pick<EntryRecord, 'resource' | 'reasonCodes' | 'bundle' | 'revision' | 'digest' | 'caller'>>,
  payload: JsonObject,
  now: Date,
): CanonicalRecord {
  return {
    decisionId: newEntryId(),
    time: now.toISOString(),
    subjectId: '',
    subjectType: '',
    team: '',
    costCenter: '',
    resource: '',
    reasonCodes: [],
    bundle: '',
    revision: '',
    digest: '',
    entrypoint: '',
    requestId: '',
    caller: 'gavel',
    ...fields,
    payloadJcs: canonicalJson(payload),
    salt: newSalt(),
  };
}

export interface Receipt {
  seq: number;
  entryHash: string;
}

/** A value SQLite binds to a statement's parameter. */
export type SqlValue = string | number | bigint | null | Uint8Array;

/**
 * One row write of a staged write, as data: the statement's text and its parameters (positional, or
 * named `@column`). The ledger runs it where it writes its entries, in the entry's transaction; being
 * data, it can cross to whichever thread owns that connection.
 */
export interface RowWrite {
  readonly sql: string;
  readonly params: readonly SqlValue[] | Readonly<Record<string, SqlValue>>;
  /** The entry fails (RowChanged) unless the statement changes exactly this many rows: a row changed since it was read. */
  readonly changes?: number;
}

/** What one row write did: the rows it changed, and the rows it returned (a RETURNING clause; else none). */
export interface RowResult {
  readonly changes: number;
  readonly rows: readonly Record<string, unknown>[];
}

/** A row write changed another number of rows than it expected: what it was written against changed first. */
export class RowChanged extends Error {
  constructor(
    readonly sql: string,
    readonly expected: number,
    readonly actual: number,
  ) {
    super(`a staged write expected to change ${expected} row(s) and changed ${actual}: the row changed since it was read`);
  }
}

/** True for a RowChanged, thrown as it is or as the cause of the ledger's refusal. */
export function isRowChanged(err: unknown): err is Error {
  return err instanceof RowChanged || (err instanceof Error && err.cause instanceof RowChanged);
}

/**
 * Writes that must commit in the same transaction as a decision's entry, or not
 * at all (its usage reservation and request record): a reservation exists if and
 * only if its decision is recorded.
 */
export interface StagedWrite {
  /**
   * Run in order inside the ledger's transaction, before the entry is inserted; one that fails fails
   * this entry alone. They may run again after they were rolled back (a batch in which one entry
   * failed is written again entry by entry): only rows are written, nothing is counted or signalled.
   */
  readonly writes: readonly RowWrite[];
  /**
   * Called once, after the transaction commits (true, with each write's result in order; with the
   * ledger on a writer thread, once its answer is back here) or once the entry is given up (false,
   * and no results). Until then another read may see the rows already committed.
   */
  finish(committed: boolean, results: readonly RowResult[]): void;
  /**
   * Entries chained right after this one, in the same transaction (an approval event that
   * belongs to the decision: requested, consumed); all of them are written, or none.
   */
  records?: readonly EntryRecord[];
}

/** Several staged writes as one: their writes in order, each finished with its own results, their records in order. */
export function stagedTogether(...parts: Array<StagedWrite | undefined>): StagedWrite | undefined {
  const staged = parts.filter((p): p is StagedWrite => p !== undefined);
  if (staged.length <= 1) return staged[0];
  const records = staged.flatMap((w) => w.records ?? []);
  return {
    writes: staged.flatMap((w) => w.writes),
    // Every part hears the outcome, even when an earlier one throws (the first error is rethrown after).
    finish: (committed, results) => {
      let failure: unknown;
      let at = 0;
      for (const w of staged) {
        const own = committed ? results.slice(at, at + w.writes.length) : [];
        at += w.writes.length;
        try {
          w.finish(committed, own);
        } catch (err) {
          failure ??= err;
        }
      }
      if (failure !== undefined) throw failure;
    },
    ...(records.length > 0 ? { records } : {}),
  };
}

/** The one interface a ledger backend must implement: durable append, then close. */
export interface Ledger {
  /**
   * Resolves once the entry (and `staged`, in the same transaction) is durable in
   * the configured mode, never before; rejects with ledger_unavailable otherwise.
   */
  append(record: EntryRecord, staged?: StagedWrite): Promise<Receipt>;
  close(): Promise<void>;
}

/** What an answer that could not be recorded says: no entry, no answer. */
export const UNRECORDED = 'the decision could not be recorded in the ledger; no answer is given';
