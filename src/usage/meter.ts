import type { Bundle } from '../bundles/bundle.js';
import type { StagedWrite } from '../engine/ledger.js';
import type { DecisionMeter, MeteredContext, MeteredDecision, UsageSnapshot } from '../engine/meter.js';
import { attributionOf, capabilityOf } from '../lib/attribution.js';
import { isJsonObject, valueAt, type JsonObject, type JsonValue } from '../lib/json.js';
import type { UsageConfig } from './config.js';
import { microsToNumber } from './money.js';
import { costMicros, priceTable, type ModelPrice } from './pricing.js';
import { historyKey, usageKey, type Reservation, type UsageStore } from './store.js';

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

  constructor(store: UsageStore & { config: UsageConfig }) {
    this.store = store;
    this.config = store.config;
  }

  async context(input: JsonObject, bundle: Bundle, now: Date): Promise<MeteredContext> {
    const who = attributionOf(input);
    const nowMs = now.getTime();
    const table = priceTable(bundle);
    // Versions first: a write landing between this and the reads below makes the snapshot stale, never wrongly current.
    const snapshot = this.store.snapshot([
      usageKey('subject', who.subject),
      usageKey('team', who.team),
      usageKey('cost_center', who.costCenter),
      historyKey(who.subject),
    ]);
    const usage: JsonObject = {
      currency: table.currency ?? this.config.currency,
      subject: (await this.store.usage('subject', who.subject, nowMs)) as unknown as JsonObject,
      team: (await this.store.usage('team', who.team, nowMs)) as unknown as JsonObject,
      cost_center: (await this.store.usage('cost_center', who.costCenter, nowMs)) as unknown as JsonObject,
    };
    const context: JsonObject = { usage, history: (await this.store.history(who.subject, nowMs)) as unknown as JsonObject };
    const estimate = this.estimate(input, bundle, stringAt(input, ['action', 'model']));
    if (estimate) {
      context.estimate = {
        model: estimate.model,
        tier: estimate.price.tier,
        tokens: estimate.inputTokens + estimate.outputTokens,
        cost: microsToNumber(costMicros(estimate.price, estimate.inputTokens, estimate.outputTokens)),
      };
    }
    return { context, snapshot };
  }

  stage(d: MeteredDecision, snapshot: UsageSnapshot): StagedWrite | undefined {
    if (!this.store.isCurrent(snapshot)) return undefined;
    const who = attributionOf(d.input);
    const atMs = d.now.getTime();
    const request = { decisionId: d.decisionId, subject: who.subject, tool: capabilityOf(d.input), decision: d.outcome.decision, atMs };
    const reservation = this.reservation(d, atMs);
    return this.store.stage(reservation ? { request, reservation } : { request });
  }

  release(decisionId: string): Promise<void> {
    return this.store.release(decisionId);
  }

  /** An allowed (or approval-pending) model call reserves its estimate; a tier-down reserves at the routed model's price. */
  private reservation(d: MeteredDecision, atMs: number): Reservation | undefined {
    // A call waiting for approval is reserved too: once approved it runs and is reported like any other.
    if (stringAt(d.input, ['action', 'type']) !== 'model.invoke' || d.outcome.decision === 'deny') return undefined;
    const routed = stringAt(d.outcome.obligations, ['route', 'model']);
    const estimate = this.estimate(d.input, d.bundle, routed || stringAt(d.input, ['action', 'model']));
    if (!estimate) return undefined;
    return {
      ...attributionOf(d.input),
      decisionId: d.decisionId,
      model: estimate.model,
      tier: estimate.price.tier,
      tokens: estimate.inputTokens + estimate.outputTokens,
      costMicros: costMicros(estimate.price, estimate.inputTokens, estimate.outputTokens),
      atMs,
      expiresMs: atMs + this.config.reservationTtlSeconds * 1000,
      maxOutputTokens: estimate.statedMaxTokens,
      estimatedInputTokens: estimate.inputTokens,
    };
  }

  /** Estimated tokens: the prompt at ~4 characters a token, plus max_tokens of output. */
  private estimate(input: JsonObject, bundle: Bundle, model: string): Estimate | undefined {
    if (stringAt(input, ['action', 'type']) !== 'model.invoke' || !model) return undefined;
    const price = priceTable(bundle).models.get(model);
    if (!price) return undefined;
    const params = valueAt(input, ['action', 'params']);
    const stated = isJsonObject(params) && typeof params.max_tokens === 'number' && params.max_tokens > 0 ? Math.ceil(params.max_tokens) : null;
    // No model emits a billion tokens in one call; the cap keeps every sum an exact integer.
    const maxTokens = Math.min(stated ?? this.config.defaultMaxTokens, MAX_ESTIMATED_TOKENS);
    // Every string the call sends counts, whatever the shape (prompt, messages, system, parts).
    const promptChars = textLength(valueAt(input, ['content']));
    const statedMaxTokens = stated === null ? null : maxTokens;
    return { model, price, inputTokens: Math.ceil(promptChars / 4), outputTokens: maxTokens, statedMaxTokens };
  }
}

function stringAt(root: JsonValue, path: string[]): string {
  const v = valueAt(root, path);
  return typeof v === 'string' ? v : '';
}

/** Characters of every string in a JSON value, at any depth. */
function textLength(value: JsonValue | undefined): number {
  if (typeof value === 'string') return value.length;
  if (Array.isArray(value)) return value.reduce((n: number, v) => n + textLength(v), 0);
  if (isJsonObject(value)) return Object.values(value).reduce((n: number, v) => n + textLength(v), 0);
  return 0;
}
