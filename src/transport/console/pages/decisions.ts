import type { EntrySummary } from '../../../runtime/faces.js';
import { FILTER_PARAMS, formatCursors, searchOf, type ConsoleFilter } from '../filters.js';
import { html, type Html } from '../html.js';
import type { Page } from '../paging.js';

const KINDS = ['', 'decision', 'policy', 'approval', 'usage', 'offline', 'state'];

/** The filter form (GET, so the URL holds the filter) and the table of one page of entries. */
export function decisionsBody(filter: ConsoleFilter, page: Page, ledgers: readonly string[], cursor: string | undefined): Html {
  const several = ledgers.length > 1;
  const next = page.next ? searchOf(filter, { cursor: formatCursors(page.next) }) : undefined;
  return html`<form class="filters" method="get" action="/decisions" role="search" aria-label="Filter entries">
${FILTER_PARAMS.map(([param, , label]) =>
  param === 'kind'
    ? html`<label>${label} <select name="kind">${KINDS.map((k) => html`<option value="${k}"${filter.kind === k ? html` selected` : ''}>${k || 'every kind'}</option>`)}</select></label>`
    : html`<label>${label} <input name="${param}" value="${filter[param] ?? ''}" autocomplete="off"></label>`,
)}
<button type="submit">Apply</button> <a href="/decisions">Clear</a>
</form>
<p class="actions">Export these entries: <a href="/export.csv${searchOf(filter)}">CSV</a> · <a href="/export.jsonl${searchOf(filter)}">JSON Lines</a>${
    cursor ? html` · <a href="/decisions${searchOf(filter)}">Newest</a>` : ''
  }</p>
${
  page.rows.length === 0
    ? html`<p>No entries match.</p>`
    : html`<table class="entries">
<caption>${page.rows.length} ${page.rows.length === 1 ? 'entry' : 'entries'}, newest first${several ? html`, merged from ${ledgers.length} ledgers` : ''}</caption>
<thead><tr><th scope="col">Time (UTC)</th>${several ? html`<th scope="col">Ledger</th>` : ''}<th scope="col">Seq</th><th scope="col">Kind</th><th scope="col">Outcome</th><th scope="col">Subject</th><th scope="col">Team</th><th scope="col">Action</th><th scope="col">Reasons</th><th scope="col">Revision</th><th scope="col">Caller</th></tr></thead>
<tbody>
${page.rows.map(({ entry: e, ledger }) => row(e, ledger, several ? ledgers[ledger]! : undefined))}
</tbody>
</table>`
}
${next ? html`<p class="pager"><a href="/decisions${next}" rel="next">Older entries</a></p>` : ''}`;
}

export function detailHref(e: Pick<EntrySummary, 'decisionId'>, ledger: number): string {
  return `/entries/${encodeURIComponent(e.decisionId)}${ledger > 0 ? `?ledger=${ledger}` : ''}`;
}

function row(e: EntrySummary, ledger: number, ledgerName: string | undefined): Html {
  return html`<tr>
<td><a href="${detailHref(e, ledger)}">${e.time.replace('T', ' ').replace('Z', '')}</a></td>${ledgerName ? html`<td>${ledgerName}</td>` : ''}<td>${e.seq}</td><td>${e.kind}</td>
<td><span class="outcome ${outcomeClass(e.decision)}">${e.decision}</span></td><td>${e.subjectId}</td><td>${e.team}</td>
<td>${e.actionType}${e.resource ? html` <span class="muted">${e.resource}</span>` : ''}</td><td>${e.reasonCodes.join(', ')}</td><td>${e.revision}</td><td>${e.caller}</td>
</tr>`;
}

export function outcomeClass(decision: string): string {
  if (decision === 'deny' || decision === 'rejected' || decision === 'refused') return 'bad';
  if (decision === 'allow' || decision === 'approved' || decision === 'activated' || decision === 'settled') return 'good';
  if (decision === 'require_approval' || decision === 'redact' || decision === 'requested') return 'warn';
  return 'plain';
}
