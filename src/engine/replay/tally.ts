import type { Comparison } from './compare.js';
import { sameOutcome } from './compare.js';

/** Decisions named as the CLI and the ledger name them. */
export const OUTCOMES = ['allow', 'deny', 'require_approval', 'redact'] as const;

/** How many decisions went from one outcome to another, which reason codes came and went, and a few of them by id. */
export interface Transition {
  from: string;
  to: string;
  count: number;
  /** Reason codes the candidate gave that the recorded decision did not, with how many decisions gained each. */
  reasons_added: Record<string, number>;
  reasons_removed: Record<string, number>;
  /** Up to EXAMPLES decision ids, oldest first. */
  examples: string[];
}

export interface TallyPart {
  unchanged: number;
  changed: number;
  /** Changed decisions only, the largest first. */
  transitions: Transition[];
  /** Every decision of this part, changed or not: matrix[from][to] = count. */
  matrix: Record<string, Record<string, number>>;
}

/**
 * What a replay or a shadow run found. `unchanged` and `changed` count exact
 * comparisons only; `approximate` decisions (the candidate saw redacted or
 * hashed content) are counted apart, with their own breakdown, and never mixed
 * into the exact counts.
 */
export interface ReplayReport {
  replayed: number;
  unchanged: number;
  changed: number;
  approximate: number;
  skipped: number;
  transitions: Transition[];
  matrix: Record<string, Record<string, number>>;
  approximate_detail: TallyPart;
  /** Why decisions could not be replayed at all: payload_erased, entrypoint_missing. */
  skipped_detail: Record<string, number>;
}

export const EXAMPLES = 5;

class Part {
  unchanged = 0;
  changed = 0;
  /** Counts are kept in Maps: a reason code from a candidate or a ledger may be any string ("__proto__", "constructor"). */
  private readonly transitions = new Map<
    string,
    { from: string; to: string; count: number; added: Map<string, number>; removed: Map<string, number>; examples: string[] }
  >();
  private readonly matrix = new Map<string, Map<string, number>>();

  add(c: Comparison): void {
    const row = this.matrix.get(c.from.decision) ?? new Map<string, number>();
    this.matrix.set(c.from.decision, row);
    row.set(c.to.decision, (row.get(c.to.decision) ?? 0) + 1);
    if (sameOutcome(c.from, c.to)) {
      this.unchanged++;
      return;
    }
    this.changed++;
    const key = `${c.from.decision}\u0000${c.to.decision}`;
    let t = this.transitions.get(key);
    if (!t) {
      t = { from: c.from.decision, to: c.to.decision, count: 0, added: new Map(), removed: new Map(), examples: [] };
      this.transitions.set(key, t);
    }
    t.count++;
    const before = new Set(c.from.reasonCodes);
    const after = new Set(c.to.reasonCodes);
    for (const code of after) if (!before.has(code)) t.added.set(code, (t.added.get(code) ?? 0) + 1);
    for (const code of before) if (!after.has(code)) t.removed.set(code, (t.removed.get(code) ?? 0) + 1);
    if (t.examples.length < EXAMPLES) t.examples.push(c.decisionId);
  }

  result(): TallyPart {
    const transitions = [...this.transitions.values()]
      .map((t) => ({
        from: t.from,
        to: t.to,
        count: t.count,
        reasons_added: sortedCounts(t.added),
        reasons_removed: sortedCounts(t.removed),
        examples: t.examples,
      }))
      .sort((a, b) => b.count - a.count || a.from.localeCompare(b.from) || a.to.localeCompare(b.to));
    const matrix: Record<string, Record<string, number>> = Object.fromEntries(
      [...this.matrix.keys()]
        .sort(byOutcome)
        .map((from) => [from, Object.fromEntries([...this.matrix.get(from)!.entries()].sort(([a], [b]) => byOutcome(a, b)))]),
    );
    return { unchanged: this.unchanged, changed: this.changed, transitions, matrix };
  }
}

/** Accumulates comparisons into a ReplayReport (replay and shadow report share it). */
export class Tally {
  private readonly exact = new Part();
  private readonly approx = new Part();
  private readonly skips = new Map<string, number>();

  add(c: Comparison): void {
    (c.approximate ? this.approx : this.exact).add(c);
  }

  skip(why: string): void {
    this.skips.set(why, (this.skips.get(why) ?? 0) + 1);
  }

  report(): ReplayReport {
    const exact = this.exact.result();
    const approximate = this.approx.result();
    const approximateCount = approximate.unchanged + approximate.changed;
    return {
      replayed: exact.unchanged + exact.changed + approximateCount,
      unchanged: exact.unchanged,
      changed: exact.changed,
      approximate: approximateCount,
      skipped: [...this.skips.values()].reduce((a, b) => a + b, 0),
      transitions: exact.transitions,
      matrix: exact.matrix,
      approximate_detail: approximate,
      skipped_detail: Object.fromEntries([...this.skips.entries()].sort(([a], [b]) => a.localeCompare(b))),
    };
  }
}

function byOutcome(a: string, b: string): number {
  const rank = (s: string) => {
    const i = (OUTCOMES as readonly string[]).indexOf(s);
    return i < 0 ? OUTCOMES.length : i;
  };
  return rank(a) - rank(b) || a.localeCompare(b);
}

/** Largest first; Object.fromEntries defines own properties, so "__proto__" is a key like any other. */
function sortedCounts(counts: Map<string, number>): Record<string, number> {
  return Object.fromEntries([...counts.entries()].sort(([a, x], [b, y]) => y - x || a.localeCompare(b)));
}
