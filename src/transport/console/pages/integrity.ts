import type { CheckpointInfo, WireVerifyReport } from '../../../runtime/faces.js';
import { html, type Html } from '../html.js';
import type { Session } from '../sessions.js';

export interface VerifyJob {
  done: number;
  total: number;
  startedAt: string;
  by: string;
  report?: WireVerifyReport;
  error?: string;
}

export interface IntegrityParts {
  ledgerName: string;
  index: number;
  size: number;
  checkpoint: CheckpointInfo;
  job: VerifyJob | undefined;
}

/** The latest checkpoint of each ledger and a "verify now" that walks the whole chain with progress. */
export function integrityBody(session: Session, parts: IntegrityParts[]): Html {
  return html`${parts.map((p) => {
    const j = p.job;
    return html`<section aria-labelledby="ledger-${p.index}">
<h2 id="ledger-${p.index}">${p.ledgerName}</h2>
<dl class="facts">
<dt>Entries</dt><dd>${p.size}</dd>
<dt>Latest signed checkpoint</dt><dd>${p.checkpoint.size === 0 ? 'none yet' : html`size ${p.checkpoint.size}, head <code>${p.checkpoint.headHash}</code>`}</dd>
<dt>Verifier key</dt><dd><code>${p.checkpoint.verifierKey}</code></dd>
</dl>
${p.checkpoint.note ? html`<details><summary>Checkpoint note</summary><pre>${p.checkpoint.note}</pre></details>` : ''}
<div class="verify" data-job="/integrity/status?ledger=${p.index}" aria-live="polite">
${
  j === undefined
    ? html`<p>Not verified from this console yet.</p>`
    : j.report === undefined && j.error === undefined
      ? html`<p>Verifying (started ${j.startedAt} by ${j.by}): <progress max="${j.total || 1}" value="${j.done}" aria-label="Entries verified">${j.done} of ${j.total}</progress> <span class="count">${j.done} of ${j.total}</span> entries.</p>`
      : j.error !== undefined
        ? html`<p class="error" role="alert">Verification could not run: ${j.error}</p>`
        : j.report!.ok
          ? html`<p class="ok" role="status">Verified: ${j.report!.entries} entries, head <code>${j.report!.head_hash}</code>, ${j.report!.checkpoints_checked} checkpoints; the approval and usage tables agree with the chain. (Started ${j.startedAt} by ${j.by}.)</p>`
          : html`<p class="error" role="alert">FAILED${j.report!.failed_seq ? html` at seq <strong class="bad-seq">${j.report!.failed_seq}</strong>` : ''} (${j.report!.failure_kind}): ${j.report!.message}</p>`
}
</div>
<form method="post" action="/integrity/verify">
<input type="hidden" name="_csrf" value="${session.csrf}"><input type="hidden" name="ledger" value="${p.index}">
<button type="submit">Verify now</button>
</form>
</section>`;
  })}`;
}
