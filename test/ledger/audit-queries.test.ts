import { randomBytes } from 'node:crypto';
import { afterEach, describe, expect, it } from 'vitest';
import type { EntryRecord } from '../../src/engine/ledger.js';
import type { JsonObject } from '../../src/lib/json.js';
import { ledgerConfig } from '../../src/ledger/config.js';
import { DEFAULT_QUERY_LIMIT, getEntry, MAX_QUERY_LIMIT, parseDecision, parseTime, queryEntries, type QueryFilter } from '../../src/ledger/query.js';
import { SqliteLedger } from '../../src/ledger/sqlite.js';
import { timeline } from '../../src/ledger/timeline.js';
import { wireTimelineEvent } from '../../src/ledger/wire.js';
import { TRIGGERS } from './fixtures.js';

/**
 * Audit queries and the incident timeline, in-process on a ledger built in each
 * test (the CLI and gRPC forms are in query.test.ts): each filter, the order, the
 * limit, time bounds, an entry with its payload, and where a timeline marks a
 * new reason.
 */

const open: SqliteLedger[] = [];
afterEach(async () => {
  for (const l of open.splice(0)) await l.close();
});

const NOW = new Date('2026-03-10T12:00:00.000Z');
const HOUR = 3_600_000;

interface Spec {
  subject: string;
  team?: string;
  action?: string;
  resource?: string;
  decision?: string;
  revision?: string;
  /** Hours before NOW. */
  ago: number;
  reasons?: Array<{ code: string; rule: string; effect: string }>;
  usageWeekTokens?: number;
}

function record(i: number, s: Spec): EntryRecord {
  const decision = s.decision ?? 'allow';
  const reasons = s.reasons ?? [{ code: 'allowed', rule: 'r.default', effect: 'allow' }];
  const input: JsonObject = { subject: { id: s.subject } };
  if (s.usageWeekTokens !== undefined) input.context = { usage: { subject: { week: { tokens: s.usageWeekTokens } } } };
  return {
    decisionId: `q-${i}`,
    time: new Date(NOW.getTime() - s.ago * HOUR).toISOString(),
    subjectId: s.subject,
    subjectType: 'user',
    team: s.team ?? 'payments',
    costCenter: 'cc',
    actionType: s.action ?? 'model.invoke',
    resource: s.resource ?? 'standard-m',
    decision,
    reasonCodes: reasons.map((r) => r.code),
    bundle: 'ai',
    revision: s.revision ?? 'rev-1',
    digest: 'sha256:0',
    entrypoint: 'gavel/ai/decision',
    requestId: '',
    caller: 'test',
    payload: { input, result: { decision, reasons } },
    salt: randomBytes(16),
  };
}

const deny = (code: string, rule: string) => ({ code, rule, effect: 'deny' });

/** Appended in seq order; times are deliberately not in seq order for two of them. */
const PLAN: Spec[] = [
  { subject: 'alice', ago: 50 },
  { subject: 'bob', team: 'research', action: 'tool.call', resource: 'search', ago: 40 },
  { subject: 'alice', decision: 'deny', reasons: [deny('over_budget', 'r.budget')], ago: 30, usageWeekTokens: 900 },
  { subject: 'alice', decision: 'deny', reasons: [deny('over_budget', 'r.budget'), deny('model_not_allowed', 'r.models')], ago: 20 },
  { subject: 'carol', decision: 'redact', revision: 'rev-2', reasons: [{ code: 'pii', rule: 'r.pii', effect: 'redact' }], ago: 45 },
  { subject: 'alice', decision: 'require_approval', reasons: [{ code: 'allowed', rule: 'r.x', effect: 'require_approval' }], ago: 10 },
  { subject: 'alice', ago: 1 },
];

async function seeded(): Promise<SqliteLedger> {
  const ledger = new SqliteLedger(ledgerConfig(':memory:'));
  open.push(ledger);
  for (const [i, s] of PLAN.entries()) await ledger.append(record(i + 1, s));
  return ledger;
}

const seqs = (ledger: SqliteLedger, filter: QueryFilter) => [...queryEntries(ledger.db, filter, NOW)].map((e) => e.seq);

describe('queryEntries', () => {
  it('newest first by seq, or oldest first with order asc', async () => {
    const l = await seeded();
    expect(seqs(l, {})).toEqual([7, 6, 5, 4, 3, 2, 1]);
    expect(seqs(l, { order: 'asc' })).toEqual([1, 2, 3, 4, 5, 6, 7]);
    expect(seqs(l, { order: 'desc' })).toEqual([7, 6, 5, 4, 3, 2, 1]);
  });

  it('each equality filter, alone and combined; an empty value filters nothing', async () => {
    const l = await seeded();
    expect(seqs(l, { subject: 'alice' })).toEqual([7, 6, 4, 3, 1]);
    expect(seqs(l, { team: 'research' })).toEqual([2]);
    expect(seqs(l, { action: 'tool.call' })).toEqual([2]);
    expect(seqs(l, { decision: 'deny' })).toEqual([4, 3]);
    expect(seqs(l, { revision: 'rev-2' })).toEqual([5]);
    expect(seqs(l, { decisionId: 'q-3' })).toEqual([3]);
    expect(seqs(l, { subject: 'alice', decision: 'deny', team: 'payments' })).toEqual([4, 3]);
    expect(seqs(l, { subject: 'alice', team: 'research' })).toEqual([]);
    expect(seqs(l, { subject: '', team: '', decision: '' })).toHaveLength(7);
  });

  it('decision filters accept the gRPC spelling and any case', async () => {
    const l = await seeded();
    expect(seqs(l, { decision: 'DECISION_REQUIRE_APPROVAL' })).toEqual([6]);
    expect(seqs(l, { decision: 'Redact' })).toEqual([5]);
  });

  it('time bounds: since inclusive, until exclusive, walked in time order', async () => {
    const l = await seeded();
    // Only time bounds: ordered by time, not seq (seq 5 is older than seq 2).
    expect(seqs(l, { since: '46h' })).toEqual([7, 6, 4, 3, 2, 5]);
    expect(seqs(l, { since: '46h', order: 'asc' })).toEqual([5, 2, 3, 4, 6, 7]);
    expect(seqs(l, { since: new Date(NOW.getTime() - 30 * HOUR).toISOString() })).toEqual([7, 6, 4, 3]);
    expect(seqs(l, { until: new Date(NOW.getTime() - 30 * HOUR).toISOString() })).toEqual([2, 5, 1]);
    expect(seqs(l, { since: '2d', until: '20h' })).toEqual([3, 2, 5]);
    // With another filter the equality index decides, in seq order.
    expect(seqs(l, { since: '46h', subject: 'alice' })).toEqual([7, 6, 4, 3]);
    expect(seqs(l, { until: '100m', subject: 'carol' })).toEqual([5]);
  });

  it('limit keeps the first n in the order asked; the default is 100, the bounds 1..100000', async () => {
    const l = await seeded();
    expect(seqs(l, { limit: 2 })).toEqual([7, 6]);
    expect(seqs(l, { limit: 2, order: 'asc' })).toEqual([1, 2]);
    expect(seqs(l, { limit: MAX_QUERY_LIMIT })).toHaveLength(7);
    expect(DEFAULT_QUERY_LIMIT).toBe(100);
    for (const limit of [0, -1, 1.5, MAX_QUERY_LIMIT + 1]) {
      expect(() => seqs(l, { limit })).toThrow(`limit must be an integer between 1 and 100000, got ${limit}`);
    }
  });

  it('the default limit is 100', async () => {
    const ledger = new SqliteLedger(ledgerConfig(':memory:'));
    open.push(ledger);
    await Promise.all(Array.from({ length: 101 }, (_, i) => ledger.append(record(i + 1, { subject: 's', ago: 1 }))));
    expect(seqs(ledger, {})).toHaveLength(100);
    expect(seqs(ledger, {})[0]).toBe(101);
  });

  it('a summary carries the header under the engine’s names, reason codes as an array', async () => {
    const l = await seeded();
    const [e] = [...queryEntries(l.db, { decisionId: 'q-4' }, NOW)];
    expect(e).toMatchObject({
      seq: 4,
      decisionId: 'q-4',
      subjectId: 'alice',
      team: 'payments',
      actionType: 'model.invoke',
      decision: 'deny',
      reasonCodes: ['over_budget', 'model_not_allowed'],
      time: new Date(NOW.getTime() - 20 * HOUR).toISOString(),
    });
    expect(e!.entryHash).toMatch(/^[0-9a-f]{64}$/);
  });
});

describe('parseTime and parseDecision', () => {
  it('durations count back from now in seconds, minutes, hours and days', () => {
    const t = NOW.getTime();
    expect(parseTime('30s', NOW, 'since')).toBe(t - 30_000);
    expect(parseTime('15m', NOW, 'since')).toBe(t - 15 * 60_000);
    expect(parseTime('24h', NOW, 'since')).toBe(t - 24 * HOUR);
    expect(parseTime('7d', NOW, 'since')).toBe(t - 7 * 24 * HOUR);
    expect(parseTime('0h', NOW, 'since')).toBe(t);
  });

  it('anything else must be a time; the error names the flag', () => {
    expect(parseTime('2026-01-01T00:00:00Z', NOW, 'since')).toBe(Date.parse('2026-01-01T00:00:00Z'));
    for (const bad of ['yesterday', '5w', '-5h', 'h', '5 h', '5hh']) {
      expect(() => parseTime(bad, NOW, 'until')).toThrow(`until must be an RFC 3339 time or a duration like 24h, got "${bad}"`);
    }
  });

  it('decisions: the four effects, with or without DECISION_, in any case; others refused', () => {
    expect(['allow', 'DENY', 'decision_redact', 'DECISION_REQUIRE_APPROVAL'].map(parseDecision)).toEqual(['allow', 'deny', 'redact', 'require_approval']);
    for (const bad of ['maybe', 'decision_', 'xdecision_allow', 'allow ']) {
      expect(() => parseDecision(bad)).toThrow(
        `decision must be one of allow, deny, require_approval, redact, activated, deactivated, refused, requested, approved, rejected, expired, consumed, got "${bad}"`,
      );
    }
  });
});

describe('getEntry', () => {
  it('the summary plus the stored payload and the salt in hex', async () => {
    const l = await seeded();
    const e = getEntry(l.db, 'q-3')!;
    expect(e.seq).toBe(3);
    expect(e.payload).toEqual({ input: { subject: { id: 'alice' }, context: { usage: { subject: { week: { tokens: 900 } } } } }, result: expect.any(Object) });
    expect(e.salt).toMatch(/^[0-9a-f]{32}$/);
    expect(getEntry(l.db, 'nope')).toBeUndefined();
  });

  it('an erased payload reads as null, the header still there', async () => {
    const l = await seeded();
    for (const t of TRIGGERS) l.db.exec(`DROP TRIGGER IF EXISTS ${t}`);
    l.db.prepare('DELETE FROM payloads WHERE seq = 2').run();
    expect(getEntry(l.db, 'q-2')).toMatchObject({ seq: 2, subjectId: 'bob', payload: null, salt: null });
  });
});

describe('timeline', () => {
  it('a subject oldest first, with the rules that fired and each new non-allow reason marked once', async () => {
    const l = await seeded();
    const events = timeline(l.db, { subject: 'alice' });
    expect(events.map((e) => [e.seq, e.decision, e.crossed])).toEqual([
      [1, 'allow', []],
      [3, 'deny', ['over_budget']],
      [4, 'deny', ['model_not_allowed']],
      [6, 'require_approval', []],
      [7, 'allow', []],
    ]);
    expect(events[2]!.rules).toEqual(['r.budget (over_budget)', 'r.models (model_not_allowed)']);
    expect(events[0]).toEqual({
      kind: 'decision',
      seq: 1,
      time: new Date(NOW.getTime() - 50 * HOUR).toISOString(),
      decisionId: 'q-1',
      subjectId: 'alice',
      action: 'model.invoke',
      resource: 'standard-m',
      decision: 'allow',
      rules: ['r.default (allowed)'],
      crossed: [],
    });
  });

  it('carries the week tokens the decision saw, when it saw usage', async () => {
    const l = await seeded();
    const events = timeline(l.db, { subject: 'alice' });
    expect(events.find((e) => e.seq === 3)!.weekTokens).toBe(900);
    expect(events.find((e) => e.seq === 1)).not.toHaveProperty('weekTokens');
  });

  it('a team, narrowed by time and limit', async () => {
    const l = await seeded();
    const at = (hoursAgo: number) => new Date(NOW.getTime() - hoursAgo * HOUR).toISOString();
    // In seq order (a team filter is an equality index); until is exclusive (seq 4 is at exactly 20h).
    expect(timeline(l.db, { team: 'payments', since: at(46), until: at(20) }).map((e) => e.seq)).toEqual([3, 5]);
    expect(timeline(l.db, { team: 'payments', limit: 2 }).map((e) => e.seq)).toEqual([1, 3]);
    expect(timeline(l.db, { team: 'research' }).map((e) => [e.seq, e.crossed])).toEqual([[2, []]]);
  });

  it('a non-allow effect with the code "allowed" counts as a reason seen but is never marked', async () => {
    const l = await seeded();
    expect(timeline(l.db, { subject: 'alice' }).find((e) => e.seq === 6)!.crossed).toEqual([]);
  });

  it('an erased payload gives an event without rules', async () => {
    const l = await seeded();
    for (const t of TRIGGERS) l.db.exec(`DROP TRIGGER IF EXISTS ${t}`);
    l.db.prepare('DELETE FROM payloads WHERE seq = 3').run();
    const events = timeline(l.db, { subject: 'alice' });
    expect(events.find((e) => e.seq === 3)).toMatchObject({ rules: [], crossed: [] });
    // The reason then first appears at seq 4.
    expect(events.find((e) => e.seq === 4)!.crossed).toEqual(['over_budget', 'model_not_allowed']);
  });

  it('needs a subject or a team', async () => {
    const l = await seeded();
    expect(() => timeline(l.db, {})).toThrow('timeline needs --subject, --team or --cost-center');
    expect(() => timeline(l.db, { subject: '', team: '' })).toThrow('timeline needs --subject, --team or --cost-center');
  });
});

describe('timeline events in wire form', () => {
  it('snake_case names shared with the Entry message; week_tokens only when the decision saw usage', async () => {
    const l = await seeded();
    const events = timeline(l.db, { subject: 'alice' }).map(wireTimelineEvent);
    expect(events[0]).toEqual({
      kind: 'decision',
      seq: 1,
      time: new Date(NOW.getTime() - 50 * HOUR).toISOString(),
      decision_id: 'q-1',
      subject_id: 'alice',
      action_type: 'model.invoke',
      resource: 'standard-m',
      decision: 'allow',
      rules: ['r.default (allowed)'],
      crossed: [],
    });
    expect(events[1]).toMatchObject({ seq: 3, week_tokens: 900, crossed: ['over_budget'] });
    expect(Object.keys(events[0]!)).not.toContain('week_tokens');
  });

  it('a week_tokens of 0 is still carried', () => {
    const e = {
      kind: 'decision' as const,
      seq: 1,
      time: 't',
      decisionId: 'd',
      subjectId: 's',
      action: 'a',
      resource: 'r',
      decision: 'allow',
      rules: [],
      crossed: [],
      weekTokens: 0,
    };
    expect(wireTimelineEvent(e).week_tokens).toBe(0);
  });
});
