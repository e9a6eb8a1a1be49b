/** JSON as the API carries it: inputs, obligations, redacted inputs, approval params. */
export type JsonValue = string | number | boolean | null | JsonValue[] | JsonObject;
export interface JsonObject {
  [key: string]: JsonValue;
}

/** The bytes of a JSON field, parsed; undefined when the field is empty (the server sent nothing). */
export function parseJsonBytes(bytes: Uint8Array | undefined): JsonValue | undefined {
  if (!bytes || bytes.length === 0) return undefined;
  return JSON.parse(Buffer.from(bytes).toString('utf8')) as JsonValue;
}

export function isJsonObject(value: unknown): value is JsonObject {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}
