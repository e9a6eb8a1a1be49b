import { wireEntry, type EntrySummary } from '../ledger/header.js';
import type { FromLedger } from '../ledger/merge.js';
import type { TimelineApproval, TimelineEvent } from '../ledger/timeline.js';
import { wireTimelineEvent } from '../ledger/wire.js';

/** Entries as a table or JSON lines; entries merged from several ledgers also name theirs (LEDGER column; `ledger`, `origin`). */
export function printEntries(entries: Iterable<EntrySummary & Partial<FromLedger>>, json: boolean): void {
  if (json) {
    for (const e of entries) process.stdout.write(`${JSON.stringify({ ...wireEntry(e), ...fromOf(e) })}\n`);
    return;
  }
  const list = [...entries];
  const several = list.some((e) => e.ledger !== undefined);
  const rows = list.map((e) =>
    [...(several ? [e.ledger ?? ''] : []), String(e.seq), e.time, e.subjectId, e.team, e.actionType, e.resource, e.decision, e.reasonCodes.join(',')].map(
      printable,
    ),
  );
  printTable([...(several ? ['LEDGER'] : []), 'SEQ', 'TIME', 'SUBJECT', 'TEAM', 'ACTION', 'RESOURCE', 'DECISION', 'REASONS'], rows);
}

function fromOf(e: Partial<FromLedger>): Partial<FromLedger> {
  return e.ledger !== undefined ? { ledger: e.ledger, origin: e.origin ?? '' } : {};
}

export function printTimeline(events: Array<TimelineEvent & Partial<FromLedger>>, json: boolean): void {
  if (json) {
    for (const e of events) process.stdout.write(`${JSON.stringify({ ...wireTimelineEvent(e), ...fromOf(e) })}\n`);
    return;
  }
  const p = printable;
  for (const e of events) {
    // Merged from several ledgers: each line names its replica's ledger first.
    if (e.ledger !== undefined) process.stdout.write(`[${p(e.ledger)}] `);
    if (e.kind === 'policy') {
      process.stdout.write(`${p(e.time)}  #${e.seq}  == policy: bundle ${p(e.resource)} revision ${p(e.revision ?? '')} ${p(e.decision)}\n`);
      continue;
    }
    if (e.approval) {
      process.stdout.write(`${p(e.time)}  #${e.seq}  == approval ${p(e.approval.id)}: ${approvalLine(e.approval)}\n`);
      continue;
    }
    const usage = e.weekTokens !== undefined ? `  [week tokens ${e.weekTokens}]` : '';
    process.stdout.write(`${p(e.time)}  #${e.seq}  ${p(e.subjectId)}  ${p(e.action)} ${p(e.resource)}  -> ${p(e.decision.toUpperCase())}${usage}\n`);
    if (e.erasedBy !== undefined) {
      process.stdout.write(
        e.erasedBy > 0
          ? `    payload erased by entry #${e.erasedBy}: which rules fired is gone with it\n`
          : '    payload missing (no erasure entry names it)\n',
      );
    }
    for (const r of e.rules) process.stdout.write(`    fired: ${p(r)}\n`);
    for (const c of e.crossed) process.stdout.write(`    ** threshold crossed / new reason: ${p(c)}\n`);
  }
  if (events.length === 0) process.stdout.write('no decisions match\n');
}

/** What happened to an approval, in words: who asked, who voted, which decision used it. */
function approvalLine(a: TimelineApproval): string {
  const p = printable;
  const by = a.approver ? ` by ${p(a.approver.id)}${a.approver.roles.length ? ` (${p(a.approver.roles.join(', '))})` : ''} via ${p(a.caller)}` : '';
  const comment = a.comment ? `: "${p(a.comment)}"` : '';
  switch (a.event) {
    case 'requested':
      return `requested by decision ${p(a.decisionId)} from ${p(a.caller)}; approvers ${p(a.approvers.join(', '))}, ${a.minApprovals} needed, until ${p(a.expiresAt)}`;
    case 'approved':
      return `approved${by} (${a.approvals} of ${a.minApprovals}; now ${p(a.state)})${comment}`;
    case 'rejected':
      return `rejected${by}${comment}`;
    case 'consumed':
      return `consumed by decision ${p(a.decisionId)} from ${p(a.caller)}`;
    default:
      return `${p(a.event)} (was open until ${p(a.expiresAt)})`;
  }
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

/**
 * Characters a stored value must not send to an auditor's terminal as they are:
 * C0 controls (ESC starts escape sequences, CR and LF forge or overwrite rows),
 * DEL, C1 controls (0x9b is a one-byte CSI), bidi overrides, embeddings,
 * isolates and marks (they reorder what is shown), line and paragraph
 * separators, and the backslash itself so that an escape in the output is
 * never ambiguous with the same text stored literally.
 */
const UNPRINTABLE = /[\\\x00-\x1f\x7f-\x9f\u061c\u200e\u200f\u2028\u2029\u202a-\u202e\u2066-\u2069]/g;

const NAMED: Record<string, string> = { '\\': '\\\\', '\t': '\\t', '\n': '\\n', '\r': '\\r' };

/** A value as a table cell or timeline field: every character in UNPRINTABLE written as a visible escape (\x1b, \r, \u202e, \\). */
export function printable(value: string): string {
  return value.replace(UNPRINTABLE, (c) => {
    const named = NAMED[c];
    if (named) return named;
    const code = c.charCodeAt(0);
    return code <= 0xff ? `\\x${code.toString(16).padStart(2, '0')}` : `\\u${code.toString(16).padStart(4, '0')}`;
  });
}
