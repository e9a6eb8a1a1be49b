/**
 * One linear pass over an input's JSON text, before JSON.parse, that finds
 * what the parsed value can no longer tell:
 *
 * - how deep it nests (a hostile document costs this scan, not a parse);
 * - the first duplicate object key, as a JSON pointer: JSON.parse keeps the
 *   last of `{"amount":9999999,"amount":500}` where another parser keeps the
 *   first, so the policy, the ledger and the system that runs the action could
 *   each read a different amount;
 * - the exact decimal value of every number in `action.params` whose double
 *   does not hold it (`50000.000000000001` parses to 50000), so an approval
 *   binds the amount as written (see exactDecimal).
 *
 * Text that is not JSON may give any answer here: JSON.parse refuses it after.
 */
export interface InputScan {
  /** Deepest nesting of objects and arrays. */
  depth: number;
  /** JSON pointer of the first key that repeats in its object; undefined when none does. */
  duplicate?: string;
  /** Numbers under /action/params whose double is not their exact value: pointer (within params) to exactDecimal. */
  inexactParams?: Map<string, string>;
}

interface Frame {
  object: boolean;
  /** In an object: the next string is a key. */
  expectKey: boolean;
  /**
   * The current member's key (objects) as a range of the text, quotes excluded, or as its
   * decoded text when it holds an escape; the element index (arrays).
   */
  keyStart: number;
  keyEnd: number;
  decodedKey: string | undefined;
  index: number;
  /**
   * The keys seen so far: while the object is small and no key holds an escape (most objects),
   * as the first `ranges` pairs of `rangeList` (start, end, start, end, …), compared in place,
   * so the scan copies no key (and the list keeps its capacity from one object to the next);
   * past SMALL_OBJECT keys or at the first escape, as a set of decoded keys.
   */
  rangeList: number[];
  ranges: number;
  many: Set<string> | undefined;
}

const SMALL_OBJECT = 16;

const QUOTE = 0x22;
const BACKSLASH = 0x5c;

/**
 * Scans `text`; past `maxDepth` only the depth is counted (such an input is refused
 * whole), so a megabyte of `[` costs no more memory than the limit's frames.
 */
export function scanInput(text: string, maxDepth: number): InputScan {
  const frames: Frame[] = [];
  // `open` containers are open; the outermost maxDepth of them have a frame, reused as the scan leaves and enters containers.
  let open = 0;
  const scan: InputScan = { depth: 0 };
  const n = text.length;
  for (let i = 0; i < n; i++) {
    const c = text.charCodeAt(i);
    if (c === QUOTE) {
      const end = stringEnd(text, i);
      if (open > 0 && open <= maxDepth && frames[open - 1]!.expectKey) memberKey(scan, frames, open, text, i, end);
      i = end;
    } else if (c === 0x7b || c === 0x5b) {
      if (++open > scan.depth) scan.depth = open;
      if (open <= maxDepth) enter(frames, open - 1, c === 0x7b);
    } else if (c === 0x7d || c === 0x5d) {
      if (open > 0) open--;
    } else if (c === 0x2c) {
      const top = open > 0 && open <= maxDepth ? frames[open - 1]! : undefined;
      if (top?.object) top.expectKey = true;
      else if (top) top.index++;
    } else if (c === 0x2d || (c >= 0x30 && c <= 0x39)) {
      const end = numberEnd(text, i);
      if (open >= 2 && open <= maxDepth && inParams(frames, text)) noteNumber(scan, frames, open, text, text.slice(i, end));
      i = end - 1;
    }
  }
  return scan;
}

function enter(frames: Frame[], at: number, object: boolean): void {
  const frame = frames[at];
  if (!frame) {
    frames.push({ object, expectKey: object, keyStart: 0, keyEnd: 0, decodedKey: undefined, index: 0, rangeList: [], ranges: 0, many: undefined });
    return;
  }
  frame.object = object;
  frame.expectKey = object;
  // Its key is set by its first member before anything reads it (in text that is JSON).
  frame.index = 0;
  frame.ranges = 0;
  frame.many = undefined;
}

/** Index of the quote that closes the string opening at `start` (text.length when none does). */
function stringEnd(text: string, start: number): number {
  let j = start;
  for (;;) {
    j = text.indexOf('"', j + 1);
    if (j < 0) return text.length;
    let k = j - 1;
    while (text.charCodeAt(k) === BACKSLASH) k--;
    // An even run of backslashes escapes itself, not the quote.
    if ((j - 1 - k) % 2 === 0) return j;
  }
}

function numberEnd(text: string, start: number): number {
  let j = start + 1;
  for (; j < text.length; j++) {
    const c = text.charCodeAt(j);
    if (!((c >= 0x30 && c <= 0x39) || c === 0x2e || c === 0x65 || c === 0x45 || c === 0x2b || c === 0x2d)) break;
  }
  return j;
}

function memberKey(scan: InputScan, frames: Frame[], open: number, text: string, start: number, end: number): void {
  const top = frames[open - 1]!;
  const keyStart = start + 1;
  // "a" and "\u0061" are one key: escapes are decoded before keys are compared.
  const decodedKey = hasBackslash(text, keyStart, end) ? decoded(text.slice(start, end + 1), text.slice(keyStart, end)) : undefined;
  if (seen(top, text, keyStart, end, decodedKey))
    scan.duplicate ??= `${pointer(frames, text, open - 1)}/${escapeToken(decodedKey ?? text.slice(keyStart, end))}`;
  top.keyStart = keyStart;
  top.keyEnd = end;
  top.decodedKey = decodedKey;
  top.expectKey = false;
}

/** Whether the object already has this key (text[start, end), or `decodedKey` when it holds an escape); notes it when not. */
function seen(frame: Frame, text: string, start: number, end: number, decodedKey: string | undefined): boolean {
  const list = frame.rangeList;
  if (!frame.many && (decodedKey !== undefined || frame.ranges >= SMALL_OBJECT)) {
    frame.many = new Set();
    for (let r = 0; r < 2 * frame.ranges; r += 2) frame.many.add(text.slice(list[r], list[r + 1]));
  }
  if (frame.many) {
    const key = decodedKey ?? text.slice(start, end);
    if (frame.many.has(key)) return true;
    frame.many.add(key);
    return false;
  }
  const length = end - start;
  for (let r = 0; r < 2 * frame.ranges; r += 2) {
    const at = list[r]!;
    if (list[r + 1]! - at === length && sameText(text, at, start, length)) return true;
  }
  list[2 * frame.ranges] = start;
  list[2 * frame.ranges + 1] = end;
  frame.ranges++;
  return false;
}

function hasBackslash(text: string, start: number, end: number): boolean {
  for (let k = start; k < end; k++) if (text.charCodeAt(k) === BACKSLASH) return true;
  return false;
}

/** Whether text[a, a + length) and text[b, b + length) are the same code units. */
function sameText(text: string, a: number, b: number, length: number): boolean {
  for (let k = 0; k < length; k++) if (text.charCodeAt(a + k) !== text.charCodeAt(b + k)) return false;
  return true;
}

/** A frame's current key as text. */
function keyOf(frame: Frame, text: string): string {
  return frame.decodedKey ?? text.slice(frame.keyStart, frame.keyEnd);
}

/** Whether a frame's current key is `key`, without copying it. */
function keyIs(frame: Frame, text: string, key: string): boolean {
  if (frame.decodedKey !== undefined) return frame.decodedKey === key;
  return frame.keyEnd - frame.keyStart === key.length && text.startsWith(key, frame.keyStart);
}

function decoded(quoted: string, raw: string): string {
  try {
    return JSON.parse(quoted) as string;
  } catch {
    return raw;
  }
}

/** Pointer of the members frames[from..to) are in (each frame's current key or index). */
function pointer(frames: Frame[], text: string, to: number, from = 0): string {
  let p = '';
  for (let f = from; f < to; f++) {
    const frame = frames[f]!;
    p += `/${frame.object ? escapeToken(keyOf(frame, text)) : String(frame.index)}`;
  }
  return p;
}

export function escapeToken(key: string): string {
  return key.replace(/~/g, '~0').replace(/\//g, '~1');
}

/** True when the value being read sits at or under /action/params (call with at least two frames open). */
function inParams(frames: Frame[], text: string): boolean {
  const [root, action] = frames as [Frame, Frame];
  return root.object && keyIs(root, text, 'action') && action.object && keyIs(action, text, 'params');
}

function noteNumber(scan: InputScan, frames: Frame[], open: number, text: string, literal: string): void {
  // Up to 15 digits, an integer is exactly its double.
  if (/^-?\d{1,15}$/.test(literal)) return;
  const double = Number(literal);
  // Out of range (1e999): refused whole later (input.ts checkValues).
  if (!Number.isFinite(double)) return;
  const exact = exactDecimal(literal);
  if (exact === exactDecimal(String(double))) return;
  scan.inexactParams ??= new Map();
  scan.inexactParams.set(pointer(frames, text, open, 2), exact);
}

/**
 * The exact value of a JSON number literal in one form per value: sign, the
 * significant digits without leading or trailing zeros, and a power of ten
 * (`50000`, `50000.0` and `5e4` are all "5e4"; `50000.000000000001` is
 * "50000000000000001e-12"; zero is "0", whatever its sign).
 */
export function exactDecimal(literal: string): string {
  const m = /^(-?)(\d+)(?:\.(\d+))?(?:[eE]([+-]?\d+))?$/.exec(literal);
  if (!m) return literal;
  const fraction = m[3] ?? '';
  const all = (m[2]! + fraction).replace(/^0+/, '');
  if (all === '') return '0';
  const digits = all.replace(/0+$/, '');
  // BigInt: an exponent of 25 digits is still exact (1e-1000000000000000000000001 parses to 0, like its neighbours).
  const exponent = BigInt(m[4] ?? '0') - BigInt(fraction.length) + BigInt(all.length - digits.length);
  return `${m[1]}${digits}e${exponent}`;
}
