import type { ServiceReasonCode } from '../lib/errors.js';
import { isJsonObject, type JsonObject, type JsonValue } from '../lib/json.js';
import { parsePointer } from '../lib/pointer.js';

/**
 * The policy result contract (README "Result contract"). An entrypoint returns
 *
 *   { decision?: Effect, reasons?: [{code, message?, rule?, effect?}],
 *     redactions?: [{path, kind, match?}], obligations?: {...}, sensitive_paths?: [pointer] }
 *
 * The final decision is the strongest of `decision`, every reason's effect and
 * "redact" when there are redactions, by DENY > REQUIRE_APPROVAL > REDACT > ALLOW.
 */
export type Effect = 'allow' | 'deny' | 'require_approval' | 'redact';

export const EFFECTS_BY_PRECEDENCE: readonly Effect[] = ['deny', 'require_approval', 'redact', 'allow'];

export interface Reason {
  code: string;
  message: string;
  rule: string;
  effect: Effect;
}

export interface RedactionSpec {
  path: string;
  kind: string;
  /** The substring to mask; absent = the whole value. Never leaves the engine. */
  match?: string;
}

export interface PolicyOutcome {
  decision: Effect;
  reasons: Reason[];
  redactions: RedactionSpec[];
  obligations: JsonObject;
  sensitivePaths: string[];
}

/** Rule name used for reasons the service itself adds. */
export const SERVICE_RULE = 'gavel.engine';

export function strongest(effects: Iterable<Effect>): Effect | undefined {
  let best: number | undefined;
  for (const effect of effects) {
    const rank = EFFECTS_BY_PRECEDENCE.indexOf(effect);
    if (best === undefined || rank < best) best = rank;
  }
  return best === undefined ? undefined : EFFECTS_BY_PRECEDENCE[best];
}

/**
 * Where an input carries free text (README "The input document"). When the policy
 * did not produce a valid result, nothing there was scanned for personal data, so
 * a service deny removes it whole: unscanned content never reaches the ledger.
 */
const UNSCANNED_ROOTS = ['/content', '/action/params'];

export function serviceDeny(code: ServiceReasonCode, message: string): PolicyOutcome {
  return {
    decision: 'deny',
    reasons: [{ code, message, rule: SERVICE_RULE, effect: 'deny' }],
    redactions: UNSCANNED_ROOTS.map((path) => ({ path, kind: 'unscanned' })),
    obligations: {},
    sensitivePaths: [],
  };
}

class ContractError extends Error {}

/** Turns an opa-wasm result set into an outcome; contract violations become DENY policy_error. */
export function normaliseResultSet(resultSet: unknown, entrypoint: string): PolicyOutcome {
  if (!Array.isArray(resultSet) || resultSet.length === 0) {
    return serviceDeny('no_decision', `entrypoint ${entrypoint} returned no result (undefined); failing closed`);
  }
  const first: unknown = resultSet[0];
  const result = isJsonObject(first) ? first.result : undefined;
  if (result === undefined) return serviceDeny('no_decision', `entrypoint ${entrypoint} returned no result (undefined); failing closed`);
  try {
    return parseOutcome(result);
  } catch (err) {
    if (!(err instanceof ContractError)) throw err;
    return serviceDeny('policy_error', `entrypoint ${entrypoint} broke the result contract: ${err.message}`);
  }
}

function parseOutcome(result: JsonValue): PolicyOutcome {
  if (!isJsonObject(result)) throw new ContractError(`result must be an object, got ${kindOf(result)}`);
  const declared = result.decision === undefined ? undefined : parseEffect(result.decision, 'decision');
  const reasons = optionalArray(result.reasons, 'reasons').map((r, i) => parseReason(r, i, declared));
  const redactions = optionalArray(result.redactions, 'redactions').map(parseRedaction);
  const obligations = result.obligations ?? {};
  if (!isJsonObject(obligations)) throw new ContractError(`obligations must be an object, got ${kindOf(obligations)}`);
  const sensitivePaths = optionalArray(result.sensitive_paths, 'sensitive_paths').map((p, i) => parsePath(p, `sensitive_paths[${i}]`));
  const effects: Effect[] = reasons.map((r) => r.effect);
  if (declared) effects.push(declared);
  if (redactions.length > 0) effects.push('redact');
  const decision = strongest(effects);
  if (!decision) throw new ContractError('result has neither a decision nor any reason');
  return { decision, reasons: sortReasons(reasons), redactions, obligations, sensitivePaths };
}

function parseReason(value: JsonValue, index: number, fallback: Effect | undefined): Reason {
  const where = `reasons[${index}]`;
  if (!isJsonObject(value)) throw new ContractError(`${where} must be an object`);
  const code = requireString(value.code, `${where}.code`);
  const message = value.message === undefined ? '' : requireString(value.message, `${where}.message`);
  const rule = value.rule === undefined ? '' : requireString(value.rule, `${where}.rule`);
  const effect = value.effect === undefined ? fallback : parseEffect(value.effect, `${where}.effect`);
  if (!effect) throw new ContractError(`${where} has no effect and the result has no decision`);
  return { code, message, rule, effect };
}

function parseRedaction(value: JsonValue, index: number): RedactionSpec {
  const where = `redactions[${index}]`;
  if (!isJsonObject(value)) throw new ContractError(`${where} must be an object`);
  const path = parsePath(value.path, `${where}.path`);
  const kind = requireString(value.kind, `${where}.kind`);
  const match = value.match === undefined ? undefined : requireString(value.match, `${where}.match`);
  if (match === '') throw new ContractError(`${where}.match must not be empty`);
  return match === undefined ? { path, kind } : { path, kind, match };
}

function parsePath(value: JsonValue | undefined, where: string): string {
  const path = requireString(value, where);
  try {
    parsePointer(path);
  } catch {
    throw new ContractError(`${where} must be a JSON pointer like "/content/prompt"`);
  }
  if (path === '') throw new ContractError(`${where} must not point at the whole input`);
  return path;
}

function parseEffect(value: JsonValue, where: string): Effect {
  if (typeof value === 'string' && (EFFECTS_BY_PRECEDENCE as readonly string[]).includes(value)) return value as Effect;
  throw new ContractError(`${where} must be one of ${EFFECTS_BY_PRECEDENCE.join(', ')}, got ${JSON.stringify(value)}`);
}

function optionalArray(value: JsonValue | undefined, where: string): JsonValue[] {
  if (value === undefined) return [];
  if (!Array.isArray(value)) throw new ContractError(`${where} must be an array, got ${kindOf(value)}`);
  return value;
}

function requireString(value: JsonValue | undefined, where: string): string {
  if (typeof value !== 'string') throw new ContractError(`${where} must be a string, got ${kindOf(value)}`);
  return value;
}

function kindOf(value: JsonValue | undefined): string {
  if (value === undefined) return 'nothing';
  if (value === null) return 'null';
  return Array.isArray(value) ? 'an array' : typeof value;
}

/** Strongest effect first, then by rule and code, so answers are deterministic. */
function sortReasons(reasons: Reason[]): Reason[] {
  const rank = (r: Reason) => EFFECTS_BY_PRECEDENCE.indexOf(r.effect);
  return [...reasons].sort((a, b) => rank(a) - rank(b) || a.rule.localeCompare(b.rule) || a.code.localeCompare(b.code));
}
