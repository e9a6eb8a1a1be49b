import { GavelError } from '../lib/errors.js';
import { isJsonObject, type JsonObject } from '../lib/json.js';
import { escapeToken, scanInput } from './input-scan.js';

export interface InputLimits {
  /** Largest accepted input document in bytes (UTF-8 JSON). */
  maxInputBytes: number;
  /** Deepest accepted nesting of objects and arrays. */
  maxDepth: number;
}

const utf8 = new TextDecoder('utf-8', { fatal: true });

/**
 * Numbers in action.params whose double is not their exact value, by pointer
 * within params (see input-scan.ts exactDecimal), for the inputs parsed from
 * JSON text that held any: the approval fingerprint binds them as written.
 * Kept beside the parsed object, not in it, so the policy and the ledger see
 * the input as JSON.parse gives it.
 */
const inexactParams = new WeakMap<JsonObject, ReadonlyMap<string, string>>();

/** The exact decimals of numbers in this parsed input's action.params that its doubles do not hold; undefined when none. */
export function inexactParamsOf(input: JsonObject): ReadonlyMap<string, string> | undefined {
  return inexactParams.get(input);
}

/**
 * Parses the `input_json` bytes of a request. Size is checked on the raw bytes
 * and depth by one linear scan of the text before JSON.parse, so a hostile
 * document costs one scan; the same scan finds duplicate keys, refused after
 * the text is known to be JSON (JSON.parse would silently keep the last).
 */
export function parseInputJson(bytes: Uint8Array, limits: InputLimits): JsonObject {
  checkSize(bytes.byteLength, limits);
  let text: string;
  try {
    text = utf8.decode(bytes);
  } catch {
    throw new GavelError('invalid_input', 'input_json is not valid UTF-8');
  }
  const scan = scanInput(text, limits.maxDepth);
  if (scan.depth > limits.maxDepth) throw tooDeep(scan.depth, limits);
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (err) {
    throw new GavelError('invalid_input', `input_json is not valid JSON: ${(err as Error).message}`);
  }
  if (scan.duplicate !== undefined) {
    throw new GavelError('invalid_input', `input ${scan.duplicate} is a duplicate key: each key may appear once per object`);
  }
  const obj = requireObject(value);
  if (scan.inexactParams) inexactParams.set(obj, scan.inexactParams);
  return mayHoldUnhashable(text) ? checkValues(obj) : obj;
}

/**
 * Whether JSON text can parse to a value checkValues refuses, decided on the
 * text in one pass so the common input skips the walk over every value. Text
 * decoded as strict UTF-8 holds no raw lone surrogate, so one can only come from
 * a \uD800-\uDFFF escape; and JSON.parse gives Infinity only for a literal
 * past 1.8e308, which needs an exponent of three digits or, with an exponent of
 * at most 99, more than 200 integer digits (JSON numbers have no leading zeros).
 * Either pattern (even inside a string, harmlessly) sends the input to the full walk.
 */
const UNHASHABLE_HINT = /\\u[dD][89a-fA-F]|[eE]\+?\d{3}|\d{200}/;

function mayHoldUnhashable(text: string): boolean {
  return UNHASHABLE_HINT.test(text);
}

/** Checks an input that arrived already structured (google.protobuf.Struct). */
export function checkInputValue(value: unknown, limits: InputLimits): JsonObject {
  const obj = requireObject(value);
  const depth = valueDepth(obj, limits.maxDepth + 1);
  if (depth > limits.maxDepth) throw tooDeep(depth, limits);
  checkSize(Buffer.byteLength(JSON.stringify(obj)), limits);
  return checkValues(obj);
}

const LONE_SURROGATE = /[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/;

/**
 * Refuses values JSON can carry but a ledger cannot hash faithfully: numbers
 * that parse to Infinity (1e999) have no canonical form, and a lone UTF-16
 * surrogate ("\ud800") would be stored as U+FFFD, so the stored entry would no
 * longer match its hash.
 */
function checkValues(root: JsonObject): JsonObject {
  const stack: Array<{ value: unknown; path: string }> = [{ value: root, path: '' }];
  // The root is an object: a number or a string always has a path.
  while (stack.length > 0) {
    const { value, path } = stack.pop()!;
    if (typeof value === 'number' && !Number.isFinite(value)) {
      throw new GavelError('invalid_input', `input ${path} is a number out of range`);
    }
    if (typeof value === 'string' && LONE_SURROGATE.test(value)) {
      throw new GavelError('invalid_input', `input ${path} holds a lone UTF-16 surrogate (\\uD800-\\uDFFF)`);
    }
    if (typeof value !== 'object' || value === null) continue;
    for (const [key, child] of Object.entries(value)) {
      if (LONE_SURROGATE.test(key)) throw new GavelError('invalid_input', `input ${path || '/'} has a key with a lone UTF-16 surrogate`);
      stack.push({ value: child, path: `${path}/${escapeToken(key)}` });
    }
  }
  return root;
}

function requireObject(value: unknown): JsonObject {
  if (!isJsonObject(value)) {
    const kind = value === null ? 'null' : Array.isArray(value) ? 'an array' : `a ${typeof value}`;
    throw new GavelError('invalid_input', `input must be a JSON object, got ${kind}`);
  }
  return value;
}

function checkSize(bytes: number, limits: InputLimits): void {
  if (bytes > limits.maxInputBytes) {
    throw new GavelError('input_too_large', `input is ${bytes} bytes, over the limit of ${limits.maxInputBytes} bytes`);
  }
}

function tooDeep(depth: number, limits: InputLimits): GavelError {
  return new GavelError('input_too_deep', `input nests ${depth} levels deep, over the limit of ${limits.maxDepth}`);
}

/** Maximum bracket depth of a JSON text, ignoring brackets inside strings. */
export function scanDepth(text: string): number {
  return scanInput(text, 0).depth;
}

/** Depth of a parsed value, iterative, stopping once `cap` is reached. */
function valueDepth(root: unknown, cap: number): number {
  let max = 0;
  const stack: Array<[unknown, number]> = [[root, 1]];
  while (stack.length > 0) {
    const [value, depth] = stack.pop()!;
    if (typeof value !== 'object' || value === null) continue;
    max = Math.max(max, depth);
    if (max >= cap) return max;
    for (const child of Object.values(value)) stack.push([child, depth + 1]);
  }
  return max;
}
