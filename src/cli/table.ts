import { wireEntry, type EntrySummary } from '../ledger/header.js';
import type { TimelineEvent } from '../ledger/timeline.js';

export function printEntries(entries: Iterable<EntrySummary>, json: boolean): void {
  if (json) {
    for (const e of entries) process.stdout.write(`${JSON.stringify(wireEntry(e))}\n`);
    return;
  }
  const rows = [...entries].map((e) => [String(e.seq), e.time, e.subjectId, e.team, e.actionType, e.resource, e.decision, e.reasonCodes.join(',')]);
  printTable(['SEQ', 'TIME', 'SUBJECT', 'TEAM', 'ACTION', 'RESOURCE', 'DECISION', 'REASONS'], rows);
}

export function printTimeline(events: TimelineEvent[], json: boolean): void {
  if (json) {
    for (const e of events) process.stdout.write(`${JSON.stringify(e)}\n`);
    return;
  }
  for (const e of events) {
    const usage = e.weekTokens !== undefined ? `  [week tokens ${e.weekTokens}]` : '';
    process.stdout.write(`${e.time}  #${e.seq}  ${e.subjectId}  ${e.action} ${e.resource}  -> ${e.decision.toUpperCase()}${usage}\n`);
    for (const r of e.rules) process.stdout.write(`    fired: ${r}\n`);
    for (const c of e.crossed) process.stdout.write(`    ** threshold crossed / new reason: ${c}\n`);
  }
  if (events.length === 0) process.stdout.write('no decisions match\n');
}

function printTable(header: string[], rows: string[][]): void {
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i]!.length)));
  const line = (cells: string[]) =>
    cells
      .map((c, i) => c.padEnd(widths[i]!))
      .join('  ')
      .trimEnd();
  process.stdout.write(`${line(header)}\n`);
  for (const r of rows) process.stdout.write(`${line(r)}\n`);
}
