import type { Bundle } from '../bundles/bundle.js';
import { isJsonObject, valueAt, type JsonValue } from '../lib/json.js';
import { MICROS, parseMicros } from './money.js';

/**
 * The price table lives in bundle data at data.gavel.pricing, so an admin
 * changes prices the same way as limits:
 *   {"currency": "USD", "models": {"<model>": {"tier": "premium", "input_per_1k": "0.015", "output_per_1k": "0.075"}}}
 */
export interface ModelPrice {
  tier: string;
  inputPer1kMicros: number;
  outputPer1kMicros: number;
}

export interface PriceTable {
  currency: string | undefined;
  models: Map<string, ModelPrice>;
}

const cache = new WeakMap<Bundle, PriceTable>();

export function priceTable(bundle: Bundle): PriceTable {
  let table = cache.get(bundle);
  if (!table) {
    table = parsePriceTable(valueAt(bundle.data, ['gavel', 'pricing']));
    cache.set(bundle, table);
  }
  return table;
}

export function parsePriceTable(raw: JsonValue | undefined): PriceTable {
  const models = new Map<string, ModelPrice>();
  if (!isJsonObject(raw)) return { currency: undefined, models };
  const entries = isJsonObject(raw.models) ? Object.entries(raw.models) : [];
  for (const [name, value] of entries) {
    if (!isJsonObject(value)) continue;
    models.set(name, {
      tier: typeof value.tier === 'string' ? value.tier : 'unknown',
      inputPer1kMicros: priceMicros(value.input_per_1k),
      outputPer1kMicros: priceMicros(value.output_per_1k),
    });
  }
  return { currency: typeof raw.currency === 'string' ? raw.currency : undefined, models };
}

function priceMicros(value: JsonValue | undefined): number {
  if (typeof value === 'number') return Math.round(value * MICROS);
  if (typeof value === 'string') return parseMicros(value) ?? 0;
  return 0;
}

/** Cost in micro-units, rounded up so that estimates never undercount. */
export function costMicros(price: ModelPrice, inputTokens: number, outputTokens: number): number {
  return Math.ceil((inputTokens * price.inputPer1kMicros + outputTokens * price.outputPer1kMicros) / 1000);
}
