import { clients, unary } from './client.js';
import { BUNDLES } from './paths.js';
import { loadSamples } from './samples.js';
import { startInProcess } from './server.js';
import { decide, report, TestClock } from '../usage/helpers.js';

/** One decision of the recorded workload, as the server answered it. */
export interface RecordedCase {
  decisionId: string;
  sample: string;
  input: Record<string, any>;
  /** allow, deny, require_approval, redact. */
  decision: string;
  codes: string[];
  /** The answer listed redactions: the stored input differs from what the policy saw. */
  redacted: boolean;
  /** Redacted, or it carried a sensitive field (content.output) the ledger stores as a salted hash: replay is approximate. */
  approximate: boolean;
}

const DECISION_NAMES: Record<string, string> = {
  DECISION_ALLOW: 'allow',
  DECISION_DENY: 'deny',
  DECISION_REQUIRE_APPROVAL: 'require_approval',
  DECISION_REDACT: 'redact',
};

/**
 * Records a ledger the way production does: the reference `ai` bundle served
 * by the real gRPC server, metering on, every sample workload three times over
 * (new subject ids each round), then a heavy user whose reported usage runs
 * into budgets, model calls whose output is a sensitive field, and an agent whose
 * tool calls run into its rate limit, so the
 * recorded context (usage, history, estimate, now) shapes decisions.
 */
export async function recordWorkload(ledger: string): Promise<RecordedCase[]> {
  const clock = new TestClock(Date.parse('2026-11-23T09:00:00Z'));
  const srv = await startInProcess({ bundles: BUNDLES, ledger, now: clock.now, engine: { workers: 0 } });
  const c = clients(srv.address);
  // As `gavel serve` does at start: the activation is an entry of the chain too (replay reads past it).
  for (const b of srv.core.policies.bundles) {
    await srv.core.parts.engine.recordPolicyEvent({
      result: 'activated',
      bundle: b.name,
      revision: b.revision,
      digest: b.digest,
      entrypoints: b.entrypoints,
      source: 'start',
    });
  }
  const cases: RecordedCase[] = [];
  const ask = async (sample: string, input: Record<string, any>, stepMs = 60_000) => {
    const res = await decide(c, input);
    cases.push({
      decisionId: res.decision_id,
      sample,
      input,
      decision: DECISION_NAMES[res.decision] ?? res.decision,
      codes: (res.reasons as Array<{ code: string }>).map((r) => r.code),
      redacted: (res.redactions as unknown[]).length > 0,
      approximate: (res.redactions as unknown[]).length > 0 || typeof input.content?.output === 'string',
    });
    clock.advance(stepMs);
    return res;
  };
  try {
    const samples = loadSamples();
    for (let round = 0; round < 3; round++) {
      for (const s of samples) {
        const input = structuredClone(s.input) as Record<string, any>;
        if (input.subject?.id) input.subject.id = `${input.subject.id}-r${round}`;
        delete input.context?.now;
        await ask(s.file, input);
      }
    }
    const heavy = { subject: 'heavy-user', team: 'budget-test', costCenter: 'cc-research' };
    for (let i = 0; i < 12; i++) {
      const input = {
        subject: { id: heavy.subject, type: 'user', roles: ['ml-engineer', 'employee'], team: heavy.team, cost_center: heavy.costCenter },
        action: { type: 'model.invoke', model: i % 2 ? 'frontier-xl' : 'standard-m', params: { max_tokens: 300 } },
        content: { prompt: `draft section ${i} of the quarterly plan` },
        context: { environment: 'prod' },
      };
      const res = await ask('heavy-user', input);
      const model = (res.obligations?.route?.model as string | undefined) ?? (i % 2 ? 'frontier-xl' : 'standard-m');
      if (res.decision !== 'DECISION_DENY') await report(c, res.decision_id, heavy, model, 600, 300);
    }
    // The model's output comes back for the record: a sensitive field, stored as a salted hash.
    for (let i = 0; i < 3; i++) {
      await ask('with-output', {
        subject: { id: 'ana', type: 'user', roles: ['employee'], team: 'platform', cost_center: 'cc-100' },
        action: { type: 'model.invoke', model: 'standard-m', params: { max_tokens: 80 } },
        content: { prompt: `summarise ticket ${i}`, output: `ticket ${i} is about a login loop` },
        context: { environment: 'prod' },
      });
    }
    // An approval's whole story: requested, pending on a retry, approved, used once, asked again.
    const transfer = (approvalId?: string) => ({
      subject: { id: 'fiona', type: 'user', roles: ['finance', 'employee'], team: 'finance', cost_center: 'cc-200' },
      action: { type: 'tool.call', tool: 'payments.transfer', params: { amount: 25_000, currency: 'USD', to_account: 'ACME-001' } },
      context: { environment: 'prod', ...(approvalId ? { approval_id: approvalId } : {}) },
    });
    const asked = await ask('approval', transfer());
    await ask('approval', transfer(asked.approval.approval_id));
    await unary(c.approval, 'Resolve', {
      approval_id: asked.approval.approval_id,
      verdict: 'VERDICT_APPROVE',
      approver: { id: 'mia', roles: ['finance-manager'] },
    });
    await ask('approval', transfer(asked.approval.approval_id));
    await ask('approval', transfer(asked.approval.approval_id));
    // Past its per-minute limit within one minute: history from the ledger decides the last ones.
    for (let i = 0; i < 64; i++) {
      const onBehalfOf = { id: 'alice', type: 'user', roles: ['employee'], team: 'platform', cost_center: 'cc-100' };
      const input = {
        subject: { id: 'agent-support-bot', type: 'agent', on_behalf_of: onBehalfOf },
        action: { type: 'tool.call', tool: 'search.web', params: { q: `release notes ${i}` } },
        context: { environment: 'prod' },
      };
      await ask('agent-burst', input, 500);
    }
  } finally {
    c.close();
    await srv.stop();
  }
  return cases;
}
