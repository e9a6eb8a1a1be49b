import type { WindowSums } from './buckets.js';
import { microsToNumber } from './money.js';
import type { ScopeUsage, WindowUsage } from './store.js';
import { WINDOW_NAMES, type WindowName } from './windows.js';

/**
 * One scope key's usage as a policy sees it, from its settled totals per tier
 * (pre-totalled buckets) and its reserved totals per tier (live reservations,
 * summed per window in exact micros): the same arithmetic for every store, so
 * SQLite and PostgreSQL give a policy the same numbers.
 */
export function scopeUsage(settled: readonly WindowSums[], reserved: readonly WindowSums[]): ScopeUsage {
  const tiers = new Map<string, Record<WindowName, WindowUsage>>();
  addRows(tiers, settled, 'used');
  addRows(tiers, reserved, 'reserved');
  const total = emptyScope();
  const names = [...tiers.keys()];
  names.sort((a, b) => a.localeCompare(b));
  for (const tier of names) {
    const windows = tiers.get(tier)!;
    for (const w of WINDOW_NAMES) addInto(total[w], windows[w]);
    total.by_tier[tier] = windows;
  }
  return total;
}

/** Each window's row members, named once (on the Decide path a template per read would build them each time). */
const ROW_MEMBERS = WINDOW_NAMES.map((w) => ({ window: w, tokens: `${w}_tokens` as const, cost: `${w}_cost` as const }));

function addRows(tiers: Map<string, Record<WindowName, WindowUsage>>, rows: readonly WindowSums[], side: 'used' | 'reserved'): void {
  for (const row of rows) {
    let windows = tiers.get(row.tier);
    if (!windows) {
      windows = emptyWindows();
      tiers.set(row.tier, windows);
    }
    for (const m of ROW_MEMBERS) addAmount(windows[m.window], side, Number(row[m.tokens]), Number(row[m.cost]));
  }
}

/** Adds micro-unit cost and tokens to the used or reserved side of one window (cost as currency units). */
function addAmount(w: WindowUsage, side: 'used' | 'reserved', tokens: number, costMicros: number): void {
  const cost = microsToNumber(costMicros);
  if (side === 'used') {
    w.used_tokens += tokens;
    w.used_cost = round6(w.used_cost + cost);
  } else {
    w.reserved_tokens += tokens;
    w.reserved_cost = round6(w.reserved_cost + cost);
  }
  w.tokens += tokens;
  w.cost = round6(w.cost + cost);
}

function emptyWindow(): WindowUsage {
  return { tokens: 0, cost: 0, used_tokens: 0, reserved_tokens: 0, used_cost: 0, reserved_cost: 0 };
}

function emptyWindows(): Record<WindowName, WindowUsage> {
  return { day: emptyWindow(), week: emptyWindow(), month: emptyWindow(), rolling: emptyWindow() };
}

function emptyScope(): ScopeUsage {
  return { ...emptyWindows(), by_tier: {} };
}

function addInto(into: WindowUsage, add: WindowUsage): void {
  into.tokens += add.tokens;
  into.used_tokens += add.used_tokens;
  into.reserved_tokens += add.reserved_tokens;
  // Costs are summed from exact micros per tier; rounding to 6 places undoes float drift.
  into.cost = round6(into.cost + add.cost);
  into.used_cost = round6(into.used_cost + add.used_cost);
  into.reserved_cost = round6(into.reserved_cost + add.reserved_cost);
}

function round6(n: number): number {
  return Math.round(n * 1e6) / 1e6;
}
