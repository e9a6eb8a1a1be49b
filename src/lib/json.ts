/** JSON value types shared by the engine, the ledger and the transport. */
export type JsonValue = null | boolean | number | string | JsonValue[] | JsonObject;
export interface JsonObject {
  [key: string]: JsonValue;
}

export function isJsonObject(value: unknown): value is JsonObject {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** The value at a path of object keys, or undefined where the path leaves the objects. */
export function valueAt(root: JsonValue | undefined, path: readonly string[]): JsonValue | undefined {
  let node = root;
  for (const key of path) node = isJsonObject(node) ? node[key] : undefined;
  return node;
}

/** Deep copy of a JSON value (inputs are small and plain, so structuredClone is enough). */
export function cloneJson<T extends JsonValue>(value: T): T {
  return structuredClone(value);
}
