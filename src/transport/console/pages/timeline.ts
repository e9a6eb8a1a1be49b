import type { TimelineEvent } from '../../../runtime/faces.js';
import { html, type Html } from '../html.js';
import { outcomeClass } from './decisions.js';

export interface TimelineQuery {
  subject?: string;
  team?: string;
  cost_center?: string;
  since?: string;
  until?: string;
}

/** The incident view: decisions, policy changes and approval events of one subject, team or cost center, oldest first. */
export function timelineBody(q: TimelineQuery, events: Array<TimelineEvent & { ledgerName?: string }> | undefined): Html {
  return html`<form class="filters" method="get" action="/timeline" aria-label="Whose timeline">
<label>Subject <input name="subject" value="${q.subject ?? ''}" autocomplete="off"></label>
<label>Team <input name="team" value="${q.team ?? ''}" autocomplete="off"></label>
<label>Cost center <input name="cost_center" value="${q.cost_center ?? ''}" autocomplete="off"></label>
<label>From <input name="since" value="${q.since ?? ''}" autocomplete="off"></label>
<label>Until <input name="until" value="${q.until ?? ''}" autocomplete="off"></label>
<button type="submit">Show</button>
</form>
${
  events === undefined
    ? html`<p>Name a subject, a team or a cost center.</p>`
    : events.length === 0
      ? html`<p>Nothing happened in this range.</p>`
      : html`<ol class="timeline">${events.map(eventItem)}</ol>`
}`;
}

function eventItem(e: TimelineEvent & { ledgerName?: string }): Html {
  const a = e.approval;
  return html`<li class="event ${e.kind}">
<p><time datetime="${e.time}">${e.time.replace('T', ' ').replace('Z', '')}</time> <span class="kind">${e.kind}</span> <span class="outcome ${outcomeClass(e.decision)}">${e.decision}</span>
${e.kind === 'decision' ? html`<a href="/entries/${encodeURIComponent(e.decisionId)}">${e.action} ${e.resource}</a> by ${e.subjectId}` : ''}
${e.kind === 'policy' ? html`bundle ${e.resource} revision ${e.revision ?? ''}` : ''}
${a ? html`request <code>${a.id}</code> (${a.approvals} of ${a.minApprovals} approvals; approvers ${a.approvers.join(', ')})${a.approver ? html` by ${a.approver.id}` : ''}${a.comment ? html`: “${a.comment}”` : ''} via ${a.caller}` : ''}
${e.ledgerName ? html`<span class="muted">(${e.ledgerName})</span>` : ''}</p>
${e.rules.length > 0 ? html`<p class="rules">Rules: ${e.rules.join('; ')}</p>` : ''}
${e.crossed.length > 0 ? html`<p class="crossed">First seen here: ${e.crossed.join(', ')}</p>` : ''}
${e.weekTokens !== undefined ? html`<p class="muted">Week tokens used then: ${e.weekTokens.toLocaleString('en')}</p>` : ''}
</li>`;
}
