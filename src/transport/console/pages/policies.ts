import type { EntrySummary, PolicyStatus } from '../../../runtime/faces.js';
import { html, type Html } from '../html.js';
import { detailHref, outcomeClass } from './decisions.js';

export interface PoliciesParts {
  ledgerName: string;
  status: PolicyStatus;
  history: EntrySummary[];
  /** Live shadow evaluation: how many decisions the candidate would answer otherwise, per (live, shadow) pair. */
  shadow: { bundles: string[]; transitions: Array<{ live: string; shadow: string; count: number }> } | undefined;
  replay: Html | undefined;
}

/** What is live (revision, signer, since when), activations and refusals, and the candidate's shadow or replay report. */
export function policiesBody(parts: PoliciesParts[]): Html {
  return html`${parts.map(
    (p) => html`<section aria-label="Policies of ${p.ledgerName}">
${parts.length > 1 ? html`<h2>${p.ledgerName}</h2>` : ''}
<h2>Active bundles</h2>
${
  p.status.active.length === 0
    ? html`<p>No bundle is active.</p>`
    : html`<table><thead><tr><th scope="col">Bundle</th><th scope="col">Revision</th><th scope="col">Digest</th><th scope="col">Signer</th><th scope="col">Activated</th><th scope="col">Source</th></tr></thead><tbody>${p.status.active.map(
        (b) =>
          html`<tr><td>${b.bundle}</td><td><a href="/decisions?revision=${encodeURIComponent(b.revision)}">${b.revision}</a></td><td><code>${b.digest.slice(0, 16)}</code></td><td>${b.signer || 'unsigned'}</td><td>${b.activatedAt}</td><td>${b.source}</td></tr>`,
      )}</tbody></table>`
}
<h2>Refusals since the last activation</h2>
${
  p.status.refusals.length === 0
    ? html`<p>None.</p>`
    : html`<ul>${p.status.refusals.map((r) => html`<li>${r.time}: ${r.bundle} from ${r.source} refused: ${r.reason}</li>`)}</ul>`
}
<h2>Activation history</h2>
${
  p.history.length === 0
    ? html`<p>No policy events.</p>`
    : html`<table><thead><tr><th scope="col">Time</th><th scope="col">Event</th><th scope="col">Bundle</th><th scope="col">Revision</th><th scope="col">By</th></tr></thead><tbody>${p.history.map(
        (e) =>
          html`<tr><td><a href="${detailHref(e, 0)}">${e.time}</a></td><td><span class="outcome ${outcomeClass(e.decision)}">${e.decision}</span></td><td>${e.resource}</td><td>${e.revision}</td><td>${e.caller}</td></tr>`,
      )}</tbody></table>`
}
${
  p.shadow
    ? html`<h2>Shadow candidate</h2><p>Evaluating ${p.shadow.bundles.join(', ') || 'no bundle'} beside the live set.</p>${
        p.shadow.transitions.length === 0
          ? html`<p>No decision evaluated in shadow yet.</p>`
          : html`<table><thead><tr><th scope="col">Live answer</th><th scope="col">Candidate's answer</th><th scope="col">Decisions</th></tr></thead><tbody>${p.shadow.transitions.map(
              (t) => html`<tr><td>${t.live}</td><td>${t.shadow}</td><td>${t.count}</td></tr>`,
            )}</tbody></table>`
      }`
    : ''
}
${p.replay ?? ''}
</section>`,
  )}`;
}
