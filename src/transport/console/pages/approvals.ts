import { ineligibility } from '../../../engine/approvals/eligibility.js';
import type { Approval, Approver } from '../../../runtime/faces.js';
import { html, type Html } from '../html.js';
import type { Session } from '../sessions.js';

/** The approver a console session is: the signed-in person, with the approver roles gavel gives them. */
export function approverOf(session: Session): Approver {
  return { id: session.identity, roles: [...session.approverRoles] };
}

/**
 * The queue: pending requests, each with the action's details and, for a request the signed-in person
 * may resolve, approve and reject with a comment; for any other, why not (the desk's own rule).
 */
export function approvalsBody(session: Session, pending: Approval[], recent: Approval[], notice: string | undefined, canResolve: boolean): Html {
  const me = approverOf(session);
  return html`${notice ? html`<p class="notice" role="status">${notice}</p>` : ''}
<h2>Pending</h2>
${pending.length === 0 ? html`<p>No request waits for a decision.</p>` : pending.map((a) => request(a, canResolve ? ineligibility(a, me) : 'resolving needs the approve role', session))}
<h2>Recently resolved</h2>
${
  recent.length === 0
    ? html`<p>None.</p>`
    : html`<table><thead><tr><th scope="col">Request</th><th scope="col">State</th><th scope="col">Subject</th><th scope="col">Action</th><th scope="col">Votes</th></tr></thead><tbody>${recent.map(
        (a) =>
          html`<tr><td><code>${a.id}</code></td><td>${a.state}</td><td>${a.subjectId}</td><td>${a.actionType} ${a.resource}</td><td>${a.votes.map((v) => `${v.approver.id}: ${v.verdict}`).join('; ')}</td></tr>`,
      )}</tbody></table>`
}`;
}

function request(a: Approval, why: string | undefined, session: Session): Html {
  const id = `a-${a.id.replace(/[^A-Za-z0-9_-]/g, '_')}`;
  return html`<article class="approval" aria-labelledby="${id}">
<h3 id="${id}">${a.actionType} ${a.resource} for ${a.subjectId}</h3>
<dl class="facts">
<dt>Request</dt><dd><code>${a.id}</code></dd>
<dt>Subject</dt><dd>${a.subjectId}${a.onBehalfOf ? html` on behalf of ${a.onBehalfOf}` : ''} (team ${a.team}, cost center ${a.costCenter})</dd>
<dt>Asked by</dt><dd>${a.caller}, decision <a href="/entries/${encodeURIComponent(a.requestedBy)}">${a.requestedBy}</a></dd>
<dt>Parameters</dt><dd><pre class="json">${JSON.stringify(a.params, null, 2)}</pre></dd>
<dt>Who may approve</dt><dd>${a.approvers.join(', ')}; ${a.minApprovals} approval${a.minApprovals === 1 ? '' : 's'} needed, ${a.votes.length} given</dd>
<dt>Expires</dt><dd>${new Date(a.expiresAtMs).toISOString()}</dd>
<dt>Policy</dt><dd>${a.policy.bundle} ${a.policy.revision}</dd>
</dl>
${
  why
    ? html`<p class="muted">You cannot resolve this request: ${why}.</p>`
    : html`<form method="post" action="/approvals/${encodeURIComponent(a.id)}">
<input type="hidden" name="_csrf" value="${session.csrf}">
<label for="${id}-comment">Comment</label>
<textarea id="${id}-comment" name="comment" rows="2" maxlength="4096"></textarea>
<button type="submit" name="verdict" value="approve">Approve</button>
<button type="submit" name="verdict" value="reject">Reject</button>
</form>`
}
</article>`;
}
