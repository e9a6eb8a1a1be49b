import { createHash } from 'node:crypto';
import { join } from 'node:path';
import * as grpc from '@grpc/grpc-js';
import Database from 'better-sqlite3';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { canonicalJson } from '../../src/lib/canonical.js';
import { verifyCheckpoint } from '../../src/ledger/checkpoint.js';
import { parseVerifierKey } from '../../src/ledger/keys.js';
import { queryEntries, type QueryFilter } from '../../src/ledger/query.js';
import { clients, jsonInput, stream, unary, unaryError, type Clients } from '../helpers/client.js';
import { tempDir } from '../helpers/paths.js';
import { runCli, startInProcess, type InProcessServer } from '../helpers/server.js';
import { coreOptions, echoInput, type EchoSpec } from './fixtures.js';

/**
 * A ledger of 12 decisions at known times (a fake clock feeds input.context.now),
 * written through gRPC Decide, then read back through `gavel audit query|timeline`
 * and the AuditService.
 */
interface Seeded {
  seq: number;
  id: string;
  subject: string;
  team: string;
  action: string;
  decision: string;
  time: string;
  entryHash: string;
}

const HOUR = 3600e3;
const deny = (code: string, rule: string) => ({ code, rule, effect: 'deny' });

const PLAN: Array<[string, EchoSpec]> = [
  ['2025-03-01T09:00:00.000Z', { subject: 'alice', decision: 'allow' }],
  [
    '2025-03-01T09:10:00.000Z',
    {
      subject: 'alice',
      decision: 'allow',
      reasons: [
        { code: 'allowed', rule: 'r.default', effect: 'allow' },
        { code: 'budget_warning_80', rule: 'r.budget.warn', effect: 'allow' },
      ],
    },
  ],
  ['2025-03-01T09:20:00.000Z', { subject: 'bob', team: 'research', action: 'tool.call', tool: 'search', decision: 'allow' }],
  ['2025-03-01T09:30:00.000Z', { subject: 'alice', decision: 'deny', reasons: [deny('over_budget', 'r.budget')] }],
  ['2025-03-01T09:40:00.000Z', { subject: 'alice', decision: 'deny', reasons: [deny('over_budget', 'r.budget')] }],
  [
    '2025-03-02T10:00:00.000Z',
    { subject: 'carol', action: 'data.export', model: '', decision: 'redact', reasons: [{ code: 'pii_found', rule: 'r.pii', effect: 'redact' }] },
  ],
  ['2025-03-02T10:10:00.000Z', { subject: 'alice', decision: 'deny', reasons: [deny('model_not_allowed', 'r.models'), deny('over_budget', 'r.budget')] }],
  [
    '2025-03-02T10:20:00.000Z',
    {
      subject: 'bob',
      team: 'research',
      action: 'tool.call',
      tool: 'wire_transfer',
      decision: 'require_approval',
      reasons: [{ code: 'approval_needed', rule: 'r.tools', effect: 'require_approval' }],
    },
  ],
  ['2025-03-02T10:30:00.000Z', { subject: 'alice', decision: 'allow' }],
  ['2025-03-03T11:00:00.000Z', { subject: 'dave', team: 'research', model: 'frontier-x', decision: 'deny', reasons: [deny('model_not_allowed', 'r.models')] }],
  ['recent:2', { subject: 'alice', decision: 'allow' }],
  ['recent:1', { subject: 'erin', decision: 'deny', reasons: [deny('over_budget', 'r.budget')] }],
];

let srv: InProcessServer;
let c: Clients;
let ledger: string;
let clock = new Date(0);
const seeded: Seeded[] = [];

beforeAll(async () => {
  ledger = join(tempDir(), 'ledger.db');
  // No periodic checkpoint during the test: LatestCheckpoint starts empty.
  srv = await startInProcess(coreOptions(ledger, { now: () => clock, ledgerOptions: { checkpointSeconds: 3600 } }));
  c = clients(srv.address);
  for (const [time, spec] of PLAN) {
    clock = new Date(time.startsWith('recent:') ? Date.now() - Number(time.slice(7)) * HOUR : time);
    const res = await unary(c.decision, 'Decide', jsonInput(echoInput(spec)));
    seeded.push({
      seq: Number(res.receipt.seq),
      id: res.decision_id,
      subject: spec.subject!,
      team: spec.team ?? 'payments',
      action: spec.action ?? 'model.invoke',
      decision: spec.decision!,
      time: clock.toISOString(),
      entryHash: res.receipt.entry_hash,
    });
  }
  expect(seeded.map((s) => s.seq)).toEqual(PLAN.map((_, i) => i + 1));
});
afterAll(async () => {
  c.close();
  await srv.stop();
});

/** Seqs of the seeded decisions that pass `keep`, newest first (the query order). */
const expectSeqs = (keep: (s: Seeded) => boolean) =>
  seeded
    .filter(keep)
    .map((s) => s.seq)
    .reverse();

const cli = (...args: string[]) => runCli(['audit', ...args, '--ledger', ledger]);
const queryJson = async (...args: string[]) => {
  const res = await cli('query', '--json', ...args);
  expect(res.stderr).toBe('');
  expect(res.code).toBe(0);
  return res.stdout
    .split('\n')
    .filter(Boolean)
    .map((l) => JSON.parse(l) as Record<string, any>);
};

describe('gavel audit query', () => {
  const day2 = (s: Seeded) => s.time >= '2025-03-02' && s.time < '2025-03-03';
  it.each<[string, string[], (s: Seeded) => boolean]>([
    ['--subject', ['--subject', 'alice'], (s) => s.subject === 'alice'],
    ['--team', ['--team', 'research'], (s) => s.team === 'research'],
    ['--action', ['--action', 'tool.call'], (s) => s.action === 'tool.call'],
    ['--decision', ['--decision', 'deny'], (s) => s.decision === 'deny'],
    ['--decision with the enum name', ['--decision', 'DECISION_REQUIRE_APPROVAL'], (s) => s.decision === 'require_approval'],
    ['--since/--until RFC 3339 (until exclusive)', ['--since', '2025-03-02T00:00:00Z', '--until', '2025-03-03T11:00:00Z'], (s) => day2(s)],
    ['--since as a duration', ['--since', '24h'], (s) => Date.parse(s.time) > Date.now() - 24 * HOUR],
    ['--until as a duration', ['--until', '7d'], (s) => Date.parse(s.time) < Date.now() - 7 * 24 * HOUR],
    ['--revision', ['--revision', 'fixtures-1'], () => true],
    ['an unknown --revision', ['--revision', 'fixtures-0'], () => false],
    [
      'filters combined',
      ['--team', 'payments', '--decision', 'deny', '--since', '2025-03-01T09:35:00Z'],
      (s) => s.team === 'payments' && s.decision === 'deny' && s.time > '2025-03-01T09:35',
    ],
  ])('%s', async (_name, args, keep) => {
    const entries = await queryJson(...args);
    expect(entries.map((e) => e.seq)).toEqual(expectSeqs(keep));
  });

  it('--decision-id returns that one entry with its hashes, under the gRPC Entry field names', async () => {
    const target = seeded[6]!;
    const [entry, ...rest] = await queryJson('--decision-id', target.id);
    expect(rest).toEqual([]);
    expect(entry).toMatchObject({
      seq: target.seq,
      decision_id: target.id,
      time: target.time,
      subject_id: 'alice',
      subject_type: 'user',
      team: 'payments',
      action_type: 'model.invoke',
      resource: 'standard-m',
      decision: 'deny',
      reason_codes: ['over_budget', 'model_not_allowed'],
      bundle: 'fixtures',
      revision: 'fixtures-1',
      entrypoint: 'fixtures/echo',
      entry_hash: target.entryHash,
      prev_hash: seeded[5]!.entryHash,
    });
    expect(Object.keys(entry!).filter((k) => /[A-Z]/.test(k))).toEqual([]);
  });

  it('--limit keeps the newest n', async () => {
    expect((await queryJson('--limit', '3')).map((e) => e.seq)).toEqual([12, 11, 10]);
    expect((await queryJson('--subject', 'alice', '--limit', '2')).map((e) => e.seq)).toEqual([11, 9]);
  });

  it('prints an aligned table by default', async () => {
    const res = await cli('query', '--subject', 'bob');
    expect(res.code).toBe(0);
    const lines = res.stdout.trimEnd().split('\n');
    expect(lines).toHaveLength(3);
    const header = lines[0]!;
    expect(header.split(/\s+/)).toEqual(['SEQ', 'TIME', 'SUBJECT', 'TEAM', 'ACTION', 'RESOURCE', 'DECISION', 'REASONS']);
    expect(lines[1]!.split(/\s+/)).toEqual([
      '8',
      '2025-03-02T10:20:00.000Z',
      'bob',
      'research',
      'tool.call',
      'wire_transfer',
      'require_approval',
      'approval_needed',
    ]);
    expect(lines[2]!.split(/\s+/)).toEqual(['3', '2025-03-01T09:20:00.000Z', 'bob', 'research', 'tool.call', 'search', 'allow', 'allowed']);
    // Columns line up under their headings.
    for (const col of ['SUBJECT', 'DECISION', 'REASONS']) {
      const at = header.indexOf(col);
      expect(lines[1]![at - 1]).toBe(' ');
      expect(lines[1]![at]).not.toBe(' ');
    }
    const none = await cli('query', '--subject', 'nobody');
    expect(none.stdout.split('\n')).toEqual(['SEQ  TIME  SUBJECT  TEAM  ACTION  RESOURCE  DECISION  REASONS', '']);
  });

  it.each<[string, string[], RegExp]>([
    [
      'a bad --decision',
      ['--decision', 'maybe'],
      /decision must be one of allow, deny, require_approval, redact, activated, deactivated, refused, requested, approved, rejected, expired, consumed, got "maybe"/,
    ],
    ['a bad --since', ['--since', 'yesterday'], /since must be an RFC 3339 time or a duration like 24h, got "yesterday"/],
    ['a bad --until', ['--until', '3 weeks'], /until must be an RFC 3339 time or a duration/],
    ['a zero --limit', ['--limit', '0'], /must be a positive integer/],
  ])('%s is a clear usage error (exit 2, nothing on stdout)', async (_name, args, message) => {
    const res = await cli('query', ...args);
    expect(res.stderr).toMatch(message);
    expect(res.stdout).toBe('');
    expect(res.code).toBe(2);
  });

  it('a missing ledger file cannot run (exit 3)', async () => {
    const res = await runCli(['audit', 'query', '--ledger', join(tempDir(), 'absent.db')]);
    expect(res.stderr).toContain('does not exist');
    expect(res.code).toBe(3);
  });
});

describe('gavel audit timeline', () => {
  it('lists a subject oldest first with the rules that fired, marking where a new denial reason first appears', async () => {
    const res = await cli('timeline', '--subject', 'alice');
    expect(res.code).toBe(0);
    const alice = seeded.filter((s) => s.subject === 'alice');
    const heads = res.stdout.split('\n').filter((l) => !l.startsWith(' ') && l !== '');
    expect(heads.map((l) => Number(/#(\d+)/.exec(l)![1]))).toEqual(alice.map((s) => s.seq));
    expect(heads[0]).toBe(`${alice[0]!.time}  #1  alice  model.invoke standard-m  -> ALLOW`);
    expect(res.stdout).toContain(
      [
        `${seeded[3]!.time}  #4  alice  model.invoke standard-m  -> DENY`,
        '    fired: r.budget (over_budget)',
        '    ** threshold crossed / new reason: over_budget',
        `${seeded[4]!.time}  #5  alice  model.invoke standard-m  -> DENY`,
        '    fired: r.budget (over_budget)',
        `${seeded[6]!.time}  #7  alice  model.invoke standard-m  -> DENY`,
        '    fired: r.budget (over_budget)',
        '    fired: r.models (model_not_allowed)',
        '    ** threshold crossed / new reason: model_not_allowed',
        `${seeded[8]!.time}  #9  alice  model.invoke standard-m  -> ALLOW`,
        '    fired: r.default (allowed)',
      ].join('\n'),
    );
    expect(res.stdout.match(/new reason: over_budget/g)).toHaveLength(1);
  });

  it('--json gives one event per line with rules and crossed', async () => {
    const res = await cli('timeline', '--subject', 'alice', '--json');
    const events = res.stdout
      .split('\n')
      .filter(Boolean)
      .map((l) => JSON.parse(l) as { seq: number; rules: string[]; crossed: string[]; decision: string });
    for (const e of events) expect(Object.keys(e).filter((k) => /[A-Z]/.test(k))).toEqual([]);
    expect(Object.keys(events[0]!)).toEqual(['kind', 'seq', 'time', 'decision_id', 'subject_id', 'action_type', 'resource', 'decision', 'rules', 'crossed']);
    expect(events[0]).toMatchObject({ decision_id: seeded[0]!.id, subject_id: 'alice', action_type: 'model.invoke', resource: 'standard-m' });
    expect(events.map((e) => [e.seq, e.decision, e.crossed])).toEqual([
      [1, 'allow', []],
      [2, 'allow', ['budget_warning_80']],
      [4, 'deny', ['over_budget']],
      [5, 'deny', []],
      [7, 'deny', ['model_not_allowed']],
      [9, 'allow', []],
      [11, 'allow', []],
    ]);
    expect(events[1]!.rules).toEqual(['r.budget.warn (budget_warning_80)', 'r.default (allowed)']);
  });

  it('--team with --since/--until narrows the window; no match says so', async () => {
    const res = await cli('timeline', '--team', 'research', '--since', '2025-03-02T00:00:00Z', '--until', '2025-03-04T00:00:00Z', '--json');
    const events = res.stdout
      .split('\n')
      .filter(Boolean)
      .map((l) => JSON.parse(l) as { seq: number; subject_id: string; crossed: string[] });
    expect(events.map((e) => [e.seq, e.subject_id, e.crossed])).toEqual([
      [8, 'bob', ['approval_needed']],
      [10, 'dave', ['model_not_allowed']],
    ]);
    const none = await cli('timeline', '--subject', 'nobody');
    expect(none.stdout).toBe('no decisions match\n');
    expect(none.code).toBe(0);
  });

  it('without --subject or --team it is a usage error', async () => {
    const res = await cli('timeline');
    expect(res.stderr).toContain('timeline needs --subject, --team or --cost-center');
    expect(res.code).toBe(2);
  });
});

describe('gRPC AuditService', () => {
  const query = (req: Record<string, unknown>) => stream(c.audit, 'QueryDecisions', req);

  it('QueryDecisions streams the same filters as the CLI', async () => {
    const cases: Array<[Record<string, unknown>, (s: Seeded) => boolean]> = [
      [{}, () => true],
      [{ subject: 'alice' }, (s) => s.subject === 'alice'],
      [{ team: 'research', decision: 'DECISION_DENY' }, (s) => s.team === 'research' && s.decision === 'deny'],
      [{ action: 'data.export' }, (s) => s.action === 'data.export'],
      [{ since: '2025-03-02T00:00:00Z', until: '2025-03-03T00:00:00Z' }, (s) => s.time >= '2025-03-02' && s.time < '2025-03-03'],
      [{ since: '24h' }, (s) => Date.parse(s.time) > Date.now() - 24 * HOUR],
      [{ revision: 'fixtures-1', subject: 'bob' }, (s) => s.subject === 'bob'],
      [{ decision_id: seeded[2]!.id }, (s) => s.seq === 3],
    ];
    for (const [req, keep] of cases) {
      const entries = await query(req);
      expect(
        entries.map((e) => Number(e.seq)),
        JSON.stringify(req),
      ).toEqual(expectSeqs(keep));
    }
    expect((await query({ limit: 2 })).map((e) => Number(e.seq))).toEqual([12, 11]);
    expect((await query({ subject: 'alice', ascending: true, limit: 3 })).map((e) => Number(e.seq))).toEqual([1, 2, 4]);
  });

  it('QueryDecisions entries carry the header fields and hashes', async () => {
    const [entry] = await query({ decision_id: seeded[5]!.id });
    expect(entry).toMatchObject({
      seq: 6,
      decision_id: seeded[5]!.id,
      subject_id: 'carol',
      team: 'payments',
      action_type: 'data.export',
      resource: '',
      decision: 'redact',
      reason_codes: ['pii_found'],
      revision: 'fixtures-1',
      prev_hash: seeded[4]!.entryHash,
      entry_hash: seeded[5]!.entryHash,
    });
  });

  it('QueryDecisions with a bad filter ends with INVALID_ARGUMENT', async () => {
    for (const req of [{ decision: 'maybe' }, { since: 'yesterday' }]) {
      const err = await new Promise<grpc.ServiceError | undefined>((resolve) => {
        const call = (c.audit as unknown as Record<string, Function>).QueryDecisions!.call(c.audit, req, {
          deadline: Date.now() + 2000,
        }) as grpc.ClientReadableStream<unknown>;
        call.on('data', () => undefined);
        call.on('error', resolve);
        call.on('end', () => resolve(undefined));
      });
      expect(err, JSON.stringify(req)).toBeDefined();
      expect(err!.code).toBe(grpc.status.INVALID_ARGUMENT);
      expect(err!.metadata.get('gavel-error-code')).toEqual(['invalid_query']);
    }
  });

  it('GetDecision returns entry, payload and salt; the payload hash recomputes', async () => {
    const target = seeded[6]!;
    const res = await unary(c.audit, 'GetDecision', { decision_id: target.id });
    expect(res.entry).toMatchObject({ seq: target.seq, decision_id: target.id, entry_hash: target.entryHash, decision: 'deny' });
    expect(res.payload_erased).toBe(false);
    const payload = JSON.parse(res.payload_json.toString()) as { input: Record<string, any>; result: Record<string, any> };
    expect(canonicalJson(payload)).toBe(res.payload_json.toString());
    expect(payload.input.subject.id).toBe('alice');
    expect(payload.input.context.now).toBe(target.time);
    expect(payload.result.reasons.map((r: { code: string }) => r.code)).toEqual(['over_budget', 'model_not_allowed']);
    expect(res.salt).toMatch(/^[0-9a-f]{32}$/);
    const recomputed = createHash('sha256').update(Buffer.from(res.salt, 'hex')).update(res.payload_json).digest('hex');
    expect(recomputed).toBe(res.entry.payload_hash);
  });

  it('GetDecision: NOT_FOUND for an unknown id, INVALID_ARGUMENT without one', async () => {
    const missing = await unaryError(c.audit, 'GetDecision', { decision_id: '00000000-0000-4000-8000-000000000000' });
    expect(missing.code).toBe(grpc.status.NOT_FOUND);
    expect(missing.metadata.get('gavel-error-code')).toEqual(['decision_not_found']);
    const empty = await unaryError(c.audit, 'GetDecision', { decision_id: '' });
    expect(empty.code).toBe(grpc.status.INVALID_ARGUMENT);
  });

  it('Verify is ok on the clean ledger', async () => {
    const res = await unary(c.audit, 'Verify', {});
    expect(res).toMatchObject({ ok: true, entries: 12, head_hash: seeded[11]!.entryHash, failed_seq: 0, failure_kind: '', message: 'ledger verified' });
  });

  it('LatestCheckpoint returns a note that verifies with the returned verifier key', async () => {
    const before = await unary(c.audit, 'LatestCheckpoint', {});
    expect(before).toMatchObject({ note: '', size: 0, head_hash: '' });
    expect(before.verifier_key).toMatch(/^gavel\.ledger\//);
    await srv.core.parts.ledger.checkpoint();
    const res = await unary(c.audit, 'LatestCheckpoint', {});
    expect(res).toMatchObject({ size: 12, head_hash: seeded[11]!.entryHash, verifier_key: before.verifier_key });
    const cp = verifyCheckpoint(res.note, parseVerifierKey(res.verifier_key));
    expect(cp).toMatchObject({ origin: srv.core.parts.ledger.origin, size: 12, headHash: seeded[11]!.entryHash });
    const pk = await cli('pubkey');
    expect(pk.stdout.trim()).toBe(res.verifier_key);
    const verified = await unary(c.audit, 'Verify', { checkpoint: res.note });
    expect(verified).toMatchObject({ ok: true, checkpoints_checked: 2 });
  });
});

describe('query plans', () => {
  it.each<[string, string, QueryFilter]>([
    ['subject', 'entries_subject', { subject: 'alice' }],
    ['team', 'entries_team', { team: 'payments' }],
    ['action', 'entries_action', { action: 'tool.call' }],
    ['decision', 'entries_decision', { decision: 'deny' }],
    ['revision', 'entries_revision', { revision: 'fixtures-1' }],
    ['decision id', 'entries_decision_id', { decisionId: 'x' }],
  ])('a %s filter searches index %s, no full scan and no sort', (_name, index, filter) => {
    const db = new Database(ledger, { readonly: true });
    try {
      const prepare = vi.spyOn(db, 'prepare');
      [...queryEntries(db, filter)];
      const sql = prepare.mock.calls[0]![0];
      prepare.mockRestore();
      expect(sql).toMatch(/^SELECT \* FROM entries WHERE/);
      const plan = (db.prepare(`EXPLAIN QUERY PLAN ${sql}`).all(Object.values(filter)[0], 100) as Array<{ detail: string }>).map((r) => r.detail);
      expect(
        plan.some((d) => new RegExp(`^SEARCH entries USING (COVERING )?INDEX ${index} \\(`).test(d)),
        plan.join('; '),
      ).toBe(true);
      expect(
        plan.some((d) => /^SCAN entries\b/.test(d)),
        plan.join('; '),
      ).toBe(false);
      expect(
        plan.some((d) => /TEMP B-TREE/.test(d)),
        plan.join('; '),
      ).toBe(false);
    } finally {
      db.close();
    }
  });
});
