import { OUTCOMES, type ReplayReport, type TallyPart, type Transition } from '../engine/replay/tally.js';
import { printable } from './table.js';

/**
 * The transition report as text (replay and shadow report print the same):
 * totals, the exact transitions with the reason codes that came and went and
 * example decision ids, the outcome matrix, then the approximate part apart.
 */
/** How the two sides are named: recorded → candidate (replay), live → shadow (shadow report). */
export interface Sides {
  done: string;
  left: string;
  right: string;
}

export const REPLAY_SIDES: Sides = { done: 'replayed', left: 'recorded', right: 'candidate' };

export function transitionText(report: ReplayReport, heading: string[], sides: Sides = REPLAY_SIDES): string {
  const out: string[] = [...heading, ''];
  const n = (x: number) => x.toLocaleString('en-US');
  out.push(`${sides.done.padEnd(12)} ${n(report.replayed)}`);
  out.push(`  exact      ${n(report.unchanged + report.changed)}: unchanged ${n(report.unchanged)}, changed ${n(report.changed)}`);
  const a = report.approximate_detail;
  out.push(
    `  approximate ${n(report.approximate)}: unchanged ${n(a.unchanged)}, changed ${n(a.changed)} (stored with redacted or hashed content: counted apart)`,
  );
  if (report.skipped > 0) {
    const why = Object.entries(report.skipped_detail).map(([k, v]) => `${k.replaceAll('_', ' ')} ${n(v)}`);
    out.push(`not replayed ${n(report.skipped)}: ${why.join(', ')}`);
  }
  section(out, 'exact', { unchanged: report.unchanged, changed: report.changed, transitions: report.transitions, matrix: report.matrix }, sides);
  if (report.approximate > 0) section(out, 'approximate', a, sides);
  return `${out.join('\n')}\n`;
}

function section(out: string[], title: string, part: TallyPart, sides: Sides): void {
  out.push('', `changed (${title}):`);
  if (part.transitions.length === 0) out.push('  none');
  for (const t of part.transitions) out.push(...transitionLines(t));
  const total = part.unchanged + part.changed;
  if (total > 0) out.push('', `every decision (${title}), ${sides.left} → ${sides.right}:`, ...matrixLines(part.matrix));
}

function transitionLines(t: Transition): string[] {
  const p = printable;
  const codes = (counts: Record<string, number>) =>
    Object.entries(counts)
      .map(([code, count]) => `${p(code)} (${count})`)
      .join(', ');
  const lines = [`  ${p(t.from)} → ${p(t.to)}  ${t.count.toLocaleString('en-US')}`];
  if (Object.keys(t.reasons_added).length > 0) lines.push(`      + ${codes(t.reasons_added)}`);
  if (Object.keys(t.reasons_removed).length > 0) lines.push(`      − ${codes(t.reasons_removed)}`);
  lines.push(`      e.g. ${t.examples.map(p).join(' ')}`);
  return lines;
}

function matrixLines(matrix: Record<string, Record<string, number>>): string[] {
  const seen = new Set<string>(OUTCOMES);
  for (const [from, row] of Object.entries(matrix)) {
    seen.add(from);
    for (const to of Object.keys(row)) seen.add(to);
  }
  const names = [...seen];
  const width = Math.max(...names.map((s) => s.length), 6);
  const cell = (s: string) => printable(s).padStart(width);
  const lines = [`  ${''.padEnd(width)} ${names.map(cell).join(' ')}`];
  for (const from of names) {
    const row = matrix[from];
    if (!row) continue;
    lines.push(`  ${printable(from).padEnd(width)} ${names.map((to) => cell(String(row[to] ?? 0))).join(' ')}`);
  }
  return lines;
}
