import { createHash } from 'node:crypto';
import { canonicalJson, sha256Hex } from '../lib/canonical.js';
import { GavelError } from '../lib/errors.js';
import { cloneJson, isJsonObject, type JsonObject, type JsonValue } from '../lib/json.js';
import { getAt, setAt } from '../lib/pointer.js';
import type { DecisionApproval } from './approvals/approval.js';
import type { Receipt } from './ledger.js';
import type { Effect, Reason } from './result.js';
import { saltedValueHash, type AppliedRedaction } from './redact.js';

/**
 * Decide is idempotent by `(caller, request_id)` (README "Retries and idempotency"): a request id
 * already decided for the same caller within the window gets the recorded answer again, read
 * from its ledger entry, with nothing new recorded, reserved or requested; the same id with
 * another input is refused. The entry commits to the input it answered as `request_hash`:
 * SHA-256 of the entry's salt and the SHA-256 of the input's canonical JSON, so the ledger holds
 * no plain hash of a prompt (the salt is erased with the payload).
 */

/** SHA-256 of the input's canonical JSON, computed where the input was parsed. */
export function inputDigest(input: JsonObject): string {
  return sha256Hex(canonicalJson(input));
}

/** What the entry records of the input it answered: H(salt ‖ inputDigest). */
export function requestHash(salt: Uint8Array, digest: string): string {
  return createHash('sha256').update(salt).update(digest).digest('hex');
}

/** A decision entry found for `(caller, request_id)`: its header fields and payload (null when erased). */
export interface RecordedRequest {
  decisionId: string;
  time: string;
  decision: string;
  bundle: string;
  revision: string;
  digest: string;
  entrypoint: string;
  requestId: string;
  receipt: Receipt;
  payload: JsonObject | null;
  /** The payload's salt, hex; null when erased. */
  salt: string | null;
}

/** Looks up the latest decision entry of a caller's request id recorded at or after `sinceMs` (the ledger's port). */
export interface RecordedRequests {
  findRequest(caller: string, requestId: string, sinceMs: number): RecordedRequest | undefined;
  /**
   * With a store shared by replicas: the answer another replica recorded (throws request_in_progress while it has
   * not noted its receipt). Asked only when this replica's claim of the id found it taken, so a new request costs
   * no round trip of its own.
   */
  findSharedRequest?(caller: string, requestId: string, sinceMs: number): Promise<RecordedRequest | undefined>;
}

/** What the runner checks against a recorded request, on the retry's own input (stages.ts prepareDecision). */
export interface Recall {
  /** The recorded entry's salt, hex. */
  salt: string;
  requestHash: string;
  /** The stored input and the paths stored as salted hashes, when the answer carried a redacted input. */
  stored?: JsonObject;
  hashedPaths: string[];
}

/** The runner's verdict on a recall: same input or not, and the redacted input as first answered. */
export interface Recalled {
  same: boolean;
  redactedInput?: JsonObject;
}

/** The recall to send with the retry's input, or the refusal when the recorded entry cannot be compared. */
export function recallOf(found: RecordedRequest): Recall {
  const payload = found.payload;
  const hash = payload?.request_hash;
  if (!payload || found.salt === null || typeof hash !== 'string') {
    throw conflict(found, payload ? 'its entry records no input hash' : 'its recorded payload was erased');
  }
  const result = isJsonObject(payload.result) ? payload.result : {};
  const redactions = Array.isArray(result.redactions) ? result.redactions : [];
  const hashedPaths = Array.isArray(result.hashed_paths) ? result.hashed_paths.filter((p): p is string => typeof p === 'string') : [];
  return {
    salt: found.salt,
    requestHash: hash,
    ...(redactions.length > 0 && isJsonObject(payload.input) ? { stored: payload.input } : {}),
    hashedPaths,
  };
}

/**
 * Compares the retry's input with the recorded one and, when they agree and the answer carried a
 * redacted input, rebuilds it from the stored input: each path stored as a salted hash gets the
 * retry's value back when that value hashes to what is stored (the retry's input is the same; a
 * value the policy also masked inside such a path stays as its hash).
 */
export function recall(input: JsonObject, digest: string, r: Recall): Recalled {
  const salt = Buffer.from(r.salt, 'hex');
  if (requestHash(salt, digest) !== r.requestHash) return { same: false };
  if (!r.stored) return { same: true };
  const redacted = cloneJson(r.stored);
  for (const path of r.hashedPaths) {
    const stored = getAt(redacted, path);
    const value = getAt(input, path);
    if (value === undefined || !isJsonObject(stored)) continue;
    if (stored.sha256 === saltedValueHash(salt, value)) setAt(redacted, path, cloneJson(value));
  }
  return { same: true, redactedInput: redacted };
}

export function conflict(found: Pick<RecordedRequest, 'requestId' | 'decisionId'>, why: string): GavelError {
  return new GavelError(
    'idempotency_conflict',
    `request_id ${JSON.stringify(found.requestId)} was already decided (decision ${found.decisionId}) for another input; ${why}: use a new request_id for a new request`,
  );
}

/** The parts of a replayed answer read from the entry (the engine adds the approval and the redacted input). */
export interface ReplayedParts {
  decisionId: string;
  decision: Effect;
  reasons: Reason[];
  redactions: AppliedRedaction[];
  obligations: JsonObject;
  policy: { bundle: string; revision: string; digest: string };
  entrypoint: string;
  receipt: Receipt;
  requestId: string;
  evaluatedAt: string;
  /** The approval the decision named (`payload.approval`), to be read back from the approvals. */
  approval?: { id: string; state: DecisionApproval['state'] };
}

/** The recorded answer as the entry holds it. */
export function replayedParts(found: RecordedRequest): ReplayedParts {
  const payload = found.payload ?? {};
  const result = isJsonObject(payload.result) ? payload.result : {};
  const approval = isJsonObject(payload.approval) ? payload.approval : undefined;
  return {
    decisionId: found.decisionId,
    decision: found.decision as Effect,
    reasons: arrayOf(result.reasons) as unknown as Reason[],
    redactions: arrayOf(result.redactions) as unknown as AppliedRedaction[],
    obligations: isJsonObject(result.obligations) ? result.obligations : {},
    policy: { bundle: found.bundle, revision: found.revision, digest: found.digest },
    entrypoint: found.entrypoint,
    receipt: found.receipt,
    requestId: found.requestId,
    evaluatedAt: found.time,
    ...(approval && typeof approval.approval_id === 'string' && typeof approval.state === 'string'
      ? { approval: { id: approval.approval_id, state: approval.state as DecisionApproval['state'] } }
      : {}),
  };
}

function arrayOf(v: JsonValue | undefined): JsonValue[] {
  return Array.isArray(v) ? v : [];
}
