import type { RecordedRequests } from './idempotency.js';
import { GavelError } from '../lib/errors.js';
import { isJsonObject, type JsonObject } from '../lib/json.js';
import type { HeaderFacts } from './header-facts.js';
import type { EntryRecord, Receipt } from './ledger.js';
import type { DecideInput } from './stages.js';
import type { PolicyRef } from './policy-ref.js';
import { EFFECTS_BY_PRECEDENCE, type Effect } from './result.js';

/**
 * A decision an enforcement point made while gavel was unreachable, under its fail mode, delivered
 * once gavel is back (the client's outbox) and recorded as an `offline` entry, so the audit trail
 * has no gap and an auditor can count the decisions gavel did not make.
 */
export type OfflineMode = 'closed' | 'open' | 'fallback';
export const OFFLINE_MODES: readonly OfflineMode[] = ['closed', 'open', 'fallback'];

export interface OfflineDecision {
  /** The client's id for it (a UUID it made): the entry's decision id; a second delivery is a duplicate. */
  offlineId: string;
  /** When the client decided (ms since the epoch): the entry's time. */
  decidedAtMs: number;
  mode: OfflineMode;
  decision: Effect;
  reasons: ReadonlyArray<{ code: string; message: string }>;
  /** The input the client decided on; stored redacted as the active policy redacts it. */
  input: DecideInput;
  requestId: string;
  /** The entrypoint the call was for; "" = the default. */
  entrypoint: string;
  /** The local bundle that decided (fallback mode); absent for closed and open. */
  policy?: PolicyRef;
  /** Why gavel could not be asked: the client's error code (unavailable, circuit_open, deadline_exceeded). */
  cause: string;
  /** Who delivers it (the recording call's identity). */
  caller: string;
}

export interface OfflineReceipt {
  decisionId: string;
  /** Already recorded by an earlier delivery: nothing was appended. */
  duplicate: boolean;
  receipt: Receipt;
}

/** What the engine needs to know of an entry already in the ledger, by decision id. */
/** Entries already in the ledger: by decision id (offline decisions), and by a caller's request id (idempotent Decide). */
export interface RecordedEntries extends RecordedRequests {
  find(decisionId: string): { kind: string; caller: string; receipt: Receipt } | undefined;
}

const MAX_ID_BYTES = 128;
const MAX_CAUSE_BYTES = 64;
/** How far in the future a client's clock may put a decision (clock skew). */
const FUTURE_SKEW_MS = 5 * 60_000;

/** Refuses (invalid_offline) what cannot be recorded as given. */
export function checkOffline(o: OfflineDecision, nowMs: number): void {
  const bad = (why: string) => new GavelError('invalid_offline', why);
  if (!o.offlineId || Buffer.byteLength(o.offlineId) > MAX_ID_BYTES || !/^[\x21-\x7e]+$/.test(o.offlineId)) {
    throw bad(`offline_id must be 1 to ${MAX_ID_BYTES} printable ASCII characters`);
  }
  if (!Number.isFinite(o.decidedAtMs)) throw bad('decided_at must be an RFC 3339 time');
  if (o.decidedAtMs > nowMs + FUTURE_SKEW_MS) throw bad('decided_at is in the future');
  if (!OFFLINE_MODES.includes(o.mode)) throw bad(`mode must be one of ${OFFLINE_MODES.join(', ')}`);
  if (!EFFECTS_BY_PRECEDENCE.includes(o.decision)) throw bad(`decision must be one of ${EFFECTS_BY_PRECEDENCE.join(', ')}`);
  if (o.mode === 'closed' && o.decision !== 'deny') throw bad('a closed fail mode only denies');
  if (o.mode === 'open' && o.decision !== 'allow') throw bad('an open fail mode only allows');
  if (o.mode === 'fallback' && !o.policy?.revision) throw bad('a fallback decision names the bundle revision that made it');
  if (Buffer.byteLength(o.cause) > MAX_CAUSE_BYTES) throw bad(`cause must be at most ${MAX_CAUSE_BYTES} bytes`);
}

/**
 * The offline entry: the header as a decision's (who, what, which decision, which policy), the
 * input as the active policy's redaction left it (`stored`, salted with `salt`), the client's
 * decision and reasons, and what made it offline.
 */
export function offlineRecord(
  o: OfflineDecision,
  parts: { header: HeaderFacts; stored: JsonObject; hashedPaths: unknown; salt: Uint8Array; entrypoint: string; recordedAt: Date },
): EntryRecord {
  return {
    ...parts.header,
    kind: 'offline',
    decisionId: o.offlineId,
    time: new Date(o.decidedAtMs).toISOString(),
    decision: o.decision,
    reasonCodes: o.reasons.map((r) => r.code),
    bundle: o.policy?.bundle ?? '',
    revision: o.policy?.revision ?? '',
    digest: o.policy?.digest ?? '',
    entrypoint: parts.entrypoint,
    payload: {
      input: parts.stored,
      result: {
        decision: o.decision,
        reasons: o.reasons.map((r) => ({ code: r.code, message: r.message })),
        ...(Array.isArray(parts.hashedPaths) && parts.hashedPaths.length > 0 ? { hashed_paths: parts.hashedPaths as JsonObject[keyof JsonObject] } : {}),
      },
      offline: { mode: o.mode, cause: o.cause, recorded_at: parts.recordedAt.toISOString() },
    },
    salt: parts.salt,
  };
}

/** The stored input and hashed paths of an evaluated decision's payload (its canonical text). */
export function storedInputOf(payloadJcs: string): { stored: JsonObject; hashedPaths: unknown } {
  const p = JSON.parse(payloadJcs) as JsonObject;
  const result = isJsonObject(p.result) ? p.result : {};
  return { stored: isJsonObject(p.input) ? p.input : {}, hashedPaths: result.hashed_paths };
}
