import { isJsonObject, type JsonObject, type JsonValue } from '../../../lib/json.js';
import type { CheckpointInfo, EntryDetail, EntrySummary } from '../../../runtime/faces.js';
import { html, type Html } from '../html.js';
import { detailHref, outcomeClass } from './decisions.js';

export interface DetailParts {
  entry: EntryDetail;
  ledger: number;
  ledgerName: string;
  /** The signed-in person holds audit-payloads: the masked input and the stored payload are shown. */
  payloads: boolean;
  /** Usage entries that settle or release this decision's reservation. */
  usage: EntrySummary[];
  /** The approval events of the request this decision created or used. */
  approval: EntrySummary[];
  checkpoint: CheckpointInfo;
}

/**
 * One entry explained: outcome, each reason with the rule that gave it, the policy that decided,
 * obligations, usage, the approval story and where the entry sits in the chain. The masked input and
 * the payload need `audit-payloads`; the reasons and obligations are the decision, not the content.
 */
export function detailBody(p: DetailParts): Html {
  const e = p.entry;
  const payload = e.payload;
  const result = isJsonObject(payload?.result) ? payload.result : undefined;
  const reasons = Array.isArray(result?.reasons) ? result.reasons.filter(isJsonObject) : [];
  const redactions = Array.isArray(result?.redactions) ? result.redactions.filter(isJsonObject) : [];
  const obligations = isJsonObject(result?.obligations) ? result.obligations : undefined;
  const usage = isJsonObject(payload?.usage) ? payload.usage : undefined;
  const covered = p.checkpoint.size >= e.seq;
  return html`<section aria-labelledby="outcome-h">
<h2 id="outcome-h">Outcome: <span class="outcome ${outcomeClass(e.decision)}">${e.decision}</span></h2>
${why(e.decision, reasons)}
<dl class="facts">
<dt>Kind</dt><dd>${e.kind}</dd>
<dt>Decision id</dt><dd><code>${e.decisionId}</code></dd>
<dt>Time</dt><dd>${e.time}</dd>
<dt>Subject</dt><dd>${e.subjectId} ${e.subjectType ? html`<span class="muted">(${e.subjectType})</span>` : ''}</dd>
<dt>Team</dt><dd>${e.team}</dd>
<dt>Cost center</dt><dd>${e.costCenter}</dd>
<dt>Action</dt><dd>${e.actionType} ${e.resource}</dd>
<dt>Caller</dt><dd>${e.caller}</dd>
<dt>Request id</dt><dd>${e.requestId}</dd>
</dl>
</section>
<section aria-labelledby="reasons-h">
<h2 id="reasons-h">Reasons</h2>
${
  payload === null
    ? e.erasedBy
      ? html`<p>The payload was erased by entry ${e.erasedBy.seq} (${e.erasedBy.basis}, by ${e.erasedBy.by}: ${e.erasedBy.reason}); the reason codes in the header remain: ${e.reasonCodes.join(', ')}.</p>`
      : html`<p>The payload is missing and no erasure entry names it: <code>gavel audit verify</code> fails on it. The reason codes in the header remain: ${e.reasonCodes.join(', ')}.</p>`
    : reasons.length === 0
      ? html`<p>${e.reasonCodes.length ? e.reasonCodes.join(', ') : 'No reasons recorded.'}</p>`
      : html`<table><thead><tr><th scope="col">Effect</th><th scope="col">Code</th><th scope="col">Rule</th><th scope="col">Message</th></tr></thead><tbody>${reasons.map(
          (r) => html`<tr><td>${text(r.effect)}</td><td><code>${text(r.code)}</code></td><td><code>${text(r.rule)}</code></td><td>${text(r.message)}</td></tr>`,
        )}</tbody></table>`
}
</section>
<section aria-labelledby="policy-h">
<h2 id="policy-h">Policy that decided</h2>
<dl class="facts"><dt>Bundle</dt><dd>${e.bundle}</dd><dt>Revision</dt><dd><a href="/decisions?revision=${encodeURIComponent(e.revision)}">${e.revision}</a></dd><dt>Digest</dt><dd><code>${e.digest}</code></dd><dt>Entrypoint</dt><dd>${e.entrypoint}</dd></dl>
</section>
<section aria-labelledby="obligations-h">
<h2 id="obligations-h">Obligations</h2>
${obligations && Object.keys(obligations).length > 0 ? json(obligations) : html`<p>None.</p>`}
${redactions.length > 0 ? html`<p>Redactions: ${redactions.map((r) => html`<code>${text(r.path)}</code> `)}</p>` : ''}
</section>
<section aria-labelledby="usage-h">
<h2 id="usage-h">Usage</h2>
${usage && isJsonObject(usage.reserved) ? html`<p>Reserved: ${num(usage.reserved.tokens)} tokens (${text(usage.reserved.model)}, tier ${text(usage.reserved.tier)}).</p>` : html`<p>Nothing reserved.</p>`}
${p.usage.length > 0 ? html`<ul>${p.usage.map((u) => html`<li><a href="${detailHref(u, p.ledger)}">${u.decision}</a> at ${u.time}</li>`)}</ul>` : html`<p>No usage reported for it.</p>`}
</section>
<section aria-labelledby="approval-h">
<h2 id="approval-h">Approval</h2>
${
  p.approval.length > 0
    ? html`<ol>${p.approval.map((a) => html`<li><a href="${detailHref(a, p.ledger)}">${a.decision}</a> at ${a.time} by ${a.caller}</li>`)}</ol>`
    : html`<p>No approval request.</p>`
}
</section>
<section aria-labelledby="input-h">
<h2 id="input-h">Masked input and stored payload</h2>
${p.payloads ? (payload ? json(payload) : html`<p>Erased.</p>`) : html`<p class="withheld">Withheld: reading the stored payload needs the <code>audit-payloads</code> role.</p>`}
</section>
<section aria-labelledby="integrity-h">
<h2 id="integrity-h">Integrity</h2>
<dl class="facts">
<dt>Ledger</dt><dd>${p.ledgerName}</dd>
<dt>Chain position</dt><dd>seq ${e.seq}</dd>
<dt>Entry hash</dt><dd><code>${e.entryHash}</code></dd>
<dt>Previous hash</dt><dd><code>${e.prevHash}</code></dd>
<dt>Payload hash</dt><dd><code>${e.payloadHash}</code></dd>
<dt>Latest signed checkpoint</dt><dd>${
    p.checkpoint.size === 0
      ? 'none yet'
      : html`size ${p.checkpoint.size}, head <code>${p.checkpoint.headHash}</code>: ${covered ? 'this entry is inside it' : 'this entry is after it (covered by the next checkpoint)'}`
  }</dd>
</dl>
<p><a href="/integrity">Verify the whole ledger</a></p>
</section>`;
}

/** The decision in one sentence: the messages of the reasons whose effect is the outcome (a deny's denials). */
function why(decision: string, reasons: JsonObject[]): Html | '' {
  const deciding = reasons.filter((r) => r.effect === decision && typeof r.message === 'string' && r.message !== '');
  if (deciding.length === 0) return '';
  return html`<p class="why"><strong>Why:</strong> ${deciding.map((r) => text(r.message)).join('; ')}.</p>`;
}

function text(v: JsonValue | undefined): string {
  return typeof v === 'string' ? v : v === undefined || v === null ? '' : JSON.stringify(v);
}

function num(v: JsonValue | undefined): string {
  return typeof v === 'number' ? v.toLocaleString('en') : '?';
}

function json(v: JsonObject): Html {
  return html`<pre class="json">${JSON.stringify(v, null, 2)}</pre>`;
}
