import type { ReplayRun } from '../../../runtime/faces.js';
import { html, type Html } from '../html.js';
import type { Session } from '../sessions.js';

/** One replay of an uploaded candidate, run from the console (one at a time per server, as PolicyService.Replay). */
export interface ReplayJob {
  by: string;
  startedAt: string;
  since: string;
  candidate?: { revision: string; digest: string };
  done: number;
  total: number;
  run?: ReplayRun;
  error?: string;
}

/** The admin's form (upload a candidate bundle, replay the recorded decisions since a time) and the latest job's progress or report. */
export function replayBody(session: Session, job: ReplayJob | undefined, admin: boolean): Html {
  return html`<h2>Replay a candidate</h2>
${
  admin
    ? html`<form method="post" action="/policies/replay" enctype="multipart/form-data">
<input type="hidden" name="_csrf" value="${session.csrf}">
<label>Candidate bundle (.tar.gz) <input type="file" name="candidate" accept=".tar.gz,.tgz,application/gzip" required></label>
<label>Recorded since <input name="since" value="7d" autocomplete="off"></label>
<button type="submit">Replay</button>
</form>`
    : html`<p class="muted">Replaying a candidate needs the admin role.</p>`
}
<div class="verify" data-job="/policies/replay/status" aria-live="polite">
${
  job === undefined
    ? html`<p>No replay run from this console yet.</p>`
    : job.error !== undefined
      ? html`<p class="error" role="alert">The replay started ${job.startedAt} by ${job.by} failed: ${job.error}</p>`
      : job.run === undefined
        ? html`<p>Replaying ${job.candidate ? job.candidate.revision : 'the candidate'} over decisions since ${job.since} (started ${job.startedAt} by ${job.by}): <progress max="${job.total || 1}" value="${job.done}" aria-label="Decisions replayed">${job.done} of ${job.total}</progress> <span class="count">${job.done} of ${job.total}</span></p>`
        : report(job)
}
</div>`;
}

function report(job: ReplayJob): Html {
  const r = job.run!;
  return html`<p class="ok" role="status">Candidate ${r.candidate.bundle} ${r.candidate.revision} replayed over ${r.replayed} decisions since ${job.since}: ${r.changed} would change, ${r.unchanged} unchanged, ${r.approximate} approximate, ${r.skipped} skipped. (Started ${job.startedAt} by ${job.by}.)</p>
${
  r.transitions.length === 0
    ? html`<p>No decision would change.</p>`
    : html`<table><thead><tr><th scope="col">Recorded</th><th scope="col">Candidate</th><th scope="col">Decisions</th><th scope="col">Reasons added</th><th scope="col">Examples</th></tr></thead><tbody>${r.transitions.map(
        (t) =>
          html`<tr><td>${t.from}</td><td>${t.to}</td><td>${t.count}</td><td>${Object.entries(t.reasons_added)
            .map(([code, n]) => `${code} (${n})`)
            .join(', ')}</td><td>${t.examples.map((id) => html`<a href="/entries/${encodeURIComponent(id)}">${id.slice(0, 8)}</a> `)}</td></tr>`,
      )}</tbody></table>`
}`;
}
