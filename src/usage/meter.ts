import type { Bundle } from '../bundles/bundle.js';
import type { DecisionMeter, MeteredDecision } from '../engine/meter.js';
import { isJsonObject, valueAt, type JsonObject, type JsonValue } from '../lib/json.js';
import { microsToNumber } from './money.js';
import { costMicros, priceTable, type ModelPrice } from './pricing.js';
import type { UsageStore } from './store.js';
import { attributionOf, capabilityOf } from '../lib/attribution.js';
import type { SqliteUsageStore } from './sqlite.js';

const MAX_ESTIMATED_TOKENS = 1_000_000_000;

interface Estimate {
  model: string;
  price: ModelPrice;
  inputTokens: number;
  outputTokens: number;
}

/**
 * Connects the engine to the usage store: before evaluation it adds
 * input.context.usage / estimate / history; after it, inside the same atomic
 * step, it records the request and reserves the estimated cost of an allowed
 * model call against every budget the call touches.
 */
export class Meter implements DecisionMeter {
  private readonly store: UsageStore & Pick<SqliteUsageStore, 'config'>;

  constructor(store: UsageStore & Pick<SqliteUsageStore, 'config'>) {
    this.store = store;
  }

  atomically<T>(body: () => Promise<T>): Promise<T> {
    return this.store.atomically(body);
  }

  async context(input: JsonObject, bundle: Bundle, now: Date): Promise<JsonObject> {
    const who = attributionOf(input);
    const nowMs = now.getTime();
    const table = priceTable(bundle);
    const usage: JsonObject = {
      currency: table.currency ?? this.store.config.currency,
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
    return context;
  }

  async record(d: MeteredDecision): Promise<void> {
    const who = attributionOf(d.input);
    const atMs = d.now.getTime();
    const action = stringAt(d.input, ['action', 'type']);
    await this.store.recordRequest({ decisionId: d.decisionId, subject: who.subject, tool: capabilityOf(d.input), decision: d.outcome.decision, atMs });
    // A call waiting for approval is reserved too: once approved it runs and is reported like any other.
    if (action !== 'model.invoke' || d.outcome.decision === 'deny') return;
    // A tier-down obligation changes which model will run, so reserve at that model's price.
    const routed = stringAt(d.outcome.obligations, ['route', 'model']);
    const estimate = this.estimate(d.input, d.bundle, routed || stringAt(d.input, ['action', 'model']));
    if (!estimate) return;
    await this.store.reserve({
      ...who,
      decisionId: d.decisionId,
      model: estimate.model,
      tier: estimate.price.tier,
      tokens: estimate.inputTokens + estimate.outputTokens,
      costMicros: costMicros(estimate.price, estimate.inputTokens, estimate.outputTokens),
      atMs,
      expiresMs: atMs + this.store.config.reservationTtlSeconds * 1000,
    });
  }

  cancel(decisionId: string): Promise<void> {
    return this.store.cancel(decisionId);
  }

  /** Estimated tokens: the prompt at ~4 characters a token, plus max_tokens of output. */
  private estimate(input: JsonObject, bundle: Bundle, model: string): Estimate | undefined {
    if (stringAt(input, ['action', 'type']) !== 'model.invoke' || !model) return undefined;
    const price = priceTable(bundle).models.get(model);
    if (!price) return undefined;
    const params = valueAt(input, ['action', 'params']);
    const asked = isJsonObject(params) && typeof params.max_tokens === 'number' && params.max_tokens > 0 ? Math.ceil(params.max_tokens) : this.store.config.defaultMaxTokens;
    // No model emits a billion tokens in one call; the cap keeps every sum an exact integer.
    const maxTokens = Math.min(asked, MAX_ESTIMATED_TOKENS);
    const prompt = stringAt(input, ['content', 'prompt']);
    return { model, price, inputTokens: Math.ceil(prompt.length / 4), outputTokens: maxTokens };
  }
}

function stringAt(root: JsonValue, path: string[]): string {
  const v = valueAt(root, path);
  return typeof v === 'string' ? v : '';
}
