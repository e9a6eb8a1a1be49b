import { isJsonObject, type JsonValue } from '../../lib/json.js';
import type { StoredPayload } from './recorded.js';

/** What a decision came to, as replay compares it: the decision and its reason codes. */
export interface Outcome {
  decision: string;
  reasonCodes: string[];
}

/** One decision evaluated twice: as recorded (or live) and by the candidate. */
export interface Comparison {
  decisionId: string;
  from: Outcome;
  to: Outcome;
  /** The candidate saw an input with redacted or hashed content: its answer is not exact. */
  approximate: boolean;
}

/** Same decision and the same set of reason codes. */
export function sameOutcome(a: Outcome, b: Outcome): boolean {
  if (a.decision !== b.decision) return false;
  const left = new Set(a.reasonCodes);
  const right = new Set(b.reasonCodes);
  return left.size === right.size && [...left].every((c) => right.has(c));
}

/**
 * Whether the stored input differs from what the policy saw: redacted spans
 * (the payload's result lists what it redacted, and says `input_altered` when
 * the policy asked for any redaction: a removed value is masked wherever it
 * appears) or sensitive paths stored as salted hashes. Entries written before `hashed_paths` was recorded are read
 * for the hash shape the engine writes, {"sha256": <64 hex>}; an input that
 * really carried such an object is counted approximate, never exact.
 */
export function isApproximate(payload: StoredPayload): boolean {
  const { result } = payload;
  if (Array.isArray(result.redactions) && result.redactions.length > 0) return true;
  if (Array.isArray(result.hashed_paths) && result.hashed_paths.length > 0) return true;
  if (result.input_altered === true) return true;
  return holdsDigest(payload.input);
}

const DIGEST = /^[0-9a-f]{64}$/;

function holdsDigest(value: JsonValue): boolean {
  if (Array.isArray(value)) return value.some(holdsDigest);
  if (!isJsonObject(value)) return false;
  const keys = Object.keys(value);
  if (keys.length === 1 && keys[0] === 'sha256' && typeof value.sha256 === 'string' && DIGEST.test(value.sha256)) return true;
  return Object.values(value).some(holdsDigest);
}
