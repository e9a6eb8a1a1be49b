import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { beforeAll, describe, expect, it } from 'vitest';
import { parseBundle } from '../../src/bundles/bundle.js';
import { ENGINE_DEFAULTS } from '../../src/engine/config.js';
import type { Comparison } from '../../src/engine/replay/compare.js';
import type { RecordedFilter } from '../../src/engine/replay/recorded.js';
import { replay } from '../../src/engine/replay/replayer.js';
import { LedgerRecordedDecisions } from '../../src/ledger/recorded-decisions.js';
import { BUNDLES, FIXTURE_BUNDLES, tempDir } from '../helpers/paths.js';
import { recordWorkload, type RecordedCase } from '../helpers/recorded-workload.js';
import { repack } from '../helpers/repack.js';
import { openAsAttacker } from '../ledger/fixtures.js';
import { payloadTextOf } from '../helpers/payloads.js';

const LIMITS = { memoryInitialPages: ENGINE_DEFAULTS.memoryInitialPages, memoryMaxPages: ENGINE_DEFAULTS.memoryMaxPages };
const LIVE = readFileSync(join(BUNDLES, 'ai.tar.gz'));

let ledger: string;
let cases: RecordedCase[];

beforeAll(async () => {
  ledger = join(tempDir(), 'recorded.db');
  cases = await recordWorkload(ledger);
}, 60_000);

async function replayWith(archive: Buffer, o: { workers?: number; filter?: RecordedFilter; path?: string } = {}) {
  const db = new Database(o.path ?? ledger, { readonly: true });
  const seen: Comparison[] = [];
  try {
    const report = await replay(new LedgerRecordedDecisions(db), {
      candidate: parseBundle('ai', archive),
      filter: o.filter ?? {},
      workers: o.workers ?? 0,
      limits: LIMITS,
      onComparison: (c) => seen.push(c),
    });
    return { report, seen };
  } finally {
    db.close();
  }
}

const ids = (list: Array<{ decisionId: string }>) => new Set(list.map((c) => c.decisionId));
/** Exact comparisons that changed (approximate ones are counted apart and may differ for any candidate). */
const changedIn = (seen: Comparison[]) =>
  seen
    .filter((c) => !c.approximate)
    .filter((c) => c.from.decision !== c.to.decision || [...c.to.reasonCodes].sort().join() !== [...c.from.reasonCodes].sort().join());

describe('replay with the bundle that recorded the ledger', () => {
  it('reproduces every exactly replayable decision, outcome and reason codes', async () => {
    const { report, seen } = await replayWith(LIVE);
    const exact = cases.filter((c) => !c.approximate);
    expect(report.replayed).toBe(cases.length);
    expect(report.changed).toBe(0);
    expect(report.unchanged).toBe(exact.length);
    expect(report.transitions).toEqual([]);
    expect(report.skipped).toBe(0);
    // Every kind of outcome and the usage- and history-driven ones are among them.
    const codes = new Set(exact.flatMap((c) => c.codes));
    for (const code of ['team_budget_exhausted', 'budget_tier_down', 'tool_rate_limited', 'model_not_permitted']) expect(codes).toContain(code);
    expect(new Set(exact.map((c) => c.decision))).toEqual(new Set(['allow', 'deny', 'require_approval']));
    for (const c of seen.filter((s) => !s.approximate)) {
      const recorded = cases.find((r) => r.decisionId === c.decisionId)!;
      expect(c.to).toEqual({ decision: recorded.decision, reasonCodes: recorded.codes });
    }
    expect(report.recorded_by).toEqual([{ ...report.candidate, count: cases.length }]);
  });

  it('counts decisions stored with redacted or hashed content as approximate, apart from the exact ones', async () => {
    const { report, seen } = await replayWith(LIVE);
    const redacted = cases.filter((c) => c.approximate);
    expect(cases.filter((c) => c.redacted).length).toBeGreaterThan(0);
    // Sensitive fields are named in the payload (hashed_paths) and stored as salted hashes.
    const withOutput = cases.filter((c) => c.sample === 'with-output');
    expect(withOutput.length).toBe(3);
    const db = new Database(ledger, { readonly: true });
    for (const c of withOutput) {
      const payload = JSON.parse(payloadTextOf(db, c.decisionId));
      expect(payload.result.hashed_paths).toEqual(['/content/output']);
      expect(payload.input.content.output).toEqual({ sha256: expect.stringMatching(/^[0-9a-f]{64}$/) });
      expect(payload.result.input_altered).toBe(true);
    }
    // Redacted ones say so too: a removed value is masked wherever it appears, not only at its path.
    const body = (id: string) => payloadTextOf(db, id);
    for (const c of cases.filter((x) => x.redacted)) expect(JSON.parse(body(c.decisionId)).result.input_altered).toBe(true);
    for (const c of cases.filter((x) => !x.approximate)) expect(JSON.parse(body(c.decisionId)).result.input_altered).toBeUndefined();
    db.close();
    expect(report.approximate).toBe(redacted.length);
    expect(ids(seen.filter((c) => c.approximate))).toEqual(ids(redacted));
    const a = report.approximate_detail;
    expect(a.unchanged + a.changed).toBe(redacted.length);
    // The matrices count the two parts apart: nothing approximate reaches the exact one.
    const total = (m: Record<string, Record<string, number>>) =>
      Object.values(m)
        .flatMap(Object.values)
        .reduce((x, y) => x + y, 0);
    expect(total(report.matrix)).toBe(cases.length - redacted.length);
    expect(total(a.matrix)).toBe(redacted.length);
  });

  it('reports the same on two worker threads as on this thread', async () => {
    const inline = await replayWith(LIVE);
    const pooled = await replayWith(LIVE, { workers: 2 });
    expect(pooled.report).toEqual(inline.report);
    expect(pooled.seen).toEqual(inline.seen);
  });
});

describe('replay with changed candidates', () => {
  it('a model removed from a role turns exactly the affected decisions into denials', async () => {
    const data = structuredClone(parseBundle('ai', LIVE).data) as any;
    const employee = data.gavel.ai_config.access.roles.employee;
    employee.models = employee.models.filter((m: string) => m !== 'standard-m');
    const { report, seen } = await replayWith(repack(LIVE, { 'data.json': JSON.stringify(data) }));
    // Affected: standard-m model calls by users whose only role is employee, not already refused for the model.
    const affected = cases.filter(
      (c) =>
        c.input.action?.type === 'model.invoke' &&
        c.input.action?.model === 'standard-m' &&
        c.input.subject?.type === 'user' &&
        JSON.stringify(c.input.subject?.roles) === '["employee"]' &&
        !c.codes.includes('model_not_permitted'),
    );
    const exactAffected = affected.filter((c) => !c.approximate);
    expect(exactAffected.length).toBeGreaterThan(5);
    const changed = changedIn(seen);
    expect(ids(changed)).toEqual(ids(exactAffected));
    for (const c of changed) {
      expect(c.to.decision).toBe('deny');
      expect(c.to.reasonCodes).toContain('model_not_permitted');
    }
    const allowToDeny = report.transitions.find((t) => t.from === 'allow' && t.to === 'deny')!;
    expect(allowToDeny.count).toBe(exactAffected.filter((c) => c.decision === 'allow').length);
    expect(allowToDeny.reasons_added).toMatchObject({ model_not_permitted: allowToDeny.count });
    expect(allowToDeny.examples).toEqual(
      exactAffected
        .filter((c) => c.decision === 'allow')
        .slice(0, 5)
        .map((c) => c.decisionId),
    );
    expect(report.changed).toBe(exactAffected.length);
  });

  it('a new deny rule on a keyword changes exactly the decisions whose prompt holds it', async () => {
    const candidate = readFileSync(join(FIXTURE_BUNDLES, 'candidates/keyword-deny.tar.gz'));
    const { report, seen } = await replayWith(candidate);
    const prompted = cases.filter((c) => !c.approximate && typeof c.input.content?.prompt === 'string' && /quarterly/i.test(c.input.content.prompt));
    expect(prompted.length).toBeGreaterThan(5);
    expect(ids(changedIn(seen))).toEqual(ids(prompted));
    for (const c of changedIn(seen)) expect(c.to).toEqual({ decision: 'deny', reasonCodes: expect.arrayContaining(['keyword_blocked']) });
    const added = report.transitions.map((t) => Object.keys(t.reasons_added));
    expect(added.every((codes) => codes.includes('keyword_blocked'))).toBe(true);
    expect(report.transitions.reduce((n, t) => n + t.count, 0)).toBe(report.changed);
    expect(report.recorded_by[0]!.digest).not.toBe(report.candidate.digest);
  });
});

describe('cancelling', () => {
  it('a cancel stops replay workers mid-batch, even on a candidate that takes seconds per decision', async () => {
    const slow = parseBundle('ai', readFileSync(join(FIXTURE_BUNDLES, 'candidates/slow.tar.gz')));
    const db = new Database(ledger, { readonly: true });
    const abort = new AbortController();
    try {
      // Uncancelled, this batch of every recorded decision would take about a minute.
      const running = replay(new LedgerRecordedDecisions(db), {
        candidate: slow,
        filter: {},
        workers: 1,
        limits: { memoryInitialPages: 32, memoryMaxPages: 16384 },
        signal: abort.signal,
      });
      setTimeout(() => abort.abort(), 300);
      const outcome = await Promise.race([
        running.then(
          () => 'finished',
          (err: Error) => err.message,
        ),
        new Promise((r) => setTimeout(() => r('still running'), 15_000)),
      ]);
      expect(outcome).toBe('the replay was cancelled');
    } finally {
      db.close();
    }
  }, 30_000);
});

describe('what replay reads', () => {
  it('filters by subject, team, time and limit, oldest first', async () => {
    const heavy = cases.filter((c) => c.sample === 'heavy-user');
    const bySubject = await replayWith(LIVE, { filter: { subject: 'heavy-user' } });
    expect(bySubject.seen.map((c) => c.decisionId)).toEqual(heavy.map((c) => c.decisionId));
    const limited = await replayWith(LIVE, { filter: { subject: 'heavy-user', limit: 3 } });
    expect(limited.seen.map((c) => c.decisionId)).toEqual(heavy.slice(0, 3).map((c) => c.decisionId));
    const byTeam = await replayWith(LIVE, { filter: { team: 'budget-test' } });
    expect(byTeam.report.replayed).toBe(cases.filter((c) => c.input.subject?.team === 'budget-test').length);
    // The workload starts at 09:00 and steps a minute per decision: the first hour holds 60 of them.
    const firstHour = await replayWith(LIVE, { filter: { since: '2026-11-23T09:00:00Z', until: '2026-11-23T10:00:00Z' } });
    expect(firstHour.seen.map((c) => c.decisionId)).toEqual(cases.slice(0, 60).map((c) => c.decisionId));
  });

  it('skips decisions whose payload a retention job erased, and policy events, counting the erased', async () => {
    const copy = join(tempDir(), 'erased.db');
    const db = new Database(ledger, { readonly: true });
    await db.backup(copy);
    db.close();
    // A retention job deletes payloads past the append-only triggers, as an erasure does.
    const rw = openAsAttacker(copy);
    const victims = cases.slice(0, 4).map((c) => c.decisionId);
    for (const id of victims) rw.prepare('DELETE FROM payloads WHERE seq = (SELECT seq FROM entries WHERE decision_id = ?)').run(id);
    const policyEvents = (rw.prepare("SELECT count(*) AS n FROM entries WHERE kind = 'policy'").get() as { n: number }).n;
    rw.close();
    expect(policyEvents).toBeGreaterThan(0);
    const { report, seen } = await replayWith(LIVE, { path: copy });
    expect(report.skipped_detail).toEqual({ payload_erased: 4 });
    expect(report.replayed).toBe(cases.length - 4);
    for (const id of victims) expect(ids(seen)).not.toContain(id);
  });
});
