import * as grpc from '@grpc/grpc-js';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { clients, unaryError, type Clients } from '../helpers/client.js';
import { BUNDLES, tempDir } from '../helpers/paths.js';
import { startInProcess, type InProcessServer } from '../helpers/server.js';
import { decide, modelCall, report, TestClock, usageOf } from './helpers.js';
import { payloadTextOf } from '../helpers/payloads.js';

/** Metering through gRPC with an injected clock: windows, reservations, idempotency, bad reports, restart. */
const dir = tempDir();
const ledger = join(dir, 'ledger.db');
// Sunday 2026-11-22 23:50 UTC: ten minutes before a new day and a new ISO week.
const clock = new TestClock(Date.parse('2026-11-22T23:50:00Z'));
let srv: InProcessServer;
let c: Clients;
const alice = { subject: 'alice', team: 'platform', costCenter: 'cc-100' };

async function start(): Promise<void> {
  srv = await startInProcess({ bundles: BUNDLES, ledger, now: clock.now, usage: { reservationTtlSeconds: 120 } });
  c = clients(srv.address);
}
async function stop(): Promise<void> {
  c.close();
  await srv.stop();
}
beforeAll(start);
afterAll(stop);

describe('reports', () => {
  it('a Decide reserves its estimate; the Report settles it to the real amount', async () => {
    const d = await decide(c, modelCall(alice, 'standard-m', 400, 'x'.repeat(40)));
    expect(d.decision).toBe('DECISION_ALLOW');
    let u = await usageOf(c, 'subject', 'alice');
    expect(u.day.reserved_tokens).toBe(410);
    expect(u.day.used_tokens).toBe(0);
    const r = await report(c, d.decision_id, alice, 'standard-m', 10, 300);
    expect(r).toMatchObject({ duplicate: false, currency: 'USD', tokens: 310 });
    // standard-m: 0.003 per 1k input, 0.015 per 1k output -> 0.00003 + 0.0045
    expect(r.cost).toBe('0.00453');
    u = await usageOf(c, 'subject', 'alice');
    expect(u.day).toMatchObject({ reserved_tokens: 0, used_tokens: 310, tokens: 310, used_cost: 0.00453 });
    expect(u.by_tier.standard.week.used_tokens).toBe(310);
    for (const scope of [
      ['team', 'platform'],
      ['cost_center', 'cc-100'],
    ]) {
      expect((await usageOf(c, scope[0]!, scope[1]!)).week.used_tokens).toBe(310);
    }
  });

  it('a retried report never counts twice; a different one for the same decision is refused', async () => {
    const d = await decide(c, modelCall(alice));
    const first = await report(c, d.decision_id, alice, 'standard-m', 5, 50, '0.0008');
    const again = await report(c, d.decision_id, alice, 'standard-m', 5, 50, '0.0008');
    expect(first.duplicate).toBe(false);
    expect(again.duplicate).toBe(true);
    const before = (await usageOf(c, 'subject', 'alice')).day.used_tokens;
    await report(c, d.decision_id, alice, 'standard-m', 5, 50, '0.0008');
    expect((await usageOf(c, 'subject', 'alice')).day.used_tokens).toBe(before);
    const conflict = await unaryError(c.usage, 'Report', {
      decision_id: d.decision_id,
      subject: 'alice',
      team: 'platform',
      cost_center: 'cc-100',
      model: 'standard-m',
      input_tokens: 6,
      output_tokens: 50,
    });
    expect(conflict.code).toBe(grpc.status.FAILED_PRECONDITION);
  });

  it.each([
    [{ decision_id: '00000000-0000-4000-8000-000000000000' }, grpc.status.NOT_FOUND, 'no decision'],
    [{ input_tokens: -5 }, grpc.status.INVALID_ARGUMENT, 'input_tokens must be a non-negative integer'],
    [{ output_tokens: -1 }, grpc.status.INVALID_ARGUMENT, 'output_tokens'],
    [{ cost: '-1.50' }, grpc.status.INVALID_ARGUMENT, 'cost must be a non-negative decimal'],
    [{ cost: 'ten' }, grpc.status.INVALID_ARGUMENT, 'cost must be'],
    [{ subject: '' }, grpc.status.INVALID_ARGUMENT, 'missing subject'],
    [{ team: '', cost_center: '' }, grpc.status.INVALID_ARGUMENT, 'missing team, cost_center'],
    [{ subject: 'mallory' }, grpc.status.INVALID_ARGUMENT, 'does not match decision'],
    [{ model: 'mystery-model', cost: '' }, grpc.status.INVALID_ARGUMENT, 'is not the model decision'],
  ])('bad report %j is rejected', async (override, code, text) => {
    const d = await decide(c, modelCall(alice));
    const err = await unaryError(c.usage, 'Report', {
      decision_id: d.decision_id,
      subject: 'alice',
      team: 'platform',
      cost_center: 'cc-100',
      model: 'standard-m',
      input_tokens: 1,
      output_tokens: 1,
      cost: '',
      ...override,
    });
    expect(err.code).toBe(code);
    expect(err.details).toContain(text);
  });

  it('a report for a decision that did not allow a model call is refused', async () => {
    const denied = await decide(c, modelCall(alice, 'frontier-xl'));
    expect(denied.decision).toBe('DECISION_DENY');
    const err = await unaryError(c.usage, 'Report', {
      decision_id: denied.decision_id,
      subject: 'alice',
      team: 'platform',
      cost_center: 'cc-100',
      model: 'frontier-xl',
      input_tokens: 1,
      output_tokens: 1,
    });
    expect(err.code).toBe(grpc.status.INVALID_ARGUMENT);
    expect(err.details).toContain('was deny');
  });
});

describe('windows and reservations with an injected clock', () => {
  it('the usage snapshot a decision saw is in its ledger entry', async () => {
    const d = await decide(c, modelCall(alice));
    const stored = JSON.parse(payloadTextOf(srv.core.parts.ledger.db, d.decision_id)) as {
      input: { context: { usage: { subject: { day: { tokens: number } } }; estimate: { tokens: number }; history: unknown } };
    };
    const live = await usageOf(c, 'subject', 'alice');
    // The live view now includes this decision's own reservation; the snapshot did not.
    expect(stored.input.context.usage.subject.day.tokens).toBe(live.day.tokens - stored.input.context.estimate.tokens);
    expect(stored.input.context.history).toBeDefined();
  });

  it('an unreported reservation stops counting after its TTL', async () => {
    const bob = { subject: 'bob', team: 'platform', costCenter: 'cc-100' };
    await decide(c, modelCall(bob, 'standard-m', 100, 'hi'));
    expect((await usageOf(c, 'subject', 'bob')).day.reserved_tokens).toBe(101);
    clock.advance(121_000);
    expect((await usageOf(c, 'subject', 'bob')).day.reserved_tokens).toBe(0);
  });

  it('day and week roll over at midnight Monday; month and rolling windows follow their own rules', async () => {
    clock.set('2026-11-22T23:58:00Z');
    const carol = { subject: 'carol', team: 'tz-team', costCenter: 'cc-tz' };
    const d = await decide(c, modelCall(carol));
    await report(c, d.decision_id, carol, 'standard-m', 10, 90);
    let u = await usageOf(c, 'subject', 'carol');
    expect([u.day.used_tokens, u.week.used_tokens, u.month.used_tokens, u.rolling.used_tokens]).toEqual([100, 100, 100, 100]);
    clock.set('2026-11-23T00:05:00Z'); // Monday: new day, new week, same month, within the 60-minute rolling window
    u = await usageOf(c, 'subject', 'carol');
    expect([u.day.used_tokens, u.week.used_tokens, u.month.used_tokens, u.rolling.used_tokens]).toEqual([0, 0, 100, 100]);
    clock.set('2026-11-23T01:10:00Z');
    expect((await usageOf(c, 'subject', 'carol')).rolling.used_tokens).toBe(0);
    clock.set('2026-12-01T00:00:01Z');
    expect((await usageOf(c, 'subject', 'carol')).month.used_tokens).toBe(0);
  });

  it('a runaway agent loop trips the per-tool rate limit', async () => {
    clock.set('2026-12-02T09:00:00Z');
    const finance = { id: 'fin-bot-user', type: 'user', roles: ['finance'], team: 'finance', cost_center: 'cc-fin' };
    const call = { subject: finance, action: { type: 'tool.call', tool: 'payments.transfer', params: { amount: 5 } }, context: { environment: 'prod' } };
    const answers: string[] = [];
    for (let i = 0; i < 12; i++) answers.push((await decide(c, call)).decision);
    expect(answers.slice(0, 10).every((a) => a === 'DECISION_ALLOW')).toBe(true);
    expect(answers.slice(10)).toEqual(['DECISION_DENY', 'DECISION_DENY']);
    const last = await decide(c, call);
    expect(last.reasons.map((r: { code: string }) => r.code)).toContain('tool_rate_limited');
    clock.advance(61_000);
    expect((await decide(c, call)).decision).toBe('DECISION_ALLOW');
  });
});

describe('restart', () => {
  it('usage survives a restart on the same ledger file', async () => {
    const before = await usageOf(c, 'subject', 'carol');
    await stop();
    await start();
    expect(await usageOf(c, 'subject', 'carol')).toEqual(before);
    clock.set('2026-11-30T12:00:00Z'); // back in November, where alice's reports were charged
    expect((await usageOf(c, 'subject', 'alice')).month.used_tokens).toBeGreaterThan(300);
  });

  it('a reservation that expired well before the start is not read again; one live at the start counts', async () => {
    const erin = { subject: 'erin', team: 'platform', costCenter: 'cc-100' };
    const gina = { subject: 'gina', team: 'platform', costCenter: 'cc-100' };
    clock.set('2026-12-01T09:00:00Z');
    expect((await decide(c, modelCall(erin))).decision).toBe('DECISION_ALLOW'); // reserved until 09:02 (TTL 120 s)
    await stop();
    clock.set('2026-12-01T11:00:00Z');
    await start();
    expect((await decide(c, modelCall(gina))).decision).toBe('DECISION_ALLOW'); // reserved until 11:02
    await stop();
    clock.set('2026-12-01T11:01:00Z');
    await start();
    expect((await usageOf(c, 'subject', 'gina')).day.reserved_tokens).toBeGreaterThan(0);
    // The clock set back to 09:01, when erin's reservation still held: the server that started at 11:01
    // did not read it (it expired long before the start), so it counts nowhere.
    clock.set('2026-12-01T09:01:00Z');
    expect((await usageOf(c, 'subject', 'erin')).day.reserved_tokens).toBe(0);
  });
});
