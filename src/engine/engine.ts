import { randomBytes, randomUUID } from 'node:crypto';
import { GavelError } from '../lib/errors.js';
import type { Bundle } from '../bundles/bundle.js';
import { unrecorded, type DecisionRecord, type Ledger, type Receipt, type StagedWrite } from './ledger.js';
import type { EngineConfig } from './config.js';
import { EvaluationFault } from './evaluator.js';
import { checkInputValue, parseInputJson } from './input.js';
import { isJsonObject, type JsonObject } from '../lib/json.js';
import type { DecisionMeter, MeteredContext, UsageSnapshot } from './meter.js';
import { PolicySet } from './policies.js';
import { applyRedactions, hashSensitivePaths, scrubOutcome, secretsOf, type AppliedRedaction } from './redact.js';
import { normaliseResultSet, serviceDeny, type Effect, type PolicyOutcome, type Reason } from './result.js';
import { checkIdentityBounds, identityOf } from './identity.js';
import { ledgerRecord } from './record.js';
import { SerialQueue } from './serial.js';

export type DecideInput = { json: Uint8Array } | { value: unknown };

export interface DecideRequest {
  /** Entrypoint; "" means the configured default. */
  policy: string;
  input: DecideInput;
  requestId: string;
  /** Who asked (peer or authenticated identity); recorded in the ledger. */
  caller: string;
  /** Aborted when the caller cancels. */
  signal?: AbortSignal;
  /** The caller's deadline (ms since the epoch), checked even when the loop was too busy to deliver the abort. */
  deadlineMs?: number;
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

function abandoned(request: DecideRequest): boolean {
  return request.signal?.aborted === true || (request.deadlineMs !== undefined && Date.now() >= request.deadlineMs);
}

/** A decision evaluated and staged, whose entry is on its way to the ledger. */
type Staged = Omit<Decision, 'receipt'> & { receipt: Promise<Receipt> };

/** Evaluations of one decision before its usage snapshot must hold (each retry reads usage afresh). */
const MAX_ATTEMPTS = 8;

/** The decision path, free of any transport: parse, enrich, evaluate, normalise, record. */
export class Engine {
  readonly policies: PolicySet;
  private readonly config: EngineConfig;
  private readonly ledger: Ledger;
  private readonly meter: DecisionMeter | undefined;
  private readonly now: () => Date;
  private readonly retries = new SerialQueue();

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
    const identity = identityOf(input, request);
    checkIdentityBounds(identity);
    const entrypoint = request.policy || this.config.defaultEntrypoint;
    const evaluator = this.policies.resolve(entrypoint);
    const now = this.now();
    const decisionId = randomUUID();
    const bundle = evaluator.bundle;
    const policy = { bundle: bundle.name, revision: bundle.revision, digest: bundle.digest };
    const attempt = async (): Promise<Staged | undefined> => {
      const { evaluated, snapshot } = await this.withContext(input, bundle, now);
      const raw = this.evaluate(() => evaluator.evaluate(evaluated, entrypoint), entrypoint);
      const secrets = secretsOf(evaluated, raw.redactions);
      const outcome = scrubOutcome(raw, secrets);
      const { redacted, applied } = applyRedactions(evaluated, outcome.redactions, secrets);
      const salt = randomBytes(16);
      const stored = hashSensitivePaths(redacted, outcome.sensitivePaths, salt);
      const record = ledgerRecord({ decisionId, now, identity, stored, outcome, applied, policy, entrypoint, salt });
      // A caller known to be gone before anything is reserved gets nothing recorded or reserved.
      if (abandoned(request)) throw new GavelError('abandoned', 'the caller cancelled or its deadline passed before the decision was recorded');
      const staged = snapshot && this.meter?.stage({ decisionId, input: evaluated, outcome, bundle, now }, snapshot);
      // Usage this decision read changed while it was evaluated: the caller decides again on fresh usage.
      if (snapshot && !staged) return undefined;
      const receipt = this.append(record, staged);
      // Settled by the caller, outside the retry queue: only evaluation and staging are serialised.
      receipt.catch(() => undefined);
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
    };
    const staged = (await attempt()) ?? (await this.retryContended(attempt));
    const receipt = await staged.receipt;
    // Gone after its entry was written: the entry stays (the ledger never loses one), the reservation goes.
    if (this.meter && abandoned(request)) await this.meter.release(decisionId).catch(() => undefined);
    return { ...staged, receipt };
  }

  /**
   * Optimistic first, serialised under contention: a decision whose usage moved
   * while it was evaluated retries in the engine's retry queue, one at a time, so
   * decisions contending for one budget do not invalidate each other forever.
   */
  private async retryContended(attempt: () => Promise<Staged | undefined>): Promise<Staged> {
    for (let n = 2; n <= MAX_ATTEMPTS; n++) {
      const decided = await this.retries.run(attempt);
      if (decided) return decided;
    }
    throw new GavelError('usage_unavailable', `usage kept changing during ${MAX_ATTEMPTS} evaluations; failing closed`);
  }

  private parseInput(input: DecideInput): JsonObject {
    const limits = { maxInputBytes: this.config.maxInputBytes, maxDepth: this.config.maxDepth };
    return 'json' in input ? parseInputJson(input.json, limits) : checkInputValue(input.value, limits);
  }

  /** The service, not Rego, supplies time and usage, so a recorded input replays exactly. */
  private async withContext(input: JsonObject, bundle: Bundle, now: Date): Promise<{ evaluated: JsonObject; snapshot?: UsageSnapshot }> {
    const given = isJsonObject(input.context) ? input.context : {};
    const metered = this.meter ? await this.usageContext(input, bundle, now) : undefined;
    const evaluated = { ...input, context: { ...given, ...metered?.context, now: now.toISOString() } };
    return metered ? { evaluated, snapshot: metered.snapshot } : { evaluated };
  }

  /** A store that cannot be read fails closed as UNAVAILABLE rather than INTERNAL. */
  private async usageContext(input: JsonObject, bundle: Bundle, now: Date): Promise<MeteredContext> {
    try {
      return await this.meter!.context(input, bundle, now);
    } catch (err) {
      if (err instanceof GavelError) throw err;
      throw new GavelError('usage_unavailable', 'usage state could not be read; failing closed', { cause: err });
    }
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

  private async append(record: DecisionRecord, staged: StagedWrite | undefined): Promise<Receipt> {
    try {
      return await this.ledger.append(record, staged);
    } catch (err) {
      if (err instanceof GavelError) throw err;
      throw unrecorded(err);
    }
  }
}
