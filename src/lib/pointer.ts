import { isJsonObject, type JsonValue } from './json.js';

/** RFC 6901 JSON pointer helpers; only what redaction needs. */

export function parsePointer(pointer: string): string[] {
  if (pointer === '') return [];
  if (!pointer.startsWith('/')) throw new Error(`JSON pointer must start with "/": ${pointer}`);
  return pointer
    .slice(1)
    .split('/')
    .map((token) => token.replace(/~1/g, '/').replace(/~0/g, '~'));
}

export function getAt(root: JsonValue, pointer: string): JsonValue | undefined {
  let node: JsonValue | undefined = root;
  for (const token of parsePointer(pointer)) {
    if (Array.isArray(node)) node = node[Number(token)];
    else if (isJsonObject(node) && Object.hasOwn(node, token)) node = node[token];
    else return undefined;
  }
  return node;
}

/** Replaces the value at `pointer`; returns false when the parent does not exist. */
export function setAt(root: JsonValue, pointer: string, value: JsonValue): boolean {
  const tokens = parsePointer(pointer);
  const last = tokens.pop();
  if (last === undefined) return false;
  const parent = getAt(root, tokens.length ? '/' + tokens.map(escapeToken).join('/') : '');
  if (Array.isArray(parent)) {
    const index = Number(last);
    if (!Number.isInteger(index) || index < 0 || index >= parent.length) return false;
    parent[index] = value;
    return true;
  }
  if (isJsonObject(parent) && Object.hasOwn(parent, last)) {
    parent[last] = value;
    return true;
  }
  return false;
}

export function escapeToken(token: string): string {
  return token.replace(/~/g, '~0').replace(/\//g, '~1');
}
