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
  /** The current member's key (objects) or element index (arrays). */
  key: string;
  index: number;
  /** The keys seen so far: a list while it is short (most objects), a set past SMALL_OBJECT. */
  keys: string[];
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
      if (open >= 2 && open <= maxDepth && inParams(frames)) noteNumber(scan, frames, open, text.slice(i, end));
      i = end - 1;
    }
  }
  return scan;
}

function enter(frames: Frame[], at: number, object: boolean): void {
  const frame = frames[at];
  if (!frame) {
    frames.push({ object, expectKey: object, key: '', index: 0, keys: [], many: undefined });
    return;
  }
  frame.object = object;
  frame.expectKey = object;
  frame.key = '';
  frame.index = 0;
  frame.keys.length = 0;
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
  const raw = text.slice(start + 1, end);
  // "a" and "\u0061" are one key: escapes are decoded before keys are compared.
  const key = raw.includes('\\') ? decoded(text.slice(start, end + 1), raw) : raw;
  if (seen(top, key)) scan.duplicate ??= `${pointer(frames, open - 1)}/${escapeToken(key)}`;
  top.key = key;
  top.expectKey = false;
}

/** Whether the object already has this key; notes it when not. */
function seen(frame: Frame, key: string): boolean {
  if (frame.many) {
    if (frame.many.has(key)) return true;
    frame.many.add(key);
    return false;
  }
  if (frame.keys.includes(key)) return true;
  frame.keys.push(key);
  if (frame.keys.length > SMALL_OBJECT) frame.many = new Set(frame.keys);
  return false;
}

function decoded(quoted: string, raw: string): string {
  try {
    return JSON.parse(quoted) as string;
  } catch {
    return raw;
  }
}

/** Pointer of the members frames[from..to) are in (each frame's current key or index). */
function pointer(frames: Frame[], to: number, from = 0): string {
  let p = '';
  for (let f = from; f < to; f++) {
    const frame = frames[f]!;
    p += `/${frame.object ? escapeToken(frame.key) : String(frame.index)}`;
  }
  return p;
}

export function escapeToken(key: string): string {
  return key.replace(/~/g, '~0').replace(/\//g, '~1');
}

/** True when the value being read sits at or under /action/params (call with at least two frames open). */
function inParams(frames: Frame[]): boolean {
  const [root, action] = frames as [Frame, Frame];
  return root.object && root.key === 'action' && action.object && action.key === 'params';
}

function noteNumber(scan: InputScan, frames: Frame[], open: number, literal: string): void {
  // Up to 15 digits, an integer is exactly its double.
  if (/^-?\d{1,15}$/.test(literal)) return;
  const double = Number(literal);
  // Out of range (1e999): refused whole later (input.ts checkValues).
  if (!Number.isFinite(double)) return;
  const exact = exactDecimal(literal);
  if (exact === exactDecimal(String(double))) return;
  scan.inexactParams ??= new Map();
  scan.inexactParams.set(pointer(frames, open, 2), exact);
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
