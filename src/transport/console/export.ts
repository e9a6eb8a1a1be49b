import { Readable } from 'node:stream';
import { type LedgerView, type QueryFilter, wireEntry } from '../../runtime/faces.js';
import type { Cursors } from './filters.js';
import { pageAcross } from './paging.js';

export type ExportFormat = 'csv' | 'jsonl';

/** Rows read per ledger query while streaming: the export never holds more than this many in memory. */
const BATCH = 1000;

/**
 * Every entry the filter matches, newest first (several ledgers merged as on the page), streamed as
 * CSV or JSON Lines in the wire form (`gavel audit query --json`'s field names), plus `ledger`.
 * Reads in batches between which the event loop runs, so an export of millions does not stall Decide.
 */
export function exportStream(ledgers: readonly LedgerView[], filter: QueryFilter, format: ExportFormat): Readable {
  let cursors: Cursors | undefined = new Map();
  let header = format === 'csv';
  let columns: string[] | undefined;
  return new Readable({
    read() {
      if (cursors === undefined) {
        this.push(null);
        return;
      }
      const page = pageAcross(ledgers, filter, cursors, BATCH);
      cursors = page.next;
      let chunk = '';
      for (const { entry, ledger } of page.rows) {
        const row: Record<string, unknown> = { ledger: ledgers[ledger]!.label, ...wireEntry(entry) };
        if (format === 'jsonl') {
          chunk += `${JSON.stringify(row)}\n`;
          continue;
        }
        columns ??= Object.keys(row);
        if (header) {
          chunk += `${columns.map(csvCell).join(',')}\r\n`;
          header = false;
        }
        chunk += `${columns.map((c) => csvCell(row[c])).join(',')}\r\n`;
      }
      if (chunk === '' && cursors === undefined) this.push(null);
      else setImmediate(() => this.push(chunk));
    },
  });
}

/**
 * RFC 4180 quoting; arrays as JSON. A cell that a spreadsheet would run as a formula (starting with
 * =, +, -, @, tab or CR) is prefixed with an apostrophe: a subject named `=HYPERLINK(…)` stays text.
 */
export function csvCell(value: unknown): string {
  let text = value === undefined || value === null ? '' : typeof value === 'string' ? value : Array.isArray(value) ? JSON.stringify(value) : String(value);
  if (/^[=+\-@\t\r]/.test(text)) text = `'${text}`;
  return /[",\r\n]/.test(text) ? `"${text.replace(/"/g, '""')}"` : text;
}
