import { randomBytes } from 'node:crypto';
import { canonicalJson } from '../lib/canonical.js';
import { newEntryId } from '../lib/entry-id.js';
import type { JsonObject } from '../lib/json.js';

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
  /** Per-entry random salt for payload_hash (the engine also salts sensitive-path hashes with it). */
  salt: Uint8Array;
}

/**
 * An entry gavel writes about itself (a policy event, a state check, an erasure): no subject, team or
 * request; the header says what it is in action_type, decision and reason codes; the payload says the rest.
 */
export function systemRecord(
  fields: Pick<EntryRecord, 'kind' | 'actionType' | 'decision'> &
    Partial<Pick<EntryRecord, 'resource' | 'reasonCodes' | 'bundle' | 'revision' | 'digest' | 'caller'>>,
  payload: JsonObject,
  now: Date,
): EntryRecord {
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
    salt: randomBytes(16),
  };
}

export interface Receipt {
  seq: number;
  entryHash: string;
}

/**
 * Writes that must commit in the same transaction as a decision's entry, or not
 * at all (its usage reservation and request record): a reservation exists if and
 * only if its decision is recorded.
 */
export interface StagedWrite {
  /**
   * Runs inside the ledger's transaction, before the entry is inserted; throwing fails this entry alone.
   * It may run again after its writes were rolled back (a batch in which one entry failed is written
   * again entry by entry), so it must only write rows, never count or signal anything.
   */
  apply(): void;
  /** Called once, right after the transaction commits (true) or once the entry is given up (false). */
  finish(committed: boolean): void;
  /**
   * Entries chained right after this one, in the same transaction (an approval event that
   * belongs to the decision: requested, consumed); all of them are written, or none.
   */
  records?: readonly EntryRecord[];
}

/** Several staged writes as one: applied in order, finished together, their records in order. */
export function stagedTogether(...parts: Array<StagedWrite | undefined>): StagedWrite | undefined {
  const writes = parts.filter((p): p is StagedWrite => p !== undefined);
  if (writes.length <= 1) return writes[0];
  const records = writes.flatMap((w) => w.records ?? []);
  return {
    apply: () => {
      for (const w of writes) w.apply();
    },
    // Every part hears the outcome, even when an earlier one throws (the first error is rethrown after).
    finish: (committed) => {
      let failure: unknown;
      for (const w of writes) {
        try {
          w.finish(committed);
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
