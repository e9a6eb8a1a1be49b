import { policyRef } from './policy-ref.js';
import { isJsonObject, type JsonObject } from '../lib/json.js';
import { getAt } from '../lib/pointer.js';
import type { CanonicalRecord } from './ledger.js';
import { EvaluationFault, type WasmEvaluator } from './evaluator.js';
import { checkHeaderBounds, headerFactsOf, type HeaderFacts } from './header-facts.js';
import { checkInputValue, parseInputJson, type InputLimits } from './input.js';
import { ledgerRecord } from './record.js';
import { applyRedactions, hashSensitivePaths, scrubOutcome, secretsOf, type AppliedRedaction } from './redact.js';
import { normaliseResultSet, serviceDeny, type Effect, type PolicyOutcome, type Reason } from './result.js';
import { usageFactsOf, type UsageFacts } from './usage-facts.js';
import type { ApprovalContext } from './approvals/approval.js';
import { bindingOf, type ActionBinding } from './approvals/fingerprint.js';
import { inputDigest, recall, requestHash, type Recall, type Recalled } from './idempotency.js';
import { newSalt } from '../lib/salt.js';

/**
 * The two halves of a decision that run where the input lives (an evaluation
 * worker, or the engine's own thread when it has none). Both are pure
 * functions of plain data, so what crosses a thread boundary is exactly what
 * these signatures name.
 */

export type DecideInput = { json: Uint8Array } | { value: unknown };

export interface PrepareRequest {
  input: DecideInput;
  requestId: string;
  caller: string;
  /** Decided once per (caller, request_id): the input's digest is kept, and its entry records request_hash (idempotency.ts). */
  idempotent?: boolean;
  /** A retry of a recorded request: compare its input with the recorded one (and rebuild the redacted input). */
  recall?: Recall;
}

/** A parsed, bounded input and what the engine needs to know about it before evaluation. */
export interface Prepared {
  input: JsonObject;
  header: HeaderFacts;
  facts: UsageFacts;
  /** The action's fingerprint and the approval it carries. */
  binding: ActionBinding;
  /** SHA-256 of the canonical input, for an idempotent request. */
  inputDigest?: string;
  /** The verdict on `recall`, when one was asked for. */
  recalled?: Recalled;
}

/** Stage 1: parse and bound the input, read who asks for what. Throws GavelError for bad input. */
export function prepareDecision(req: PrepareRequest, limits: InputLimits): Prepared {
  const input = 'json' in req.input ? parseInputJson(req.input.json, limits) : checkInputValue(req.input.value, limits);
  const header = headerFactsOf(input, req);
  checkHeaderBounds(header);
  const prepared: Prepared = { input, header, facts: usageFactsOf(input), binding: bindingOf(input) };
  if (req.idempotent || req.recall) {
    const digest = inputDigest(input);
    prepared.inputDigest = digest;
    if (req.recall) prepared.recalled = recall(input, digest, req.recall);
  }
  return prepared;
}

export interface EvaluateRequest {
  decisionId: string;
  entrypoint: string;
  /** The decision's time (ms since the epoch): input.context.now. */
  nowMs: number;
  /** Context the service supplies (usage, estimate, history); undefined when metering is off. */
  context: JsonObject | undefined;
  /**
   * input.context.approval as gavel looked it up: an object when the input carried an approval id,
   * null otherwise (a caller's own context.approval is removed). Undefined only when the engine
   * runs without approvals (`gavel eval` without a ledger): the input's own reaches the policy.
   */
  approval?: ApprovalContext | null;
  /** Decided without evaluating: a service DENY with this reason (the edge could not hand the request over whole). */
  refusal?: { code: 'content_truncated' | 'body_unreadable'; message: string };
}

/** An evaluated decision: its ledger record (payload already canonical) and what the caller is told. */
export interface Evaluated {
  record: CanonicalRecord;
  decision: Effect;
  reasons: Reason[];
  obligations: JsonObject;
  redactions: AppliedRedaction[];
  /** The input with redactions applied; present when anything was redacted. */
  redactedInput?: JsonObject;
  /** action.params as stored (redacted, sensitive paths hashed), for the approval request of a REQUIRE_APPROVAL. */
  actionParams?: JsonObject;
}

/**
 * Stage 2: evaluate with the service's context, normalise, redact, and build
 * the ledger record with its canonical payload, so the writer only chains it.
 * The service, not Rego, supplies time and usage, so a recorded input replays exactly.
 */
export function evaluateDecision(evaluator: WasmEvaluator, prepared: Prepared, req: EvaluateRequest): Evaluated {
  const { header } = prepared;
  const now = new Date(req.nowMs);
  const evaluated = withContext(prepared, req);
  const raw = req.refusal ? serviceDeny(req.refusal.code, req.refusal.message) : evaluateOutcome(evaluator, evaluated, req.entrypoint);
  const secrets = secretsOf(evaluated, raw.redactions);
  const outcome = scrubOutcome(raw, secrets);
  const { redacted, applied } = applyRedactions(evaluated, outcome.redactions, secrets);
  const salt = newSalt();
  const stored = hashSensitivePaths(redacted, outcome.sensitivePaths, salt);
  // Named in the payload, so a replay knows those fields were not stored as the policy saw them.
  const hashed = outcome.sensitivePaths.filter((path) => getAt(redacted, path) !== undefined);
  const { bundle } = evaluator;
  const policy = policyRef(bundle);
  const record = ledgerRecord({
    decisionId: req.decisionId,
    now,
    header,
    stored,
    outcome,
    applied,
    hashed,
    policy,
    entrypoint: req.entrypoint,
    salt,
    ...(prepared.inputDigest ? { requestHash: requestHash(salt, prepared.inputDigest) } : {}),
  });
  return {
    record,
    decision: outcome.decision,
    reasons: outcome.reasons,
    obligations: outcome.obligations,
    redactions: applied,
    ...(applied.length > 0 ? { redactedInput: redacted } : {}),
    ...(outcome.decision === 'require_approval' ? { actionParams: paramsOf(stored) } : {}),
  };
}

function paramsOf(stored: JsonObject): JsonObject {
  const action = stored.action;
  const params = isJsonObject(action) ? action.params : undefined;
  return isJsonObject(params) ? params : {};
}

/** The input as the policy sees it: the caller's context, then what the service supplies (usage, estimate, history), then the time. */
function withContext(prepared: Prepared, req: EvaluateRequest): JsonObject {
  const { input } = prepared;
  const given = isJsonObject(input.context) ? input.context : {};
  const context: JsonObject = { ...given, ...req.context, now: new Date(req.nowMs).toISOString() };
  // Only gavel says what an approval's state is: a caller's own context.approval never reaches the policy.
  if (req.approval !== undefined) {
    delete context.approval;
    if (req.approval) context.approval = { ...req.approval, approvers: [...req.approval.approvers] };
  }
  return { ...input, context };
}

/** What a shadow evaluation reports: the decision and its reason codes (nothing is redacted, stored or answered). */
export interface ShadowOutcome {
  decision: Effect;
  reasonCodes: string[];
}

/**
 * A shadow bundle's answer to a live decision: the same input and context the
 * live evaluation saw (`req` is the live request), evaluated and normalised.
 */
export function shadowOutcome(evaluator: WasmEvaluator, prepared: Prepared, req: EvaluateRequest): ShadowOutcome {
  const outcome = evaluateOutcome(evaluator, withContext(prepared, req), req.entrypoint);
  return { decision: outcome.decision, reasonCodes: outcome.reasons.map((r) => r.code) };
}

/** Evaluates and normalises; a trap is a DENY evaluation_error, as on the decision path (replay and shadow use it too). */
export function evaluateOutcome(evaluator: WasmEvaluator, input: JsonObject, entrypoint: string): PolicyOutcome {
  try {
    return normaliseResultSet(evaluator.evaluate(input, entrypoint), entrypoint);
  } catch (err) {
    if (err instanceof EvaluationFault) {
      return serviceDeny('evaluation_error', `evaluation of ${entrypoint} failed (${err.message}); failing closed`);
    }
    throw err;
  }
}
