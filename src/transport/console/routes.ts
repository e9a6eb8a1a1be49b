import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { GavelError } from '../../lib/errors.js';
import type { Approval, EntrySummary, LedgerView } from '../../runtime/faces.js';
import { capsOf, type CapScope } from './caps.js';
import { exportStream } from './export.js';
import { filterOf, formatCursors, parseCursors, queryFilterOf } from './filters.js';
import { html } from './html.js';
import { pageAcross } from './paging.js';
import { approvalsBody, approverOf } from './pages/approvals.js';
import { budgetsBody } from './pages/budgets.js';
import { decisionsBody } from './pages/decisions.js';
import { detailBody } from './pages/detail.js';
import { integrityBody, type VerifyJob } from './pages/integrity.js';
import { policiesBody } from './pages/policies.js';
import { replayBody, type ReplayJob } from './pages/replay.js';
import { httpError } from './http-status.js';
import { timelineBody, type TimelineQuery } from './pages/timeline.js';
import { CONSOLE_FRONT_END, type ConsoleApp, type ConsoleRequestContext } from './app.js';
import type { Role } from '../security/roles.js';

const PAGE_SIZE = 50;
const READ: readonly Role[] = ['audit'];
/** Reason codes the Budgets page counts per day: the reference policy's tier-down and budget denials. */
export const BUDGET_REASONS = ['budget_tier_down', 'subject_budget_exhausted', 'team_budget_exhausted', 'cost_center_cap_exceeded', 'seat_spend_cap'];
const WEEK_MS = 7 * 86_400_000;

/** The console's pages; each checks the role it needs before it reads anything. */
export function consoleRoutes(app: FastifyInstance, c: ConsoleApp): void {
  const { sources } = c;
  const ledgers = sources.ledgers;
  const ledgerAt = (value: unknown): LedgerView => {
    const i = value === undefined ? 0 : Number(value);
    const view = Number.isInteger(i) ? ledgers[i] : undefined;
    if (!view) throw new GavelError('invalid_query', `ledger must be 0 to ${ledgers.length - 1}`);
    return view;
  };
  const jobs = new Map<number, VerifyJob>();
  /** A page or action: the role check (and CSRF for POST) first, then the handler; a failure is a page naming it. */
  const route = (
    method: 'GET' | 'POST',
    url: string,
    roles: readonly Role[],
    handle: (request: FastifyRequest, reply: FastifyReply, s: ConsoleRequestContext) => Promise<FastifyReply>,
  ) =>
    app.route({
      method,
      url,
      handler: async (request, reply) => {
        const s = c.signedIn(request, reply, roles);
        if (!s) return reply;
        try {
          return await handle(request, reply, s);
        } catch (err) {
          return c.fail(reply, s, err);
        }
      },
    });

  route('GET', '/decisions', READ, async (request, reply, s) => {
    const query = request.query as Record<string, unknown>;
    const filter = filterOf(query);
    const cursors = parseCursors(query.cursor, ledgers.length);
    const page = pageAcross(ledgers, queryFilterOf(filter), cursors, PAGE_SIZE);
    return c.send(reply, s, '/decisions', 'Decisions', decisionsBody(filter, page, s.ctx.ledgers, cursors.size ? formatCursors(cursors) : undefined));
  });

  route('GET', '/entries/:id', READ, async (request, reply, s) => {
    const index = Number((request.query as Record<string, unknown>).ledger ?? 0);
    const view = ledgerAt(index);
    const id = (request.params as { id: string }).id;
    const entry = view.get(id);
    if (!entry) throw new GavelError('decision_not_found', `no entry of ${view.label} has id ${id}`);
    const related = (filter: Parameters<LedgerView['query']>[0]) => [...view.query({ ...filter, order: 'asc', limit: 100 })];
    const usage = entry.kind === 'decision' ? related({ kind: 'usage', requestId: entry.decisionId }) : [];
    const approval =
      entry.kind === 'decision' ? approvalStory(view, entry) : entry.kind === 'approval' ? related({ kind: 'approval', requestId: entry.requestId }) : [];
    return c.send(
      reply,
      s,
      '/decisions',
      `Entry ${entry.seq}: ${entry.decision}`,
      detailBody({
        entry,
        ledger: index,
        ledgerName: view.label,
        payloads: s.session.roles.has('audit-payloads'),
        usage,
        approval,
        checkpoint: view.latestCheckpoint(),
      }),
    );
  });

  route('GET', '/timeline', READ, async (request, reply, s) => {
    const q = request.query as Record<string, unknown>;
    const text = (k: string) => (typeof q[k] === 'string' && q[k] !== '' ? (q[k] as string) : undefined);
    const tq: TimelineQuery = {};
    for (const k of ['subject', 'team', 'cost_center', 'since', 'until'] as const) {
      const v = text(k);
      if (v !== undefined) tq[k] = v;
    }
    const named = tq.subject ?? tq.team ?? tq.cost_center;
    const filter = {
      ...(tq.subject ? { subject: tq.subject } : {}),
      ...(tq.team ? { team: tq.team } : {}),
      ...(tq.cost_center ? { costCenter: tq.cost_center } : {}),
      ...(tq.since ? { since: tq.since } : {}),
      ...(tq.until ? { until: tq.until } : {}),
      limit: 2000,
    };
    const events = named
      ? ledgers
          .flatMap((v) => v.timeline(filter).map((e) => ({ ...e, ...(ledgers.length > 1 ? { ledgerName: v.label } : {}) })))
          .sort((a, b) => Date.parse(a.time) - Date.parse(b.time))
      : undefined;
    return c.send(reply, s, '/timeline', named ? `Timeline of ${named}` : 'Timeline', timelineBody(tq, events));
  });

  route('GET', '/approvals', ['approve', 'audit'], async (request, reply, s) => {
    if (!sources.approvals)
      return c.send(reply, s, '/approvals', 'Approvals', html`<p>Approvals are resolved on a running gavel; this console reads ledger files.</p>`);
    const done = (request.query as Record<string, unknown>).done;
    const pending = await sources.approvals.list({ state: 'pending', limit: 200 });
    const recent = (await sources.approvals.list({ limit: 50 })).filter((a: Approval) => a.state !== 'pending').slice(0, 20);
    const notice = typeof done === 'string' && /^(approved|rejected|voted):[A-Za-z0-9_-]{1,128}$/.test(done) ? noticeOf(done) : undefined;
    return c.send(reply, s, '/approvals', 'Approvals', approvalsBody(s.session, pending, recent, notice, s.session.roles.has('approve')));
  });

  route('POST', '/approvals/:id', ['approve'], async (request, reply, s) => {
    if (!sources.approvals) throw new GavelError('approvals_unavailable', 'this console reads ledger files: approvals are resolved on a running gavel');
    const body = request.body as Record<string, unknown>;
    const verdict = body.verdict;
    if (verdict !== 'approve' && verdict !== 'reject') throw new GavelError('invalid_approval', 'verdict must be approve or reject');
    const id = (request.params as { id: string }).id;
    const after = await sources.approvals.resolve({
      approvalId: id,
      verdict,
      // The approver is the signed-in person, with the roles gavel gives them; nothing of it comes from the page.
      approver: approverOf(s.session),
      comment: typeof body.comment === 'string' ? body.comment : '',
      caller: CONSOLE_FRONT_END,
      // The console is a front end acting for the signed-in person, whose roles it took from the access file.
      rolesFrom: c.options.dev ? 'asserted' : 'access-file',
    });
    const done = after.state === 'pending' ? 'voted' : after.state;
    return reply.redirect(`/approvals?done=${done}:${encodeURIComponent(after.id)}`, 303);
  });

  route('GET', '/budgets', READ, async (request, reply, s) => {
    const q = request.query as Record<string, unknown>;
    const scope: CapScope = q.scope === 'subject' || q.scope === 'cost_center' ? q.scope : 'team';
    const key = typeof q.key === 'string' ? q.key.trim().slice(0, 256) : '';
    const now = c.now();
    const since = now.getTime() - 30 * 86_400_000;
    const sum = <T>(read: (v: LedgerView) => T[]) => ledgers.flatMap(read);
    const top = mergeTotals(sum((v) => v.topSpenders(scope, now.getTime() - WEEK_MS, 20))).slice(0, 20);
    const byDay = mergeDays(sum((v) => v.spendByDay(scope, key || undefined, since)));
    const reasons = (await Promise.all(ledgers.map((v) => v.reasonsByDay(BUDGET_REASONS, since)))).flat();
    const totals = key && sources.report ? windowsOf(await sources.report.usage(scope, key)) : undefined;
    return c.send(
      reply,
      s,
      '/budgets',
      'Budgets',
      budgetsBody({ scope, key, now, totals, caps: capsOf(sources.policies?.bundles ?? []), top, byDay, reasons, codes: BUDGET_REASONS }),
    );
  });

  route('GET', '/policies', ['audit', 'admin'], async (_request, reply, s) => {
    const shadow = sources.policies?.shadow;
    const replays = sources.policies?.replay ? replayBody(s.session, replayJob, s.session.roles.has('admin')) : undefined;
    const parts = ledgers.map((v, i) => ({
      ledgerName: v.label,
      status: v.policyStatus(),
      history: [...v.query({ kind: 'policy', limit: 50 })],
      shadow: i === 0 && shadow ? { bundles: shadow.bundles.map((b) => `${b.name} ${b.revision}`), transitions: shadow.transitions() } : undefined,
      replay: i === 0 ? replays : undefined,
    }));
    return c.send(reply, s, '/policies', 'Policies', policiesBody(parts));
  });

  let replayJob: ReplayJob | undefined;
  route('POST', '/policies/replay', ['admin'], async (request, reply, s) => {
    const replay = sources.policies?.replay;
    if (!replay) throw new GavelError('replay_busy', 'this console reads ledger files: replays run on a running gavel');
    const body = request.body as Record<string, unknown>;
    const bundle = body.candidate;
    if (!Buffer.isBuffer(bundle) || bundle.length === 0) throw new GavelError('bundle_invalid', 'choose a candidate bundle (.tar.gz) to replay');
    const since = typeof body.since === 'string' && body.since.trim() !== '' ? body.since.trim() : '7d';
    const job: ReplayJob = { by: s.session.identity, startedAt: c.now().toISOString(), since, done: 0, total: 0 };
    // Checked and the one replay slot taken synchronously: a bad filter or a busy slot is this request's answer.
    const running = replay(
      { bundle, policy: '', since, until: '', subject: '', team: '', limit: 0 },
      {
        started: (candidate, total) => {
          job.candidate = candidate;
          job.total = total;
        },
        progress: (done, total) => {
          job.done = done;
          job.total = total;
        },
        signal: new AbortController().signal,
      },
    );
    replayJob = job;
    running.then(
      (run) => {
        job.run = run;
        job.done = run.replayed;
      },
      (err: unknown) => {
        job.error = httpError(err, c.options.log).message;
      },
    );
    return reply.redirect('/policies', 303);
  });

  route('GET', '/policies/replay/status', ['audit', 'admin'], async (_request, reply) => {
    const job = replayJob;
    return reply
      .type('application/json')
      .send({ running: job !== undefined && !job.run && job.error === undefined, done: job?.done ?? 0, total: job?.total ?? 0 });
  });

  route('GET', '/integrity', READ, async (_request, reply, s) => {
    const parts = ledgers.map((v, index) => ({ ledgerName: v.label, index, size: v.size, checkpoint: v.latestCheckpoint(), job: jobs.get(index) }));
    return c.send(reply, s, '/integrity', 'Integrity', integrityBody(s.session, parts));
  });

  route('POST', '/integrity/verify', READ, async (request, reply, s) => {
    const index = Number((request.body as Record<string, unknown>).ledger ?? 0);
    const view = ledgerAt(index);
    const running = jobs.get(index);
    if (!running || running.report || running.error) {
      const job: VerifyJob = { done: 0, total: view.size, startedAt: c.now().toISOString(), by: s.session.identity };
      jobs.set(index, job);
      view
        .verify((done, total) => {
          job.done = done;
          job.total = total;
        })
        .then(
          (report) => {
            job.done = report.entries;
            job.report = report;
          },
          (err: unknown) => {
            job.error = err instanceof GavelError ? err.message : 'internal error (see server log)';
            c.options.log.error({ err }, 'console: verification failed to run');
          },
        );
    }
    return reply.redirect('/integrity', 303);
  });

  route('GET', '/integrity/status', READ, async (request, reply) => {
    const job = jobs.get(Number((request.query as Record<string, unknown>).ledger ?? 0));
    return reply.type('application/json').send({
      running: job !== undefined && job.report === undefined && job.error === undefined,
      done: job?.done ?? 0,
      total: job?.total ?? 0,
      ok: job?.report?.ok ?? null,
      failed_seq: job?.report?.failed_seq ?? 0,
    });
  });

  for (const format of ['csv', 'jsonl'] as const) {
    route('GET', `/export.${format}`, READ, async (request, reply) => {
      const filter = queryFilterOf(filterOf(request.query as Record<string, unknown>));
      // Checked before the first byte: a bad filter is a 400, not a broken download.
      for (const v of ledgers) [...v.query({ ...filter, limit: 1 })];
      const stamp = c.now().toISOString().replace(/[:.]/g, '-');
      return reply
        .type(format === 'csv' ? 'text/csv; charset=utf-8' : 'application/x-ndjson')
        .header('content-disposition', `attachment; filename="gavel-entries-${stamp}.${format}"`)
        .send(exportStream(ledgers, filter, format));
    });
  }
}

/** The approval events of the request a decision created or used: its own approval entries, written in the same transaction, name it. */
function approvalStory(view: LedgerView, decision: EntrySummary): EntrySummary[] {
  const near = [...view.query({ kind: 'approval', subject: decision.subjectId, order: 'asc', cursor: { seq: decision.seq, timeMs: 0 }, limit: 5 })];
  for (const e of near) {
    const detail = view.get(e.decisionId);
    const approval = detail?.payload?.approval;
    if (approval && typeof approval === 'object' && !Array.isArray(approval) && approval.decision_id === decision.decisionId) {
      return [...view.query({ kind: 'approval', requestId: e.requestId, order: 'asc', limit: 100 })];
    }
  }
  return [];
}

function noticeOf(done: string): string {
  const [what, id] = done.split(':');
  return what === 'voted' ? `Your approval of ${id} is recorded; it needs more approvers.` : `Request ${id} is ${what}.`;
}

function windowsOf(usage: unknown): Record<string, { tokens: number; cost: number }> {
  const out: Record<string, { tokens: number; cost: number }> = {};
  if (typeof usage !== 'object' || usage === null) return out;
  for (const w of ['day', 'week', 'month']) {
    const v = (usage as Record<string, { tokens?: unknown; cost?: unknown }>)[w];
    if (v) out[w] = { tokens: Number(v.tokens ?? 0), cost: Number(v.cost ?? 0) };
  }
  return out;
}

function mergeTotals<T extends { key: string; tokens: number; costMicros: number; reports: number }>(rows: T[]): T[] {
  const by = new Map<string, T>();
  for (const r of rows) {
    const had = by.get(r.key);
    by.set(r.key, had ? { ...had, tokens: had.tokens + r.tokens, costMicros: had.costMicros + r.costMicros, reports: had.reports + r.reports } : r);
  }
  return [...by.values()].sort((a, b) => b.tokens - a.tokens || a.key.localeCompare(b.key));
}

function mergeDays(rows: Array<{ day: string; tokens: number; costMicros: number }>) {
  const by = new Map<string, { day: string; tokens: number; costMicros: number }>();
  for (const r of rows) {
    const had = by.get(r.day);
    by.set(r.day, had ? { day: r.day, tokens: had.tokens + r.tokens, costMicros: had.costMicros + r.costMicros } : r);
  }
  return [...by.values()].sort((a, b) => a.day.localeCompare(b.day));
}
