import { attributionOf, capabilityOf, comparedAttribution, objectAt, text, type Attribution } from '../lib/attribution.js';
import { isJsonObject, type JsonObject, type JsonValue } from '../lib/json.js';

/**
 * What metering needs to know about a request, read once from the parsed input
 * where the input is parsed (an evaluation worker): who is charged, what the
 * call is and how big its prompt is. Small and flat, so it crosses a thread
 * boundary for the price of a few strings; the usage store never sees the input.
 * Who is charged is in the comparison form (lib/identity-form.ts): budgets,
 * request history and usage keys follow the person, not the spelling.
 */
export interface UsageFacts extends Attribution {
  /** action.type ("model.invoke", "tool.call", ...). */
  actionType: string;
  /** action.model as requested ("" if none). */
  model: string;
  /** The capability rate limits count (the tool, or "data.export"; "" for model calls). */
  capability: string;
  /** action.params.max_tokens when it is a positive number, rounded up; null otherwise. */
  statedMaxTokens: number | null;
  /** Characters of every string the call sends in `content`, at any depth and whatever its shape. */
  promptChars: number;
}

export function usageFactsOf(input: JsonObject): UsageFacts {
  const action = objectAt(input, 'action');
  const params = action.params;
  const maxTokens = isJsonObject(params) ? params.max_tokens : undefined;
  return {
    ...comparedAttribution(attributionOf(input)),
    actionType: text(action, 'type'),
    model: text(action, 'model'),
    capability: capabilityOf(input),
    statedMaxTokens: typeof maxTokens === 'number' && maxTokens > 0 ? Math.ceil(maxTokens) : null,
    promptChars: textLength(input.content),
  };
}

/** Characters of every string in a JSON value, at any depth. */
function textLength(value: JsonValue | undefined): number {
  if (typeof value === 'string') return value.length;
  if (Array.isArray(value)) return value.reduce((n: number, v) => n + textLength(v), 0);
  if (isJsonObject(value)) return Object.values(value).reduce((n: number, v) => n + textLength(v), 0);
  return 0;
}
