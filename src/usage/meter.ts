import type { Bundle } from '../bundles/bundle.js';
import type { Ledger, Receipt, StagedWrite } from '../engine/ledger.js';
import type { DecisionMeter, MeteredContext, MeteredDecision, MeteredWrite, RequestClaim, UsageSnapshot } from '../engine/meter.js';
import type { UsageFacts } from '../engine/usage-facts.js';
import { valueAt, type JsonObject, type JsonValue } from '../lib/json.js';
import type { UsageConfig } from './config.js';
import { microsToNumber } from './money.js';
import { costMicros, priceTable, type ModelPrice } from './pricing.js';
import { releaseRecord, usageSection } from './usage-entries.js';
import { historyKey, scopeKeys, type Reservation, type StagedUsage, type UsageRead, type UsageStore } from './store.js';

const MAX_ESTIMATED_TOKENS = 1_000_000_000;

interface Estimate {
  model: string;
  price: ModelPrice;
  inputTokens: number;
  outputTokens: number;
  /** max_tokens as the request stated it, when it did. */
  statedMaxTokens: number | null;
}

/**
 * Connects the engine to the usage store: before evaluation it adds
 * input.context.usage / estimate / history and notes the versions it read;
 * after it, if those versions still hold, it stages the request record and,
 * for an allowed model call, a reservation of the estimated cost against every
 * budget the call touches, to commit with the decision's ledger entry.
 */
export class Meter implements DecisionMeter {
  private readonly store: UsageStore;
  private readonly config: UsageConfig;
  private readonly ledger: Ledger;
  private readonly now: () => Date;

  constructor(store: UsageStore & { config: UsageConfig }, ledger: Ledger, now: () => Date = () => new Date()) {
    this.store = store;
    this.config = store.config;
    this.ledger = ledger;
    this.now = now;
  }

  keys(who: UsageFacts): string[] {
    return [...scopeKeys(who), historyKey(who.subject)];
  }

  async context(who: UsageFacts, bundle: Bundle, now: Date, replacing?: string): Promise<MeteredContext> {
    const nowMs = now.getTime();
    const table = priceTable(bundle);
    const read = await this.store.read(this.keys(who));
    let context: JsonObject;
    try {
      const usage: JsonObject = {
        currency: table.currency ?? this.config.currency,
        subject: (await read.usage('subject', who.subject, nowMs, replacing)) as unknown as JsonObject,
        team: (await read.usage('team', who.team, nowMs, replacing)) as unknown as JsonObject,
        cost_center: (await read.usage('cost_center', who.costCenter, nowMs, replacing)) as unknown as JsonObject,
      };
      context = { usage, history: (await read.history(who.subject, nowMs)) as unknown as JsonObject };
    } catch (err) {
      read.end();
      throw err;
    }
    const estimate = this.estimate(who, bundle, who.model);
    if (estimate) {
      context.estimate = {
        model: estimate.model,
        tier: estimate.price.tier,
        tokens: estimate.inputTokens + estimate.outputTokens,
        cost: microsToNumber(costMicros(estimate.price, estimate.inputTokens, estimate.outputTokens)),
      };
    }
    return { context, snapshot: read };
  }

  async stage(d: MeteredDecision, snapshot: UsageSnapshot): Promise<MeteredWrite | undefined> {
    const read = snapshot as UsageRead;
    const atMs = d.now.getTime();
    const request = { decisionId: d.decisionId, subject: d.facts.subject, tool: d.facts.capability, decision: d.outcome.decision, atMs };
    const reservation = this.reservation(d, atMs);
    const rows: StagedUsage = reservation ? { request, reservation } : { request };
    if (d.claim) rows.claim = d.claim;
    if (d.approval) rows.approval = d.approval;
    const staged = await read.stage(rows);
    if (!staged) return undefined;
    return {
      writes: staged.writes,
      finish: (committed, results) => staged.finish(committed, results),
      ...(staged.records ? { records: staged.records } : {}),
      payload: usageSection(rows),
    };
  }

  /** Recorded as a `usage` entry whose transaction drops the reservation (if a report has not settled it meanwhile). */
  async release(decisionId: string, caller: string): Promise<void> {
    const charge = await this.store.charge(decisionId);
    if (charge?.state !== 'reserved') return;
    await this.ledger.append(releaseRecord(charge, caller, this.now()), this.store.stagedRelease(decisionId));
  }

  stagedRelease(decisionId: string): StagedWrite {
    return this.store.stagedRelease(decisionId);
  }

  requestRecorded(claim: RequestClaim, decisionId: string, receipt: Receipt): void {
    this.store.requestRecorded?.(claim, decisionId, receipt);
  }

  /** An allowed (or approval-pending) model call reserves its estimate; a tier-down reserves at the routed model's price. */
  private reservation(d: MeteredDecision, atMs: number): Reservation | undefined {
    // A call waiting for approval is reserved too, held while its request is open (holdUntilMs).
    if (d.facts.actionType !== 'model.invoke' || d.outcome.decision === 'deny') return undefined;
    const waiting = d.outcome.decision === 'require_approval';
    if (waiting && d.holdUntilMs === null) return undefined;
    const routed = stringAt(d.outcome.obligations, ['route', 'model']);
    const estimate = this.estimate(d.facts, d.bundle, routed || d.facts.model);
    if (!estimate) return undefined;
    return {
      subject: d.facts.subject,
      team: d.facts.team,
      costCenter: d.facts.costCenter,
      decisionId: d.decisionId,
      model: estimate.model,
      tier: estimate.price.tier,
      tokens: estimate.inputTokens + estimate.outputTokens,
      costMicros: costMicros(estimate.price, estimate.inputTokens, estimate.outputTokens),
      atMs,
      expiresMs: waiting && typeof d.holdUntilMs === 'number' ? d.holdUntilMs : atMs + this.config.reservationTtlSeconds * 1000,
      maxOutputTokens: estimate.statedMaxTokens,
      estimatedInputTokens: estimate.inputTokens,
      caller: d.caller,
      askedModel: d.facts.model,
    };
  }

  /** Estimated tokens: the prompt at ~4 characters a token, plus max_tokens of output. */
  private estimate(facts: UsageFacts, bundle: Bundle, model: string): Estimate | undefined {
    if (facts.actionType !== 'model.invoke' || !model) return undefined;
    const price = priceTable(bundle).models.get(model);
    if (!price) return undefined;
    // No model emits a billion tokens in one call; the cap keeps every sum an exact integer.
    const maxTokens = Math.min(facts.statedMaxTokens ?? this.config.defaultMaxTokens, MAX_ESTIMATED_TOKENS);
    // Every string the call sends counts, whatever the shape (prompt, messages, system, parts): see usageFactsOf.
    const statedMaxTokens = facts.statedMaxTokens === null ? null : maxTokens;
    return { model, price, inputTokens: Math.ceil(facts.promptChars / 4), outputTokens: maxTokens, statedMaxTokens };
  }
}

function stringAt(root: JsonValue, path: string[]): string {
  const v = valueAt(root, path);
  return typeof v === 'string' ? v : '';
}
