/** JSON value types shared by the engine, the ledger and the transport. */
export type JsonValue = null | boolean | number | string | JsonValue[] | JsonObject;
export interface JsonObject {
  [key: string]: JsonValue;
}

export function isJsonObject(value: unknown): value is JsonObject {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** Deep copy of a JSON value (inputs are small and plain, so structuredClone is enough). */
export function cloneJson<T extends JsonValue>(value: T): T {
  return structuredClone(value);
}
