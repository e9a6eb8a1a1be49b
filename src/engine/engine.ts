import { randomBytes, randomUUID } from 'node:crypto';
import { GavelError } from '../lib/errors.js';
import type { Bundle } from '../bundles/bundle.js';
import { unrecorded, type Ledger, type Receipt } from './ledger.js';
import type { EngineConfig } from './config.js';
import { EvaluationFault } from './evaluator.js';
import { checkInputValue, parseInputJson } from './input.js';
import { isJsonObject, type JsonObject } from '../lib/json.js';
import type { DecisionMeter } from './meter.js';
import { PolicySet } from './policies.js';
import { applyRedactions, hashSensitivePaths, scrubOutcome, secretsOf, type AppliedRedaction } from './redact.js';
import { normaliseResultSet, serviceDeny, type Effect, type PolicyOutcome, type Reason } from './result.js';
import { ledgerRecord } from './record.js';

export type DecideInput = { json: Uint8Array } | { value: unknown };

export interface DecideRequest {
  /** Entrypoint; "" means the configured default. */
  policy: string;
  input: DecideInput;
  requestId: string;
  /** Who asked (peer or authenticated identity); recorded in the ledger. */
  caller: string;
}

export interface Decision {
  decisionId: string;
  decision: Effect;
  reasons: Reason[];
  /** The input with redactions applied; present when anything was redacted. */
  redactedInput?: JsonObject;
  redactions: AppliedRedaction[];
  obligations: JsonObject;
  policy: { bundle: string; revision: string; digest: string };
  entrypoint: string;
  receipt: Receipt;
  requestId: string;
  evaluatedAt: string;
}

export interface EngineDeps {
  config: EngineConfig;
  ledger: Ledger;
  meter?: DecisionMeter;
  now?: () => Date;
}

/** The decision path, free of any transport: parse, enrich, evaluate, normalise, record. */
export class Engine {
  readonly policies: PolicySet;
  private readonly config: EngineConfig;
  private readonly ledger: Ledger;
  private readonly meter: DecisionMeter | undefined;
  private readonly now: () => Date;

  constructor(deps: EngineDeps) {
    this.config = deps.config;
    this.ledger = deps.ledger;
    this.meter = deps.meter;
    this.now = deps.now ?? (() => new Date());
    this.policies = new PolicySet({ memoryInitialPages: deps.config.memoryInitialPages, memoryMaxPages: deps.config.memoryMaxPages });
  }

  /** The input bounds in force (the transport sizes its own limits from them). */
  get limits(): { maxInputBytes: number; maxDepth: number } {
    return { maxInputBytes: this.config.maxInputBytes, maxDepth: this.config.maxDepth };
  }

  activate(bundles: Bundle[]): void {
    this.policies.activate(bundles);
  }

  async decide(request: DecideRequest): Promise<Decision> {
    const input = this.parseInput(request.input);
    const entrypoint = request.policy || this.config.defaultEntrypoint;
    const evaluator = this.policies.resolve(entrypoint);
    const now = this.now();
    const decisionId = randomUUID();
    const evaluate = async () => {
      const evaluated = await this.withContext(input, evaluator.bundle, now);
      const outcome = this.evaluate(() => evaluator.evaluate(evaluated, entrypoint), entrypoint);
      await this.meter?.record({ decisionId, input: evaluated, outcome, bundle: evaluator.bundle, now });
      return { evaluated, outcome };
    };
    const { evaluated, outcome: raw } = this.meter ? await this.metered(evaluate) : await evaluate();
    const secrets = secretsOf(evaluated, raw.redactions);
    const outcome = scrubOutcome(raw, secrets);
    const { redacted, applied } = applyRedactions(evaluated, outcome.redactions, secrets);
    const salt = randomBytes(16);
    const stored = hashSensitivePaths(redacted, outcome.sensitivePaths, salt);
    const bundle = evaluator.bundle;
    const policy = { bundle: bundle.name, revision: bundle.revision, digest: bundle.digest };
    const receipt = await this.append(ledgerRecord({ decisionId, now, input: evaluated, stored, outcome, applied, policy, entrypoint, request, salt }), decisionId);
    return {
      decisionId,
      decision: outcome.decision,
      reasons: outcome.reasons,
      ...(applied.length > 0 ? { redactedInput: redacted } : {}),
      redactions: applied,
      obligations: outcome.obligations,
      policy,
      entrypoint,
      receipt,
      requestId: request.requestId,
      evaluatedAt: now.toISOString(),
    };
  }

  /** Runs the check-and-reserve step; a store failure fails closed as UNAVAILABLE rather than INTERNAL. */
  private async metered<T>(body: () => Promise<T>): Promise<T> {
    try {
      return await this.meter!.atomically(body);
    } catch (err) {
      if (err instanceof GavelError) throw err;
      throw new GavelError('usage_unavailable', 'usage state could not be read or reserved; failing closed', { cause: err });
    }
  }

  private parseInput(input: DecideInput): JsonObject {
    const limits = { maxInputBytes: this.config.maxInputBytes, maxDepth: this.config.maxDepth };
    return 'json' in input ? parseInputJson(input.json, limits) : checkInputValue(input.value, limits);
  }

  /** The service, not Rego, supplies time and usage, so a recorded input replays exactly. */
  private async withContext(input: JsonObject, bundle: Bundle, now: Date): Promise<JsonObject> {
    const given = isJsonObject(input.context) ? input.context : {};
    const extra = this.meter ? await this.meter.context(input, bundle, now) : {};
    return { ...input, context: { ...given, ...extra, now: now.toISOString() } };
  }

  private evaluate(run: () => unknown, entrypoint: string): PolicyOutcome {
    try {
      return normaliseResultSet(run(), entrypoint);
    } catch (err) {
      if (err instanceof EvaluationFault) {
        return serviceDeny('evaluation_error', `evaluation of ${entrypoint} failed (${err.message}); failing closed`);
      }
      throw err;
    }
  }

  private async append(record: Parameters<Ledger['append']>[0], decisionId: string): Promise<Receipt> {
    try {
      return await this.ledger.append(record);
    } catch (err) {
      // Best effort: a reservation that cannot be cancelled still expires after its TTL.
      await this.meter?.cancel(decisionId).catch(() => undefined);
      if (err instanceof GavelError) throw err;
      throw unrecorded(err);
    }
  }
}
